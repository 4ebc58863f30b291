"""tools/booksite marks table cells that hold only a verdict word (issue 22): colour and shape."""

import sys

from toc import ROOT

sys.path.insert(0, str(ROOT / "tools"))
from booksite import _mark_verdicts  # noqa: E402


def marked(tmp_path, html: str) -> str:
    page = tmp_path / "page.html"
    page.write_text(html, encoding="utf-8")
    _mark_verdicts(tmp_path)
    return page.read_text(encoding="utf-8")


def test_whole_cell_verdicts_get_a_class_whatever_made_the_table(tmp_path):
    out = marked(
        tmp_path,
        '<td>FAIL</td><td class="text-left"><p>PASS</p></td><td> refused </td>'
        "<td>ACCEPTED</td><td>N/A</td>",
    )
    assert '<td class="booksite-mark booksite-fail">FAIL</td>' in out
    assert '<td class="booksite-mark booksite-pass text-left"><p>PASS</p></td>' in out
    assert '<td class="booksite-mark booksite-stopped"> refused </td>' in out
    assert '<td class="booksite-mark booksite-through">ACCEPTED</td>' in out
    assert '<td class="booksite-mark booksite-na">N/A</td>' in out


def test_cells_with_more_than_the_word_and_headers_are_left_alone(tmp_path):
    html = "<td>N/A (issuer's duty)</td><td>PASS if configured</td><th>FAIL</th><td>passing</td>"
    assert marked(tmp_path, html) == html


def test_marking_twice_changes_nothing(tmp_path):
    once = marked(tmp_path, "<td>FAIL</td>")
    assert marked(tmp_path, once) == once
