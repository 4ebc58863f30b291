"""Show the code a chapter teaches in the chapter itself, where readers and nbval both see it."""

from __future__ import annotations

import inspect
from pathlib import Path

from IPython.display import Code

__all__ = ["show_source"]

_PACKAGE_PARENT = Path(__file__).resolve().parents[2]


def show_source(obj) -> Code:
    """The source of a function, class or module, headed by its file and lines.

    Return it as a cell's last value: JupyterLab and the site render it highlighted, and nbval
    compares it with the committed output, so a change to taught code shows up in the chapter.
    """
    obj = inspect.unwrap(obj)  # a registered factory: show the factory, not the registry's wrapper
    lines, first = inspect.getsourcelines(obj)
    path = Path(inspect.getsourcefile(obj)).resolve().relative_to(_PACKAGE_PARENT)
    first = max(first, 1)
    header = f"# {path.as_posix()}, lines {first}-{first + len(lines) - 1}\n"
    return Code(header + "".join(lines), language="python")
