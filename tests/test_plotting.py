"""lab.plotting: no figure draws text below 9 CSS px on a 412-pixel phone (issue 22).

A figure from new_figure raises any smaller text before it is laid out and records its smallest
size in the PNG, as a notebook's inline backend saves it (a tight crop); the size as drawn on a
phone is then read back from the PNG alone, as the site's test does.
"""

from __future__ import annotations

import io

import pytest
from PIL import Image
from sessionlab.lab.plotting import MIN_TEXT_PX, PHONE_COLUMN_PX, new_figure


def inline_png(fig) -> Image.Image:
    from IPython.core.pylabtools import print_figure

    return Image.open(io.BytesIO(print_figure(fig, "png")))


def phone_px(image: Image.Image) -> float:
    pt = float(image.info["min-font-pt"])
    dpi = image.info["dpi"][0]
    return pt * dpi / 72 * min(PHONE_COLUMN_PX, image.width) / image.width


@pytest.mark.parametrize(("width", "height"), [(7.0, 2.6), (9.0, 3.8), (4.2, 6.0), (3.0, 2.0)])
def test_small_text_is_raised_to_9px_on_a_phone(width, height):
    fig, ax = new_figure(width, height)
    ax.plot([0, 1], [0, 1], label="a line")
    ax.set_xticks([0, 0.5, 1], ["0", "half", "1"], fontsize=6)
    ax.text(0.95, 0.5, "a note that runs past the right edge", fontsize=6)
    ax.annotate("tiny", (0.5, 0.5), fontsize=5)
    ax.legend(fontsize=7)
    ax.set_title("title", fontsize=8)
    image = inline_png(fig)
    assert phone_px(image) >= MIN_TEXT_PX, (image.size, image.info)
    smallest = min(t.get_fontsize() for t in fig.findobj(lambda a: hasattr(a, "get_fontsize")))
    assert smallest >= float(image.info["min-font-pt"]) - 0.01


def test_a_wide_figure_is_scaled_down_whole():
    fig, _ = new_figure(9.0, 3.6)
    assert tuple(fig.get_size_inches()) == pytest.approx((7.0, 2.8))


def test_the_checklist_matrix_is_legible_on_a_phone():
    from sessionlab.checklist import report
    from sessionlab.checklist.adapter import FAIL, NA, PASS, Result

    items = [f"v5.0.0-7.{i}.1 an item with a long title number {i}" for i in range(24)]
    statuses = [PASS, FAIL, NA]
    apps = {f"framework {n} configuration": "server-side" if n < 20 else "jwt" for n in range(40)}
    results = {
        app: [Result(item, statuses[(i + n) % 3], "") for i, item in enumerate(items)]
        for n, app in enumerate(apps)
    }
    fig, axes = report.figure(results, apps)
    assert len(axes) == len(report.panels(list(apps), apps)) > 1
    assert all(
        len(sum((m for _, m in p), [])) <= report.PANEL_COLUMNS
        for p in report.panels(list(apps), apps)
    )
    assert phone_px(inline_png(fig)) >= MIN_TEXT_PX
