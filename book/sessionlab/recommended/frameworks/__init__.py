"""Framework sessions as the book recommends configuring them (chapter 41), beside their defaults.

Each module builds one framework's app with the same routes, so one checklist drives them all:
``/csrf`` (a CSRF token), ``/login``, ``/me``, ``/transfer`` (a state change), ``/elevate``
(privilege change), ``/password``, ``/logout``, ``/logout-everywhere``, ``/admin/end-sessions``
and ``/admin/disable``. ``config="defaults"`` is the framework as shipped; ``"recommended"`` is
what the book tells readers to copy.
"""
