"""The contract's routes that django-rest-knox and simplejwt serve alike: short Django REST
framework views over Django's user model, with nothing of either library in them. Each
implementation's ``views.py`` imports these and adds its own login, logout and session-ending
routes; for privilege change and password change it subclasses :class:`Reauthenticated` and
:class:`PasswordChange`, which check the form and leave what happens to the tokens to the
library (implementations/README.md)."""

from django.contrib.auth import authenticate, get_user_model
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView


def role(user) -> str:
    return "admin" if user.is_staff else "user"


def fields(request, *names) -> list[str] | None:
    """The named form fields, or None unless every one is a non-empty string."""
    values = [request.data.get(n) for n in names]
    return values if all(isinstance(v, str) and v for v in values) else None


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
    """is_active=False: both libraries' authentication classes refuse an inactive user (knox's
    TokenAuthentication; simplejwt's JWTAuthentication loads the user per request,
    CHECK_USER_IS_ACTIVE)."""

    def post(self, request):
        user, refusal = self.target(request)
        if refusal:
            return refusal
        user.is_active = False
        user.save(update_fields=["is_active"])
        return Response({"disabled": user.username})


class Reauthenticated(APIView):
    """``POST /elevate`` (form ``password``): 403 unless the password is the user's own; then
    :meth:`elevated`, the library's new credential (and the old one's end, where it can)."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        (password,) = fields(request, "password") or (None,)
        if (
            not password
            or authenticate(request, username=request.user.username, password=password) is None
        ):
            return Response({"error": "wrong password"}, status.HTTP_403_FORBIDDEN)
        return self.elevated(request)

    def elevated(self, request) -> Response:
        raise NotImplementedError


class PasswordChange(APIView):
    """``POST /password`` (form ``old``, ``new``; 400 without both): :meth:`change` sets it,
    by default with Django's own ``check_password`` (403 when ``old`` is wrong) and
    ``set_password``, then answers :meth:`changed`."""

    permission_classes = [IsAuthenticated]

    def post(self, request):
        old, new = fields(request, "old", "new") or (None, None)
        if not old or not new:
            return Response({"error": "old and new required"}, status.HTTP_400_BAD_REQUEST)
        return self.change(request, old, new)

    def change(self, request, old: str, new: str) -> Response:
        user = request.user
        if not user.check_password(old):
            return Response({"error": "wrong password"}, status.HTTP_403_FORBIDDEN)
        user.set_password(new)
        user.save()
        return self.changed(request)

    def changed(self, request) -> Response:
        """The answer once the password is changed; a library's subclass may end tokens here."""
        return Response({"changed": True})
