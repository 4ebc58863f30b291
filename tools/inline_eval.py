"""Numbers in the prose: MyST's ``{eval}`expression``` role, as JupyterLab and the site show it.

A markdown cell writes a number as ``{eval}`prose["csrf_n_forged"]```. jupyterlab-myst evaluates
each such expression through the kernel when the cell is run (``user_expressions`` of an
``execute_request``) and keeps the results in the cell's metadata, ``user_expressions``: a list of
``{"expression": ..., "result": {"status": "ok", "data": {"text/plain": ...}, "metadata": {}}}``,
one per occurrence, in order. It shows the stored results when a notebook is opened, before
anything runs, so a reader sees the numbers of the committed run.

This module holds the one definition of that format for the three places that use it:

* ``tools/execute_notebooks.py`` (``make notebooks``) runs a chapter and stores the results of
  every markdown cell exactly as JupyterLab does when the cell is run;
* ``tests/nbval_checks.py`` (``make test``) evaluates them again during nbval's run, after the
  code cell before them, and fails when a stored result differs (masked like nbval's outputs);
* this Sphinx extension (``_config.yml``, ``local_extensions``) renders the role on the site from
  the stored results (the site never executes: ``execute_notebooks: off``). myst-nb's own
  ``eval`` role needs a live kernel, so it is replaced.

The text shown is the result's ``text/plain`` with one pair of enclosing quotes removed, which is
what jupyterlab-myst 2.7 shows (``PlainTextRenderer`` in ``src/components/inlineExpression.tsx``):
a string ``'~1.2 µs'`` reads ``~1.2 µs`` in both.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

#: ``{eval}`expression``` in a markdown cell (MyST's inline-expression role).
EVAL_ROLE = re.compile(r"\{eval\}`([^`\n]+)`")
#: the metadata key jupyterlab-myst reads and writes (``metadataSection``)
METADATA_KEY = "user_expressions"
#: the kernelspec display name JupyterLab 4 writes for ipykernel's python3 kernel
KERNEL_DISPLAY_NAME = "Python 3 (ipykernel)"
_QUOTED = re.compile(r"""^(["'])(.*)\1$""", re.DOTALL)


class StoredResultError(ValueError):
    """An ``{eval}`` role without a usable stored result (missing, an error, or no text)."""


def expressions(markdown: str) -> list[str]:
    """The ``{eval}`` expressions of a markdown cell, in order, repeats included."""
    return EVAL_ROLE.findall(markdown)


def request(exprs: list[str]) -> dict[str, str]:
    """``user_expressions`` for an execute_request, keyed by position as jupyterlab-myst does."""
    return {str(index): expr for index, expr in enumerate(exprs)}


def stored(exprs: list[str], reply: dict) -> list[dict]:
    """The metadata list for a cell from the ``user_expressions`` of the kernel's reply."""
    return [{"expression": expr, "result": reply[str(index)]} for index, expr in enumerate(exprs)]


def shown(result: dict) -> str:
    """The text a reader sees for one stored result (JupyterLab and the site alike)."""
    if result.get("status") != "ok":
        raise StoredResultError(f"{result.get('ename', 'error')}: {result.get('evalue', '')}")
    text = result.get("data", {}).get("text/plain")
    if text is None:
        raise StoredResultError("the result has no text/plain")
    return _QUOTED.sub(r"\2", text)


def markdown_source(cell: dict) -> str:
    """The MyST text of a cell that may hold ``{eval}`` roles: a markdown cell's source, or the
    caption of the figure a code cell draws (``mystnb.figure.caption``, shown on the site only;
    its results are stored in the code cell's metadata, under the same key)."""
    if cell.get("cell_type") == "code":
        return cell.get("metadata", {}).get("mystnb", {}).get("figure", {}).get("caption", "")
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


def stored_problems(cell: dict) -> list[str]:
    """Why a markdown cell's stored results do not match its roles (empty when they do)."""
    exprs = expressions(markdown_source(cell))
    kept = cell.get("metadata", {}).get(METADATA_KEY)
    if not exprs:
        return [] if kept is None else ["user_expressions stored but no {eval} role"]
    if kept is None:
        return [f"no stored results for {exprs}: run make notebooks"]
    if [entry.get("expression") for entry in kept] != exprs:
        return [f"stored expressions {[e.get('expression') for e in kept]} != roles {exprs}"]
    problems = []
    for entry in kept:
        try:
            shown(entry["result"])
        except StoredResultError as error:
            problems.append(f"{entry['expression']}: {error}")
    return problems


def notebook_values(path: Path) -> dict[str, set[str]]:
    """Every expression of a notebook with the texts stored for it (one, when consistent)."""
    values: dict[str, set[str]] = {}
    for cell in json.loads(path.read_text(encoding="utf-8")).get("cells", []):
        for entry in cell.get("metadata", {}).get(METADATA_KEY, []):
            try:
                text = shown(entry["result"])
            except StoredResultError as error:
                text = f"\0{error}"
            values.setdefault(entry["expression"], set()).add(text)
    return values


# --- Sphinx: render {eval} from the stored results -------------------------------------------


def _eval_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    from docutils import nodes

    document = inliner.document
    env = document.settings.env
    path = Path(env.doc2path(env.docname))
    cache = env.temp_data.setdefault("inline_eval", {})
    if path not in cache:
        cache[path] = notebook_values(path) if path.suffix == ".ipynb" else {}
    texts = cache[path].get(text)
    problem = None
    if not texts:
        problem = f"no stored result for {{eval}}`{text}` (run make notebooks)"
    elif len(texts) > 1:
        problem = f"{{eval}}`{text}` has different stored results: {sorted(texts)}"
    elif next(iter(texts)).startswith("\0"):
        problem = f"{{eval}}`{text}`: {next(iter(texts))[1:]}"
    if problem:
        message = inliner.reporter.warning(problem, line=lineno)
        return [nodes.problematic(rawtext, rawtext)], [message]
    return [nodes.inline(rawtext, next(iter(texts)), classes=["eval-result"])], []


def measured(path: Path, key: str) -> str:
    """The text a chapter shows for ``prose["key"]``, from its stored results; raises
    :class:`StoredResultError` when the chapter has none, or has two different ones."""
    texts = notebook_values(path).get(f'prose["{key}"]') if path.exists() else None
    if not texts:
        raise StoredResultError(f"{path.name} stores no result for prose[{key!r}]")
    if len(texts) > 1:
        raise StoredResultError(f"{path.name} stores different results for {key}: {sorted(texts)}")
    text = next(iter(texts))
    if text.startswith("\0"):
        raise StoredResultError(f"{path.name}, {key}: {text[1:]}")
    return text


def _measured_role(name, rawtext, text, lineno, inliner, options=None, content=None):
    """``{measured}`10_easier_to_scale::scale_load_ratio``` on any page: the number that chapter
    shows, read from its stored results when the site is built (so a summary page cannot drift
    from its chapters)."""
    from docutils import nodes

    env = inliner.document.settings.env
    chapter, _, key = text.partition("::")
    path = Path(env.doc2path(env.docname)).parent / f"{chapter}.ipynb"
    try:
        shown_text = measured(path, key)
    except StoredResultError as error:
        message = inliner.reporter.warning(str(error), line=lineno)
        return [nodes.problematic(rawtext, rawtext)], [message]
    return [nodes.inline(rawtext, shown_text, classes=["eval-result"])], []


def setup(app) -> dict:
    # myst-nb registers an `eval` role that asks a running kernel; this one reads the notebook.
    app.add_role("eval", _eval_role, override=True)
    app.add_role("measured", _measured_role)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
