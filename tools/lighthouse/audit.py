"""`make audit`: pinned Lighthouse (mobile, simulated throttling) on every page of the built site.

A benchmark, not a test. Serves _build/html compressed on 127.0.0.1 (tools/serve.py), runs the
Lighthouse in tools/lighthouse/node_modules once per page with the system Chromium, and writes
_build/audit/report.md plus one JSON report per page: the four scores, the bytes and requests the
load transferred, the largest contentful paint, and what the page weighs with all its figures
(they load lazily, so Lighthouse's load fetches none). PAGES="01_anatomy_of_a_jwt ..." audits
only those pages.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(ROOT / "tools"), str(ROOT / "tests")]

import serve  # noqa: E402
from toc import toc_files  # noqa: E402

HTML = ROOT / "_build" / "html"
OUT = ROOT / "_build" / "audit"
LIGHTHOUSE = ROOT / "tools" / "lighthouse" / "node_modules" / ".bin" / "lighthouse"
CHROME_FLAGS = (
    "--headless --no-sandbox --disable-gpu --disable-background-networking "
    "--disable-component-update --disable-sync --no-first-run"
)
CATEGORIES = ["performance", "accessibility", "best-practices", "seo"]
GOALS = (
    "goals: performance >= 95, accessibility, best practices and SEO 100, <= 300 KB, LCP <= 2.5 s"
)


def audit(url: str, report: Path) -> dict:
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--only-categories={','.join(CATEGORIES)}",
            f"--chrome-flags={CHROME_FLAGS}",
        ],
        check=True,
        env=env,
    )
    return json.loads(report.read_text())


def unloaded_figures(page: Path, result: dict) -> int:
    """Compressed bytes of the page's images that Lighthouse's load did not fetch (lazy ones)."""
    fetched = {
        item["url"].split("?")[0].rsplit("/", 1)[-1]
        for item in result["audits"]["network-requests"]["details"]["items"]
    }
    total = 0
    for src in set(re.findall(r'<img [^>]*src="([^"]+)"', page.read_text(encoding="utf-8"))):
        image = (page.parent / src).resolve()
        if image.name not in fetched and image.is_file():
            total += image.stat().st_size
    return total


def row(name: str, page: Path, result: dict) -> tuple[list[str], bool]:
    scores = [round(100 * result["categories"][c]["score"]) for c in CATEGORIES]
    items = result["audits"]["network-requests"]["details"]["items"]
    transferred = sum(item.get("transferSize", 0) for item in items)
    lcp = result["audits"]["largest-contentful-paint"]["numericValue"] / 1000
    everything = transferred + unloaded_figures(page, result)
    meets = (
        scores[0] >= 95
        and scores[1:] == [100, 100, 100]
        and transferred <= 300 * 1024
        and lcp <= 2.5
    )
    cells = [name, *map(str, scores), f"{transferred / 1024:.0f}", str(len(items)), f"{lcp:.2f}"]
    return [*cells, f"{everything / 1024:.0f}", "yes" if meets else "NO"], meets


def main() -> int:
    if not (HTML / "index.html").exists():
        sys.exit("no built site: run `make book` first")
    OUT.mkdir(parents=True, exist_ok=True)
    server = serve.start(HTML)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    header = ["page", "perf", "a11y", "best pr.", "SEO", "KB", "requests", "LCP s"]
    header += ["KB, every figure", "goals met"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    failures = 0
    try:
        only = os.environ.get("PAGES", "").split()
        for source in [s for s in toc_files() if not only or s.stem in only]:
            relative = source.relative_to(ROOT).with_suffix(".html")
            print(f"lighthouse {relative}", flush=True)
            result = audit(base + relative.as_posix(), OUT / f"{source.stem}.json")
            cells, meets = row(source.stem, HTML / relative, result)
            failures += not meets
            lines.append("| " + " | ".join(cells) + " |")
    finally:
        server.shutdown()
    version = result["lighthouseVersion"]
    text = (
        f"Lighthouse {version}, mobile, simulated throttling, served gzip from 127.0.0.1.\n"
        f"KB and requests: what the page load transferred. {GOALS}.\n\n" + "\n".join(lines) + "\n"
    )
    (OUT / "report.md").write_text(text)
    print(text)
    print(f"{failures} page(s) miss a goal; reports in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
