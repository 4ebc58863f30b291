"""The contract's routes on django-rest-knox: knox's LoginView (as its docs subclass it for a
username/password form), LogoutView and LogoutAllView, and short DRF views over knox's AuthToken
model (``user.auth_token_set``, ``AuthToken.objects.create``) and Django's user model."""

from django.conf import settings
from django.contrib.auth import authenticate, get_user_model, login
from knox.models import AuthToken
from knox.settings import knox_settings
from knox.views import LoginView as KnoxLoginView
from rest_framework import permissions, status
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

RECOMMENDED = settings.CONFIG == "recommended"


def role(user) -> str:
    return "admin" if user.is_staff else "user"


def fields(request, *names):
    values = [request.data.get(n) for n in names]
    return values if all(isinstance(v, str) and v for v in values) else None


class LoginView(KnoxLoginView):
    """https://jazzband.github.io/django-rest-knox/views/ ("LoginView"), word for word."""

    permission_classes = (permissions.AllowAny,)

    def post(self, request, format=None):
        serializer = AuthTokenSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        user = serializer.validated_data["user"]
        login(request, user)
        return super().post(request, format=None)


class Me(APIView):
    permission_classes = [IsAuthenticated]

    def get(self, request):
        return Response({"user": request.user.username, "role": role(request.user)})


class Transfer(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        to, amount = fields(request, "to", "amount") or (None, None)
        if not to or not amount.isdigit():
            return Response({"error": "to and amount required"}, status.HTTP_400_BAD_REQUEST)
        return Response({"from": request.user.username, "to": to, "amount": int(amount)})


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


class AdminOnly(APIView):
    permission_classes = [IsAuthenticated]

    def target(self, request):
        if not request.user.is_staff:
            return None, Response({"error": "admins only"}, status.HTTP_403_FORBIDDEN)
        (name,) = fields(request, "user") or (None,)
        user = get_user_model().objects.filter(username=name).first() if name else None
        if user is None:
            return None, Response({"error": "no such user"}, status.HTTP_400_BAD_REQUEST)
        return user, None


class AdminDisable(AdminOnly):
    """is_active=False: knox's TokenAuthentication refuses inactive users."""

    def post(self, request):
        user, refusal = self.target(request)
        if refusal:
            return refusal
        user.is_active = False
        user.save(update_fields=["is_active"])
        return Response({"disabled": user.username})


class AdminEndSessions(AdminOnly):
    """What LogoutAllView does, for another user: delete every token of theirs."""

    def post(self, request):
        user, refusal = self.target(request)
        if refusal:
            return refusal
        ended, _ = user.auth_token_set.all().delete()
        return Response({"tokens_ended": ended})
