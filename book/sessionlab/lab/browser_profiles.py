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
    "CHROMIUM_THIRD_PARTY",
    "FIREFOX_THIRD_PARTY",
    "FIREFOX_BLOCK_ALL",
    "cookie_preferences",
    "firefox_permissions",
    "firefox_preferences",
    "webkit_arguments",
]

#: Chromium's content-setting values (``ContentSetting`` in components/content_settings).
ALLOW, BLOCK = 1, 2

#: Chromium's third-party cookie switch, ``profile.cookie_controls_mode`` (``CookieControlsMode``:
#: kOff 0 allows them, kBlockThirdParty 1 blocks them), keyed by "third-party cookies allowed".
CHROMIUM_THIRD_PARTY = {True: 0, False: 1}


def cookie_preferences(
    *,
    block_cookies: bool,
    allowed_origins: Iterable[str] = (),
    third_party_cookies: bool | None = None,
) -> dict:
    """The ``Preferences`` JSON that blocks (or allows) cookies and site data for every site.

    ``allowed_origins`` (e.g. ``"http://127.0.0.1:8000"``) are exceptions that the user allowed,
    as Chromium stores them: a ``"primary,secondary"`` pattern pair per site.
    ``third_party_cookies``: the user's third-party switch, allowed (``True``) or blocked
    (``False``); ``None`` leaves Chromium's default.
    """
    profile: dict = {
        "default_content_setting_values": {"cookies": BLOCK if block_cookies else ALLOW}
    }
    if third_party_cookies is not None:
        profile["cookie_controls_mode"] = CHROMIUM_THIRD_PARTY[third_party_cookies]
    exceptions = {f"{origin},*": {"setting": ALLOW} for origin in allowed_origins}
    if exceptions:
        profile["content_settings"] = {"exceptions": {"cookies": exceptions}}
    return {"profile": profile}


#: Firefox's ``network.cookie.cookieBehavior`` value for "block all cookies" (nsICookieService).
FIREFOX_BLOCK_ALL = 2
#: The same preference for third-party cookies allowed (0, accept all: no partitioning) or
#: blocked (1, reject foreign); Firefox's default (5) partitions them per top-level site.
FIREFOX_THIRD_PARTY = {True: 0, False: 1}

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


def firefox_preferences(
    *, block_cookies: bool = False, third_party_cookies: bool | None = None
) -> dict:
    """The preferences a Firefox profile starts with: offline, and cookies blocked or not;
    ``third_party_cookies`` as for :func:`cookie_preferences`."""
    preferences = {
        **_OFFLINE_PROXY,
        "browser.shell.checkDefaultBrowser": False,
        "datareporting.policy.dataSubmissionEnabled": False,
        "toolkit.telemetry.enabled": False,
        # JSON answers shown as text, as the other engines show them: Firefox's JSON viewer is a
        # page of its own, from which a script cannot fetch the app's other pages
        "devtools.jsonview.enabled": False,
        "network.captive-portal-service.enabled": False,
        "network.connectivity-service.enabled": False,
    }
    if block_cookies:
        preferences["network.cookie.cookieBehavior"] = FIREFOX_BLOCK_ALL
    elif third_party_cookies is not None:
        preferences["network.cookie.cookieBehavior"] = FIREFOX_THIRD_PARTY[third_party_cookies]
    return preferences


def firefox_permissions(allowed_origins: Iterable[str]) -> str:
    """A permission-defaults file that allows cookies for each origin, as a user's exception."""
    return "".join(f"origin\tcookie\t{ALLOW}\t{origin}\n" for origin in allowed_origins)


def webkit_arguments(
    *, block_cookies: bool = False, third_party_cookies: bool | None = None
) -> list[str]:
    """MiniBrowser's command line: automation, offline, and its cookie policy.

    Without ``block_cookies`` the policy is MiniBrowser's default, ``no-third-party``, unless
    ``third_party_cookies=True`` asks for ``always``.
    """
    policy = "never" if block_cookies else "always" if third_party_cookies else "no-third-party"
    return [
        "--automation",
        "--proxy=http://127.0.0.1:9",
        "--ignore-host=127.0.0.1",
        "--ignore-host=localhost",
        f"--cookies-policy={policy}",
    ]
