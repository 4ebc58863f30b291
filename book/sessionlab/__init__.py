"""sessionlab: the code of *Sessions, not JWT*, in three layers that import downward only.

- :mod:`sessionlab.lab`: plumbing no chapter teaches (servers, bench, Redis, browser, timing).
- :mod:`sessionlab.recommended`: the code readers may copy, and the two apps built from it.
- :mod:`sessionlab.chapters`: one module per chapter, named after the chapter.

``tests/test_layers.py`` enforces the direction of imports.
"""
