"""Rewrite chapters from myst-nb's glue to what JupyterLab and the site both show.

Idempotent: a converted notebook is left byte for byte as it is; run it on every chapter after a
merge, then re-execute them (``make notebooks``).

What it changes, per notebook:

* code: ``glue("key", value, display=False)`` becomes ``prose["key"] = value`` (a name made with an
  f-string stays an f-string key); ``prose = {}`` is added to the imports cell, before
  ``bench = Bench()``, and ``from myst_nb import glue`` goes;
* prose: ``{glue:text}`key``` (or ``{glue}``) becomes ``{eval}`prose["key"]```, and
  ``{glue:text}`key:.1f``` becomes ``{eval}`f"{prose['key']:.1f}"```;
* figures: a ``glue:figure`` block is removed from the markdown, and the code cell that glued the
  figure shows it (``plt.show()`` in place of the glue call and of a following ``plt.close(fig)``)
  and carries its name, caption and alt text in the cell metadata myst-nb reads
  (``mystnb.figure.name``/``caption``, ``mystnb.image.alt``), so the site draws a numbered,
  captioned figure where the cell is and JupyterLab shows the plot in the same place;
* committed outputs, so the notebook reads right before it is re-executed: a glued figure's
  output becomes an ordinary image output; other glue records are removed, and their values are
  stored as each markdown cell's ``user_expressions`` (what jupyterlab-myst and the site show);
* the kernelspec's display name becomes JupyterLab's, "Python 3 (ipykernel)".

It stops with an error (and changes nothing in that notebook) on a form it does not know:
``{glue:md}``, a glue call it cannot read, a figure option other than name and alt.
It warns about a prose number that is used before the code that makes it (JupyterLab evaluates
a cell's roles when the cell runs, so the number must exist by then).

Usage: python tools/glue_to_eval.py [--check] [book/*.ipynb ...]   (default: every book/*.ipynb)
``--check`` changes nothing and exits 1 when a notebook would change.
"""

from __future__ import annotations

import argparse
import ast
import copy
import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inline_eval  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
RECORD = "application/papermill.record/"
GLUE_ROLE = re.compile(r"\{glue(?::(text|any|md))?\}`([^`]+)`")
FIGURE_BLOCK = re.compile(
    r"^(?P<fence>`{3,}|:{3,})\{glue:figure\}[ \t]+(?P<key>\S+)[ \t]*\n(?P<body>.*?)^(?P=fence)[ \t]*(?:\n|$)",
    re.MULTILINE | re.DOTALL,
)
FIGURE_OPTIONS = {"name", "alt"}
GLUE_IMPORT = re.compile(r"^from myst_nb import glue[ \t]*\n", re.MULTILINE)
PROSE_DEFINITION = "prose = {}  # the numbers the text quotes: its {eval} roles read them"
TOP_LEVEL_AWAIT = ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


class ConversionError(ValueError):
    """A glue form the converter does not know how to rewrite."""


def parse_figure(key: str, body: str) -> dict:
    options, caption, in_options = {}, [], True
    for line in body.splitlines():
        match = re.match(r"^:([\w-]+):\s*(.*)$", line) if in_options else None
        if match:
            if match.group(1) not in FIGURE_OPTIONS:
                raise ConversionError(f"glue:figure {key}: option :{match.group(1)}: unknown")
            options[match.group(1)] = match.group(2).strip()
        else:
            in_options = False
            caption.append(line)
    return {
        "name": options.get("name"),
        "alt": options.get("alt"),
        "caption": "\n".join(caption).strip(),
    }


def eval_role(key: str) -> str:
    key, _, spec = key.partition(":")
    if not spec:
        return f'{{eval}}`prose["{key}"]`'
    return f"{{eval}}`f\"{{prose['{key}']:{spec}}}\"`"


def convert_markdown(source: str, figures: dict) -> str:
    def figure(match: re.Match) -> str:
        figure = parse_figure(match.group("key"), match.group("body"))
        figure["caption"] = GLUE_ROLE.sub(lambda m: eval_role(m.group(2)), figure["caption"])
        figures[match.group("key")] = figure
        return ""

    source = FIGURE_BLOCK.sub(figure, source)

    def role(match: re.Match) -> str:
        if match.group(1) == "md":
            raise ConversionError(f"{{glue:md}}`{match.group(2)}`: rewrite it by hand")
        return eval_role(match.group(2))

    source = GLUE_ROLE.sub(role, source)
    return re.sub(r"\n{3,}", "\n\n", source).strip("\n")


def _glue_calls(tree: ast.AST) -> list[ast.Expr]:
    return [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Call)
        and isinstance(node.value.func, ast.Name)
        and node.value.func.id == "glue"
    ]


def _constant_key(call: ast.Call) -> str | None:
    name = call.args[0]
    return name.value if isinstance(name, ast.Constant) and isinstance(name.value, str) else None


def convert_code(source: str, figures: dict) -> tuple[str, str | None]:
    """The rewritten source, and the key of the figure this cell glued (if any)."""
    tree = compile(source, "<cell>", "exec", flags=TOP_LEVEL_AWAIT)
    lines = source.splitlines(keepends=True)
    edits, figure_key = [], None  # (first line, last line, replacement lines)
    for node in _glue_calls(tree):
        call = node.value
        display = [k for k in call.keywords if k.arg == "display"]
        if len(call.args) != 2 or len(call.keywords) != len(display):
            raise ConversionError(
                f"glue call not understood: {ast.get_source_segment(source, node)}"
            )
        indent = lines[node.lineno - 1][: node.col_offset]
        key = _constant_key(call)
        value = ast.get_source_segment(source, call.args[1], padded=False)
        if key is not None and key in figures:
            figure_key = key
            edits.append((node.lineno, node.end_lineno, [f"{indent}plt.show()\n"]))
            continue
        name = ast.get_source_segment(source, call.args[0])
        edits.append((node.lineno, node.end_lineno, [f"{indent}prose[{name}] = {value}\n"]))
    if figure_key is not None:  # plt.show() has closed the figure: a plt.close(fig) goes
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Expr)
                and isinstance(node.value, ast.Call)
                and ast.unparse(node.value.func) == "plt.close"
            ):
                edits.append((node.lineno, node.end_lineno, []))
    for first, last, replacement in sorted(edits, reverse=True):
        tail = lines[last - 1].rstrip("\n")
        if replacement and not tail.endswith(")"):
            raise ConversionError(f"text after a glue call on line {last}: {tail!r}")
        lines[first - 1 : last] = replacement
    converted = "".join(lines)
    if not source.endswith("\n"):
        converted = converted.rstrip("\n")
    return converted, figure_key


def _records(cell) -> dict[str, str]:
    """Glued values in a code cell's outputs: key -> text/plain."""
    found = {}
    for output in cell.get("outputs", []):
        name = output.get("metadata", {}).get("scrapbook", {}).get("name")
        text = output.get("data", {}).get(RECORD + "text/plain")
        if name and text is not None:
            found[name] = text
    return found


def _convert_outputs(cell, figure_key: str | None) -> None:
    kept = []
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        if not any(mime.startswith(RECORD) for mime in data):
            kept.append(output)
            continue
        name = output.get("metadata", {}).get("scrapbook", {}).get("name")
        if figure_key is not None and name == figure_key:
            image = copy.deepcopy(output)
            image["data"] = {mime[len(RECORD) :]: value for mime, value in data.items()}
            image["metadata"] = {}
            kept.append(image)
    cell["outputs"] = kept


def _stored_result(expr: str, records: dict[str, str]) -> dict | None:
    plain = re.fullmatch(r'prose\["([^"]+)"\]', expr)
    formatted = re.fullmatch(r"f\"\{prose\['([^']+)'\]:([^}]*)\}\"", expr)
    try:
        if plain and plain.group(1) in records:
            text = records[plain.group(1)]
        elif formatted and formatted.group(1) in records:
            text = repr(format(ast.literal_eval(records[formatted.group(1)]), formatted.group(2)))
        else:
            return None
    except (ValueError, SyntaxError):
        return None
    return {"status": "ok", "data": {"text/plain": text}, "metadata": {}}


def _add_prose_definition(cells) -> None:
    code = [cell for cell in cells if cell.cell_type == "code"]
    uses = any("prose[" in cell.source for cell in code)
    if not code or not uses or any(re.search(r"^prose = ", c.source, re.M) for c in code):
        return
    setup = code[0]
    anchor = "bench = Bench()"
    if anchor in setup.source:
        setup.source = setup.source.replace(anchor, f"{PROSE_DEFINITION}\n{anchor}", 1)
    else:
        setup.source = setup.source.rstrip("\n") + f"\n{PROSE_DEFINITION}"


def convert(notebook) -> list[str]:
    """Convert in place; return warnings (numbers used before the code that makes them)."""
    figures: dict[str, dict] = {}
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            cell.source = convert_markdown(cell.source, figures)
    notebook.cells = [c for c in notebook.cells if c.cell_type != "markdown" or c.source.strip()]
    records: dict[str, str] = {}
    made_at: dict[str, int] = {}
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for key, text in _records(cell).items():
            records[key] = text
            made_at.setdefault(key, index)
        cell.source, figure_key = convert_code(cell.source, figures)
        if figure_key is not None:
            figure = figures[figure_key]
            options = {"figure": {"name": figure["name"], "caption": figure["caption"]}}
            options["image"] = {"alt": figure["alt"]}
            cell.metadata["mystnb"] = options
        _convert_outputs(cell, figure_key)
        if "glue" in cell.source and not re.search(r"\bglue\(", cell.source):
            cell.source = GLUE_IMPORT.sub("", cell.source)
    _add_prose_definition(notebook.cells)
    warnings = []
    for index, cell in enumerate(notebook.cells):
        exprs = inline_eval.expressions(inline_eval.markdown_source(cell))
        if not exprs or inline_eval.METADATA_KEY in cell.metadata:
            continue
        results = [_stored_result(expr, records) for expr in exprs]
        if all(results):
            cell.metadata[inline_eval.METADATA_KEY] = inline_eval.stored(
                exprs, {str(i): r for i, r in enumerate(results)}
            )
        for expr in exprs:
            key = re.search(r"""prose\[["']([^"']+)["']\]""", expr)
            if key and made_at.get(key.group(1), -1) > index:
                warnings.append(
                    f"cell {index}: {expr} is used before cell {made_at[key.group(1)]} makes it"
                )
    kernelspec = dict(notebook.metadata.get("kernelspec", {}))
    kernelspec.update(
        name="python3", language="python", display_name=inline_eval.KERNEL_DISPLAY_NAME
    )
    notebook.metadata["kernelspec"] = nbformat.from_dict(kernelspec)
    return warnings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    paths = args.notebooks or sorted((ROOT / "book").glob("*.ipynb"))
    status = 0
    for path in paths:
        before = path.read_text(encoding="utf-8")
        notebook = nbformat.reads(before, as_version=4)
        try:
            warnings = convert(notebook)
        except (ConversionError, SyntaxError) as error:
            print(f"{path}: NOT converted: {error}", file=sys.stderr)
            status = 2
            continue
        after = nbformat.writes(notebook) + "\n"
        for warning in warnings:
            print(f"{path}: warning: {warning}", file=sys.stderr)
        if after == before:
            continue
        if args.check:
            print(f"{path}: would change")
            status = max(status, 1)
        else:
            path.write_text(after, encoding="utf-8")
            print(f"{path}: converted")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
