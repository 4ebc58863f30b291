"""`make audit`: pinned Lighthouse (mobile, simulated throttling) on every page of the built site.

A benchmark, not a test. Serves _build/html compressed on 127.0.0.1 (tools/serve.py) and runs the
Lighthouse in tools/lighthouse/node_modules with the system Chromium, RUNS times per page (3 by
default). One run's performance score moves by several points with what else the machine is
doing, so, as Lighthouse's documentation advises, the report gives each page's median and range,
and judges the goals on the median. The runs go in rounds (every page once, then again), so a
busy minute on the machine touches one run of a few pages, not every run of one page.

Writes _build/audit/report.md; _build/audit/<page>.json is the page's median run (by performance
score), runs.json every run's numbers. The first round also scores accessibility, best
practices and SEO (they do not depend on timing); the others score performance only. Per page:
the scores, the bytes and requests the load transferred, the largest contentful paint, the total
blocking time, and what the page weighs with all its figures (they load lazily, so Lighthouse's
load fetches none). PAGES="01_anatomy_of_a_jwt ..." audits only those pages.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import statistics
import subprocess
import sys
import time
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
    "goals, on the median: performance >= 95, accessibility, best practices and SEO 100, "
    "<= 300 KB, LCP <= 2.5 s"
)


def lighthouse(url: str, report: Path, categories: list[str]) -> dict:
    env = {**os.environ, "CHROME_PATH": os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    subprocess.run(
        [
            str(LIGHTHOUSE),
            url,
            "--quiet",
            "--output=json",
            f"--output-path={report}",
            f"--only-categories={','.join(categories)}",
            f"--chrome-flags={CHROME_FLAGS}",
        ],
        check=True,
        env=env,
    )
    return json.loads(report.read_text())


def measures(result: dict) -> dict:
    """The numbers of one run that the report uses."""
    audits = result["audits"]
    items = audits["network-requests"]["details"]["items"]
    return {
        "scores": {
            c: round(100 * result["categories"][c]["score"])
            for c in CATEGORIES
            if c in result["categories"]
        },
        "bytes": sum(item.get("transferSize", 0) for item in items),
        "requests": len(items),
        "fetched": sorted({item["url"].split("?")[0].rsplit("/", 1)[-1] for item in items}),
        "lcp": audits["largest-contentful-paint"]["numericValue"] / 1000,
        "fcp": audits["first-contentful-paint"]["numericValue"] / 1000,
        "tbt": audits["total-blocking-time"]["numericValue"],
        "cls": audits["cumulative-layout-shift"]["numericValue"],
        "benchmark": result["environment"]["benchmarkIndex"],
    }


def unloaded_figures(page: Path, fetched: list[str]) -> int:
    """Compressed bytes of the page's images that Lighthouse's load did not fetch (lazy ones)."""
    total = 0
    for src in set(re.findall(r'<img [^>]*src="([^"]+)"', page.read_text(encoding="utf-8"))):
        image = (page.parent / src).resolve()
        if image.name not in fetched and image.is_file():
            total += image.stat().st_size
    return total


def spread(values: list[float], fmt: str) -> str:
    """The median, and the range when the runs differ: "97 (95-99)"."""
    median = statistics.median(values)
    low, high = min(values), max(values)
    if fmt.format(low) == fmt.format(high):
        return fmt.format(median)
    return f"{fmt.format(median)} ({fmt.format(low)}-{fmt.format(high)})"


def row(name: str, page: Path, runs: list[dict]) -> tuple[list[str], bool]:
    perf = [r["scores"]["performance"] for r in runs]
    lcp = [r["lcp"] for r in runs]
    first = runs[0]  # the run that scored every category
    others = [first["scores"][c] for c in CATEGORIES[1:]]
    transferred = statistics.median(r["bytes"] for r in runs)
    everything = first["bytes"] + unloaded_figures(page, first["fetched"])
    meets = (
        statistics.median(perf) >= 95
        and others == [100, 100, 100]
        and transferred <= 300 * 1024
        and statistics.median(lcp) <= 2.5
    )
    cells = [name, spread(perf, "{:.0f}"), *map(str, others)]
    cells += [f"{transferred / 1024:.0f}", str(first["requests"]), spread(lcp, "{:.2f}")]
    cells += [spread([r["tbt"] for r in runs], "{:.0f}"), f"{everything / 1024:.0f}"]
    return [*cells, "yes" if meets else "NO"], meets


def main() -> int:
    if not (HTML / "index.html").exists():
        sys.exit("no built site: run `make book` first")
    runs_per_page = int(os.environ.get("RUNS", "3"))
    OUT.mkdir(parents=True, exist_ok=True)
    only = os.environ.get("PAGES", "").split()
    sources = [s for s in toc_files() if not only or s.stem in only]
    started, load_before = time.monotonic(), os.getloadavg()
    server = serve.start(HTML)
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    urls = {s: base + s.relative_to(ROOT).with_suffix(".html").as_posix() for s in sources}
    runs: dict[str, list[dict]] = {s.stem: [] for s in sources}
    try:
        for url in urls.values():  # the server compresses each file once: not inside a run
            warm = http.client.HTTPConnection("127.0.0.1", server.server_address[1])
            warm.request("GET", url.removeprefix(base[:-1]), headers={"Accept-Encoding": "gzip"})
            warm.getresponse().read()
            warm.close()
        for round_ in range(runs_per_page):
            categories = CATEGORIES if round_ == 0 else CATEGORIES[:1]
            for source, url in urls.items():
                print(f"lighthouse {round_ + 1}/{runs_per_page} {source.stem}", flush=True)
                report = OUT / f"{source.stem}.run{round_ + 1}.json"
                result = lighthouse(url, report, categories)
                runs[source.stem].append(measures(result) | {"report": report.name})
                version = result["lighthouseVersion"]
    finally:
        server.shutdown()
    header = ["page", "perf", "a11y", "best pr.", "SEO", "KB", "requests", "LCP s", "TBT ms"]
    header += ["KB, every figure", "goals met"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    failures = 0
    for source in sources:
        page_runs = runs[source.stem]
        page = HTML / source.relative_to(ROOT).with_suffix(".html")
        cells, meets = row(source.stem, page, page_runs)
        failures += not meets
        lines.append("| " + " | ".join(cells) + " |")
        # <page>.json: the run with the median performance score; the others are removed
        ranked = sorted(page_runs, key=lambda r: r["scores"]["performance"])
        median_run = ranked[(len(ranked) - 1) // 2]
        (OUT / median_run["report"]).replace(OUT / f"{source.stem}.json")
        for other in page_runs:
            (OUT / other["report"]).unlink(missing_ok=True)
    minutes = (time.monotonic() - started) / 60
    benchmarks = [r["benchmark"] for page_runs in runs.values() for r in page_runs]
    load_after = os.getloadavg()
    text = (
        f"Lighthouse {version}, mobile, simulated throttling, served gzip from 127.0.0.1; "
        f"{runs_per_page} run(s) per page, in rounds. Cells: median (range over the runs).\n"
        f"KB and requests: what the page load transferred. {GOALS}.\n\n"
        + "\n".join(lines)
        + f"\n\n{len(sources) * runs_per_page} runs in {minutes:.1f} min; machine load average "
        f"{load_before[0]:.1f} before, {load_after[0]:.1f} after; Lighthouse's CPU benchmark "
        f"index {min(benchmarks):.0f}-{max(benchmarks):.0f} (higher is faster).\n"
    )
    (OUT / "report.md").write_text(text)
    (OUT / "runs.json").write_text(json.dumps(runs, indent=1) + "\n")
    print(text)
    print(f"{failures} page(s) miss a goal; reports in {OUT.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
