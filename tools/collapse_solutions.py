"""Collapse every exercise's solution in JupyterLab until a student opens it.

A solution written as one directive (```{solution} ... :class: dropdown```) is already folded:
jupyterlab-myst draws a `solution` whose classes include `dropdown` as a closed <details>, as the
site does. A gated solution (```{solution-start}``` ... ```{solution-end}```) spans cells, and
JupyterLab draws the cells between the two markers as ordinary cells, in full. This sets
JupyterLab's own fold on each of them (cell metadata ``jupyter.source_hidden`` and, for code,
``jupyter.outputs_hidden`` with the older ``collapsed`` that JupyterLab writes beside it: the cell
shows as a bar to click). Only metadata changes: sources and
outputs are left as they are, so nbval and the site are unaffected.

Usage: .venv/bin/python tools/collapse_solutions.py [--check] book/NN_slug.ipynb ...
(--check: change nothing, exit 1 naming every cell still open.)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

START = re.compile(r"^\s*(`{3,}|:{3,})\{solution-start\}", re.M)
END = re.compile(r"^\s*(`{3,}|:{3,})\{solution-end\}", re.M)


def solution_cells(notebook) -> list[int]:
    """Indexes of the cells wholly inside a gated solution: after the cell that opens it and
    before the cell that closes it. (The text that follows the opening marker in its own cell
    cannot be folded apart from that cell; a chapter that wants it folded puts it in a cell of
    its own.)"""
    inside, found = False, []
    for index, cell in enumerate(notebook.cells):
        source = cell.source if cell.cell_type == "markdown" else ""
        starts, ends = bool(START.search(source)), bool(END.search(source))
        if inside and not ends:
            found.append(index)
        if ends:
            inside = False
        if starts and not (ends and END.search(source).start() > START.search(source).start()):
            inside = True
    return found


def is_folded(cell) -> bool:
    fold = cell.metadata.get("jupyter", {})
    if cell.cell_type != "code":
        return fold.get("source_hidden") is True
    # JupyterLab writes the older `collapsed` beside `outputs_hidden` when it saves a folded code
    # cell: without it, opening and saving a chapter would change the file.
    return (
        fold.get("source_hidden") is True
        and fold.get("outputs_hidden") is True
        and cell.metadata.get("collapsed") is True
    )


def fold(cell) -> None:
    fold = dict(cell.metadata.get("jupyter", {}))
    fold["source_hidden"] = True
    if cell.cell_type == "code":
        fold["outputs_hidden"] = True
        cell.metadata["collapsed"] = True
    cell.metadata["jupyter"] = fold


def open_cells(path: Path) -> list[str]:
    notebook = nbformat.read(path, as_version=4)
    return [
        f"{path.name}: cell {i} ({notebook.cells[i].cell_type}) is inside a solution, unfolded"
        for i in solution_cells(notebook)
        if not is_folded(notebook.cells[i])
    ]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("notebooks", nargs="+", type=Path)
    args = parser.parse_args(argv)
    problems = []
    for path in args.notebooks:
        if args.check:
            problems += open_cells(path)
            continue
        notebook = nbformat.read(path, as_version=4)
        changed = False
        for index in solution_cells(notebook):
            if not is_folded(notebook.cells[index]):
                fold(notebook.cells[index])
                changed = True
        if changed:
            nbformat.write(notebook, path)
            print(f"{path}: folded its solutions")
    print("\n".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
