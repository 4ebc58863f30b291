"""The contract's routes on django-rest-knox: knox's LoginView (as its docs subclass it for a
username/password form), LogoutView and LogoutAllView, and short DRF views over knox's AuthToken
model (``user.auth_token_set``, ``AuthToken.objects.create``) and Django's user model."""

from django.conf import settings
from django.contrib.auth import authenticate, login
from drf_contract import AdminDisable, AdminOnly, Me, Transfer, fields, role  # noqa: F401
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LoginView as KnoxLoginView
from rest_framework import permissions, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

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


class Elevate(APIView):
    """Re-authenticate; this token is deleted and a new one issued."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        (password,) = fields(request, "password") or (None,)
        if (
            not password
            or authenticate(request, username=request.user.username, password=password) is None
        ):
            return Response({"error": "wrong password"}, status.HTTP_403_FORBIDDEN)
        request.auth.delete()
        _, token = AuthToken.objects.create(user=request.user, expiry=knox_settings.TOKEN_TTL)
        return Response({"token": token, "elevated": True})


class Password(APIView):
    """Django's set_password. knox ends no token by itself; recommended deletes the user's other
    tokens when asked (end_other_sessions=1)."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        old, new = fields(request, "old", "new") or (None, None)
        if not old or not new:
            return Response({"error": "old and new required"}, status.HTTP_400_BAD_REQUEST)
        user = request.user
        if not user.check_password(old):
            return Response({"error": "wrong password"}, status.HTTP_403_FORBIDDEN)
        user.set_password(new)
        user.save()
        ended = 0
        if RECOMMENDED and request.data.get("end_other_sessions") == "1":
            ended, _ = user.auth_token_set.exclude(digest=request.auth.digest).delete()
        return Response({"changed": True, "tokens_ended": ended})


class AdminEndSessions(AdminOnly):
    """What LogoutAllView does, for another user: delete every token of theirs."""

    def post(self, request):
        user, refusal = self.target(request)
        if refusal:
            return refusal
        ended, _ = user.auth_token_set.all().delete()
        return Response({"tokens_ended": ended})
