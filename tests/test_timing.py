"""The timing harness: statistics and the "~" formatting the sanitizer relies on."""

import re
from pathlib import Path

import pytest
from sessionlab.lab.timing import Timing, fmt_duration, fmt_ratio, measure, measure_interleaved

SANITIZE = Path(__file__).with_name("nbval_sanitize.cfg").read_text()


def test_measure_takes_repeat_samples_of_per_call_time():
    calls = []
    timing = measure(lambda: calls.append(1), repeat=5, min_sample_time=0.0005, warmup=2)
    assert len(timing.samples) == 5
    assert len(calls) == 2 + timing.number * 5 + sum(
        2**k for k in range(timing.number.bit_length())
    )
    assert timing.q1 <= timing.median <= timing.q3
    assert all(s > 0 for s in timing.samples)


def test_measure_refuses_too_few_repeats():
    with pytest.raises(ValueError):
        measure(lambda: None, repeat=2)


def test_statistics_on_known_samples():
    timing = Timing("x", (1.0, 2.0, 3.0, 4.0, 100.0), 1)
    assert timing.median == 3.0
    assert (timing.q1, timing.q3, timing.iqr) == (2.0, 4.0, 2.0)


@pytest.mark.parametrize(
    "seconds, text",
    [(1.5, "~1.5 s"), (0.0123, "~12.3 ms"), (4.56e-5, "~45.6 µs"), (7e-9, "~7 ns"), (0.0, "~0 ns")],
)
def test_fmt_duration_units(seconds, text):
    assert fmt_duration(seconds) == text


@pytest.mark.parametrize("ratio, text", [(3.14159, "~3.1×"), (0.5, "~0.5×"), (163.4, "~163×")])
def test_fmt_ratio(ratio, text):
    assert fmt_ratio(ratio) == text


def test_timing_text_shows_only_masked_numbers_and_the_run_count():
    timing = Timing("lookup", (1e-5, 2e-5, 3e-5), number=4096)
    assert str(timing) == "lookup: median ~20 µs (IQR ~15 µs–~25 µs, 3 runs)"


def test_fmt_duration_rejects_negative():
    with pytest.raises(ValueError):
        fmt_duration(-1)


def test_sanitizer_masks_exactly_the_marked_numbers():
    """Every formatted measurement is masked; plain numbers in prose are not."""
    rules = re.findall(r"regex: (.*)\nreplace: (.*)", SANITIZE)

    def sanitize(text):
        for pattern, replacement in rules:
            text = re.sub(pattern, replacement, text)
        return text

    measured = f"{fmt_duration(3.2e-5)} vs {fmt_duration(1.25)}, {fmt_ratio(3.14159)} slower, {fmt_duration(2e-10)}"
    assert sanitize(measured) == "~DURATION vs ~DURATION, ~RATIO slower, ~DURATION"
    unmarked = "lifetime 60 s, 4096 bytes, 3× larger, at 0x10"
    assert sanitize(unmarked) == unmarked


def test_fmt_amount_marks_rates_and_counts_for_the_sanitizer():
    from sessionlab.lab.timing import fmt_amount

    assert fmt_amount(1569.7, "requests/s") == "~1,570 requests/s"
    assert fmt_amount(17, "requests") == "~17 requests"
    assert fmt_amount(0.1512, "cores") == "~0.151 cores"
    assert fmt_amount(73_100_000, "users") == "~73,100,000 users"


def test_measure_interleaved_takes_one_sample_of_each_per_round():
    calls = []
    timings = measure_interleaved(
        {"a": lambda: calls.append("a"), "b": lambda: calls.append("b")},
        repeat=3,
        min_sample_time=0.0,
        warmup=0,
    )
    assert set(timings) == {"a", "b"} and all(len(t.samples) == 3 for t in timings.values())
    assert calls[-6:] == ["a", "b"] * 3, "the samples alternate"
