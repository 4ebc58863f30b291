"""See a chapter as a JupyterLab reader does: open it (nothing run) and take screenshots.

Starts JupyterLab (with jupyterlab-myst, ``make lab``'s packages) on 127.0.0.1 and a free port
with a random token and a throw-away workspace folder, opens the notebook in headless Chromium,
waits for the MyST rendering, scrolls to each requested text and saves a PNG of the screen
around it; then stops JupyterLab. With ``--save`` it also saves the notebook from JupyterLab
(Ctrl+S) and reports whether the file changed, which is what a reader's save does; with
``--run-all`` it first runs every cell (Run > Run All Cells) and waits for the kernel.

Usage: python tools/lab_screenshot.py book/16_prevents_csrf.ipynb OUT.png "text to find" ...
       (one OUT.png per text: OUT-1.png, OUT-2.png, ...; the cell with the text at the top of the
       screen, or at its bottom for a text written "end:text")
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "book"))

from sessionlab.lab.browser import chromium  # noqa: E402
from sessionlab.lab.servers import free_port  # noqa: E402


def start_lab(folder: Path, port: int, token: str, workspaces: str) -> subprocess.Popen:
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--ip=127.0.0.1",
        f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}", f"--LabApp.workspaces_dir={workspaces}",
    ]  # fmt: skip
    if os.geteuid() == 0:
        command.append("--allow-root")
    log = open(Path(workspaces) / "lab.log", "wb")  # noqa: SIM115 (closed with the process)
    return subprocess.Popen(command, stdout=log, stderr=log, start_new_session=True)


def wait_ready(url: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("JupyterLab exited before it served")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (loopback)
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)  # polling a server that is starting: there is no event to wait on
    raise TimeoutError(f"JupyterLab did not answer {url} in {seconds} s")


async def run_all(page) -> None:
    """Run > Run All Cells, as a reader does, and wait until no cell is queued or running."""
    await page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    await page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    await page.wait_for_timeout(3000)  # the first cells are queued (a fast notebook may be done)
    await page.wait_for_function(
        "() => ![...document.querySelectorAll('.jp-InputPrompt')]"
        ".some(p => p.textContent.includes('[*]'))",
        timeout=600_000,
        polling=1000,
    )


async def shoot(url: str, out: Path, texts: list[str], save: bool, run: bool = False) -> None:
    async with chromium() as browser:
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(url)
        await page.locator(".jp-MarkdownCell .myst").first.wait_for(timeout=60_000)
        await page.wait_for_load_state("networkidle")
        news = page.get_by_role("button", name="No", exact=True)  # "notified about Jupyter news?"
        if await news.count():
            await news.first.click()
        if run:
            await run_all(page)
        for number, text in enumerate(texts, start=1):
            block = "start"
            if text.startswith("end:"):  # that cell at the bottom: what precedes it in view
                block, text = "end", text.removeprefix("end:")
            target = page.locator(".jp-Cell", has_text=text).first
            await target.scroll_into_view_if_needed()
            await target.evaluate(f"e => e.scrollIntoView({{block: '{block}'}})")
            await page.wait_for_timeout(1500)  # let lazy outputs paint (nothing signals it)
            name = out.with_name(f"{out.stem}-{number}{out.suffix}") if len(texts) > 1 else out
            await page.screenshot(path=str(name))
            print(f"saved {name}")
        if save:
            await page.keyboard.press("Control+s")
            await page.wait_for_timeout(3000)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("texts", nargs="+")
    parser.add_argument("--save", action="store_true")
    parser.add_argument("--run-all", action="store_true", help="Run All Cells before the shots")
    args = parser.parse_args(argv)
    notebook = args.notebook.resolve()
    before = notebook.read_bytes()
    port, token = free_port(), secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="lab-workspaces-") as workspaces:
        process = start_lab(notebook.parent, port, token, workspaces)
        try:
            wait_ready(f"http://127.0.0.1:{port}/api/status?token={token}", process)
            url = f"http://127.0.0.1:{port}/lab/tree/{notebook.name}?token={token}&reset"
            asyncio.run(shoot(url, args.out, args.texts, args.save, args.run_all))
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
    if args.save:
        changed = notebook.read_bytes() != before
        print("saved from JupyterLab:", "CHANGED" if changed else "unchanged")
        if changed:
            Path(str(args.out) + ".saved.ipynb").write_bytes(notebook.read_bytes())
            notebook.write_bytes(before)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
