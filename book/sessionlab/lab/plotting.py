"""The book's one plot style: colour-blind-safe (Okabe–Ito), readable in print and on a phone.

Every figure comes from :func:`new_figure`, whose :class:`BookFigure` raises any text smaller than
its floor before it is laid out and drawn, so a chapter may pass ``fontsize=8`` and still print
legibly: the floor is the size that is drawn at least :data:`MIN_TEXT_PX` CSS pixels tall when the
figure is scaled down to a 412-pixel phone's text column (:data:`PHONE_COLUMN_PX`). A PNG it writes
records its smallest text size in a text chunk, ``min-font-pt``, which the site's tests read.
"""

from __future__ import annotations

import functools
import textwrap

import matplotlib as mpl
import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import Bbox, IdentityTransform, TransformedBbox

__all__ = [
    "PALETTE",
    "BookFigure",
    "MAX_WIDTH_IN",
    "MIN_TEXT_PX",
    "PHONE_COLUMN_PX",
    "new_figure",
    "text_floor_pt",
    "use_book_style",
]

#: Okabe & Ito (2008), distinguishable under the common colour-vision deficiencies.
PALETTE = {
    "blue": "#0072B2",
    "orange": "#E69F00",
    "green": "#009E73",
    "vermillion": "#D55E00",
    "sky": "#56B4E9",
    "purple": "#CC79A7",
    "yellow": "#F0E442",
    "black": "#000000",
}

#: Fixed meanings, so the same thing has the same colour in every chapter.
SESSION_COLOUR = PALETTE["blue"]
JWT_COLOUR = PALETTE["vermillion"]

#: The text column of the site on a 412-pixel phone, in CSS pixels (measured by the site's tests).
PHONE_COLUMN_PX = 363
#: The smallest text a figure may draw, in CSS pixels, at the size the page draws it.
MIN_TEXT_PX = 9
#: A little room for rounding: the PNG's width is whole pixels.
CROP_MARGIN = 1.03
#: How far past the figure's width text may reach and still have its floor raised to match; a
#: figure whose text reaches further draws it below MIN_TEXT_PX, and the site's test says so.
MAX_REACH = 1.15
#: The widest figure: a wider one is scaled down whole (its text keeps its share of the width).
MAX_WIDTH_IN = 7.0
#: Pixels per inch of a figure shown in a notebook (figure.dpi below): one CSS pixel per pixel.
SCREEN_DPI = 100


def text_floor_pt(width_in: float, dpi: float = SCREEN_DPI) -> float:
    """The smallest text size (points) that is drawn MIN_TEXT_PX tall on a phone, for a figure
    ``width_in`` inches wide saved at ``dpi``: a page draws it at its natural width, or scaled
    down to the phone's column when wider."""
    natural_px = width_in * dpi
    scale = min(1.0, PHONE_COLUMN_PX / natural_px)
    return MIN_TEXT_PX * 72 / (dpi * scale) * CROP_MARGIN


def use_book_style() -> None:
    """Set matplotlib's defaults for every figure in the book."""
    mpl.rcParams.update(
        {
            "axes.prop_cycle": mpl.cycler(color=list(PALETTE.values())),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "font.size": 10,
            "axes.titlesize": 11,
            "legend.frameon": False,
            "figure.dpi": SCREEN_DPI,
            "savefig.dpi": 150,
            "svg.hashsalt": "sessionlab",
        }
    )


def _texts(figure: Figure) -> list[Text]:
    return [
        t
        for t in figure.findobj(Text)
        if t is not figure and t.get_visible() and t.get_text().strip()
    ]


class BookFigure(Figure):
    """A figure whose text is never smaller than :func:`text_floor_pt` of its width: before each
    layout and draw, every smaller text (tick labels, legends, annotations, titles) is raised to
    the floor, so constrained layout makes room for the size that is drawn."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Fixed at the size asked for: a tight crop resizes the figure for its last draw, and
        # text raised then would run past the crop.
        self._width = self.get_figwidth()
        self._text_floor = text_floor_pt(self._width)

    def text_floor(self) -> float:
        return self._text_floor

    def raise_small_text(self) -> None:
        floor = self.text_floor()
        for ax in self.axes:
            for axis in (ax.xaxis, ax.yaxis):
                for which, labels in (
                    ("major", axis.get_majorticklabels()),
                    ("minor", axis.get_minorticklabels()),
                ):
                    if labels and min(t.get_fontsize() for t in labels) < floor:
                        axis.set_tick_params(which=which, labelsize=floor)
        for text in self.findobj(Text):
            if text.get_fontsize() < floor:
                text.set_fontsize(floor)

    def fit_legends(self, renderer) -> None:
        """A legend of several columns wider than the figure (its text raised) is laid out again
        with fewer columns, down to one, so that it does not widen the figure's crop; a legend
        placed under the axes that covers the x-axis label (raised, or wrapped) moves down."""
        for ax in self.axes:
            legend = ax.get_legend()
            if legend is None:
                continue
            ncols, anchor = legend._ncols, legend.get_bbox_to_anchor()
            while ncols > 1 and legend.get_window_extent(renderer).width > self._width * self.dpi:
                ncols -= 1
                legend = self._legend_again(ax, legend, ncols, anchor)
            box, label = legend.get_window_extent(renderer), ax.xaxis.label
            under = label.get_window_extent(renderer) if label.get_text() else None
            if under is not None and box.overlaps(under) and box.y1 < ax.bbox.y0:
                shift = box.y1 - under.y0 + 4  # pixels
                lower = Bbox.from_bounds(anchor.x0, anchor.y0 - shift, anchor.width, anchor.height)
                self._legend_again(ax, legend, ncols, ax.transAxes.inverted().transform_bbox(lower))

    @staticmethod
    def _legend_again(ax, legend, ncols, anchor):
        """The same legend, drawn again with ``ncols`` columns at ``anchor``: a display box
        (kept in display units) or a box in axes fractions."""
        in_axes = not isinstance(anchor, TransformedBbox)
        return ax.legend(
            handles=legend.legend_handles,
            labels=[t.get_text() for t in legend.texts],
            loc=legend._loc,
            bbox_to_anchor=anchor,
            bbox_transform=ax.transAxes if in_axes else IdentityTransform(),
            ncols=ncols,
            fontsize=max(t.get_fontsize() for t in legend.texts),
        )

    def wrap_labels(self, renderer) -> None:
        """An axis label or title longer than the figure (its text raised) is broken into lines
        at spaces, so that it does not widen the figure's crop."""
        width, height = self._width * self.dpi, self.get_figheight() * self.dpi
        for ax in self.axes:
            labels = [(ax.xaxis.label, 0.85 * width), (ax.title, width), (ax.yaxis.label, height)]
            for text, room in labels:
                content = text.get_text()
                if not content or "\n" in content:
                    continue
                extent = text.get_window_extent(renderer)
                length = max(extent.width, extent.height)
                if length > room * 0.95:
                    columns = max(10, int(len(content) * room * 0.9 / length))
                    text.set_text(textwrap.fill(content, columns))

    def smallest_text_pt(self) -> float:
        """The smallest size among the texts this figure draws, in points."""
        self.raise_small_text()
        return min((t.get_fontsize() for t in _texts(self)), default=self.text_floor())

    def draw(self, renderer):
        self.raise_small_text()
        engine = self.get_layout_engine()
        cropping = abs(self.get_figwidth() - self._width) > 1e-6  # a tight crop's last draw
        if isinstance(engine, ConstrainedLayoutEngine) and not cropping:
            # Text that reaches past the figure (a label placed near an edge) widens a tight
            # crop, and a wider PNG is drawn smaller on a phone: size the floor to that width.
            # Only here, where the layout still runs: the crop's own last draw keeps the floor.
            pad = 2 * mpl.rcParams["savefig.pad_inches"]
            for _ in range(3):
                self.fit_legends(renderer)
                self.wrap_labels(renderer)
                engine.execute(self)
                reach = self.get_tightbbox(renderer).width + pad
                reach = min(max(reach, self._width), self._width * MAX_REACH)
                floor = text_floor_pt(reach)
                if floor <= self._text_floor + 0.01:
                    break
                self._text_floor = floor
                self.raise_small_text()
        return super().draw(renderer)

    def set_canvas(self, canvas):
        super().set_canvas(canvas)
        original = getattr(canvas, "print_png", None)
        if original is None or getattr(original, "_records_min_font", False):
            return

        # wraps: matplotlib passes a print method of its own only the arguments its signature takes
        @functools.wraps(original)
        def print_png(*args, metadata=None, **kwargs):
            metadata = {**(metadata or {}), "min-font-pt": f"{self.smallest_text_pt():.2f}"}
            return original(*args, metadata=metadata, **kwargs)

        print_png._records_min_font = True
        canvas.print_png = print_png


def new_figure(width: float = MAX_WIDTH_IN, height: float = 3.8, **subplots_kwargs):
    """Return ``(fig, ax)`` in the book's style and size. A figure wider than MAX_WIDTH_IN is
    scaled down whole, its height with it."""
    use_book_style()
    if width > MAX_WIDTH_IN:
        width, height = MAX_WIDTH_IN, height * MAX_WIDTH_IN / width
    return plt.subplots(
        figsize=(width, height), layout="constrained", FigureClass=BookFigure, **subplots_kwargs
    )
