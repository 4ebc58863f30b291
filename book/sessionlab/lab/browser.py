"""Headless Chromium for the browser chapters, driven by Playwright's async API.

Notebooks use ``async with chromium() as browser:`` (IPython runs top-level ``await``). The
executable is found without downloading anything: ``SESSIONLAB_CHROMIUM`` first, then the
Debian package's ``/usr/bin/chromium``, then a browser Playwright installed for the reader.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

__all__ = ["CHROMIUM_ARGS", "chromium_executable", "chromium"]

#: Flags for a quiet, offline, sandbox-free headless run (root in a container has no sandbox).
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_executable() -> str | None:
    """Path of a Chromium to drive, or ``None`` when Playwright should use its own browser."""
    override = os.environ.get("SESSIONLAB_CHROMIUM")
    if override:
        if not Path(override).exists():
            raise FileNotFoundError(f"SESSIONLAB_CHROMIUM={override} does not exist")
        return override
    for name in ("chromium", "chromium-browser", *MACOS_BROWSERS):
        found = shutil.which(name)
        if found:
            return found
    return None


# Where Homebrew's Chromium cask and Google Chrome put their executables on macOS (not on PATH).
MACOS_BROWSERS = (
    "/Applications/Chromium.app/Contents/MacOS/Chromium",
    "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
)


@contextlib.asynccontextmanager
async def chromium(*, extra_args: tuple[str, ...] = (), **launch_options) -> AsyncIterator:
    """Start Playwright and a headless Chromium; close both when the block ends.

    ``extra_args`` are added to :data:`CHROMIUM_ARGS`, e.g. an ``--enable-features=`` switch.
    """
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_executable(),
            headless=True,
            args=[*CHROMIUM_ARGS, *extra_args],
            **launch_options,
        )
        try:
            yield browser
        finally:
            await browser.close()
