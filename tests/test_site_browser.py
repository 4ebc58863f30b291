"""The built site in a real Chromium, with every request outside 127.0.0.1 blocked.

Each page is served as `make serve` serves it (gzip, tools/serve.py) and must load with no
failed request, no blocked request, no HTTP error and no console error; its images and formulas
must render offline; no code listing may scroll sideways at 1280 px; search must work offline;
figures must stay legible in dark mode; a link to a section must land on it; the header's
buttons and dropdowns must work without Bootstrap's script; every block that scrolls must take
a tab stop. Run by `make site` (after `make book`).
"""

from __future__ import annotations

import os
import shutil
import sys

import pytest
from sessionlab.lab.browser import CHROMIUM_ARGS
from toc import ROOT, toc_files

sys.path.insert(0, str(ROOT / "tools"))
import serve  # noqa: E402

pytestmark = pytest.mark.site
HTML = ROOT / "_build" / "html"
ARGS = list(CHROMIUM_ARGS)  # the book's one set of flags for a quiet, offline Chromium
PAGES = [p.relative_to(ROOT).with_suffix(".html").as_posix() for p in toc_files()]
PAGES += ["search.html", "genindex.html"]
#: The first chapter: a page with code listings and a page menu (the root is the answer page).
FIRST_CHAPTER = next(page for page in PAGES if page.startswith("book/01_"))


def chromium_path() -> str:
    found = os.environ.get("SESSIONLAB_CHROMIUM") or next(
        (shutil.which(n) for n in ("chromium", "chromium-browser") if shutil.which(n)), None
    )
    if not found:
        pytest.fail("no Chromium: `make chromium` installs it or says how to install it here")
    return found


@pytest.fixture(scope="module")
def base_url():
    if not (HTML / "index.html").exists():
        pytest.fail("no built site: run `make book` first (make site does)")
    server = serve.start(HTML)
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=ARGS)
        yield browser
        browser.close()


class Offline:
    """A page whose requests outside the local server are blocked, and everything it logs."""

    def __init__(self, browser, base_url: str, **context_options):
        self.context = browser.new_context(**context_options)
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.context.route("**/*", self._route)
        page = self.page
        page.on(
            "console", lambda m: m.type == "error" and self.problems.append(f"console: {m.text}")
        )
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: self.problems.append(f"failed: {r.url} {r.failure}"))
        page.on(
            "response",
            lambda r: r.status >= 400 and self.problems.append(f"HTTP {r.status}: {r.url}"),
        )
        self.base_url = base_url

    def _route(self, route):
        if route.request.url.startswith(self.base_url):
            route.continue_()
        else:
            self.problems.append(f"outside 127.0.0.1: {route.request.url}")
            route.abort()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.context.close()


LOAD_EVERYTHING = """async () => {
  const images = [...document.querySelectorAll('img')];
  images.forEach(i => { i.loading = 'eager'; });
  await Promise.all(images.map(i => i.complete ? null : new Promise(r => {
    i.addEventListener('load', r); i.addEventListener('error', r); })));
  return images.filter(i => !i.naturalWidth).map(i => i.src);
}"""


@pytest.mark.parametrize("path", PAGES)
def test_page_loads_offline_without_errors(browser, base_url, path):
    with Offline(browser, base_url, viewport={"width": 412, "height": 823}) as tab:
        tab.page.goto(base_url + path, wait_until="networkidle")
        broken = tab.page.evaluate(LOAD_EVERYTHING)
        maths = tab.page.locator(".math").count()
        if maths:
            # Lay the whole page out first: with content-visibility skipping, sections above the
            # formula change height as they render, and the scroll lands far from it.
            tab.page.add_style_tag(content=NO_SKIPPING)
            tab.page.locator(".math").first.scroll_into_view_if_needed()
            tab.page.wait_for_function(
                "window.MathJax && MathJax.startup && MathJax.startup.promise"
            )
            tab.page.evaluate("MathJax.startup.promise")
            rendered = tab.page.locator("mjx-container").count()
            assert rendered >= maths, f"{path}: {rendered} of {maths} formulas rendered"
            assert tab.page.locator("mjx-merror").count() == 0, f"{path}: a formula failed"
        tab.page.wait_for_load_state("networkidle")
        assert not broken, f"{path}: images that did not load: {broken}"
        assert not tab.problems, f"{path}:\n" + "\n".join(tab.problems)


NO_SKIPPING = "* { content-visibility: visible !important; }"
OVERFLOWING = """() => [...document.querySelectorAll('.bd-article pre')]
  .filter(p => p.scrollWidth > p.clientWidth + 1)
  .map(p => [p.scrollWidth, p.clientWidth, p.textContent.split('\\n')[0].slice(0, 60)])"""


@pytest.mark.parametrize("path", PAGES)
def test_no_code_scrolls_sideways_at_1280px(browser, base_url, path):
    with Offline(browser, base_url, viewport={"width": 1280, "height": 800}) as tab:
        tab.page.goto(base_url + path)
        tab.page.add_style_tag(content=NO_SKIPPING)  # lay out every section, not only near ones
        overflowing = tab.page.evaluate(OVERFLOWING)
        assert not overflowing, f"{path}: listings wider than their box: {overflowing}"


def test_code_fits_unwrapped_at_100_columns(browser, base_url):
    """The column itself fits 100 columns of code: wrapping is only a fallback for longer lines."""
    with Offline(browser, base_url, viewport={"width": 1280, "height": 800}) as tab:
        tab.page.goto(base_url + FIRST_CHAPTER)
        fits = tab.page.evaluate(
            """() => { const pre = document.querySelector('.bd-article div.highlight pre');
              const probe = document.createElement('span');
              probe.textContent = 'x'.repeat(100); probe.style.whiteSpace = 'pre';
              pre.appendChild(probe); const w = probe.getBoundingClientRect().width;
              const style = getComputedStyle(pre);
              const inner = pre.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
              probe.remove(); return [w, inner]; }"""
        )
        assert fits[0] <= fits[1], (
            f"100 columns need {fits[0]:.0f} px, the listing has {fits[1]:.0f}"
        )


def test_search_works_offline(browser, base_url):
    with Offline(browser, base_url) as tab:
        tab.page.goto(base_url + "search.html?q=refresh+token")
        # Sphinx lists the hits one by one, 5 ms apart, and then says it has finished: wait for
        # that (the event), or a busy machine shows the test only the first few hits.
        finished = (
            "() => /^Search finished/.test(document.querySelector('.search-summary')?.textContent)"
        )
        tab.page.wait_for_function(finished, timeout=15_000)
        hits = tab.page.locator("#search-results ul.search li a").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        )
        assert any("30_short_expiry_and_refresh" in h for h in hits), hits
        assert not tab.problems, "\n".join(tab.problems)


def test_on_this_page_button_opens_the_page_contents_at_1280px(browser, base_url):
    """Where the contents sidebar is folded away to give code its width, a button shows it."""
    with Offline(browser, base_url, viewport={"width": 1280, "height": 800}) as tab:
        tab.page.goto(base_url + FIRST_CHAPTER)
        assert not tab.page.locator("#pst-secondary-sidebar").is_visible()
        tab.page.locator(".bd-header button.secondary-toggle").click()
        dialog = tab.page.locator("#pst-secondary-sidebar-modal")
        dialog.locator("nav.page-toc").wait_for(state="visible")
        assert dialog.evaluate("d => d.open")


FIGURES_IN_DARK_MODE = """async () => {
  const out = [];
  for (const img of document.querySelectorAll('.bd-article img[src*="_images/"]')) {
    img.loading = 'eager';
    if (!img.complete) await new Promise(r => { img.onload = img.onerror = r; });
    const canvas = document.createElement('canvas');
    canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
    const ctx = canvas.getContext('2d'); ctx.drawImage(img, 0, 0);
    const corner = ctx.getImageData(1, 1, 1, 1).data;
    out.push({src: img.src.split('/').pop(), filter: getComputedStyle(img).filter,
              alpha: corner[3], light: (corner[0] + corner[1] + corner[2]) / 3});
  }
  return out;
}"""


@pytest.mark.parametrize("path", [p for p in PAGES if p.startswith("book/")])
def test_figures_are_legible_in_dark_mode(browser, base_url, path):
    """Plots have dark ink on their own opaque light background, shown undimmed in dark mode."""
    with Offline(browser, base_url, color_scheme="dark") as tab:
        tab.page.goto(base_url + path)
        assert tab.page.evaluate("document.documentElement.dataset.theme") == "dark"
        for figure in tab.page.evaluate(FIGURES_IN_DARK_MODE):
            assert figure["alpha"] == 255 and figure["light"] > 200, (
                f"{path}: {figure['src']} has no opaque light background for its dark ink"
            )
            assert figure["filter"] == "none", f"{path}: {figure['src']} is dimmed"


SETTLED_TOP = """async (id) => {
  const target = document.getElementById(id);
  let last = null, still = 0;
  for (let frame = 0; frame < 240 && still < 20; frame++) {
    await new Promise(requestAnimationFrame);
    const top = target.getBoundingClientRect().top;
    still = last !== null && Math.abs(top - last) < 1 ? still + 1 : 0;
    last = top;
  }
  const before = target.getBoundingClientRect().top;
  target.scrollIntoView();  // where the link should have put it, measured before any relayout
  return [before, target.getBoundingClientRect().top];
}"""
CHAPTERS = [p for p in PAGES if p.startswith("book/")]


@pytest.mark.parametrize("width", [412, 1280])
@pytest.mark.parametrize("path", CHAPTERS)
def test_a_link_to_a_section_lands_on_it(browser, base_url, path, width):
    """Sections far from the screen are laid out late (content-visibility): a #fragment must
    still end at its heading, not hundreds of pixels off once the sections around it render."""
    with Offline(browser, base_url, viewport={"width": width, "height": 800}) as tab:
        tab.page.goto(base_url + path)
        ids = tab.page.locator("#pst-page-toc-nav a").evaluate_all(
            "links => links.map(a => a.hash.slice(1)).filter(Boolean)"
        )
        if not ids:
            pytest.skip("no sections")
        for anchor in {ids[len(ids) // 2], ids[-2 if len(ids) > 1 else -1]}:
            tab.page.goto(f"{base_url}{path}#{anchor}")
            landed, wanted = tab.page.evaluate(SETTLED_TOP, anchor)
            assert abs(landed - wanted) <= 2, f"{path}#{anchor}: {landed:.0f} px, not {wanted:.0f}"
        assert not tab.problems, "\n".join(tab.problems)


def test_header_dropdowns_and_buttons_work(browser, base_url):
    """On a phone: the header's dropdowns, colour-mode, search, navigation and "On this page"
    buttons and "back to top", with no Bootstrap script behind them (booksite.js)."""
    with Offline(browser, base_url, viewport={"width": 412, "height": 823}) as tab:
        page = tab.page
        page.goto(base_url + FIRST_CHAPTER)
        for box in page.locator(".article-header-buttons .dropdown").all():
            toggle, menu = box.locator(".dropdown-toggle"), box.locator(".dropdown-menu")
            toggle.click()
            assert toggle.get_attribute("aria-expanded") == "true" and menu.is_visible()
            left, right = menu.evaluate(
                "m => [m.getBoundingClientRect().left, m.getBoundingClientRect().right]"
            )
            assert 0 <= left and right <= 412, f"a dropdown menu leaves the screen: {left}-{right}"
            page.keyboard.press("Escape")
            assert toggle.get_attribute("aria-expanded") == "false"
            page.mouse.move(200, 600)  # the theme also shows a menu while it is hovered
            assert not menu.is_visible()
            toggle.focus()
            page.keyboard.press("ArrowDown")  # opens it and moves to the first item
            assert box.locator(".dropdown-item").first.evaluate("i => i === document.activeElement")
            page.mouse.click(200, 600)  # a click elsewhere closes it
            assert not menu.is_visible()
        theme = page.evaluate("document.documentElement.dataset.theme")
        page.locator(".theme-switch-button").first.click()
        assert page.evaluate("document.documentElement.dataset.theme") != theme
        assert page.locator(".theme-switch-button").first.get_attribute("title") == "Color mode"
        header = page.locator(".bd-header-article")
        header.locator(".search-button").click()
        assert page.locator("#pst-search-dialog").evaluate("d => d.open")
        page.keyboard.press("Escape")
        header.locator(".primary-toggle").click()  # the navigation
        page.locator("#pst-primary-sidebar-modal nav.bd-docs-nav").wait_for(state="visible")
        page.keyboard.press("Escape")
        header.locator(".secondary-toggle").click()  # "On this page", below 1200 px
        dialog = page.locator("#pst-secondary-sidebar-modal")
        dialog.locator("nav.page-toc").wait_for(state="visible")
        page.keyboard.press("Escape")
        page.mouse.wheel(0, 3000)
        page.wait_for_timeout(300)
        page.mouse.wheel(0, -600)  # scrolling back up shows "back to top"
        page.locator("#pst-back-to-top").click()
        page.wait_for_function("window.scrollY === 0")
        assert not tab.problems, "\n".join(tab.problems)


SCROLLABLE_BLOCKS = """() => [...document.querySelectorAll(
    'pre, .cell_output .output, .pst-scrollable-table-container')].map(el => ({
  scrolls: el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight,
  tabIndex: el.tabIndex,
  near: Math.abs(el.getBoundingClientRect().top) < innerHeight}))"""


@pytest.mark.parametrize("width", [412, 1280])
def test_every_scrollable_block_is_keyboard_reachable(browser, base_url, width):
    """A block that scrolls sideways takes a tab stop; one near the screen that does not, none
    (measured lazily: the theme measured every block at load, laying the whole page out)."""
    with Offline(browser, base_url, viewport={"width": width, "height": 800}) as tab:
        tab.page.goto(base_url + "book/24_less_battle_tested.html", wait_until="load")
        tab.page.wait_for_timeout(500)
        tab.page.add_style_tag(content=NO_SKIPPING)
        blocks = tab.page.evaluate(SCROLLABLE_BLOCKS)
        assert all(b["tabIndex"] == 0 for b in blocks if b["scrolls"]), blocks
        assert all(b["tabIndex"] == -1 for b in blocks if b["near"] and not b["scrolls"]), blocks


def test_navigation_button_folds_the_sidebar_on_a_wide_screen(browser, base_url):
    with Offline(browser, base_url, viewport={"width": 1280, "height": 800}) as tab:
        tab.page.goto(base_url + FIRST_CHAPTER)
        sidebar = tab.page.locator("#pst-primary-sidebar")
        assert sidebar.is_visible()
        tab.page.locator(".bd-header-article .primary-toggle").click()
        tab.page.wait_for_function(
            "document.querySelector('#pst-primary-sidebar').classList.contains('pst-sidebar-hidden')"
        )
        assert not tab.problems, "\n".join(tab.problems)


# --- Reads on a phone (issue 22): nothing cut off, figures fit and stay legible, verdicts marked.

LAYOUT = """() => {
  const vw = document.documentElement.clientWidth;
  const article = document.querySelector('.bd-article');
  function scroller(el) {  // the nearest ancestor that clips or scrolls sideways
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (/(auto|scroll|hidden|clip)/.test(getComputedStyle(a).overflowX)) return a;
    }
    return null;
  }
  const cut = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    // text that runs out of its box (a long word) reaches as far as the box's scroll width
    const reach = getComputedStyle(el).overflowX === 'visible' && el.scrollWidth > el.clientWidth + 1
      ? Math.max(r.right, r.left + el.scrollWidth) : r.right;
    // off to the left entirely: an off-canvas sidebar, which never makes the page scroll
    if (!r.width || r.right <= 0 || (reach <= vw + 1 && r.left >= -1)) continue;
    if (getComputedStyle(el).visibility === 'hidden') continue;
    const box = scroller(el);
    if (box) {
      const b = box.getBoundingClientRect();
      if (b.right <= vw + 1 && b.left >= -1) continue;  // it scrolls inside a box that fits
    }
    if (cut.length < 5) cut.push(`${el.tagName.toLowerCase()}.${[...el.classList].join('.')}`
      + ` [${Math.round(r.left)}, ${Math.round(r.right)}] "${el.textContent.trim().slice(0, 40)}"`);
  }
  const column = article ? article.getBoundingClientRect() : {left: 0, right: vw};
  const figures = [...document.querySelectorAll('.bd-article img[src*="_images/"]')].map(i => ({
    src: i.getAttribute('src').split('/').pop(), width: i.getBoundingClientRect().width,
    natural: i.naturalWidth, left: i.getBoundingClientRect().left,
    right: i.getBoundingClientRect().right}));
  return {scrollWidth: document.documentElement.scrollWidth, vw, cut, figures,
          column: [column.left, column.right]};
}"""
MIN_FIGURE_TEXT_PX = 9


def book_style_text() -> tuple[float, float]:
    """lab.plotting's smallest text (ticks, legend, labels, titles) in points, and its dpi."""
    import matplotlib as mpl
    from matplotlib.font_manager import FontProperties
    from sessionlab.lab.plotting import use_book_style

    with mpl.rc_context():
        use_book_style()
        keys = [
            "font.size",
            "xtick.labelsize",
            "ytick.labelsize",
            "legend.fontsize",
            "axes.labelsize",
            "axes.titlesize",
            "figure.titlesize",
        ]
        sizes = [FontProperties(size=mpl.rcParams[k]).get_size_in_points() for k in keys]
        return min(sizes), float(mpl.rcParams["figure.dpi"])


def figure_text_px(name: str, rendered_width: float) -> tuple[float, float, float]:
    """How tall (CSS px) the figure's smallest text is drawn: its size in points, times the
    PNG's pixels per point (its dpi / 72: matplotlib records the dpi in the PNG), times the
    scale the page draws it at (rendered width / natural width). lab.plotting's figures record
    their smallest text size in a text chunk "min-font-pt" (BookFigure raises any smaller text
    before drawing); a PNG from elsewhere is taken at the book style's smallest size, and one
    that matplotlib drew without lab.plotting fails, as its text size is not known."""
    from PIL import Image

    style_pt, style_dpi = book_style_text()
    with Image.open(HTML / "_images" / name) as image:
        dpi = float((image.info.get("dpi") or (style_dpi, style_dpi))[0])
        recorded = image.info.get("min-font-pt")
        drawn_by_matplotlib = "matplotlib" in str(image.info.get("Software", "")).lower()
        natural = image.width
    assert recorded or not drawn_by_matplotlib, (
        f"{name}: a matplotlib figure without its smallest text size: draw it with "
        "sessionlab.lab.plotting.new_figure (and re-execute its chapter)"
    )
    pt = float(recorded or style_pt)
    return pt * dpi / 72 * rendered_width / natural, pt, dpi


@pytest.mark.parametrize("width", [412, 1280])
@pytest.mark.parametrize("path", PAGES)
def test_nothing_is_cut_off_and_figures_fit(browser, base_url, path, width):
    """At a phone's and a desktop's width: the page never scrolls sideways (a wide table or
    output scrolls inside its own box), and every figure fits the text column."""
    with Offline(browser, base_url, viewport={"width": width, "height": 823}) as tab:
        tab.page.goto(base_url + path, wait_until="load")
        tab.page.evaluate(LOAD_EVERYTHING)
        tab.page.add_style_tag(content=NO_SKIPPING)
        layout = tab.page.evaluate(LAYOUT)
        assert layout["scrollWidth"] <= layout["vw"] and not layout["cut"], (
            f"{path} at {width} px: page {layout['scrollWidth']} px wide; cut off: {layout['cut']}"
        )
        left, right = layout["column"]
        for figure in layout["figures"]:
            assert figure["left"] >= left - 0.5 and figure["right"] <= right + 0.5, (
                f"{path} at {width} px: {figure['src']} is wider than the column"
            )


def figure_text_sizes(browser, base_url, width: int) -> list[tuple[str, str, float, float]]:
    """(page, figure, px, pt) for every figure of the book, as drawn at this viewport width."""
    found = []
    with Offline(browser, base_url, viewport={"width": width, "height": 823}) as tab:
        for path in CHAPTERS:
            tab.page.goto(base_url + path, wait_until="load")
            tab.page.evaluate(LOAD_EVERYTHING)
            tab.page.add_style_tag(content=NO_SKIPPING)
            for figure in tab.page.evaluate(LAYOUT)["figures"]:
                px, pt, _ = figure_text_px(figure["src"], figure["width"])
                found.append((path, figure["src"], px, pt))
    return found


@pytest.mark.parametrize("width", [412, 1280])
def test_figure_text_is_at_least_9px_as_drawn(browser, base_url, width):
    """Every figure's smallest text, as the page draws it at a phone's and a desktop's width:
    lab.plotting sizes it from the figure's width (BookFigure, text_floor_pt)."""
    small = [
        f"{path}: {src} ({pt:g} pt drawn at {px:.1f} px)"
        for path, src, px, pt in figure_text_sizes(browser, base_url, width)
        if px < MIN_FIGURE_TEXT_PX
    ]
    assert not small, f"figure text below {MIN_FIGURE_TEXT_PX} px at {width} px:\n" + "\n".join(
        small
    )


CONTRASTS = """() => {
  function rgba(text) { const m = text.match(/[\\d.]+/g).map(Number); return m.length > 3 ? m : [...m, 1]; }
  function background(el) {
    for (let a = el; a; a = a.parentElement) {
      const c = rgba(getComputedStyle(a).backgroundColor);
      if (c[3] > 0.5) return c;
    }
    return rgba(getComputedStyle(document.documentElement).backgroundColor);
  }
  function lum(c) {
    const [r, g, b] = c.slice(0, 3).map(v => {
      v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * r + 0.7152 * g + 0.0722 * b;
  }
  return [...document.querySelectorAll('.booksite-mark')].map(el => {
    const a = lum(rgba(getComputedStyle(el).color)), b = lum(background(el));
    return {text: el.textContent.trim(), mark: getComputedStyle(el, '::before').content,
            ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
  });
}"""
MARKED = (
    [p for p in PAGES if "booksite-mark" in (HTML / p).read_text(encoding="utf-8")]
    if (HTML / "index.html").exists()
    else []
)


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("path", MARKED or ["no-marked-page"])
def test_verdict_cells_have_a_mark_and_contrast(browser, base_url, path, scheme):
    """PASS, FAIL, refused, executed ... in a table: a shape besides the colour, and the colour
    at 4.5:1 or more against the cell's background."""
    if path == "no-marked-page":
        pytest.fail("no page has a marked verdict cell: the book's PASS/FAIL tables lost them")
    with Offline(browser, base_url, color_scheme=scheme) as tab:
        tab.page.goto(base_url + path, wait_until="load")
        tab.page.add_style_tag(content=NO_SKIPPING)
        cells = tab.page.evaluate(CONTRASTS)
        assert cells
        for cell in cells:
            assert cell["mark"] not in ("none", "normal", ""), f"{path}: {cell} has no mark"
            assert cell["ratio"] >= 4.5, f"{path} ({scheme}): {cell}"


def test_a_wide_table_scrolls_in_its_box_with_a_cue_and_frozen_labels(browser, base_url):
    """On a phone, the widest DataFrame of the book scrolls inside its box, shows the "scroll"
    hint until its right edge is reached, and keeps its row labels in view."""
    with Offline(browser, base_url, viewport={"width": 412, "height": 823}) as tab:
        page = tab.page
        found = None
        for path in CHAPTERS:
            page.goto(base_url + path, wait_until="load")
            page.add_style_tag(content=NO_SKIPPING)
            handle = page.evaluate_handle(
                """() => [...document.querySelectorAll('.cell_output .output.text_html')]
                .filter(b => b.querySelector('table.dataframe') && b.scrollWidth > b.clientWidth + 40)[0] || null"""
            )
            if handle.as_element():
                found = handle.as_element()
                break
        if found is None:
            pytest.skip("no DataFrame is wider than a phone's column")
        found.scroll_into_view_if_needed()
        page.wait_for_function(
            "b => b.parentElement.classList.contains('booksite-wide')", arg=found
        )
        frame = found.evaluate_handle("b => b.parentElement").as_element()
        hint = "f => getComputedStyle(f.querySelector('.booksite-scroll-hint')).display"
        label = "b => b.querySelector('tbody tr > :first-child').getBoundingClientRect().left"
        page.wait_for_function("f => f.classList.contains('booksite-more-right')", arg=frame)
        assert frame.evaluate(hint) == "block"
        label_left = found.evaluate(label)
        found.evaluate("b => { b.scrollLeft = b.scrollWidth; }")
        page.wait_for_function("f => !f.classList.contains('booksite-more-right')", arg=frame)
        assert frame.evaluate(hint) == "none"
        after = found.evaluate(label)
        assert abs(after - label_left) < 1, (
            f"{path}: the row labels scrolled away ({label_left} -> {after})"
        )
