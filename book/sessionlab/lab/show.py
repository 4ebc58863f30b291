"""Show the code a chapter teaches in the chapter itself, where readers and nbval both see it."""

from __future__ import annotations

import inspect
from pathlib import Path

from IPython.display import Code

__all__ = ["show_source"]

_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def show_source(obj) -> Code:
    """The source of a function, class or module, headed by the file it lives in.

    Return it as a cell's last value: JupyterLab and the site render it highlighted, and nbval
    compares it with the committed output, so a change to taught code shows up in the chapter.
    """
    obj = inspect.unwrap(obj)  # a registered factory: show the factory, not the registry's wrapper
    # No line numbers in the header: an edit elsewhere in the file must not change this output,
    # only an edit of the code shown.
    source = inspect.getsource(obj)
    path = Path(inspect.getsourcefile(obj)).resolve().relative_to(_PACKAGE_PARENT)
    return Code(f"# {path.as_posix()}\n{source}", language="python")
