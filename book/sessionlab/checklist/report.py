"""What a run of the checklist says: the matrix, the evidence, the comparison with the stored
expectation, a family ranking and the colour figure.

The expectation is data, in the spirit of wptrunner's metadata files: ``expected.toml`` beside
this module holds, for every configuration, every item's expected status. ``make expectations``
rewrites it from a run (:func:`write_expected`), for review as a diff; chapter 41 asserts that its
run equals it (:func:`differences`), so a library upgrade that changes one cell fails with the cell
named.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from sessionlab.checklist.adapter import FAIL, NA, PASS, Result

EXPECTED_PATH = Path(__file__).with_name("expected.toml")
#: A cell the expectation lists as unsettled (either status seen in repeated runs).
UNSETTLED = "PASS or FAIL"
LETTERS = {PASS: "P", FAIL: "F", NA: "-", UNSETTLED: "?"}
#: Colour and a shape: the figure reads in grey print and for any colour vision.
MARKS = {
    PASS: ("#0072B2", "\u2713"),
    FAIL: ("#D55E00", "\u2717"),
    NA: ("#BBBBBB", "\u2013"),
    UNSETTLED: ("#6A6A6A", "?"),
}
FAMILY_ORDER = ("server-side", "signed-cookie", "sealed-cookie", "jwt", "opaque-token", "")

Results = Mapping[str, list[Result]]


def matrix(results: Results):
    """One row per item, one column per app: the cell is PASS, FAIL or N/A."""
    import pandas as pd

    return pd.DataFrame(
        {app: [r.status for r in rows] for app, rows in results.items()},
        index=[r.item for r in next(iter(results.values()))],
    )


def letters(results: Results) -> dict[str, str]:
    """Each configuration's column as one string: P, F and - in the items' order."""
    return {app: "".join(LETTERS[r.status] for r in rows) for app, rows in results.items()}


def evidence_lines(results: Results, *, statuses=(FAIL,)) -> list[str]:
    """``configuration | item | evidence`` for the cells of the given statuses, as plain lines
    (a measured value's width must not shift any column)."""
    return [
        f"{app} | {r.item} | {r.evidence}"
        for app, rows in results.items()
        for r in rows
        if r.status in statuses
    ]


def _toml_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a TOML basic string here


def write_expected(results: Results, path: Path = EXPECTED_PATH, *, note: str = "") -> Path:
    """Store ``results``' statuses as the expectation (``make expectations``). A cell the file
    already expects as a list of statuses (unsettled: the run may give either, as wptrunner's
    metadata allows) keeps its list while the run's status is one of them."""
    before = load_expected(path) if path.exists() else {}
    lines = [
        "# The checklist's expected matrix: configuration -> item -> status.",
        "# Regenerated from a run by `make expectations`; review the diff before committing.",
        "# A cell written as a list is unsettled: the run may give either status. Each is a",
        "# timeout or a timing measured at a resolution the library does not have (whole-second",
        "# timestamps) and flipped between repeated runs; chapter 41 shows it as PASS or FAIL.",
    ]
    lines += [f"# {note}"] if note else []
    for app, rows in results.items():
        lines += ["", f"[{_toml_string(app)}]"]
        for r in rows:
            kept = before.get(app, {}).get(r.item)
            if isinstance(kept, list) and r.status in kept:
                value = "[" + ", ".join(_toml_string(s) for s in kept) + "]"
            else:
                value = _toml_string(r.status)
            lines.append(f"{_toml_string(r.item)} = {value}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def load_expected(path: Path = EXPECTED_PATH) -> dict[str, dict[str, str | list[str]]]:
    with path.open("rb") as file:
        return tomllib.load(file)


def settle(results: Results, expected: Mapping[str, Mapping[str, object]]) -> Results:
    """The run as the chapter shows it: a cell the expectation lists as unsettled is shown as
    :data:`UNSETTLED`, whichever status this run gave, so a reader sees the same matrix every
    time and no count rests on a coin toss. :func:`differences` still checks the run's status
    is one of the listed ones."""
    settled = {}
    for app, rows in results.items():
        settled[app] = [
            replace(r, status=UNSETTLED, evidence=f"unsettled: {r.evidence}")
            if isinstance(expected.get(app, {}).get(r.item), list)
            else r
            for r in rows
        ]
    return settled


def differences(results: Results, expected: Mapping[str, Mapping[str, str]]) -> list[str]:
    """Every cell where the run and the expectation differ, one line each; empty when equal.
    A configuration or an item present on one side only is a difference too."""
    found = []
    for app in sorted(set(results) | set(expected)):
        if app not in results:
            found.append(f"{app}: expected, not run")
            continue
        if app not in expected:
            found.append(f"{app}: run, no expectation (run `make expectations`)")
            continue
        got = {r.item: r.status for r in results[app]}
        why = {r.item: r.evidence for r in results[app]}
        for item in [*got, *(i for i in expected[app] if i not in got)]:
            want, have = expected[app].get(item, "absent"), got.get(item, "absent")
            if have not in (want if isinstance(want, list) else [want]):
                found.append(f"{app} | {item}: expected {want}, got {have} ({why.get(item)})")
    return found


def ranking(results: Results, families: Mapping[str, str]) -> list[tuple]:
    """Per family: the share of applicable items its default configurations pass, and its best
    configurations' share (``None`` when it has none), best-first by defaults. ``families``
    maps configuration -> family; a configuration named ``... defaults`` counts as a default,
    any other as a best one."""
    shares: dict[str, dict[str, list[float]]] = {}
    for app, rows in results.items():
        applicable = [r for r in rows if r.status not in (NA, UNSETTLED)]
        if not applicable:
            continue
        share = sum(r.status == PASS for r in applicable) / len(applicable)
        kind = "defaults" if app.endswith("defaults") else "best"
        shares.setdefault(families[app], {"defaults": [], "best": []})[kind].append(share)

    def mean(values):
        return sum(values) / len(values) if values else None

    table = [(f, mean(s["defaults"]), mean(s["best"])) for f, s in shares.items()]
    return sorted(table, key=lambda row: (-(row[1] if row[1] is not None else -1), row[0]))


def share(value: float | None) -> str:
    """A share as a whole percentage, or a dash when the family has no such configuration."""
    return "-" if value is None else f"{value:.0%}"


def short_label(item: str, width: int = 30) -> str:
    """An item's title cut to ``width`` characters for a figure's axis, without the ASVS
    version (``v5.0.0-7.2.1 ...`` reads ``7.2.1 ...``)."""
    item = re.sub(r"^v\d+(?:\.\d+)+-", "", item)
    return item if len(item) <= width else item[: width - 1] + "\u2026"


#: The most configurations one panel of the figure shows side by side: each column is about one
#: line of the figure's smallest text wide, so more would not fit a phone's column at 9 px.
PANEL_COLUMNS = 13


def panels(apps: list[str], families: Mapping[str, str], size: int = PANEL_COLUMNS):
    """The configurations in panels of at most ``size`` columns, in FAMILY_ORDER, families kept
    whole where they fit: a list of panels, each a list of ``(family, [apps])``."""
    groups = []
    for family in FAMILY_ORDER:
        members = [a for a in apps if families.get(a, "") == family]
        groups += [(family, members[i : i + size]) for i in range(0, len(members), size)]
    found, current = [], []
    for family, members in groups:
        if current and sum(len(m) for _, m in current) + len(members) > size:
            found.append(current)
            current = []
        current.append((family, members))
    return found + ([current] if current else [])


def figure(results: Results, families: Mapping[str, str], *, width: float = 4.2):
    """Configurations (columns, grouped by family) by items (rows): each cell coloured and marked
    with a tick, a cross or a dash, so it reads without colour. Narrow, and stacked in panels of
    at most PANEL_COLUMNS configurations, so that on a 412-pixel phone every label is drawn at
    least 9 px tall (lab.plotting's text floor). Returns ``(fig, axes)``, one axes per panel."""
    from matplotlib.patches import Rectangle

    from sessionlab.lab.plotting import new_figure, text_floor_pt

    apps = sorted(results, key=lambda a: (FAMILY_ORDER.index(families.get(a, "")), 0))
    items = [r.item for r in results[apps[0]]]
    stacked = panels(apps, families)
    size = text_floor_pt(width)  # the figure's one text size, in points
    line = size * 1.5 / 72  # one row, in inches
    longest = max(len(a) for a in apps) + max(len(f or "other") for f in FAMILY_ORDER)
    names = longest * size * 0.55 / 72 + 2 * line  # the names below, the families above
    fig, axes = new_figure(
        width, (len(items) * line + names) * len(stacked), nrows=len(stacked), squeeze=False
    )
    axes = list(axes[:, 0])
    for ax, panel in zip(axes, stacked, strict=True):
        columns = [a for _, members in panel for a in members]
        for x, app in enumerate(columns):
            for y, result in enumerate(results[app]):
                colour, mark = MARKS[result.status]
                ax.add_patch(Rectangle((x, y), 1, 1, facecolor=colour, edgecolor="white"))
                text_colour = "black" if result.status == NA else "white"
                ax.text(
                    x + 0.5, y + 0.55, mark, ha="center", va="center", size=size, color=text_colour
                )
        ax.set_xlim(0, PANEL_COLUMNS)  # the same cell size in every panel, left-aligned
        ax.set_ylim(len(items), 0)
        ax.set_xticks([x + 0.5 for x in range(len(columns))], columns, rotation=90, size=size)
        ax.set_yticks(
            [y + 0.5 for y in range(len(items))], [short_label(i) for i in items], size=size
        )
        ax.tick_params(length=0)
        ax.grid(False)
        for side in ax.spines.values():
            side.set_visible(False)
        start = 0
        for family, members in panel:
            ax.annotate(
                family or "other",
                xy=(start + 0.5, 0),
                xytext=(0, 3),
                textcoords="offset points",
                rotation=90,
                ha="center",
                va="bottom",
                size=size,
                annotation_clip=False,
            )
            if start:
                ax.axvline(start, color="black", linewidth=1.2)
            start += len(members)
    return fig, axes
