"""The views and URLs of the Django apps in :mod:`sessionlab.recommended.frameworks.django_apps`."""

from __future__ import annotations

import time
from functools import wraps

from django.contrib.auth import authenticate, login, logout, update_session_auth_hash
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.contrib.auth.models import User
from django.http import JsonResponse
from django.middleware.csrf import get_token
from django.urls import path
from django.views.decorators.http import require_GET, require_POST

from sessionlab.recommended.frameworks.common import DEMO_HASH_ITERATIONS
from sessionlab.recommended.frameworks.django_apps import app_state, scoped, unscoped


class DemoPBKDF2Hasher(PBKDF2PasswordHasher):
    """PBKDF2 at the book's demo cost, so a checklist of many logins runs in seconds."""

    algorithm = "pbkdf2_sha256_demo"
    iterations = DEMO_HASH_ITERATIONS


def _error(status: int) -> JsonResponse:
    return JsonResponse({"error": status}, status=status)


def login_required(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return view(request, *args, **kwargs) if request.user.is_authenticated else _error(401)

    return wrapped


def _start(request, user) -> None:
    state = app_state()
    if state["recommended"]:
        # login() keeps the key when the same user logs in again; re-authentication gets one too.
        request.session.cycle_key()
    login(request, user)  # a new session key when the session held no user or another one
    if state["recommended"]:
        request.session["auth_at"] = time.time()
        request.session["generation"] = state["generations"].get(user.pk, 0)


@require_GET
def csrf(request):
    return JsonResponse({"csrf_token": get_token(request)})


@require_POST
def login_view(request):
    state, name = app_state(), request.POST.get("username", "")
    if state["recommended"] and state["throttle"].begin(name):  # check and count, atomically
        return _error(429)
    user = authenticate(request, username=scoped(name), password=request.POST.get("password", ""))
    if user is None:
        return _error(401)
    state["throttle"].succeeded(name)
    _start(request, user)
    return JsonResponse({"user": unscoped(user.username)})


@require_GET
@login_required
def me(request):
    role = "admin" if request.user.is_staff else "user"
    return JsonResponse({"user": unscoped(request.user.username), "role": role})


@require_POST
@login_required
def transfer(request):
    return JsonResponse({"transferred": request.POST.get("amount", "0")})


@require_POST
@login_required
def elevate(request):
    if not request.user.check_password(request.POST.get("password", "")):
        return _error(401)
    if app_state()["recommended"]:
        request.session.cycle_key()
    request.session["elevated"] = True
    return JsonResponse({"elevated": True})


@require_POST
@login_required
def password(request):
    user = request.user
    new = request.POST.get("new", "")
    if not new:
        return _error(400)  # request.POST["new"] would raise, and Django answer 500
    if not user.check_password(request.POST.get("old", "")):
        return _error(401)
    user.set_password(new)
    user.save()
    # Django's documented step: every other session's auth hash no longer matches.
    update_session_auth_hash(request, user)
    return JsonResponse({"changed": True})


@require_POST
@login_required
def logout_view(request):
    logout(request)  # flushes the session from the store
    return JsonResponse({"logged_out": True})


def _end_sessions(user_pk: int) -> None:
    generations = app_state()["generations"]
    generations[user_pk] = generations.get(user_pk, 0) + 1


@require_POST
@login_required
def logout_everywhere(request):
    if not app_state()["recommended"]:
        return _error(404)  # Django has no list of a user's sessions
    _end_sessions(request.user.pk)
    logout(request)
    return JsonResponse({"logged_out_everywhere": True})


def _target(request):
    if not request.user.is_staff:
        return None, _error(403)
    user = User.objects.filter(username=scoped(request.POST.get("user", ""))).first()
    return user, (None if user else _error(404))


@require_POST
@login_required
def admin_end_sessions(request):
    user, error = _target(request)
    if error or not app_state()["recommended"]:
        return error or _error(404)
    _end_sessions(user.pk)
    return JsonResponse({"ended": unscoped(user.username)})


@require_POST
@login_required
def admin_disable(request):
    user, error = _target(request)
    if error:
        return error
    user.is_active = False
    user.save()
    return JsonResponse({"disabled": unscoped(user.username)})


urlpatterns = [
    path("csrf", csrf),
    path("login", login_view),
    path("me", me),
    path("transfer", transfer),
    path("elevate", elevate),
    path("password", password),
    path("logout", logout_view),
    path("logout-everywhere", logout_everywhere),
    path("admin/end-sessions", admin_end_sessions),
    path("admin/disable", admin_disable),
]
