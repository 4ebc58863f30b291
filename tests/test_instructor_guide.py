"""The instructor guide and its worksheets against the chapters they name (issue 22).

Every plan's times run without a gap from 0:00 to the session length its heading names; every
chapter, exercise, section and measured value the guide or a worksheet names exists where it
says; each plan's exercises are on its worksheet and come from chapters the plan shows; the
worksheets' questions are the chapters' "Predict, then run" exercises; the sizing table is a
measured data file; the checklist scaffold loads and runs against the book's example app; every
solution is folded in JupyterLab until opened.
"""

from __future__ import annotations

import csv
import json
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import yaml
from toc import ROOT, toc_files

BOOK = ROOT / "book"
GUIDE = BOOK / "instructor_guide.md"
TEXT = GUIDE.read_text(encoding="utf-8")
WORKSHEETS = sorted(BOOK.glob("worksheet_*.md"))
CHAPTERS = {p.stem: p for p in toc_files() if p.suffix == ".ipynb"}
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}


def markdown_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")


def code_of(notebook: Path) -> str:
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    return "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")


def exercises() -> dict[str, tuple[str, str]]:
    """Every exercise label of the book: label -> (chapter stem, title)."""
    found = {}
    for stem, path in CHAPTERS.items():
        for m in re.finditer(
            r"`{3,}\{exercise\}([^\n]*)\n(?::[\w-]+:[^\n]*\n)*?:label: ([\w-]+)", markdown_of(path)
        ):
            found[m.group(2)] = (stem, m.group(1).strip())
    return found


EXERCISES = exercises()


def sections(text: str) -> list[tuple[str, str]]:
    """(heading, body) for every ## and ### heading."""
    parts = re.split(r"(?m)^(#{2,3} .*)$", text)
    return [(parts[i].lstrip("# ").strip(), parts[i + 1]) for i in range(1, len(parts), 2)]


def plans() -> dict[str, tuple[int, str]]:
    """Every plan: its heading -> (its length in minutes, its body). The single session's
    section, and each "### Session N" under the three-session heading."""
    found = {}
    length = None
    for heading, body in sections(TEXT):
        m = re.match(r"(\w+) (\d+)-minute sessions?", heading)
        if m:
            length = int(m.group(2))
            if heading.endswith("session"):
                found[heading] = (length, body)
        elif heading.startswith("Session "):
            found[heading] = (length, body)
    return found


PLANS = plans()


def minutes(stamp: str) -> int:
    hours, mins = stamp.split(":")
    return int(hours) * 60 + int(mins)


def rows(body: str) -> list[tuple[int, int, str]]:
    found = []
    for m in re.finditer(r"(?m)^\| (\d+:\d\d)–(\d+:\d\d) \| (.*) \|$", body):
        found.append((minutes(m.group(1)), minutes(m.group(2)), m.group(3)))
    return found


def test_the_guide_has_the_plans_its_headings_announce():
    counts = {
        m.group(2): m.group(1) for m in re.finditer(r"(?m)^## (\w+) \d+-minute (sessions?)$", TEXT)
    }
    assert counts == {"session": "One", "sessions": "Three"}, counts
    sessions = [h for h in PLANS if h.startswith("Session ")]
    assert len(sessions) == NUMBER_WORDS[counts["sessions"].lower()], sessions
    assert [int(h.split()[1].rstrip(":")) for h in sessions] == [1, 2, 3]


@pytest.mark.parametrize("heading", sorted(PLANS))
def test_a_plans_times_run_from_start_to_end_without_a_gap(heading):
    length, body = PLANS[heading]
    slots = rows(body)
    assert slots, f"{heading}: no timed rows"
    assert slots[0][0] == 0, f"{heading} starts at {slots[0][0]} min"
    for (_, end, _), (start, _, _) in zip(slots, slots[1:], strict=False):
        assert start == end, f"{heading}: a gap or an overlap at {end} min"
    assert all(end > start for start, end, _ in slots), heading
    assert slots[-1][1] == length, f"{heading} ends at {slots[-1][1]} min, not {length}"
    assert sum(end - start for start, end, _ in slots) == length


def documents(text: str) -> list[str]:
    return re.findall(r"\{doc\}`([^`<]+)`", text)


@pytest.mark.parametrize("page", [GUIDE, *WORKSHEETS], ids=lambda p: p.name)
def test_every_page_and_exercise_named_exists(page):
    text = page.read_text(encoding="utf-8")
    pages = {p.stem for p in toc_files()}
    missing = [d for d in documents(text) if d not in pages]
    assert not missing, f"{page.name} names pages _toc.yml does not list: {missing}"
    for label in re.findall(r"\{ref\}`([^`]+)`", text):
        assert label in EXERCISES, f"{page.name}: {label} is no exercise of the book"
    # "{ref}`label` ({doc}`chapter`...)": the exercise is that chapter's
    for label, chapter in re.findall(r"\{ref\}`([^`]+)` \(\{doc\}`([^`]+)`", text):
        assert EXERCISES[label][0] == chapter, f"{page.name}: {label} is in {EXERCISES[label][0]}"
    for key_page, key in re.findall(r"\{measured\}`([^`:]+)::([^`]+)`", text):
        assert re.search(rf"prose\[\"{key}\"\]\s*=", code_of(CHAPTERS[key_page])), key


@pytest.mark.parametrize("heading", sorted(PLANS))
def test_a_plans_exercises_come_from_its_chapters_and_are_on_its_worksheet(heading):
    _, body = PLANS[heading]
    shown = {
        d
        for _, _, activity in rows(body)
        if activity.startswith("Live")
        for d in documents(activity)
    }
    labels = re.findall(r"\{ref\}`([^`]+)`", body)
    assert labels, f"{heading}: no exercise"
    for label in labels:
        assert EXERCISES[label][0] in shown, (
            f"{heading}: {label} is from a chapter it does not show"
        )
    sheet = re.search(r"Worksheet: \{doc\}`(worksheet_[\w]+)`", body)
    assert sheet, f"{heading} names no worksheet"
    on_sheet = re.findall(r"\{ref\}`([^`]+)`", (BOOK / f"{sheet.group(1)}.md").read_text())
    assert set(labels) <= set(on_sheet), (
        f"{heading}: {set(labels) - set(on_sheet)} not on {sheet.group(1)}"
    )


def test_one_worksheet_per_session_listed_under_teaching():
    named = {
        d
        for _, (_, body) in PLANS.items()
        for d in re.findall(r"Worksheet: \{doc\}`([^`]+)`", body)
    }
    assert named == {p.stem for p in WORKSHEETS}, named
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    teaching = next(p for p in toc["parts"] if p["caption"] == "Teaching")
    listed = [c["file"] for c in teaching["chapters"]]
    assert [f"book/{p.stem}" for p in WORKSHEETS if f"book/{p.stem}" in listed] == [
        f"book/{p.stem}" for p in WORKSHEETS
    ], listed


@pytest.mark.parametrize("sheet", WORKSHEETS, ids=lambda p: p.name)
def test_a_worksheets_questions_are_predict_then_run_exercises(sheet):
    labels = re.findall(r"\{ref\}`([^`]+)`", sheet.read_text())
    assert labels
    for label in labels:
        assert "predict" in EXERCISES[label][1].lower(), f"{label}: {EXERCISES[label][1]!r}"


def headings_of(stem: str) -> set[str]:
    return {
        re.sub(r"[`*]", "", h).strip()
        for h in re.findall(r"(?m)^#{1,4} (.*)$", markdown_of(CHAPTERS[stem]))
    }


def test_the_misconceptions_name_sections_that_exist():
    table = TEXT.split("## Common misconceptions", 1)[1]
    checked = 0
    for row in re.findall(r"(?m)^\| \".*$", table):
        m = re.search(r"Chapter (\d\d)", row)
        assert m, row
        stem = next(s for s in CHAPTERS if s.startswith(m.group(1) + "_"))
        for name in re.findall(r"\*([^*]+)\*", row.split("|")[2]):
            if name.startswith("vulnerable"):
                continue
            name = re.sub(r"`", "", name)  # a heading may go on: "... (vulnerable on purpose)"
            assert any(h.startswith(name) for h in headings_of(stem)), f"{stem}: {name!r}"
            checked += 1
    assert checked


def test_chapters_named_by_number_exist():
    numbers = set()
    for m in re.finditer(r"[Cc]hapters? (\d\d(?:(?:, | and )\d\d)*)", TEXT):
        numbers |= set(re.findall(r"\d\d", m.group(1)))
    stems = {s[:2] for s in CHAPTERS}
    assert numbers and numbers <= stems, numbers - stems


def test_the_sizing_table_is_a_measured_data_file():
    m = re.search(r"```\{csv-table\}[^\n]*\n:file: ([^\n]+)\n", TEXT)
    assert m, "the sizing table must be read from the data file, not typed"
    data = (GUIDE.parent / m.group(1)).resolve()
    assert data == ROOT / "tools" / "chapter_resources.csv"
    with data.open(newline="") as f:
        table = list(csv.DictReader(f))
    assert table, "no chapter measured"
    for row in table:
        assert row["chapter"] in CHAPTERS, row
        assert float(row["peak memory, PSS (MiB)"]) > 0 and float(row["CPU time (s)"]) > 0, row


def test_every_solution_is_a_dropdown():
    for stem, path in CHAPTERS.items():
        for m in re.finditer(
            r"`{3,}\{(solution(?:-start)?)\}[^\n]*\n((?::[\w-]+:[^\n]*\n)*)", markdown_of(path)
        ):
            assert ":class: dropdown" in m.group(2), f"{stem}: a {m.group(1)} is not folded"


def test_gated_solutions_are_folded_in_jupyterlab():
    done = subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "collapse_solutions.py"),
            "--check",
            *map(str, CHAPTERS.values()),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_checklist_scaffold_runs_against_the_example_app(tmp_path):
    """The guide's rehearsal, as written: the book's session app, the scaffold with its port
    changed, and the command line; the defaults FAIL the Secure item, so the exit status is 1."""
    scaffold = ROOT / "implementations" / "_example" / "app.toml"
    assert "--config ../implementations/_example/app.toml" in TEXT
    port = free_port()
    config = tmp_path / "app.toml"
    config.write_text(scaffold.read_text().replace("127.0.0.1:8765", f"127.0.0.1:{port}"))
    env = {"PYTHONPATH": str(BOOK), "PORT": str(port), "CONFIG": "defaults", "TIMEOUTS": "normal"}
    app = subprocess.Popen(
        [sys.executable, str(scaffold.with_name("app.py"))],
        env={**__import__("os").environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/me", timeout=2)
            except urllib.error.HTTPError:
                break  # 401: it answers
            except OSError:
                assert app.poll() is None and time.monotonic() < deadline, (
                    "the example app did not start"
                )
                time.sleep(0.2)
                continue
            break
        done = subprocess.run(
            [sys.executable, "-m", "sessionlab.checklist", "--config", str(config)],
            cwd=BOOK,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        app.terminate()
        app.wait(timeout=10)
    assert done.returncode == 1, done.stdout + done.stderr
    assert re.search(r"(?m)^FAIL\s+v[\d.]+-3\.3\.1 session cookie Secure", done.stdout), done.stdout


def test_jupyterlab_myst_draws_a_dropdown_solution_folded():
    """jupyterlab-myst (requirements-lab.txt) renders a `solution` whose classes include
    `dropdown` as a closed <details>: its bundle's solution renderer reads that class."""
    static = Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "jupyterlab-myst" / "static"
    if not static.is_dir():
        pytest.skip("jupyterlab-myst is not installed (make .venv/.lab-installed installs it)")
    bundles = [p.read_text(errors="replace") for p in static.glob("*.js")]
    renderer = re.compile(
        r"solution:\(\{node:\w+,className:\w+\}\)=>\{.{0,400}?includes\(\"dropdown\"\)"
    )
    assert any(renderer.search(text) for text in bundles), "no solution renderer reads dropdown"
    assert any('("details",{id:' in text for text in bundles), "no <details> for a dropdown"
