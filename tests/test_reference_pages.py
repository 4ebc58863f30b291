"""The glossary covers every term the chapters mark; every bibliography entry is cited."""

import json
import re

from toc import ROOT, toc_files

GLOSSARY = ROOT / "book" / "glossary.md"
TERM_ROLE = re.compile(r"\{term\}`(?:[^`<]*<([^>`]+)>|([^`]+))`")
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def text_of(path) -> str:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    return path.read_text(encoding="utf-8")


def glossary_terms() -> set[str]:
    body = GLOSSARY.read_text(encoding="utf-8").split("```{glossary}", 1)[1].split("\n```", 1)[0]
    return {
        line.strip().lower()
        for line in body.splitlines()
        if line and not line.startswith((" ", ":")) and line.strip()
    }


def test_glossary_has_at_least_40_terms():
    assert len(glossary_terms()) >= 40, sorted(glossary_terms())


def test_every_term_the_pages_mark_is_in_the_glossary():
    terms = glossary_terms()
    for page in toc_files():
        for labelled, plain in TERM_ROLE.findall(text_of(page)):
            term = (labelled or plain).strip().lower()
            assert term in terms, f"{page.name} marks {term!r}, which the glossary lacks"


def test_every_bibliography_entry_is_cited_in_the_text():
    bib = (ROOT / "book" / "references.bib").read_text(encoding="utf-8")
    entries = set(re.findall(r"^@\w+\{([^,\s]+),", bib, flags=re.M))
    cited = set()
    for page in toc_files():
        for keys in CITE_ROLE.findall(text_of(page)):
            cited.update(key.strip() for key in keys.split(","))
    assert not entries - cited, f"listed but never cited: {sorted(entries - cited)}"
    assert not cited - entries, f"cited but not listed: {sorted(cited - entries)}"
