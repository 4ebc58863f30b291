"""How much memory and CPU one chapter takes to run: for sizing a shared server for a class.

Runs a chapter as `make notebooks` does (tools/execute_notebooks.py: the kernel, every server and
browser the chapter starts), on a temporary copy next to it (book/.resources-NN_slug.ipynb, so
the committed notebook is left alone; do not build the site meanwhile, which would read it), and samples the whole process tree every 0.25 s. Processes that a chapter starts and that
outlive their parent are kept in the tree: this process is their subreaper (prctl, Linux).

* peak memory: the largest sum over the tree of each process's proportional set size (PSS, from
  /proc/PID/smaps_rollup: a page shared by N processes counts 1/N to each, so Chromium's many
  processes are not counted many times over); the largest sum of RSS too, for comparison;
* CPU time: user + system seconds of every process of the tree (getrusage of the children, once
  all are reaped; or, if larger, the sum of each process's own time as last sampled), and the
  wall-clock time (on a busy machine, longer than on an idle one);
* the peak PSS times CLASS_SIZE: the memory of a whole class running the chapter at once.

Each run replaces its chapter's row in tools/chapter_resources.csv (read by the instructor guide
with a csv-table, so its numbers are measured, never typed), with the machine it ran on.

Usage: .venv/bin/python tools/chapter_resources.py book/16_prevents_csrf.ipynb [...]
"""

from __future__ import annotations

import contextlib
import csv
import ctypes
import os
import platform
import resource
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tools" / "chapter_resources.csv"
#: The class the guide sizes a shared server for: the last column is this many runs at once.
CLASS_SIZE = 25
FIELDS = [
    "chapter",
    "peak memory, PSS (MiB)",
    "peak memory, RSS summed (MiB)",
    "CPU time (s)",
    "wall time (s)",
    f"{CLASS_SIZE} at once, PSS (GiB)",
    "measured on",
]
PR_SET_CHILD_SUBREAPER = 36
INTERVAL = 0.25


def become_subreaper() -> None:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def parents() -> dict[int, int]:
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(f"/proc/{entry.name}/stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def descendants(root: int) -> list[int]:
    tree = parents()
    members, frontier = [], [root]
    while frontier:
        pid = frontier.pop()
        members.append(pid)
        frontier.extend(child for child, parent in tree.items() if parent == pid)
    return members


TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """user + system time of one process so far (its own, not its children's); None once gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / TICKS


def memory_kib(pid: int) -> tuple[int, int]:
    """(PSS, RSS) of one process in KiB; (0, 0) once it has gone."""
    pss = rss = 0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1])
            elif line.startswith("Rss:"):
                rss = int(line.split()[1])
    except OSError:
        pass
    return pss, rss


def reap() -> None:
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def measure(notebook: Path) -> dict[str, str]:
    copy = notebook.with_name(f".resources-{notebook.name}")
    shutil.copyfile(notebook, copy)
    command = [sys.executable, str(ROOT / "tools" / "execute_notebooks.py"), "--timeout", "900"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)  # it counts every chapter run so far
    started = time.monotonic()
    try:
        child = subprocess.Popen([*command, str(copy)], cwd=ROOT)
        me = os.getpid()
        peak_pss = peak_rss = 0
        seen: dict[int, float] = {}  # pid -> its CPU seconds when last sampled
        while child.poll() is None:
            tree = [pid for pid in descendants(me) if pid != me]
            for pid in tree:
                if (used := cpu_seconds(pid)) is not None:
                    seen[pid] = used
            sizes = [memory_kib(pid) for pid in tree]
            peak_pss = max(peak_pss, sum(s[0] for s in sizes))
            peak_rss = max(peak_rss, sum(s[1] for s in sizes))
            reap()
            time.sleep(INTERVAL)
        wall = time.monotonic() - started
        # what the chapter still runs is reaped (its CPU time counted) or, after a grace
        # period, named and stopped: a chapter should stop every server it started
        deadline = time.monotonic() + 30
        while len(left := [pid for pid in descendants(me) if pid != me]) > 0:
            if time.monotonic() > deadline:
                print(f"{notebook.name} left processes running: {left}; stopping them")
                for pid in left:
                    with contextlib.suppress(ProcessLookupError):
                        os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 30
            reap()
            time.sleep(INTERVAL)
        reap()
    finally:
        copy.unlink(missing_ok=True)
    if child.returncode:
        raise SystemExit(f"{notebook}: execution failed ({child.returncode}); nothing recorded")
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - before.ru_utime - before.ru_stime
    # a process reaped by none of this tree's processes is missing from getrusage; the samples
    # (each process's own time when last seen) are a lower bound that catches it
    cpu = max(cpu, sum(seen.values()))
    values = [
        notebook.stem,
        f"{peak_pss / 1024:.0f}",
        f"{peak_rss / 1024:.0f}",
        f"{cpu:.0f}",
        f"{wall:.0f}",
        f"{CLASS_SIZE * peak_pss / 1024 / 1024:.1f}",
        f"{os.cpu_count()} cores ({platform.machine()}), {time.strftime('%Y-%m-%d')}",
    ]
    return dict(zip(FIELDS, values, strict=True))


def main(paths: list[str]) -> None:
    if not paths:
        raise SystemExit(__doc__)
    become_subreaper()
    rows = {}
    if DATA.exists():
        with DATA.open(newline="") as f:
            rows = {row["chapter"]: row for row in csv.DictReader(f)}
    for path in paths:
        row = measure(Path(path).resolve())
        print(", ".join(f"{k}={v}" for k, v in row.items()), flush=True)
        rows[row["chapter"]] = row
        with DATA.open("w", newline="") as f:
            writer = csv.DictWriter(f, FIELDS, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows[name] for name in sorted(rows))


if __name__ == "__main__":
    main(sys.argv[1:])
