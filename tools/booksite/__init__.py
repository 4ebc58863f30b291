"""Make Jupyter Book 1's pages light, quiet, offline and findable (a local Sphinx extension).

What the default sphinx-book-theme page costs and why each change below is made:

* ``fontawesome.js`` (542 KB compressed) and two Font Awesome fonts (275 KB) draw about 20 icons.
  The theme's macro that loads the script is overridden
  (``templates/static/webpack-macros.html``); the theme's CSS draws the same icons from its font,
  and ``_static/booksite-icons.css`` points that font at a subset of the theme's own vendored
  fonts holding only the glyphs the built pages use (a few KB).
* sphinx-thebe declares ``THEBE_JS_URL`` twice on every page (a console error) and would load
  Thebe from a CDN; the book has no Thebe button (Binder and Colab launch instead), so its
  scripts and stylesheet are dropped.
* Sphinx's and the extensions' scripts are loaded with ``defer``, so they no longer block the
  first paint (documentation_options.js stays synchronous: inline scripts read it at once).
* ``default_mode`` unset makes the theme log "Got invalid theme mode"; ``_config.yml`` sets it,
  and the head script resolves "auto" to light or dark at once (no second style pass).
* The bibliography loses ARIA roles that axe (Lighthouse's accessibility audit) rejects.
* Every page loaded ``searchindex.js`` (tens of KB, growing with the book) for a search-as-you-type
  feature that is off; only ``search.html`` needs it now.
* MathJax is vendored from a pinned PyPI package into ``_build/html/mathjax/`` (not ``_static/``,
  which Jupyter Book injects into every page) and loaded only when a formula comes near the
  viewport, on pages that have one.
* Figures are written as palette PNGs when that loses nothing (at most 256 colours), and load
  lazily (no chapter has a figure in its first screen).
* A page's dozen stylesheets are served as one (one request, one style pass), without the
  rules that match nothing any page or script can produce: 27 KB compressed instead of 70, all
  of it render-blocking. Computed styles of every element are unchanged (checked in Chromium
  on several pages, widths, colour modes and open dialogs and menus).
* The theme's stylesheet keeps only the Font Awesome rules of icons in use (of about 1,900).
* ``bootstrap.js`` (23 KB compressed; evaluating it was a long task on a throttled phone) is not
  loaded: the pages used it for three dropdowns, tooltips and "back to top", which
  ``static/booksite.js`` does in a few lines.
* The theme's script measured every code block and output at load to give the scrollable ones
  a tab stop, laying out the whole page (content-visibility's skipped sections included) in
  one 150-700 ms task under Lighthouse's throttle, and moving a #fragment's target by up to
  3,000 px; ``booksite.js`` measures each block as it comes near the screen instead.
* ``booksite.js`` also wires the article header's sidebar buttons (the theme wires only the
  hidden ones in the top header, so on a phone neither the navigation nor "On this page"
  opened), and keeps a #fragment's target in place while the sections around it are laid out.
* On a phone, a table wider than the column scrolls in its own box with a fade and a "scroll"
  hint at the edge that hides columns, a DataFrame's row labels stay in view, code output scrolls
  in its box and figures fit the column (``booksite.css``, ``booksite.js``). A table cell that says
  only PASS, FAIL, N/A, refused, executed, accepted ... (``VERDICT_WORDS``) gets a colour and a
  mark (✓ ✗ – ⊘ ▶), so no verdict rests on colour alone.
* ``html_baseurl`` (``html.baseurl`` in ``_config.yml``) is the one setting behind the canonical
  link, Open Graph URLs (sphinxext-opengraph), sitemap.xml and robots.txt (written here: a
  sitemap extension lists only the pages an incremental build rewrote).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

from sphinx.application import Sphinx
from sphinx.util import logging

HERE = Path(__file__).resolve().parent
logger = logging.getLogger(__name__)

ICON_CSS = "booksite-icons.css"
SYNC_SCRIPTS = {"_static/documentation_options.js"}
MATHJAX_DIR = "mathjax"
MATHJAX_PARTS = ["tex-chtml.js", "a11y", "adaptors", "input", "output", "sre", "ui"]
ICON_CLASS = re.compile(r"\bfa-([a-z0-9-]+)")
SEARCH_SCRIPTS = re.compile(
    r'\s*<script src="[^"]*(?:_static/searchtools\.js|_static/language_data\.js|searchindex\.js)"'
    r"></script>"
)


def on_config_inited(app: Sphinx, config) -> None:
    """Derive every URL-bearing setting from ``html_baseurl``."""
    base = (config.html_baseurl or "").rstrip("/") + "/"
    if base == "/":
        logger.warning("booksite: html.baseurl is empty; set it in _config.yml")
    config.html_baseurl = base
    config.ogp_site_url = base
    config.ogp_enable_meta_description = True
    config.ogp_description_length = 160
    config.ogp_social_cards = {"enable": False}
    config.ogp_type = "book"
    config.ogp_site_name = config.html_title or config.project
    config.templates_path = [str(HERE / "templates"), *config.templates_path]
    config.html_static_path = [*config.html_static_path, str(HERE / "static")]
    if not config.html_favicon:
        config.html_favicon = str(HERE / "static" / "favicon.svg")


def on_builder_inited(app: Sphinx) -> None:
    if app.builder.format == "html" and app.builder.name != "html":
        # Sphinx looks node visitors up by builder name first: once any extension registers one
        # for singlehtml, myst-nb's html-only ones (hidden code cells) are missing there.
        handlers = app.registry.translation_handlers
        for node, visitors in handlers.get("html", {}).items():
            handlers.setdefault(app.builder.name, {}).setdefault(node, visitors)
    app.add_css_file("booksite.css", priority=900)
    app.add_css_file(ICON_CSS, priority=900)
    app.add_js_file("booksite.js", priority=900)


def _is_thebe(asset) -> bool:
    name = getattr(asset, "filename", "") or ""
    body = (getattr(asset, "attributes", {}) or {}).get("body", "")
    return "thebe" in name or "THEBE_JS_URL" in body


def on_page_context(app: Sphinx, pagename, templatename, context, doctree) -> None:
    """Drop Thebe, de-duplicate inline scripts, load MathJax lazily and locally."""
    scripts = context.get("script_files")
    if scripts is None:
        return
    seen, kept = set(), []
    mathjax_config = None
    for asset in scripts:
        name = getattr(asset, "filename", "") or ""
        body = (getattr(asset, "attributes", {}) or {}).get("body", "")
        if _is_thebe(asset) or (body and body in seen):
            continue
        if body.startswith("window.MathJax = "):
            mathjax_config = body[len("window.MathJax = ") :]
            continue
        if name == app.config.mathjax_path or "mathjax" in name.lower():
            continue
        seen.add(body)
        if name and not body and name not in SYNC_SCRIPTS and pagename != "search":
            # Not render-blocking: these all wait for DOMContentLoaded anyway, and defer keeps
            # their order. documentation_options.js stays: inline scripts read it at once, as
            # the search page's inline script calls doctools' _ready.
            attributes = asset.attributes
            if "async" not in attributes and "defer" not in attributes:
                asset = type(asset)(name, **attributes, defer="defer")
        kept.append(asset)
    if mathjax_config is not None or (doctree is not None and _has_math(doctree)):
        kept.append(_lazy_mathjax(app, context, mathjax_config))
    scripts[:] = kept
    css = context.get("css_files")
    if css is not None:
        css[:] = [a for a in css if "thebe" not in (getattr(a, "filename", "") or "")]


def _has_math(doctree) -> bool:
    from docutils import nodes

    return any(
        True for _ in doctree.findall(lambda n: isinstance(n, (nodes.math, nodes.math_block)))
    )


def _lazy_mathjax(app: Sphinx, context, config_json):
    """An inline loader: MathJax arrives when a formula is within a screen or two, or on print."""
    from sphinx.builders.html._assets import _JavaScript

    config = json.loads(config_json) if config_json else {}
    src = context["pathto"](f"{MATHJAX_DIR}/tex-chtml.js", 1)
    body = (
        f"window.MathJax = {json.dumps(config)};"
        "(function () {"
        f"var src = {json.dumps(src)}, started = false;"
        "function load() { if (started) return; started = true;"
        " var s = document.createElement('script'); s.src = src; s.async = true;"
        " document.head.appendChild(s); }"
        "window.bookLoadMathJax = load;"
        "window.addEventListener('beforeprint', load);"
        "document.addEventListener('DOMContentLoaded', function () {"
        " var maths = document.querySelectorAll('.math');"
        " if (!maths.length) return;"
        " if (!('IntersectionObserver' in window)) return load();"
        " var seen = new IntersectionObserver(function (entries) {"
        "  if (entries.some(function (e) { return e.isIntersecting; })) { seen.disconnect(); load(); }"
        " }, {rootMargin: '1000px 0px'});"
        " maths.forEach(function (m) { seen.observe(m); });"
        "});"
        "})();"
    )
    return _JavaScript("", body=body)


FONTS = {  # family, weight -> the theme's vendored TrueType font
    ("Font Awesome 6 Free", 900): "fa-solid-900",
    ("Font Awesome 6 Free", 400): "fa-regular-400",
    ("Font Awesome 6 Brands", 400): "fa-brands-400",
}
GLYPH_RULE = re.compile(r'([^{};]*)\{content:"\\([0-9a-f]{4,5})"\}')


def _icon_codepoints(css: str, names: set[str]) -> set[int]:
    """Code points of the icon classes the pages use, and of the theme's own CSS glyphs."""
    wanted = {f".fa-{name}:before" for name in names}
    points = set()
    for rule in GLYPH_RULE.finditer(css):
        selectors = {sel.strip() for sel in rule.group(1).split(",")}
        if selectors & wanted:
            points.add(int(rule.group(2), 16))
    rest = GLYPH_RULE.sub("", css)  # what is left uses glyphs directly: --pst-icon-*, content
    points.update(int(code, 16) for code in re.findall(r'"\\(f[0-9a-f]{3})"', rest))
    points.update(ord(ch) for ch in rest if 0xE000 <= ord(ch) <= 0xF8FF)
    return points


def _icon_fonts(outdir: Path, names: set[str]) -> str:
    """Subset the theme's Font Awesome fonts to the glyphs in use; CSS that points at them."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    static = outdir / "_static"
    css = "".join(p.read_text(encoding="utf-8") for p in static.rglob("*.css"))
    points = _icon_codepoints(css, names)
    webfonts = static / "vendor" / "fontawesome" / "webfonts"
    rules = []
    for (family, weight), name in FONTS.items():
        font = TTFont(webfonts / f"{name}.ttf")
        present = points & set(font.getBestCmap())
        if not present:
            continue
        options = subset.Options()
        options.flavor = "woff"  # zlib; woff2 would need brotli
        options.layout_features = []
        options.name_IDs = []
        subsetter = subset.Subsetter(options)
        subsetter.populate(unicodes=present)
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(webfonts / f"booksite-{name}.woff")
        rules.append(
            f'@font-face{{font-display:block;font-family:"{family}";font-style:normal;'
            f"font-weight:{weight};src:url(vendor/fontawesome/webfonts/booksite-{name}.woff) "
            'format("woff")}'
        )
    return "\n".join(rules) + "\n"


def _used_icons(outdir: Path) -> set[str]:
    """Every ``fa-*`` name in the pages and in the scripts that add icons at run time."""
    names: set[str] = set()
    for page in outdir.rglob("*.html"):
        names.update(ICON_CLASS.findall(page.read_text(encoding="utf-8")))
    for script in (outdir / "_static").rglob("*.js"):
        if script.name != "fontawesome.js":
            names.update(ICON_CLASS.findall(script.read_text(encoding="utf-8", errors="replace")))
    return names


THEME_FROM_STORAGE = (
    'document.documentElement.dataset.theme = localStorage.getItem("theme") || "auto";'
)
THEME_RESOLVED = (
    'document.documentElement.dataset.theme = localStorage.getItem("theme") || '
    '(matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light");'
)


def _settle_theme(outdir: Path) -> None:
    """Resolve "auto" to light or dark before the first style pass.

    The theme's head script sets data-theme to "auto" and its deferred script changes it to
    "light" or "dark" after the page is laid out: a second style pass over the whole page, the
    longest task of a chapter's load. Resolving it at once gives the same result without it.
    """
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        if "<head>" not in text or THEME_RESOLVED in text:
            continue  # a redirect, or a page an earlier build already settled
        if THEME_FROM_STORAGE not in text:
            logger.warning(f"booksite: the theme's colour-mode script changed ({page.name})")
            continue
        page.write_text(text.replace(THEME_FROM_STORAGE, THEME_RESOLVED), encoding="utf-8")


TAB_STOPS_FUNCTION = re.compile(
    r'function (\w+)\(\)\{const \w+=\(\)=>\{document\.querySelectorAll\(\["pre",'
)
PATCHED = "/* booksite: tab stops are set by booksite.js */\n"


def _lazy_theme_tab_stops(outdir: Path) -> None:
    """Stop the theme's script from measuring every code block and output at load.

    pydata-sphinx-theme gives each scrollable block a tab stop (and takes it from the others) on
    the load event, and again 300 ms after any change below ``#main-content``: it reads
    ``scrollWidth`` of every block, which lays out the whole page, content-visibility's skipped
    sections included, in one task (the longest of a chapter's load, 150-700 ms under
    Lighthouse's 4x CPU throttle). ``booksite.js`` applies the same rule to each block as it
    comes near the screen; here the theme's call is removed from its bundle.
    """
    script = outdir / "_static" / "scripts" / "pydata-sphinx-theme.js"
    text = script.read_text(encoding="utf-8")
    if text.startswith(PATCHED):
        return  # an incremental build kept the patched copy
    found = TAB_STOPS_FUNCTION.search(text)
    call = (
        f',"complete"===document.readyState?{found.group(1)}():'
        f'window.addEventListener("load",{found.group(1)})'
        if found
        else None
    )
    if call is None or text.count(call) != 1:
        logger.warning("booksite: pydata-sphinx-theme.js changed; its tab stops are not lazy")
        return
    script.write_text(PATCHED + text.replace(call, ""), encoding="utf-8")


def _fix_citation_roles(outdir: Path) -> None:
    """docutils marks the bibliography with ARIA roles axe rejects (a deprecated entry role on a
    div inside a role=list whose children are not list items); plain markup reads the same."""
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        fixed = text.replace(' role="doc-biblioentry"', "").replace(
            '<div role="list" class="citation-list">', '<div class="citation-list">'
        )
        if fixed != text:
            page.write_text(fixed, encoding="utf-8")


def _drop_search_scripts(outdir: Path) -> None:
    for page in outdir.rglob("*.html"):
        if page.name == "search.html":
            continue
        text = page.read_text(encoding="utf-8")
        lighter = SEARCH_SCRIPTS.sub("", text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


def _lazy_images(outdir: Path) -> None:
    """Every image waits until it comes near the viewport.

    A chapter opens with its title and overview, so no figure is in the first screen; the
    launch buttons' logos sit in a closed dropdown and load when it opens.
    """
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        lighter = re.sub(r"<img (?![^>]*loading=)", '<img loading="lazy" decoding="async" ', text)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")


#: A table cell whose whole text is one of these words gets a colour and a mark (booksite.css):
#: verdicts of a checklist, and what became of a request or a token. "accepted" and "executed"
#: are not judged good or bad (a valid token is accepted, a forged one should not be): they get
#: their own colour and shape, distinct from "refused".
VERDICT_WORDS = {
    "pass": "pass",
    "passed": "pass",
    "fail": "fail",
    "failed": "fail",
    "n/a": "na",
    "refused": "stopped",
    "rejected": "stopped",
    "blocked": "stopped",
    "denied": "stopped",
    "accepted": "through",
    "executed": "through",
    "allowed": "through",
}
VERDICT_CELL = re.compile(
    r"<td(?P<attrs>(?:\s[^>]*)?)>(?P<before>\s*(?:<p>)?\s*)"
    r"(?P<word>" + "|".join(re.escape(w) for w in VERDICT_WORDS) + r")"
    r"(?P<after>\s*(?:</p>)?\s*)</td>",
    re.IGNORECASE,
)


def _mark_verdicts(outdir: Path) -> None:
    """Mark table cells that hold only a verdict word (PASS, FAIL, refused ...) with a class.

    Done on the written pages, so it reaches every table whatever produced it: a markdown table,
    a DataFrame output, a glued or evaluated one."""

    def mark(match: re.Match) -> str:
        attrs = match.group("attrs")
        if "booksite-mark" in attrs:
            return match.group(0)
        kind = VERDICT_WORDS[match.group("word").lower()]
        classes = f"booksite-mark booksite-{kind}"
        if re.search(r'\sclass="', attrs):
            attrs = re.sub(r'\sclass="', f' class="{classes} ', attrs, count=1)
        else:
            attrs = f'{attrs} class="{classes}"'
        return f"<td{attrs}>{match.group('before')}{match.group('word')}{match.group('after')}</td>"

    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        marked = VERDICT_CELL.sub(mark, text)
        if marked != text:
            page.write_text(marked, encoding="utf-8")


def _drop_unused_icon_rules(outdir: Path, names: set[str]) -> None:
    """The theme's stylesheet carries a rule for each of Font Awesome's ~1,900 icons; keep ours."""
    sheet = outdir / "_static" / "styles" / "pydata-sphinx-theme.css"
    css = sheet.read_text(encoding="utf-8")

    def keep(rule: re.Match) -> str:
        selectors = [sel.strip() for sel in rule.group(1).split(",")]
        used = [s for s in selectors if s.startswith(".fa-") and s[4:-7] in names]
        if all(s.startswith(".fa-") and s.endswith(":before") for s in selectors) and not used:
            return ""
        return rule.group(0)

    sheet.write_text(GLYPH_RULE.sub(keep, css), encoding="utf-8")


def _shrink_figures(outdir: Path) -> None:
    """Rewrite a figure as a palette PNG only when that loses nothing (256 colours or fewer)."""
    from PIL import Image

    for png in (outdir / "_images").glob("*.png"):
        with Image.open(png) as image:
            if image.mode == "P":
                continue  # already a palette image (an earlier build wrote it)
            image.load()
            rgb = image.convert("RGB") if image.mode in ("RGBA", "LA") else image
            if image.mode in ("RGBA", "LA") and image.getchannel("A").getextrema() != (255, 255):
                continue
            colours = rgb.getcolors(256)
            if colours is None:
                continue
            palette = rgb.quantize(colors=len(colours), method=Image.Quantize.MEDIANCUT)
            # matplotlib records the dpi it drew at: the site's tests size figure text from it
            keep = {"dpi": image.info["dpi"]} if "dpi" in image.info else {}
        smaller = png.with_suffix(".tmp.png")
        palette.save(smaller, optimize=True, **keep)
        if smaller.stat().st_size < png.stat().st_size:
            smaller.replace(png)
        else:
            smaller.unlink()


STYLESHEET = re.compile(
    r'<link (?=[^>]*rel="stylesheet")[^>]*href="([^"?]+)(?:\?[^"]*)?"[^>]*/?>\n?'
)


BUNDLED = re.compile(r'data-booksite-sheets="([^"]*)"')
BUNDLE_NAME = re.compile(r"booksite-[0-9a-f]{12}\.css")


def _bundle_stylesheets(outdir: Path) -> None:
    """One stylesheet per page instead of a dozen: one request and one style pass, not twelve.

    Each page's render-blocking stylesheets, in their order, are concatenated into
    ``_static/booksite-<hash>.css`` (pages with the same set share it), with every ``url()``
    rewritten relative to the bundle, and without the rules no page can use (``_purge``).
    The bundle's link names the stylesheets it holds (``data-booksite-sheets``), so a page an
    incremental build did not rewrite gets a new bundle too when one of them has changed.
    """
    import hashlib

    static = outdir / "_static"
    bundles: dict[tuple[Path, ...], str] = {}
    words: set[str] | None = None
    for page in outdir.rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        links = list(STYLESHEET.finditer(text))
        bundled = BUNDLED.search(links[0].group(0)) if len(links) == 1 else None
        if bundled:
            sheets = tuple(static / name for name in bundled.group(1).split())
        else:
            sheets = tuple((page.parent / m.group(1)).resolve() for m in links)
            if len(sheets) < 2:
                continue
        if not all(s.is_file() and static in s.parents for s in sheets):
            continue
        if sheets not in bundles:
            if words is None:
                words = _site_words(outdir)
            css = _purge("\n".join(_rebased(sheet, static) for sheet in sheets), words)
            name = f"booksite-{hashlib.sha256(css.encode()).hexdigest()[:12]}.css"
            (static / name).write_text(css, encoding="utf-8")
            bundles[sheets] = name
        href = os.path.relpath(static / bundles[sheets], page.parent).replace(os.sep, "/")
        held = " ".join(sheet.relative_to(static).as_posix() for sheet in sheets)
        link = f'<link rel="stylesheet" href="{href}" data-booksite-sheets="{held}" />\n'
        first = links[0]
        pieces, last = [], 0
        for m in links:
            pieces.append(text[last : m.start()])
            if m is first:
                pieces.append(link)
            last = m.end()
        pieces.append(text[last:])
        lighter = "".join(pieces)
        if lighter != text:
            page.write_text(lighter, encoding="utf-8")
    used = {n for page in outdir.rglob("*.html") for n in BUNDLE_NAME.findall(page.read_text())}
    for old in static.glob("booksite-*.css"):
        if BUNDLE_NAME.fullmatch(old.name) and old.name not in used:
            old.unlink()  # an earlier build's bundle that no page links any more


WORD = re.compile(r"[A-Za-z0-9_-]+")
CLASS_SELECTOR = re.compile(r"\.(-?[_a-zA-Z][\w-]*)")
FUNCTIONAL_PSEUDO = re.compile(r":[a-zA-Z-]+\(")
GROUPING_RULES = ("@media", "@supports", "@layer", "@container")


def _site_words(outdir: Path) -> set[str]:
    """Every word in the pages and in the scripts they may load: a superset of the class names
    the pages can ever carry (the scripts add classes by literal name only)."""
    words: set[str] = set()
    for path in [*outdir.rglob("*.html"), *outdir.rglob("*.js")]:
        if path.name != "fontawesome.js":
            words.update(WORD.findall(path.read_text(encoding="utf-8", errors="replace")))
    return words


def _purge(css: str, words: set[str]) -> str:
    """The stylesheet without the selectors that name a class no page or script has.

    The theme's stylesheet is all of Bootstrap (utilities, grid, components the theme never
    renders) plus its own: about two thirds of the bundle's 450 KB matches nothing here, and
    the browser downloads and parses it before the first paint. A selector is kept unless a
    class it requires (outside :not(), :is(), :has() ... and attribute selectors) is a word
    found nowhere in the built pages or their scripts; a rule goes only when all of its
    selectors go. At-rules other than grouping ones (@font-face, @keyframes ...) are kept.
    """

    def needed(selector: str) -> bool:
        if "\\" in selector:
            return True  # an escaped class name: keep rather than parse it
        plain = re.sub(r"\[[^\]]*\]", "", _without_functional_pseudos(selector))
        return all(name in words for name in CLASS_SELECTOR.findall(plain))

    out = []
    for prelude, body in _css_blocks(css):
        if body is None:
            out.append(prelude + ";")
        elif prelude.lower().startswith(GROUPING_RULES):
            inner = _purge(body, words)
            if inner:
                out.append(f"{prelude}{{{inner}}}")
        elif prelude.startswith("@"):
            out.append(f"{prelude}{{{body}}}")
        else:
            kept = [sel for sel in _split_selectors(prelude) if needed(sel)]
            if kept:
                out.append(f"{','.join(kept)}{{{body}}}")
    return "\n".join(out)


def _css_blocks(css: str):
    """(prelude, body) for each top-level statement of a stylesheet; body is None for an
    at-rule ending in a semicolon. Comments are dropped; strings are kept whole."""
    prelude, i, n = [], 0, len(css)
    while i < n:
        ch = css[i]
        if css.startswith("/*", i):
            i = _comment_end(css, i)
            continue
        if ch in "\"'":
            end = _string_end(css, i)
            prelude.append(css[i:end])
            i = end
            continue
        if ch == ";":
            yield "".join(prelude).strip(), None
            prelude, i = [], i + 1
            continue
        if ch == "{":
            start, depth, i = i + 1, 1, i + 1
            while i < n and depth:
                if css.startswith("/*", i):
                    i = _comment_end(css, i)
                    continue
                if css[i] in "\"'":
                    i = _string_end(css, i)
                    continue
                depth += {"{": 1, "}": -1}.get(css[i], 0)
                i += 1
            yield "".join(prelude).strip(), css[start : i - 1]
            prelude = []
            continue
        prelude.append(ch)
        i += 1
    if "".join(prelude).strip():
        yield "".join(prelude).strip(), None


def _comment_end(css: str, start: int) -> int:
    end = css.find("*/", start + 2)
    return len(css) if end < 0 else end + 2


def _string_end(css: str, start: int) -> int:
    quote, i = css[start], start + 1
    while i < len(css) and css[i] != quote:
        i += 2 if css[i] == "\\" else 1
    return i + 1


def _split_selectors(prelude: str) -> list[str]:
    parts, depth, current = [], 0, []
    for ch in prelude:
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(ch, 0)
        if ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
        else:
            current.append(ch)
    parts.append("".join(current).strip())
    return [part for part in parts if part]


def _without_functional_pseudos(selector: str) -> str:
    """``a.b:not(.c):is(.d, .e)`` -> ``a.b``: what those arguments require is not checked."""
    out, i = [], 0
    while i < len(selector):
        match = FUNCTIONAL_PSEUDO.match(selector, i)
        if not match:
            out.append(selector[i])
            i += 1
            continue
        depth, i = 1, match.end()
        while i < len(selector) and depth:
            depth += {"(": 1, ")": -1}.get(selector[i], 0)
            i += 1
    return "".join(out)


def _rebased(sheet: Path, static: Path) -> str:
    """A stylesheet's text with relative url()s pointing from _static/ instead of its folder."""
    css = sheet.read_text(encoding="utf-8")

    def rebase(match: re.Match) -> str:
        url = match.group(2)
        if re.match(r"^(data:|[a-z]+://|/|#)", url):
            return match.group(0)
        target = os.path.normpath(os.path.join(sheet.parent, url))
        return f"url({match.group(1)}{os.path.relpath(target, static).replace(os.sep, '/')}{match.group(1)})"

    def inline(match: re.Match) -> str:  # @import is only valid at the top: inline it
        return _rebased((sheet.parent / match.group(2)).resolve(), static)

    css = re.sub(r"""@import\s+(?:url\()?(['"])([^'"]+)\1\)?\s*;""", inline, css)
    css = re.sub(r"""url\((['"]?)([^'")]+)\1\)""", rebase, css)
    return re.sub(r"/\*# sourceMappingURL=[^*]*\*/", "", css)


def _vendor_mathjax(outdir: Path) -> None:
    if not any("bookLoadMathJax" in p.read_text(encoding="utf-8") for p in outdir.rglob("*.html")):
        return
    import mathjax  # django-static-mathjax: MathJax 3, pinned in requirements.txt

    source = Path(mathjax.__file__).parent / "static" / "mathjax" / "es5"
    target = outdir / MATHJAX_DIR
    for part in MATHJAX_PARTS:
        src, dst = source / part, target / part
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dst)
    shutil.copy2(source.parent / "LICENSE", target / "LICENSE")


def _sitemap_and_robots(app: Sphinx, outdir: Path) -> None:
    """sitemap.xml of every page (an incremental build rewrites only some) and robots.txt."""
    from xml.sax.saxutils import escape

    base = app.config.html_baseurl
    root = app.config.root_doc
    docs = sorted(app.env.found_docs, key=lambda doc: (doc != root, doc))
    urls = "".join(
        f"<url><loc>{escape(base + app.builder.get_target_uri(doc))}</loc></url>" for doc in docs
    )
    (outdir / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{urls}</urlset>\n',
        encoding="utf-8",
    )
    (outdir / "robots.txt").write_text(f"User-agent: *\nAllow: /\n\nSitemap: {base}sitemap.xml\n")


def on_build_finished(app: Sphinx, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    outdir = Path(app.outdir)  # each step below is idempotent: a rebuild rewrites some pages
    for source in (HERE / "static").iterdir():
        # Sphinx keeps an existing copy on an incremental build; the book's own must be current.
        shutil.copyfile(source, outdir / "_static" / source.name)
    names = _used_icons(outdir)
    (outdir / "_static" / ICON_CSS).write_text(_icon_fonts(outdir, names), encoding="utf-8")
    _drop_unused_icon_rules(outdir, names)
    if app.builder.name == "html":
        _drop_search_scripts(outdir)
    _lazy_images(outdir)
    _settle_theme(outdir)
    _lazy_theme_tab_stops(outdir)
    _fix_citation_roles(outdir)
    _mark_verdicts(outdir)
    _shrink_figures(outdir)
    _vendor_mathjax(outdir)
    _bundle_stylesheets(outdir)  # last: it keeps what any page or script (MathJax's) may use
    if app.builder.name == "html":
        _sitemap_and_robots(app, outdir)


def setup(app: Sphinx) -> dict:
    app.connect("config-inited", on_config_inited, priority=900)
    app.connect("builder-inited", on_builder_inited)
    app.connect("html-page-context", on_page_context, priority=900)
    app.connect("build-finished", on_build_finished, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
