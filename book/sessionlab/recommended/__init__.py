"""The code the book tells readers to copy, and the apps assembled from it.

Token primitives and the recommended verifier (:mod:`.tokens`), server-side sessions
(:mod:`.sessions`), the reference session app (:mod:`.session_app`) and the JWT app
(:mod:`.jwt_app`). Secure by default; an option that weakens a default says so in its name and
docstring. Imports the lab, never a chapter module.
"""
