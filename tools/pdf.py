"""`make pdf`: the whole book as one PDF, printed from the single-page build by system Chromium.

Serves _build/singlehtml on 127.0.0.1 (nothing else is reachable), opens every collapsed block,
loads every figure and formula, and prints with page numbers to _build/pdf/<name>.pdf.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "book"))

import serve  # noqa: E402
from sessionlab.lab.browser import CHROMIUM_ARGS  # noqa: E402

SINGLE = ROOT / "_build" / "singlehtml"
OUT = ROOT / "_build" / "pdf" / "sessions-not-jwt.pdf"
ARGS = list(CHROMIUM_ARGS)  # the book's one set of flags for a quiet, offline Chromium
PREPARE = """async () => {
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
  return images.filter(i => !i.naturalWidth).map(i => i.src);
}"""
FOOTER = (
    '<div style="font-size:8px;width:100%;text-align:center;color:#555">'
    '<span class="pageNumber"></span> / <span class="totalPages"></span></div>'
)


def main() -> int:
    from playwright.sync_api import sync_playwright

    # Jupyter Book writes the single page under the root document's name (book/00_preface.html)
    # with links relative to the build's root, and index.html redirects to it: print a copy
    # placed at the root, where its links resolve.
    pages = sorted(SINGLE.rglob("*.html"), key=lambda p: p.stat().st_size)
    if not pages:
        sys.exit("no single-page build: run `make pdf`")
    book = "book.html"
    shutil.copyfile(pages[-1], SINGLE / book)
    chromium = os.environ.get("SESSIONLAB_CHROMIUM") or shutil.which("chromium")
    server = serve.start(SINGLE)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    blocked: list[str] = []

    def route(request_route):
        if request_route.request.url.startswith(base):
            request_route.continue_()
        else:
            blocked.append(request_route.request.url)
            request_route.abort()

    OUT.parent.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.route("**/*", route)
            page.set_default_timeout(120_000)
            page.goto(base + book, wait_until="networkidle")
            print(f"printing {book}", flush=True)
            broken = page.evaluate(PREPARE)
            page.wait_for_load_state("networkidle")
            page.emulate_media(media="print")
            page.pdf(
                path=str(OUT),
                format="A4",
                print_background=True,
                margin={"top": "14mm", "bottom": "16mm", "left": "12mm", "right": "12mm"},
                display_header_footer=True,
                header_template="<span></span>",
                footer_template=FOOTER,
            )
            browser.close()
    finally:
        server.shutdown()
    if broken or blocked:
        sys.exit(f"images that did not load: {broken}; requests blocked: {blocked}")
    print(f"wrote {OUT.relative_to(ROOT)} ({OUT.stat().st_size / 1e6:.1f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
