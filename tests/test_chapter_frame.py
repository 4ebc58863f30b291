"""Every chapter keeps the frame of CONVENTIONS.md: claim title, overview with objectives,
experiments that assert, a verdict, summary, at least two exercises with solutions, references,
and figures with a name, alt text and a caption."""

import json
import re

import pytest
from toc import toc_notebooks

CHAPTERS = toc_notebooks()


def markdown_and_code(notebook):
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    markdown = "\n\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    return markdown, code


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_frame(notebook):
    markdown, code = markdown_and_code(notebook)
    assert re.match(r"\s*# \S", markdown), "starts with a # title"
    headings = re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)
    for required in ("Overview", "Summary", "Exercises", "References"):
        assert any(h.strip().startswith(required) for h in headings), f"no ## {required} section"
    assert re.search(r"objectives|you will learn", markdown, flags=re.IGNORECASE), (
        "the overview states objectives"
    )
    assert re.search(r"```\{admonition\} Verdict", markdown), "a Verdict admonition"
    labels = re.findall(r"```\{exercise\}.*\n:label: (\S+)", markdown)
    assert len(labels) >= 2, "at least two exercises"
    for label in labels:
        assert re.search(r"`{3,}\{solution\} " + re.escape(label) + r"\b", markdown), (
            f"no solution for {label}"
        )
    references = markdown[markdown.rfind("## References") :]
    assert "{cite}" in references, "references cite book/references.bib"
    assert (
        sum(len(re.findall(r"^\s*assert ", source, flags=re.MULTILINE)) for source in code) >= 3
    ), "asserts"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_named_described_and_captioned(notebook):
    markdown, _ = markdown_and_code(notebook)
    for block in re.findall(r"```\{glue:figure\}[^\n]*\n(.*?)```", markdown, flags=re.DOTALL):
        assert re.search(r"^:name: fig-\S+", block, flags=re.MULTILINE), block
        assert re.search(r"^:alt: \S.{20,}", block, flags=re.MULTILINE), block
        caption = [line for line in block.splitlines() if line.strip() and not line.startswith(":")]
        assert caption, f"no caption: {block}"
