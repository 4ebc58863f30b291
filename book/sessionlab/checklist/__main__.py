"""``python -m sessionlab.checklist --config app.toml``: see :mod:`sessionlab.checklist.cli`."""

from sessionlab.checklist.cli import main

raise SystemExit(main())
