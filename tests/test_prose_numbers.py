"""Numbers in the prose are ``{eval}`` roles whose results are stored in the notebook
(CONTRIBUTING.md, "Numbers in the prose"): JupyterLab (jupyterlab-myst) shows them when a chapter
is opened, the site renders the same stored results (tools/inline_eval.py), and nbval's run
evaluates them again and compares (tests/nbval_checks.py). Opening and saving a chapter in
JupyterLab must not change it.
"""

import json
import os
import subprocess
import sys
import textwrap

import nbformat
import pytest
from toc import ROOT, toc_notebooks

sys.path.insert(0, str(ROOT / "tools"))

import glue_to_eval  # noqa: E402
import inline_eval  # noqa: E402

CHAPTERS = toc_notebooks()
NOTEBOOKS = [*CHAPTERS, ROOT / "book" / "_template.ipynb"]


def cells(notebook):
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_number_in_the_prose_has_its_stored_result(notebook):
    problems = [
        f"cell {index}: {problem}"
        for index, cell in enumerate(cells(notebook))
        for problem in inline_eval.stored_problems(cell)
    ]
    assert not problems, problems


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_no_glue_left(notebook):
    """myst-nb's glue roles and figures show as names and "Unknown Directive" in JupyterLab."""
    text = notebook.read_text(encoding="utf-8")
    assert "{glue" not in text and "myst_nb import glue" not in text, (
        "run tools/glue_to_eval.py on this notebook"
    )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_saving_in_jupyterlab_leaves_the_chapter_unchanged(notebook):
    """JupyterLab writes nbformat's JSON and its own kernelspec display name."""
    text = notebook.read_text(encoding="utf-8")
    parsed = nbformat.reads(text, as_version=nbformat.NO_CONVERT)
    assert parsed.metadata.kernelspec == {
        "display_name": inline_eval.KERNEL_DISPLAY_NAME,
        "language": "python",
        "name": "python3",
    }
    assert nbformat.writes(parsed, version=nbformat.NO_CONVERT) + "\n" == text


def test_what_the_reader_sees():
    """jupyterlab-myst shows text/plain without its enclosing quotes; so does the site."""
    assert inline_eval.shown({"status": "ok", "data": {"text/plain": "'~1.2 µs'"}}) == "~1.2 µs"
    assert inline_eval.shown({"status": "ok", "data": {"text/plain": "10"}}) == "10"
    assert inline_eval.shown({"status": "ok", "data": {"text/plain": '"Alice\'s"'}}) == "Alice's"
    with pytest.raises(inline_eval.StoredResultError, match="KeyError"):
        inline_eval.shown({"status": "error", "ename": "KeyError", "evalue": "'x'"})


def _notebook(code: str, markdown: str, stored: str | None):
    cell = nbformat.v4.new_markdown_cell(markdown)
    if stored is not None:
        exprs = inline_eval.expressions(markdown)
        result = {"status": "ok", "data": {"text/plain": stored}, "metadata": {}}
        cell.metadata[inline_eval.METADATA_KEY] = inline_eval.stored(exprs, {"0": result})
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code), cell])
    notebook.metadata.kernelspec = {"name": "python3", "language": "python", "display_name": "x"}
    return notebook


def test_nbval_fails_when_a_number_in_the_prose_changes(tmp_path):
    """A stored number that differs from what the code now makes, or that is missing, fails
    nbval's run; a measured duration masked by the sanitizer does not."""
    cases = {
        "same": ('prose = {"n": 2}', 'There are {eval}`prose["n"]` of them.', "2"),
        "differs": ('prose = {"n": 2}', 'There are {eval}`prose["n"]` of them.', "3"),
        "missing": ('prose = {"n": 2}', 'There are {eval}`prose["n"]` of them.', None),
        "masked": ('prose = {"t": "~1.5 µs"}', 'It took {eval}`prose["t"]`.', "'~9.9 µs'"),
    }
    for name, (code, markdown, stored) in cases.items():
        nbformat.write(_notebook(code, markdown, stored), tmp_path / f"{name}.ipynb")
    env = {**os.environ, "PYTHONPATH": f"{ROOT / 'tests'}:{ROOT / 'book'}"}
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "nbval_checks", "--nbval",
         "--nbval-current-env", "--nbval-sanitize-with", str(ROOT / "tests/nbval_sanitize.cfg"),
         "-o", f"pythonpath={ROOT / 'tests'}", "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, cwd=tmp_path, timeout=300, env=env,
    )  # fmt: skip
    failed = sorted(line.split()[1].split("::")[0] for line in run.stdout.splitlines()
                    if line.startswith("FAILED"))  # fmt: skip
    assert failed == ["differs.ipynb", "missing.ipynb"], run.stdout[-3000:]
    assert "stored '3', now '2'" in run.stdout and "nothing stored" in run.stdout


GLUED = textwrap.dedent(
    """\
    for name, value in (("a", 1.25), ("b", 2)):
        glue(f"t_{name}", value, display=False)
    glue(
        "count", 3, display=False
    )
    glue("t_fig", fig, display=False)
    plt.close(fig)"""
)
FIGURE = textwrap.dedent(
    """\
    Before.

    ```{glue:figure} t_fig
    :name: fig-test
    :alt: A line that rises from left to right, one point per count.

    Counts up to {glue:text}`count`.
    ```

    There are {glue:text}`count` items, {glue:text}`t_a:.1f` and {glue}`t_b`."""
)


def _record(name: str, mime: str, value: str) -> dict:
    prefix = "application/papermill.record/"
    return nbformat.v4.new_output(
        "display_data",
        data={prefix + mime: value},
        metadata={"scrapbook": {"name": name, "mime_prefix": prefix}},
    )


def test_the_converter_rewrites_glue_and_is_idempotent():
    code = nbformat.v4.new_code_cell(GLUED)
    code.outputs = [
        _record("t_a", "text/plain", "1.25"),
        _record("t_b", "text/plain", "2"),
        _record("count", "text/plain", "3"),
        _record("t_fig", "image/png", "iVBORw0KGgo="),
    ]
    setup = nbformat.v4.new_code_cell("from myst_nb import glue\n\nbench = Bench()")
    notebook = nbformat.v4.new_notebook(cells=[setup, code, nbformat.v4.new_markdown_cell(FIGURE)])
    assert glue_to_eval.convert(notebook) == []
    setup, code, markdown = notebook.cells
    assert setup.source == f"\n{glue_to_eval.PROSE_DEFINITION}\nbench = Bench()"
    assert code.source.splitlines() == [
        'for name, value in (("a", 1.25), ("b", 2)):',
        '    prose[f"t_{name}"] = value',
        'prose["count"] = 3',
        "plt.show()",
    ]
    assert code.metadata.mystnb == {
        "figure": {"name": "fig-test", "caption": 'Counts up to {eval}`prose["count"]`.'},
        "image": {"alt": "A line that rises from left to right, one point per count."},
    }
    assert [list(o.data) for o in code.outputs] == [["image/png"]], "the figure, shown in place"
    assert markdown.source == (
        'Before.\n\nThere are {eval}`prose["count"]` items, '
        '{eval}`f"{prose[\'t_a\']:.1f}"` and {eval}`prose["t_b"]`.'
    )
    shown = [inline_eval.shown(e["result"]) for e in markdown.metadata.user_expressions]
    assert shown == ["3", "1.2", "2"]
    assert [inline_eval.shown(e["result"]) for e in code.metadata.user_expressions] == ["3"]
    assert notebook.metadata.kernelspec.display_name == inline_eval.KERNEL_DISPLAY_NAME
    again = nbformat.writes(notebook)
    assert glue_to_eval.convert(notebook) == [] and nbformat.writes(notebook) == again


def test_the_converter_refuses_what_it_cannot_rewrite():
    markdown = nbformat.v4.new_markdown_cell("A {glue:md}`table` here.")
    with pytest.raises(glue_to_eval.ConversionError, match="glue:md"):
        glue_to_eval.convert(nbformat.v4.new_notebook(cells=[markdown]))
    code = nbformat.v4.new_code_cell('glue("x", 1, True)')
    with pytest.raises(glue_to_eval.ConversionError, match="not understood"):
        glue_to_eval.convert(nbformat.v4.new_notebook(cells=[code]))


@pytest.mark.site
@pytest.mark.parametrize("notebook", CHAPTERS, ids=lambda p: p.stem)
def test_the_site_shows_the_stored_numbers(notebook):
    page = (ROOT / "_build" / "html" / "book" / f"{notebook.stem}.html").read_text("utf-8")
    assert "{eval}`" not in page and 'class="problematic"' not in page
    texts = {text for values in inline_eval.notebook_values(notebook).values() for text in values}
    rendered = page.count('class="eval-result"')
    expected = sum(
        len(inline_eval.expressions(inline_eval.markdown_source(cell))) for cell in cells(notebook)
    )
    assert rendered == expected, f"{rendered} numbers rendered, {expected} roles in the notebook"
    for text in texts:
        assert f'class="eval-result">{_html(text)}</span>' in page, text


def _html(text: str) -> str:
    import html

    return html.escape(text, quote=False)
