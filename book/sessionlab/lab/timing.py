"""A small timing harness: warm-up, repeated samples, median and spread.

Every measured duration in the book goes through :func:`measure` (or
:func:`measure_interleaved`, which times several in turns) and is shown with
:func:`fmt_duration` or :func:`fmt_ratio`. Those formatters prefix the number with ``~``,
which marks it as machine-dependent: ``tests/nbval_sanitize.cfg`` masks exactly that form,
so nbval compares everything else in a notebook's output byte for byte.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Timing", "measure", "measure_interleaved", "fmt_duration", "fmt_ratio", "fmt_amount"]

_UNITS = ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs"), (1e-9, "ns"))


@dataclass(frozen=True)
class Timing:
    """Per-call durations in seconds, one per repeat, with the statistics the book reports."""

    label: str
    samples: tuple[float, ...]
    number: int

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def q1(self) -> float:
        return _quantile(self.samples, 0.25)

    @property
    def q3(self) -> float:
        return _quantile(self.samples, 0.75)

    @property
    def iqr(self) -> float:
        """Interquartile range: the spread the book's error bars show."""
        return self.q3 - self.q1

    def __str__(self) -> str:
        return (
            f"{self.label}: median {fmt_duration(self.median)} "
            f"(IQR {fmt_duration(self.q1)}–{fmt_duration(self.q3)}, "
            f"{len(self.samples)} runs)"
        )


def _quantile(values, q: float) -> float:
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def measure(
    fn: Callable[[], object],
    *,
    label: str = "",
    repeat: int = 15,
    min_sample_time: float = 0.002,
    warmup: int = 3,
) -> Timing:
    """Time ``fn()``: warm up, choose a call count per sample, then take ``repeat`` samples.

    Each sample runs ``fn`` enough times to last at least ``min_sample_time`` seconds, so the
    timer's resolution does not dominate; the result holds the per-call time of every sample.
    """
    label = label or getattr(fn, "__name__", "call")
    return measure_interleaved(
        {label: fn}, repeat=repeat, min_sample_time=min_sample_time, warmup=warmup
    )[label]


def measure_interleaved(
    fns: dict[str, Callable[[], object]],
    *,
    repeat: int = 15,
    min_sample_time: float = 0.002,
    warmup: int = 3,
) -> dict[str, Timing]:
    """Time several functions in turns, as :func:`measure` times one: ``{label: Timing}``.

    Each of the ``repeat`` rounds takes one sample of every function, so a load that comes and
    goes on a busy machine falls on all of them alike and their medians stay comparable.
    """
    if repeat < 3:
        raise ValueError("repeat must be at least 3 to report a median and a spread")
    numbers = {label: _calls_per_sample(fn, min_sample_time, warmup) for label, fn in fns.items()}
    samples: dict[str, list[float]] = {label: [] for label in fns}
    for _ in range(repeat):
        for label, fn in fns.items():
            number = numbers[label]
            start = time.perf_counter()
            for _ in range(number):
                fn()
            samples[label].append((time.perf_counter() - start) / number)
    return {
        label: Timing(label=label, samples=tuple(samples[label]), number=numbers[label])
        for label in fns
    }


def _calls_per_sample(fn: Callable[[], object], min_sample_time: float, warmup: int) -> int:
    """Warm ``fn`` up, then double the call count until a sample lasts ``min_sample_time``."""
    for _ in range(warmup):
        fn()
    number = 1
    while True:
        start = time.perf_counter()
        for _ in range(number):
            fn()
        if time.perf_counter() - start >= min_sample_time or number >= 1_000_000:
            return number
        number *= 2


def fmt_duration(seconds: float, digits: int = 3) -> str:
    """Format a measured duration as ``~12.3 µs``; the ``~`` marks it machine-dependent."""
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    for scale, unit in _UNITS:
        if seconds >= scale or unit == "ns":
            return f"~{seconds / scale:.{digits}g} {unit}"
    raise AssertionError("unreachable")


def fmt_ratio(ratio: float) -> str:
    """Format a ratio of two measurements as ``~3.2×`` or ``~160×``; the ``~`` marks it machine-dependent."""
    return f"~{ratio:.2g}×" if ratio < 10 else f"~{ratio:.0f}×"


def fmt_amount(value: float, unit: str) -> str:
    """Format a measured rate or count as ``~1,570 requests/s`` (3 significant digits); ``~`` marks it."""
    if value < 0 or not unit:
        raise ValueError("an amount is non-negative and has a unit")
    if float(value).is_integer():
        return (
            f"~{int(value):,} {unit}"
            if value < 1000
            else f"~{round(value, 3 - len(str(int(value)))):,.0f} {unit}"
        )
    digits = 3 - len(str(int(value))) if value >= 1 else 3
    return f"~{round(value, digits):,.{max(digits, 0)}f} {unit}"
