"""The contract's routes on django-rest-knox: knox's LoginView (as its docs subclass it for a
username/password form), LogoutView and LogoutAllView, and short DRF views over knox's AuthToken
model (``user.auth_token_set``, ``AuthToken.objects.create``) and Django's user model. The
routes and form checks it shares with simplejwt are in ../_python/drf_contract.py."""

from django.conf import settings
from django.contrib.auth import login
from drf_contract import AdminOnly, PasswordChange, Reauthenticated
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LoginView as KnoxLoginView
from rest_framework import permissions
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.response import Response

RECOMMENDED = settings.CONFIG == "recommended"


class LoginView(KnoxLoginView):
    """https://jazzband.github.io/django-rest-knox/views/ ("LoginView"), word for word."""

    permission_classes = (permissions.AllowAny,)

    def post(self, request, format=None):
        serializer = AuthTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        login(request, user)
        return super().post(request, format=None)


class Elevate(Reauthenticated):
    """Re-authenticate; this token is deleted and a new one issued."""

    def elevated(self, request):
        request.auth.delete()
        _, token = AuthToken.objects.create(user=request.user, expiry=knox_settings.TOKEN_TTL)
        return Response({"token": token, "elevated": True})


class Password(PasswordChange):
    """Django's set_password. knox ends no token by itself; recommended deletes the user's other
    tokens when asked (end_other_sessions=1)."""

    def changed(self, request):
        ended = 0
        if RECOMMENDED and request.data.get("end_other_sessions") == "1":
            ended, _ = request.user.auth_token_set.exclude(digest=request.auth.digest).delete()
        return Response({"changed": True, "tokens_ended": ended})


class AdminEndSessions(AdminOnly):
    """What LogoutAllView does, for another user: delete every token of theirs."""

    def post(self, request):
        user, refusal = self.target(request)
        if refusal:
            return refusal
        ended, _ = user.auth_token_set.all().delete()
        return Response({"tokens_ended": ended})
