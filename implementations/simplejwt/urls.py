import views
from django.conf import settings
from django.urls import path
from django.views.decorators.cache import never_cache
from drf_contract import AdminDisable, Me, Transfer

# never_cache on login and /me in the recommended configuration (README.md).
wrap = never_cache if settings.CONFIG == "recommended" else (lambda view: view)

urlpatterns = [
    path("me", wrap(Me.as_view())),
    path("transfer", Transfer.as_view()),
    path("elevate", views.Elevate.as_view()),
    path("password", views.Password.as_view()),
    path("admin/disable", AdminDisable.as_view()),
]

if settings.CONFIG == "defaults":
    # simplejwt's Getting started: TokenObtainPairView and TokenRefreshView; no logout.
    from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

    urlpatterns += [
        path("login", TokenObtainPairView.as_view()),
        path("token/refresh", TokenRefreshView.as_view()),
    ]
else:
    from dj_rest_auth.jwt_auth import get_refresh_view
    from dj_rest_auth.views import LoginView, LogoutView

    login = LoginView.as_view()
    urlpatterns += [
        path("login", wrap(login)),
        path("logout", LogoutView.as_view()),
        path("token/refresh", get_refresh_view().as_view()),
        path("csrf", views.Csrf.as_view()),
    ]

if settings.CONFIG == "recommended":
    urlpatterns += [
        path("logout-everywhere", views.LogoutEverywhere.as_view()),
        path("admin/end-sessions", views.AdminEndSessions.as_view()),
    ]
