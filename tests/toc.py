"""Read _toc.yml: `python tests/toc.py notebooks` prints every notebook it lists, in order."""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


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
    if sys.argv[1:] != ["notebooks"]:
        sys.exit("usage: python tests/toc.py notebooks")
    print(" ".join(str(p.relative_to(ROOT)) for p in toc_notebooks()))
