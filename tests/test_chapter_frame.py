"""Every chapter keeps the frame of book/_template.ipynb (CONTRIBUTING.md, "The chapter frame"):
claim title, overview with the three labelled paragraphs, a Setup section whose one imports cell
makes the bench, experiments that assert, a Verdict admonition, Summary, at least two exercises
with solutions, a Clean up section that closes the bench, References; figures drawn in their own
cell with a name, alt text and a caption; code cells of at most 25 lines; no literalinclude."""

import json
import re

import pytest
from toc import ROOT, toc_notebooks

CHAPTERS = toc_notebooks()
TEMPLATE = ROOT / "book" / "_template.ipynb"
MAX_CELL_LINES = 25
FORBIDDEN_HEADINGS = ("Imports", "Teardown")


def headings(markdown):
    return [h.strip() for h in re.findall(r"^## (.+)$", markdown, flags=re.MULTILINE)]


def frame_headings(markdown):
    fixed = ("Overview", "Setup", "Summary", "Exercises", "Clean up", "References")
    return [h for h in headings(markdown) if h in fixed]


def test_the_template_keeps_the_frame_itself():
    markdown, code = markdown_and_code(TEMPLATE)
    assert frame_headings(markdown) == [
        "Overview",
        "Setup",
        "Summary",
        "Exercises",
        "Clean up",
        "References",
    ]
    assert (
        code[0].rstrip().endswith("bench = Bench()") and code[-1].strip() == "await bench.close()"
    )


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_follows_the_template(notebook):
    markdown, code = markdown_and_code(notebook)
    template_markdown, _ = markdown_and_code(TEMPLATE)
    assert frame_headings(markdown) == frame_headings(template_markdown), "frame sections, in order"
    assert not set(headings(markdown)) & set(FORBIDDEN_HEADINGS), "no Imports/Teardown heading"
    for label in ("**Learning objectives.**", "**Prerequisites.**", "**Time.**"):
        assert label in markdown, f"the overview has the paragraph {label}"
    setup = markdown[markdown.index("## Setup") :]
    assert code and code[0].rstrip().endswith("bench = Bench()"), "the imports cell makes the bench"
    assert code[-1].strip() == "await bench.close()", "the last code cell closes the bench"
    assert setup, "a Setup section"
    assert "literalinclude" not in markdown, "show taught code with show_source, not literalinclude"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    long_cells = [
        index
        for index, cell in enumerate(cells)
        if cell["cell_type"] == "code"
        and len("".join(cell["source"]).splitlines()) > MAX_CELL_LINES
        and "listing" not in cell.get("metadata", {}).get("tags", [])
    ]
    assert not long_cells, f"cells over {MAX_CELL_LINES} lines not tagged listing: {long_cells}"


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
    assert re.search(r"^## Verdict\n\n```\{admonition\} Verdict", markdown, re.M), (
        "a ## Verdict heading (the page menu) over the Verdict admonition"
    )
    assert re.match(r"\s*# .+\n\n\*Claim tested: .+\.\* \*\*Verdict:\*\* ", markdown), (
        "the title states the finding; under it the claim tested and the verdict in short"
    )
    labels = re.findall(r"```\{exercise\}.*\n:label: (\S+)", markdown)
    assert len(labels) >= 2, "at least two exercises"
    for label in labels:
        assert re.search(r"`{3,}\{solution(-start)?\} " + re.escape(label) + r"\b", markdown), (
            f"no solution for {label}"
        )
    references = markdown[markdown.rfind("## References") :]
    assert "{cite}" in references, "references cite book/references.bib"
    assert (
        sum(len(re.findall(r"^\s*assert ", source, flags=re.MULTILINE)) for source in code) >= 3
    ), "asserts"


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_every_figure_is_named_described_and_captioned(notebook):
    """A figure is drawn by its own cell, so JupyterLab shows it where the site does; the cell's
    ``mystnb`` metadata makes it a numbered figure with a caption and alt text on the site."""
    markdown, _ = markdown_and_code(notebook)
    assert "{glue:figure}" not in markdown, "draw the figure in its cell (tools/glue_to_eval.py)"
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    for index, cell in enumerate(cells):
        outputs = cell.get("outputs", [])
        options = cell.get("metadata", {}).get("mystnb", {})
        if not options and not any("image/png" in o.get("data", {}) for o in outputs):
            continue
        figure = options.get("figure", {})
        assert re.fullmatch(r"fig-\S+", figure.get("name", "")), f"cell {index}: no :name: fig-..."
        assert len(options.get("image", {}).get("alt", "")) > 20, f"cell {index}: no alt text"
        assert figure.get("caption", "").strip(), f"cell {index}: no caption"
        assert cell["source"] and "".join(cell["source"]).rstrip().endswith("plt.show()"), (
            f"cell {index}: a figure cell ends with plt.show()"
        )


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_a_solution_with_code_runs_as_a_cell(notebook):
    """Code in a plain {solution} block is never executed; a solution with code is gated
    (solution-start / code cell / solution-end), so nbval runs it."""
    markdown, _ = markdown_and_code(notebook)
    for match in re.finditer(r"(`{3,})\{solution\} (\S+)(.*?)\n\1\s*$", markdown, re.S | re.M):
        assert not re.search(r"```\s*(python|py|ipython3?|\{code-cell\})\b", match.group(3)), (
            f"solution {match.group(2)} shows code that never runs: gate it"
        )


@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_an_exercise_asks_for_a_prediction_before_the_run(notebook):
    markdown, _ = markdown_and_code(notebook)
    exercises = markdown[markdown.find("## Exercises") : markdown.find("## Clean up")]
    assert re.search(r"\bpredict", exercises, re.IGNORECASE), (
        "one exercise asks the reader to change an experiment and predict the result first"
    )
