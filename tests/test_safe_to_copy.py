"""Static checks of what readers copy: committed notebooks, the helper package, the repository."""

import json
import re
import subprocess

import pytest
from toc import ROOT, toc_notebooks

NOTEBOOKS = toc_notebooks()


def tracked_files():
    listed = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return [ROOT / name for name in listed.split()]


def cells(notebook):
    return json.loads(notebook.read_text(encoding="utf-8"))["cells"]


def code_sources():
    """(where, source) for every code cell of every chapter and every helper module."""
    for notebook in NOTEBOOKS:
        for index, cell in enumerate(cells(notebook)):
            if cell["cell_type"] == "code":
                yield f"{notebook.name} cell {index}", "".join(cell["source"])
    package = ROOT / "book" / "sessionlab"
    for module in sorted(package.rglob("*.py")):
        yield str(module.relative_to(package)), module.read_text(encoding="utf-8")


def call_arguments(source: str, callee: str):
    """The text between the parentheses of each call to ``callee`` in ``source``, except on a
    line that says it shows the call ``without algorithms`` on purpose (to show it fail)."""
    for match in re.finditer(re.escape(callee) + r"\(", source):
        line = source[source.rfind("\n", 0, match.start()) + 1 : source.find("\n", match.start())]
        if "without algorithms" in line:
            continue
        depth, start = 1, match.end()
        for position in range(start, len(source)):
            depth += {"(": 1, ")": -1}.get(source[position], 0)
            if depth == 0:
                yield source[start:position]
                break


def test_no_private_key_except_labelled_demo_keys():
    for path in tracked_files():
        if (
            path.suffix in {".ipynb", ".pem", ".key", ".py", ".txt", ".md", ".json"}
            and path.is_file()
        ):
            text = path.read_text(encoding="utf-8", errors="replace")
            if "PRIVATE" + " KEY-----" in text:  # split so this file does not match itself
                assert path.parent.name == "demo_keys" and "never-reuse" in path.name, path


def test_every_jwt_decode_names_its_algorithms():
    """``jwt.decode`` without ``algorithms=`` is the root of alg-confusion bugs (RFC 8725 §3.1)."""
    for where, source in code_sources():
        for callee in ("jwt.decode", "jwt.api_jwt.decode_complete", "jwt.decode_complete"):
            for arguments in call_arguments(source, callee):
                assert "algorithms" in arguments, f"{where}: {callee}({arguments[:80]}...)"


def test_servers_bind_loopback_only():
    for where, source in code_sources():
        assert "0.0.0.0" not in source and "'::'" not in source, where


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_vulnerable_code_is_fenced_and_followed_by_its_fix(notebook):
    markdown = ["".join(c["source"]) for c in cells(notebook) if c["cell_type"] == "markdown"]
    for index, text in enumerate(markdown):
        for heading in re.findall(
            r"^#+ .*vulnerable on purpose.*$", text, flags=re.IGNORECASE | re.MULTILINE
        ):
            section = "\n".join(markdown[index : index + 2])
            assert re.search(r"```\{(warning|danger)\}", section), (
                f"{notebook.name}: {heading} has no warning"
            )
            later = "\n".join(markdown[index:])
            assert re.search(r"\bfix", later, flags=re.IGNORECASE), (
                f"{notebook.name}: {heading} has no fix after it"
            )


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_executed_and_clean(notebook):
    for index, cell in enumerate(cells(notebook)):
        if cell["cell_type"] != "code":
            continue
        tags = set(cell.get("metadata", {}).get("tags", []))
        assert cell.get("execution_count") is not None, (
            f"{notebook.name} cell {index} was never executed"
        )
        for output in cell.get("outputs", []):
            if output["output_type"] == "error":
                assert "raises-exception" in tags, (
                    f"{notebook.name} cell {index} has an unexpected error"
                )
            if output["output_type"] == "stream":
                assert output["name"] != "stderr", f"{notebook.name} cell {index} wrote to stderr"
        outputs = json.dumps(cell.get("outputs", []))
        assert not re.search(r"/(work|root|home|tmp)/[\w.-]+/", outputs), (
            f"{notebook.name} cell {index}: a local path"
        )


def test_prose_numbers_have_names_unique_across_the_book():
    """A name in ``prose[...]`` (the numbers the text quotes) names one thing in the whole book."""
    seen = {}
    for notebook in NOTEBOOKS:
        for cell in cells(notebook):
            if cell["cell_type"] != "code":
                continue
            for name in re.findall(r"""\bprose\[\s*f?["']([^"']+)["']""", "".join(cell["source"])):
                assert seen.setdefault(name, notebook.name) == notebook.name, (
                    f"prose[{name!r}] in two chapters"
                )
