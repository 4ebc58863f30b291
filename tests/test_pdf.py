"""The PDF handout (`make pdf` writes it, then runs these; not part of `make test`).

The book, the student edition and one file per chapter: A4 pages, no text below 8 pt and none
in the margins, bookmarks for parts, chapters and sections, a contents list whose page numbers
are where each chapter starts, each chapter on a new page, no screen-only text, and no
solution in the student edition.
"""

from __future__ import annotations

import functools
import re
import subprocess
from pathlib import Path

import pytest
import yaml
from bs4 import BeautifulSoup
from toc import ROOT

pytestmark = pytest.mark.pdf
OUT = ROOT / "_build" / "pdf"
BOOK = OUT / "sessions-not-jwt.pdf"
STUDENT = OUT / "sessions-not-jwt-student.pdf"
HTML = ROOT / "_build" / "html"
A4 = (595.3, 841.9)  # points
MIN_PT = 8.0
MARGIN_PT = 12 / 25.4 * 72  # the side margins tools/pdf.py prints with (12 mm)
SCREEN_ONLY = [
    "Hide code cell",
    "Show code cell",
    "Click to show",
    "Click to hide",
    "Skip to main content",
    "Back to top",
    "Toggle navigation",
    "scroll \u2192",
    "Ctrl+K",
]


def toc() -> list[tuple[str | None, str]]:
    data = yaml.safe_load((ROOT / "_toc.yml").read_text())
    entries = [(None, data["root"])]
    for part in data["parts"]:
        entries += [(part["caption"], c["file"]) for c in part["chapters"]]
    return entries


@pytest.fixture(scope="module", autouse=True)
def printed():
    if not BOOK.exists():
        pytest.fail("no PDF: run `make pdf`")


@functools.cache
def text_of(path: Path, first: int | None = None, last: int | None = None) -> str:
    """pdftotext (poppler-utils): fast, and it keeps the layout of a line."""
    pages = [] if first is None else ["-f", str(first), "-l", str(last or first)]
    return subprocess.run(
        ["pdftotext", "-layout", *pages, str(path), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def reader(path: Path):
    from pypdf import PdfReader

    return PdfReader(path)


def outline(path: Path) -> list:
    """Bookmarks as nested (title, page number from 1, children)."""
    pdf = reader(path)

    def walk(items):
        out = []
        for item in items:
            if isinstance(item, list):
                out[-1][2].extend(walk(item))
            else:
                out.append((str(item.title), pdf.get_destination_page_number(item) + 1, []))
        return out

    return walk(pdf.outline)


def chapter_files() -> list[Path]:
    return [OUT / "chapters" / f"{Path(source).name}.pdf" for _, source in toc()]


@pytest.mark.parametrize("path", [BOOK, STUDENT, *chapter_files()], ids=lambda p: p.name)
def test_every_page_is_a4(path):
    assert path.exists(), f"{path.name} was not written"
    for number, page in enumerate(reader(path).pages, 1):
        size = (float(page.mediabox.width), float(page.mediabox.height))
        assert abs(size[0] - A4[0]) < 2 and abs(size[1] - A4[1]) < 2, (path.name, number, size)


def characters(path: Path):
    """(page number, page width, LTChar) for every character drawn, without pdfminer's layout
    analysis (which would triple the time and is not needed to read sizes and positions)."""
    from pdfminer.converter import PDFPageAggregator
    from pdfminer.layout import LTChar, LTContainer
    from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
    from pdfminer.pdfpage import PDFPage

    def chars(item):
        if isinstance(item, LTChar):
            yield item
        elif isinstance(item, LTContainer):
            for child in item:
                yield from chars(child)

    manager = PDFResourceManager(caching=True)
    device = PDFPageAggregator(manager, laparams=None)
    interpreter = PDFPageInterpreter(manager, device)
    with path.open("rb") as f:
        for number, page in enumerate(PDFPage.get_pages(f), 1):
            interpreter.process_page(page)
            layout = device.get_result()
            for char in chars(layout):
                if char.get_text().strip():
                    yield number, layout.width, char


def test_no_text_below_8pt_and_none_in_the_side_margins():
    """Every character of the book (code, outputs, tables, captions, page numbers) at 8 pt or
    more, and inside the printed column: a table or listing wider than the page would put
    characters past the margin or drop them."""
    small: dict[tuple, int] = {}
    outside: dict[tuple, int] = {}
    for number, width, char in characters(BOOK):
        if char.size < MIN_PT - 0.05:
            small.setdefault((char.get_text(), round(char.size, 1), char.fontname), number)
        if char.x0 < MARGIN_PT - 3 or char.x1 > width - MARGIN_PT + 3:
            outside.setdefault((char.get_text(), round(char.x0), round(char.x1)), number)
    assert not small, f"text below {MIN_PT} pt ((char, size, font): first page): {small}"
    assert not outside, f"text in the side margins ((char, x0, x1): first page): {outside}"


def test_bookmarks_hold_parts_chapters_and_sections():
    marks = outline(BOOK)
    titles = [title for title, _, _ in marks]
    assert titles[0] == "Contents"
    parts = {part for part, _ in toc() if part}
    assert parts <= set(titles), f"parts without a bookmark: {parts - set(titles)}"
    chapters = [
        chapter for mark in marks[1:] for chapter in (mark[2] if mark[0] in parts else [mark])
    ]
    assert len(chapters) == len(toc()), [title for title, _, _ in chapters]
    assert sum(1 for _, _, sections in chapters if sections) >= len(chapters) // 2, (
        "most chapters have no section bookmarks"
    )
    sections = [title for _, _, children in chapters for title, _, _ in children]
    doubled = [t for t in sections if len(t) > 8 and t[: len(t) // 2] == t[len(t) // 2 :]]
    assert not doubled, f"bookmarks named twice over: {doubled}"


def chapter_marks(path: Path) -> list[tuple[str, int]]:
    """(title, first page) of every page of the book, from the bookmarks."""
    marks = []
    for title, page, children in outline(path)[1:]:
        if any(part == title for part, _ in toc()):
            marks += [(t, p) for t, p, _ in children]
        else:
            marks.append((title, page))
    return marks


@pytest.mark.parametrize("path", [BOOK, STUDENT], ids=lambda p: p.name)
def test_each_chapter_starts_a_page_listed_in_the_contents(path):
    """A chapter's bookmark points at a page that opens with its title, and the contents list
    gives that page number."""
    marks = chapter_marks(path)
    front_pages = marks[0][1] - 1
    contents = re.sub(r"\s+", " ", text_of(path, 1, front_pages))
    for title, page in marks:
        opening = " ".join(text_of(path, page).split()[:6])
        assert opening.startswith(" ".join(title.split()[:6])), (title, page, opening)
        short = re.escape(" ".join(title.split()[-3:]))
        assert re.search(short + r"[ .]*" + str(page) + r"\b", contents), (
            f"the contents does not give page {page} for {title!r}"
        )


@pytest.mark.parametrize("path", [BOOK, STUDENT], ids=lambda p: p.name)
def test_no_screen_only_text(path):
    text = text_of(path)
    found = [phrase for phrase in SCREEN_ONLY if phrase in text]
    assert not found, f"{path.name} prints screen-only text: {found}"


def test_every_page_has_its_number():
    pdf = reader(BOOK)
    for number in (1, len(pdf.pages) // 2, len(pdf.pages)):
        lines = text_of(BOOK, number).strip().splitlines()
        assert lines[-1].strip() == str(number), (number, lines[-1])


@pytest.mark.parametrize("path", chapter_files(), ids=lambda p: p.name)
def test_each_chapter_handout_has_bookmarks_and_numbers(path):
    marks = outline(path)
    assert len(marks) == 1 and marks[0][1] == 1, marks
    last = len(reader(path).pages)
    assert text_of(path, last).strip().splitlines()[-1].strip() == str(last)


def solution_snippets() -> list[str]:
    """A sentence from each solution block of the built site, found nowhere else on its page."""
    snippets = []
    for page in sorted((HTML / "book").glob("*.html")):
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        article = soup.find("article") or soup
        for solution in article.select("div.solution"):
            for paragraph in solution.select("p"):
                words = paragraph.get_text(" ", strip=True).split()
                if len(words) >= 8:
                    snippets.append(" ".join(words[:6]))
                    break
    return snippets


def test_the_student_edition_has_no_solutions_and_the_book_has_them():
    snippets = solution_snippets()
    assert len(snippets) >= 10, "the built site has almost no solution blocks"
    book = re.sub(r"\s+", " ", text_of(BOOK))
    student = re.sub(r"\s+", " ", text_of(STUDENT))
    in_book = [s for s in snippets if s in book]
    assert len(in_book) >= len(snippets) * 0.8, "the book lost its solutions"
    leaked = [s for s in in_book if s in student]
    assert not leaked, f"solutions in the student edition: {leaked[:5]}"
    assert "Solution to Exercise" in book and "Solution to Exercise" not in student
    assert "Exercise" in student
