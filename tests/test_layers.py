"""The package's layers import downward only, and every chapter module belongs to a chapter.

``sessionlab.lab`` (plumbing) < ``sessionlab.recommended`` (code to copy) <
``sessionlab.checklist`` (the checklist, its launcher and its command line) <
``sessionlab.chapters`` (one module per chapter). A lower layer importing a higher one, a chapter module importing
another chapter's module, a chapter module no chapter imports, and a test of a chapter module
named after anything but that chapter all fail here.
"""

import ast
import json
import re
from pathlib import Path

import pytest
from toc import ROOT, toc_notebooks

PACKAGE = ROOT / "book" / "sessionlab"
LAYERS = ("lab", "recommended", "checklist", "chapters")
SLUGS = {re.sub(r"^\d+_", "", nb.stem): nb for nb in toc_notebooks()}


def modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        yield path, parts


def imported_sessionlab_modules(source: str) -> set[tuple[str, ...]]:
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module.startswith("sessionlab"):
                parts = tuple(node.module.split(".")[1:])
                found.add(parts)
                found.update(parts + (alias.name,) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level:
            raise AssertionError("relative import: write sessionlab.<layer>.<module>")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("sessionlab."):
                    found.add(tuple(alias.name.split(".")[1:]))
    return {parts for parts in found if parts and parts[0] in LAYERS}


def notebook_code(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def test_every_module_sits_in_a_layer():
    stray = [parts for _, parts in modules() if len(parts) < 2 and parts != ("__init__",)]
    assert not stray, f"modules outside lab/, recommended/, checklist/, chapters/: {stray}"
    unknown = {parts[0] for _, parts in modules() if len(parts) >= 2} - set(LAYERS)
    assert not unknown, f"unknown layer folders: {unknown}"


@pytest.mark.parametrize("path, parts", list(modules()), ids=lambda x: getattr(x, "name", ""))
def test_imports_point_downward(path, parts):
    if len(parts) < 2:
        return
    rank = LAYERS.index(parts[0])
    for target in imported_sessionlab_modules(path.read_text(encoding="utf-8")):
        assert LAYERS.index(target[0]) <= rank, f"{'.'.join(parts)} imports {'.'.join(target)}"
        if parts[0] == "chapters" and target[0] == "chapters" and len(target) > 1:
            assert target[1] == parts[1], f"chapter module {parts[1]} imports {target[1]}"


@pytest.mark.parametrize(
    "name", sorted(p.stem for p in (PACKAGE / "chapters").glob("*.py") if p.stem != "__init__")
)
def test_chapter_module_belongs_to_its_chapter_alone(name):
    assert name in SLUGS, f"chapters/{name}.py is named after no chapter in _toc.yml"
    users = [
        slug
        for slug, notebook in SLUGS.items()
        if ("chapters", name) in imported_sessionlab_modules(notebook_code(notebook))
    ]
    assert users == [name], f"chapters/{name}.py is imported by the chapters {users}"


@pytest.mark.parametrize("test_file", sorted((ROOT / "tests").glob("test_*.py")), ids=str)
def test_tests_of_a_chapter_module_are_named_after_it(test_file):
    chapters = {
        target[1]
        for target in imported_sessionlab_modules(test_file.read_text(encoding="utf-8"))
        if target[0] == "chapters" and len(target) > 1
    }
    if test_file.name in ("test_abuse.py", "test_abuse_all_apps.py"):
        return  # the abuse tests attack every app the book starts, whichever layer defines it
    assert chapters <= {test_file.stem.removeprefix("test_")}, (
        f"{test_file.name} tests the chapter modules {sorted(chapters)}: "
        "name it test_<chapter slug>.py, one file per chapter module"
    )
