import views
from django.conf import settings
from django.urls import path
from django.views.decorators.cache import never_cache
from drf_contract import AdminDisable, Me, Transfer
from knox.views import LogoutAllView, LogoutView

routes = {
    # knox's own urls (knox.urls: login/, logout/, logoutall/) under the contract's paths
    "login": views.LoginView,
    "logout": LogoutView,
    "logout-everywhere": LogoutAllView,
    "me": Me,
    "transfer": Transfer,
    "elevate": views.Elevate,
    "password": views.Password,
    "admin/disable": AdminDisable,
}
if settings.CONFIG == "recommended":
    routes["admin/end-sessions"] = views.AdminEndSessions
wrap = never_cache if settings.CONFIG == "recommended" else (lambda view: view)
urlpatterns = [path(route, wrap(view.as_view())) for route, view in routes.items()]
