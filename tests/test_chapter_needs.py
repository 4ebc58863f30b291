"""CHAPTER_NEEDS (tests/toc.py), which `make chapter` installs from, against what the code uses."""

import json
import re

from toc import CHAPTER_NEEDS, ROOT, toc_notebooks

# What in a chapter's code cells or its module (book/sessionlab/chapters/<slug>.py) shows a need.
SIGNS = {
    "chromium": r"\.browsers?\(|launch_chromium|chromium_executable",
    "loadtools": r"which\(\"(wrk|haproxy)\"\)|\[\"(haproxy|wrk)\"",
    # run_suite starts implementations/, Node.js apps among them
    "node": r"which\(\"node\"\)|\[\"node\"|run_suite\(bench",
    "redis": r"\.redis\(|redis_server\(",
}


def chapter_code(notebook) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = "".join("".join(cell["source"]) for cell in cells if cell["cell_type"] == "code")
    module = (
        ROOT / "book" / "sessionlab" / "chapters" / (re.sub(r"^\d+_", "", notebook.stem) + ".py")
    )
    return code + (module.read_text(encoding="utf-8") if module.exists() else "")


def test_every_chapter_lists_exactly_what_its_code_uses():
    found = {}
    for notebook in toc_notebooks():
        code = chapter_code(notebook)
        needs = tuple(need for need, sign in SIGNS.items() if re.search(sign, code))
        if needs:
            found[notebook.stem] = needs
    listed = {name: tuple(sorted(needs)) for name, needs in CHAPTER_NEEDS.items()}
    assert listed == found


def test_the_table_names_only_chapters_and_make_targets():
    chapters = {notebook.stem for notebook in toc_notebooks()}
    assert set(CHAPTER_NEEDS) <= chapters
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    for needs in CHAPTER_NEEDS.values():
        for need in needs:
            assert re.search(rf"^{need}:", makefile, re.M), f"no make target {need}"
