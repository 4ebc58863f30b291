"""Checks of the built site (run by `make site` after `make book`)."""

from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from toc import ROOT, toc_files

pytestmark = pytest.mark.site
HTML = ROOT / "_build" / "html"
PAGES = toc_files()


def page_of(source: Path) -> Path:
    return HTML / source.relative_to(ROOT).with_suffix(".html")


def soup_of(source: Path) -> BeautifulSoup:
    return BeautifulSoup(page_of(source).read_text(encoding="utf-8"), "html.parser")


def article(soup: BeautifulSoup):
    return soup.find("article") or soup


@pytest.fixture(scope="module", autouse=True)
def built_site():
    if not (HTML / "index.html").exists():
        pytest.fail("no built site: run `make book` first (make site does)")


@pytest.mark.parametrize("source", PAGES, ids=lambda p: p.stem)
def test_every_toc_entry_has_its_page(source):
    assert page_of(source).exists()


@pytest.mark.parametrize("source", PAGES, ids=lambda p: p.stem)
def test_no_unintended_traceback(source):
    for cell in article(soup_of(source)).select("div.cell"):
        shows_error = (
            cell.select(".output.traceback, .output.error")
            or "Traceback (most recent call last)" in cell.get_text()
        )
        if shows_error:
            assert "tag_raises-exception" in cell.get("class", []), (
                f"{source.name}: {cell.get_text()[:300]}"
            )


@pytest.mark.parametrize("source", PAGES, ids=lambda p: p.stem)
def test_every_image_has_alt_text(source):
    for image in article(soup_of(source)).find_all("img"):
        alt = (image.get("alt") or "").strip()
        src = image.get("src", "")
        assert alt, f"{source.name}: image {src} has no alt text"
        assert not alt.endswith((".png", ".svg", ".jpg")), (
            f"{source.name}: alt text of {src} is a file name"
        )


@pytest.mark.parametrize("source", PAGES, ids=lambda p: p.stem)
def test_every_figure_has_a_caption(source):
    for figure in article(soup_of(source)).find_all("figure"):
        assert figure.find("figcaption"), f"{source.name}: a figure without a caption"


def test_no_sanitizer_placeholder_reached_the_site():
    """Committed outputs hold real numbers; the masks exist only inside nbval's comparison."""
    for source in PAGES:
        text = page_of(source).read_text(encoding="utf-8")
        assert "~DURATION" not in text and "~RATIO" not in text, source.name
