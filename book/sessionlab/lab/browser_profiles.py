"""Browser profiles with user settings, for the chapter on users who block cookies.

Each engine keeps the user's "block cookies" switch in its own place: Chromium in a profile's
``Preferences`` (:func:`cookie_preferences`), Firefox in ``prefs.js``/``user.js``
(:func:`firefox_preferences`, per-site exceptions in :func:`firefox_permissions`), WebKitGTK's
MiniBrowser on its command line (:func:`webkit_arguments`). The engines of
:mod:`sessionlab.lab.browser` use these when a page is opened with ``block_cookies=True``.

A normal Playwright context cannot carry Chromium's content settings, so the Chromium engine
(:mod:`.browser_chromium`) writes them into the ``Default/Preferences`` file of a fresh,
temporary user-data directory and opens that profile with ``launch_persistent_context``: the
same switch a user flips in *Settings, Privacy and security, Third-party cookies / Site data*.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "ALLOW",
    "BLOCK",
    "FIREFOX_BLOCK_ALL",
    "cookie_preferences",
    "firefox_permissions",
    "firefox_preferences",
    "webkit_arguments",
]

#: Chromium's content-setting values (``ContentSetting`` in components/content_settings).
ALLOW, BLOCK = 1, 2


def cookie_preferences(*, block_cookies: bool, allowed_origins: Iterable[str] = ()) -> dict:
    """The ``Preferences`` JSON that blocks (or allows) cookies and site data for every site.

    ``allowed_origins`` (e.g. ``"http://127.0.0.1:8000"``) are exceptions that the user allowed,
    as Chromium stores them: a ``"primary,secondary"`` pattern pair per site.
    """
    profile: dict = {
        "default_content_setting_values": {"cookies": BLOCK if block_cookies else ALLOW}
    }
    exceptions = {f"{origin},*": {"setting": ALLOW} for origin in allowed_origins}
    if exceptions:
        profile["content_settings"] = {"exceptions": {"cookies": exceptions}}
    return {"profile": profile}


#: Firefox's ``network.cookie.cookieBehavior`` value for "block all cookies" (nsICookieService).
FIREFOX_BLOCK_ALL = 2

#: Nothing may leave the machine: every non-loopback request goes to a proxy where nothing
#: listens (Firefox never sends loopback addresses to a proxy).
_OFFLINE_PROXY = {
    "network.proxy.type": 1,
    "network.proxy.http": "127.0.0.1",
    "network.proxy.http_port": 9,
    "network.proxy.ssl": "127.0.0.1",
    "network.proxy.ssl_port": 9,
    "network.proxy.share_proxy_settings": True,
}


def firefox_preferences(*, block_cookies: bool = False) -> dict:
    """The preferences a Firefox profile starts with: offline, and cookies blocked or not."""
    preferences = {
        **_OFFLINE_PROXY,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.enabled": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
    }
    if block_cookies:
        preferences["network.cookie.cookieBehavior"] = FIREFOX_BLOCK_ALL
    return preferences


def firefox_permissions(allowed_origins: Iterable[str]) -> str:
    """A permission-defaults file that allows cookies for each origin, as a user's exception."""
    return "".join(f"origin\tcookie\t{ALLOW}\t{origin}\n" for origin in allowed_origins)


def webkit_arguments(*, block_cookies: bool = False) -> list[str]:
    """MiniBrowser's command line: automation, offline, and its cookie policy.

    Without ``block_cookies`` the policy is MiniBrowser's default, ``no-third-party``.
    """
    return [
        "--automation",
        "--proxy=http://127.0.0.1:9",
        "--ignore-host=127.0.0.1",
        "--ignore-host=localhost",
        f"--cookies-policy={'never' if block_cookies else 'no-third-party'}",
    ]
