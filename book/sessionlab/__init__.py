"""sessionlab: the plumbing shared by the chapters of *Sessions, not JWT*.

Loopback servers that always stop (:mod:`.servers`), a timing harness (:mod:`.timing`), the
plot style (:mod:`.plotting`), JWT primitives and the recommended verifier (:mod:`.tokens`),
server-side sessions and a real Redis (:mod:`.sessions`), the reference session app
(:mod:`.apps`) and headless Chromium (:mod:`.browser`). Import from the submodules.
"""
