"""The contract's routes on simplejwt (and dj-rest-auth in the cookie configurations).

Login, logout, refresh and password change are the libraries' own views and serializers; the
rest are short DRF views over simplejwt's documented API (RefreshToken.for_user, the blacklist
app's OutstandingToken/BlacklistedToken) and Django's user model. The routes and form checks it
shares with django-rest-knox are in ../_python/drf_contract.py.
"""

from django.conf import settings
from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import ensure_csrf_cookie
from drf_contract import AdminOnly, PasswordChange, Reauthenticated
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.tokens import RefreshToken

RECOMMENDED = settings.CONFIG == "recommended"
COOKIES = settings.CONFIG != "defaults"
BLACKLIST = "rest_framework_simplejwt.token_blacklist" in settings.INSTALLED_APPS
no_store = method_decorator(never_cache, name="dispatch") if RECOMMENDED else (lambda c: c)


def issue(user, response: Response) -> Response:
    """A new access + refresh pair: in cookies (dj-rest-auth) or in the JSON body (bearer)."""
    refresh = RefreshToken.for_user(user)
    if COOKIES:
        from dj_rest_auth.jwt_auth import set_jwt_cookies

        set_jwt_cookies(response, str(refresh.access_token), str(refresh))
    else:
        response.data.update(access=str(refresh.access_token), refresh=str(refresh))
    return response


def blacklist_all(user) -> int:
    """Blacklist every outstanding refresh token of ``user`` (the blacklist app's models).
    Access tokens cannot be blacklisted: they stay valid until they expire."""
    from rest_framework_simplejwt.token_blacklist.models import (
        BlacklistedToken,
        OutstandingToken,
    )

    count = 0
    for token in OutstandingToken.objects.filter(user=user):
        count += BlacklistedToken.objects.get_or_create(token=token)[1]
    return count


def blacklist_current(request) -> None:
    """Blacklist the refresh token this device holds (its cookie), if any and valid."""
    from dj_rest_auth.app_settings import api_settings
    from rest_framework_simplejwt.exceptions import TokenError

    raw = request.COOKIES.get(api_settings.JWT_AUTH_REFRESH_COOKIE)
    if raw:
        try:
            RefreshToken(raw).blacklist()
        except TokenError:
            pass


@method_decorator(ensure_csrf_cookie, name="dispatch")
class Csrf(APIView):
    permission_classes = [AllowAny]
    authentication_classes = []

    def get(self, request):
        return Response({"csrf_token": get_token(request)})


@no_store
class Elevate(Reauthenticated):
    """Re-authenticate with the password; a new token pair. The old access token is not ended:
    simplejwt cannot blacklist access tokens."""

    def elevated(self, request):
        if BLACKLIST:
            blacklist_current(request)
        return issue(request.user, Response({"user": request.user.username, "elevated": True}))


class Password(PasswordChange):
    """defaults: Django's set_password (simplejwt has no password view); cookie, recommended:
    dj-rest-auth's PasswordChangeSerializer (its PasswordChangeView's fields renamed to the
    contract's old/new). Only CHECK_REVOKE_TOKEN (recommended) makes other tokens fail."""

    def change(self, request, old, new):
        if not COOKIES:
            return super().change(request, old, new)
        from dj_rest_auth.app_settings import api_settings

        user = request.user
        data = {"old_password": old, "new_password1": new, "new_password2": new}
        serializer = api_settings.PASSWORD_CHANGE_SERIALIZER(
            data=data, context={"request": request}
        )
        serializer.is_valid(raise_exception=True)
        serializer.save()
        response = Response({"changed": True})
        if RECOMMENDED:  # every token now fails CHECK_REVOKE_TOKEN: new ones for this device
            if request.data.get("end_other_sessions") == "1":
                blacklist_all(user)
            user.refresh_from_db()
            issue(user, response)
        return response


class LogoutEverywhere(APIView):
    permission_classes = [IsAuthenticated]

    def post(self, request):
        from dj_rest_auth.jwt_auth import unset_jwt_cookies

        count = blacklist_all(request.user)
        response = Response({"refresh_tokens_blacklisted": count})
        unset_jwt_cookies(response)
        return response


class AdminEndSessions(AdminOnly):
    def post(self, request):
        user, refusal = self.target(request)
        if refusal:
            return refusal
        return Response({"refresh_tokens_blacklisted": blacklist_all(user)})
