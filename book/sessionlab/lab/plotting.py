"""The book's one plot style: colour-blind-safe (Okabe–Ito), readable in print."""

from __future__ import annotations

import matplotlib as mpl
import matplotlib.pyplot as plt

__all__ = ["PALETTE", "use_book_style", "new_figure"]

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
            "figure.dpi": 100,
            "savefig.dpi": 150,
            "svg.hashsalt": "sessionlab",
        }
    )


def new_figure(width: float = 7.0, height: float = 3.8, **subplots_kwargs):
    """Return ``(fig, ax)`` in the book's style and size."""
    use_book_style()
    return plt.subplots(figsize=(width, height), layout="constrained", **subplots_kwargs)
