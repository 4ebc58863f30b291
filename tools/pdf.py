"""`make pdf`: the book as a handout, printed from the built site by system Chromium.

Writes, under _build/pdf/:

* ``sessions-not-jwt.pdf``: a title page with a contents list (page numbers), then every page of
  ``_toc.yml`` in order, each chapter starting on a new page, with bookmarks (parts, chapters and
  their sections) and a page number on every page;
* ``chapters/NN_slug.pdf``: one handout per page of the book, with its own bookmarks and page
  numbers;
* ``sessions-not-jwt-student.pdf``: the student edition: the same book without the exercises'
  solutions (sphinx-exercise's solution blocks) and without the instructor guide (the Teaching
  part).

How: tools/serve.py serves _build/html on 127.0.0.1 (every other request is blocked); Chromium
(Playwright, the system package) opens each page, opens every collapsed block, loads every figure
and formula, and prints it on A4 with the print rules of tools/booksite/static/booksite.css (text
at 8 pt or more, no screen-only controls, tables and listings wrapped at the margin) and with its
headings as a PDF outline. pypdf (PyPI) then joins the pages, nests the outlines under parts and
chapters, and stamps the page numbers, which it takes from a page of numbers Chromium prints
(pypdf itself draws no text). The contents page is printed last, once the page count of every
chapter is known.
"""

from __future__ import annotations

import html
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book"))

import serve  # noqa: E402
from sessionlab.lab.browser import CHROMIUM_ARGS  # noqa: E402

HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "pdf"
BOOK = OUT / "sessions-not-jwt.pdf"
STUDENT = OUT / "sessions-not-jwt-student.pdf"
CHAPTERS = OUT / "chapters"
ARGS = list(CHROMIUM_ARGS)  # the book's one set of flags for a quiet, offline Chromium
TEACHER_ONLY_PARTS = {"Teaching"}  # left out of the student edition
SOLUTIONS = ".solution"  # sphinx-exercise's solution blocks (the dropdowns under exercises)
MARGIN = {"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"}
PREPARE = """async (solutions) => {
  document.querySelectorAll('details').forEach(d => { d.open = true; });
  window.dispatchEvent(new Event('beforeprint'));  // sphinx-togglebutton opens its blocks
  document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
  const images = [...document.querySelectorAll('img')];
  images.forEach(i => { i.loading = 'eager'; });
  await Promise.all(images.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); })));
  if (window.bookLoadMathJax && document.querySelector('.math')) {
    window.bookLoadMathJax();
    const deadline = Date.now() + 60000;
    while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
      if (Date.now() > deadline) throw new Error('MathJax did not load');
      await new Promise(r => setTimeout(r, 50));
    }
    await MathJax.startup.promise;
  }
  const h1 = document.querySelector('.bd-article h1');
  const title = h1 ? [...h1.childNodes].filter(n => !(n.classList && n.classList.contains(
    'headerlink'))).map(n => n.textContent).join('').trim() : document.title;
  return {broken: images.filter(i => !i.naturalWidth).map(i => i.src), title,
          solutions: document.querySelectorAll(solutions).length};
}"""
DROP_SOLUTIONS = "(sel) => document.querySelectorAll(sel).forEach(e => e.remove())"
PAGE_CSS = """
@page { size: A4; margin: 0; }
html, body { margin: 0; padding: 0; }
body { font-family: system-ui, "DejaVu Sans", sans-serif; color: #222832; }
"""
NUMBERS_CSS = (
    PAGE_CSS
    + """
.n { height: 296mm; position: relative; break-after: page; overflow: hidden; }
.n span { position: absolute; bottom: 7mm; left: 0; right: 0; text-align: center;
          font-size: 11px; color: #48566b; }
"""
)
CONTENTS_CSS = (
    PAGE_CSS
    + """
@page { margin: 18mm 20mm 16mm 20mm; }
.title { margin-top: 30mm; font-size: 30px; font-weight: 700; line-height: 1.2; }
.subtitle { font-size: 15px; margin: 4mm 0 2mm 0; }
.meta { font-size: 12px; color: #48566b; margin-bottom: 12mm; }
h2 { font-size: 18px; margin: 0 0 3mm 0; }
.part { font-size: 13px; font-weight: 700; margin: 4mm 0 1mm 0; }
.group { break-inside: avoid; }
.entry { display: flex; font-size: 12px; line-height: 1.5; break-inside: avoid; }
.entry .t { flex: 0 1 auto; }
.entry .dots { flex: 1 1 auto; border-bottom: 1px dotted #9ca4af; margin: 0 2mm 1.2mm 2mm; }
.entry .p { flex: 0 0 auto; }
"""
)


@dataclass
class Entry:
    """One page of _toc.yml: where it is, its part, and what was printed of it."""

    source: str  # book/01_anatomy_of_a_jwt
    part: str | None
    title: str = ""
    pdf: Path | None = None  # the full print
    student_pdf: Path | None = None  # without solutions (None: same as the full print)
    pages: int = 0
    student_pages: int = 0
    outline: list = field(default_factory=list)  # (title, page, children) from Chromium
    student_outline: list = field(default_factory=list)


def toc_entries() -> list[Entry]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    entries = [Entry(toc["root"], None)]
    for part in toc.get("parts", []):
        for chapter in part.get("chapters", []):
            entries.append(Entry(chapter["file"], part.get("caption")))
    return entries


def chromium_path() -> str:
    found = os.environ.get("SESSIONLAB_CHROMIUM") or shutil.which("chromium")
    if not found:
        sys.exit("no Chromium: install the Debian package chromium (make chromium does)")
    return found


def read_outline(path: Path) -> list:
    """Chromium's outline of one print (its headings) as nested (title, page index, children)."""
    from pypdf import PdfReader

    reader = PdfReader(path)

    def walk(items) -> list:
        out: list = []
        for item in items:
            if isinstance(item, list):
                if out:
                    out[-1][2].extend(walk(item))
                continue
            page = reader.get_destination_page_number(item)
            out.append((str(item.title).strip(), page, []))
        return out

    return walk(reader.outline)


HEADINGS = """() => [...document.querySelectorAll('h1, h2, h3, h4, h5, h6')]
  .filter(h => h.getClientRects().length).map(h => [...h.childNodes].filter(n => !(n.classList
    && n.classList.contains('headerlink'))).map(n => n.textContent).join('').trim())"""


def named(outline: list, headings: list[str]) -> list:
    """Chromium names a bookmark after its heading's accessible text, which can double a
    heading or drop a space at a line break; when the outline has one item per heading of the
    page, in order, each takes its heading's own text."""
    flat: list = []

    def walk(items):
        for item in items:
            flat.append(item)
            walk(item[2])

    walk(outline)
    if len(flat) != len(headings):
        return outline
    names = dict(zip(map(id, flat), headings, strict=True))

    def rename(items):
        return [(names[id(i)], i[1], rename(i[2])) for i in items]

    return rename(outline)


def pages_of(path: Path) -> int:
    from pypdf import PdfReader

    return len(PdfReader(path).pages)


def print_page(page, path: Path) -> tuple[int, list]:
    """Print the page as it is now into ``path``: its page count and its outline, each entry
    named by the page's own heading (Chromium's outline doubles some)."""
    page.pdf(
        path=str(path),
        format="A4",
        print_background=True,
        margin=MARGIN,
        outline=True,
        tagged=True,
    )
    return pages_of(path), named(read_outline(path), page.evaluate(HEADINGS))


def print_pages(browser, base: str, entries: list[Entry], folder: Path, blocked: list) -> None:
    """Print every page of the book once, and again without solutions where it has some."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def route(request_route):
        if request_route.request.url.startswith(base):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    page.route("**/*", route)
    page.set_default_timeout(120_000)
    page.emulate_media(media="print")
    for entry in entries:
        name = Path(entry.source).name
        page.goto(base + entry.source + ".html", wait_until="load")
        found = page.evaluate(PREPARE, SOLUTIONS)
        if found["broken"]:
            sys.exit(f"{entry.source}: images that did not load: {found['broken']}")
        page.wait_for_load_state("networkidle")
        entry.title = found["title"]
        entry.pdf = folder / f"{name}.pdf"
        entry.pages, entry.outline = print_page(page, entry.pdf)
        if found["solutions"]:
            page.evaluate(DROP_SOLUTIONS, SOLUTIONS)
            entry.student_pdf = folder / f"{name}.student.pdf"
            entry.student_pages, entry.student_outline = print_page(page, entry.student_pdf)
        else:
            entry.student_pages, entry.student_outline = entry.pages, entry.outline
        print(
            f"  {name}: {entry.pages} pages ({entry.student_pages} without solutions)", flush=True
        )
    page.close()


def print_html(browser, markup: str, path: Path) -> int:
    page = browser.new_page()
    page.set_content(markup, wait_until="load")
    page.pdf(path=str(path), prefer_css_page_size=True, print_background=True)
    page.close()
    return pages_of(path)


def contents_markup(title: str, edition: str, rows: list[tuple[str | None, str, int]]) -> str:
    """The title page and contents list: rows of (part, title, first page)."""
    parts, last = [], object()
    for part, name, first in rows:
        if part != last:
            parts.append("</div><div class='group'>")
            if part:
                parts.append(f'<div class="part">{html.escape(part)}</div>')
        last = part
        parts.append(
            f'<div class="entry"><span class="t">{html.escape(name)}</span>'
            f'<span class="dots"></span><span class="p">{first}</span></div>'
        )
    return (
        f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{html.escape(title)}"
        f"</title><style>{CONTENTS_CSS}</style></head><body>"
        f"<div class='title'>{html.escape(title)}</div>"
        f"<div class='subtitle'>{html.escape(edition)}</div>"
        f"<div class='meta'>Printed from the executed notebooks on {time.strftime('%Y-%m-%d')}."
        " Every number was computed; every claim is pinned by an assert.</div>"
        f"<h2>Contents</h2><div>{''.join(parts)}</div></body></html>"
    )


def numbers_markup(count: int) -> str:
    pages = "".join(f'<div class="n"><span>{n}</span></div>' for n in range(1, count + 1))
    return (
        f"<!doctype html><html><head><style>{NUMBERS_CSS}</style></head><body>{pages}</body></html>"
    )


def assemble(
    browser,
    title: str,
    edition: str,
    entries: list[Entry],
    student: bool,
    numbers: Path,
    folder: Path,
    out: Path,
) -> None:
    """Contents, then every entry, with bookmarks and page numbers, into one PDF."""
    from pypdf import PdfReader, PdfWriter

    def pdf_of(e: Entry) -> Path:
        return (e.student_pdf or e.pdf) if student else e.pdf

    def count(e: Entry) -> int:
        return e.student_pages if student else e.pages

    contents = folder / f"contents{'-student' if student else ''}.pdf"
    front = 1
    for _ in range(3):  # the contents' own length moves every page number after it
        rows, first = [], front + 1
        for e in entries:
            rows.append((e.part, e.title, first))
            first += count(e)
        pages = print_html(browser, contents_markup(title, edition, rows), contents)
        if pages == front:
            break
        front = pages
    writer = PdfWriter()
    writer.append(PdfReader(contents), import_outline=False)
    writer.add_outline_item(title="Contents", page_number=0)
    parts: dict[str, object] = {}
    for e, (_, _, first) in zip(entries, rows, strict=True):
        start = len(writer.pages)
        assert start == first - 1, (e.source, start, first)
        writer.append(PdfReader(pdf_of(e)), import_outline=False)
        parent = None
        if e.part:
            if e.part not in parts:
                parts[e.part] = writer.add_outline_item(title=e.part, page_number=start)
            parent = parts[e.part]
        item = writer.add_outline_item(title=e.title, page_number=start, parent=parent)
        add_sections(writer, item, start, e.student_outline if student else e.outline)
    stamp(writer, numbers)
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": f"{title}{' (student edition)' if student else ''}"})
    with out.open("wb") as f:
        writer.write(f)


def add_sections(writer, parent, start: int, outline: list, depth: int = 0) -> None:
    """A print's headings under its chapter's bookmark: its sections (h2) and their subsections
    (h3); the print's own top heading is the chapter title, already the parent."""
    items = outline
    if depth == 0 and len(outline) == 1:
        items = outline[0][2]
    for name, page, children in items:
        item = writer.add_outline_item(title=name, page_number=start + page, parent=parent)
        if depth < 1:
            add_sections(writer, item, start, children, depth + 1)


def stamp(writer, numbers: Path) -> None:
    """Page k gets the number k, from the k-th page of Chromium's page of numbers."""
    from pypdf import PdfReader

    reader = PdfReader(numbers)
    for index, page in enumerate(writer.pages):
        page.merge_page(reader.pages[index])


def chapter_file(entry: Entry, numbers: Path, out: Path) -> None:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.append(PdfReader(entry.pdf), import_outline=False)
    item = writer.add_outline_item(title=entry.title, page_number=0)
    add_sections(writer, item, 0, entry.outline)
    stamp(writer, numbers)
    writer.page_mode = "/UseOutlines"
    writer.add_metadata({"/Title": entry.title})
    with out.open("wb") as f:
        writer.write(f)


def main() -> int:
    from playwright.sync_api import sync_playwright

    started = time.monotonic()
    if not (HTML / "index.html").exists():
        sys.exit("no built site: run `make book` first (make pdf does)")
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    title = config.get("title", "Sessions, not JWT")
    entries = toc_entries()
    server = serve.start(HTML)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    blocked: list[str] = []
    OUT.mkdir(parents=True, exist_ok=True)
    if CHAPTERS.exists():
        shutil.rmtree(CHAPTERS)
    CHAPTERS.mkdir()
    with tempfile.TemporaryDirectory(prefix="book-pdf-") as tmp:
        folder = Path(tmp)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
                print(f"printing {len(entries)} pages", flush=True)
                print_pages(browser, base, entries, folder, blocked)
                if blocked:
                    sys.exit(f"requests outside 127.0.0.1 were blocked: {blocked}")
                most = 4 + sum(e.pages for e in entries)
                numbers = folder / "numbers.pdf"
                print_html(browser, numbers_markup(most), numbers)
                assemble(
                    browser,
                    title,
                    "The book, with the exercises' solutions",
                    entries,
                    False,
                    numbers,
                    folder,
                    BOOK,
                )
                students = [e for e in entries if e.part not in TEACHER_ONLY_PARTS]
                assemble(
                    browser,
                    title,
                    "Student edition: the exercises without solutions",
                    students,
                    True,
                    numbers,
                    folder,
                    STUDENT,
                )
                browser.close()
        finally:
            server.shutdown()
        for entry in entries:
            chapter_file(entry, numbers, CHAPTERS / f"{Path(entry.source).name}.pdf")
    for path in (BOOK, STUDENT):
        print(
            f"wrote {path.relative_to(ROOT)} ({pages_of(path)} pages, "
            f"{path.stat().st_size / 1e6:.1f} MB)"
        )
    print(
        f"wrote {len(entries)} chapter handouts to {CHAPTERS.relative_to(ROOT)}/ "
        f"in {time.monotonic() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
