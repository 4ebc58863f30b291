"""The container installs what `make test` needs as root, so that it runs there as a user.

Inside the image nobody is root: a Debian package the Makefile or an implementation would
install with apt-get must already be in the Containerfile's list, or the test run stops there.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def containerfile_packages() -> set[str]:
    text = (ROOT / "Containerfile").read_text()
    command = re.search(r"apt-get install (.*?)&& rm -rf /var/lib/apt/lists", text, re.S)
    assert command, "the Containerfile's apt-get install line"
    words = command.group(1).replace("\\\n", " ").split()
    return {word for word in words if not word.startswith("-")}


def needed_packages() -> dict[str, set[str]]:
    makefile = (ROOT / "Makefile").read_text()
    browsers = re.search(r"^BROWSER_PACKAGES := (.*)$", makefile, re.M)
    assert browsers, "BROWSER_PACKAGES in the Makefile"
    needs = {"make browsers": set(browsers.group(1).split()), "make loadtools": {"haproxy", "wrk"}}
    for listing in sorted(ROOT.glob("implementations/*/debian.txt")):
        names = re.sub(r"#.*", "", listing.read_text()).split()
        needs[str(listing.relative_to(ROOT))] = set(names)
    return needs


def missing(have: set[str]) -> dict[str, list[str]]:
    """Per place that installs Debian packages, those the image does not have."""
    lacking = {where: sorted(need - have) for where, need in needed_packages().items()}
    return {where: names for where, names in lacking.items() if names}


def test_every_debian_package_the_tests_need_is_in_the_image():
    assert not missing(containerfile_packages()), missing(containerfile_packages())


def test_the_check_sees_a_missing_package():
    have = containerfile_packages() - {"golang-go", "firefox-esr"}
    assert missing(have) == {
        "implementations/gorilla/debian.txt": ["golang-go"],
        "make browsers": ["firefox-esr"],
    }
