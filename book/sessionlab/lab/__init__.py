"""The lab: plumbing no chapter teaches.

Servers that always stop (:mod:`.servers`), the :class:`~.bench.Bench` that owns what a chapter
starts, the registry of apps (:mod:`.registry`), a real Redis (:mod:`.redis_service`), three
browser engines behind one interface (:mod:`.browser`: Chromium, Firefox ESR and WebKitGTK, with
their settings in :mod:`.browser_profiles`), TLS for loopback (:mod:`.tls`, :mod:`.tls_front`), the
clock (:mod:`.clock`), timing (:mod:`.timing`), the plot style (:mod:`.plotting`), showing taught
code (:mod:`.show`) and the book-wide fixtures (:mod:`.fixtures`). It imports nothing from the
layers above it.
"""
