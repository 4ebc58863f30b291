"""`make notebooks`: execute chapters in place, as a reader's "Run All" in JupyterLab would.

Code cells run as with ``jupyter nbconvert --execute --inplace`` (nbclient, the same kernel, the
chapter's folder as working directory). Markdown cells are "run" too, in order: the ``{eval}``
expressions of each one are evaluated through the kernel at that point and their results stored
in the cell's ``user_expressions`` metadata, which is what jupyterlab-myst does when a reader runs
the cell (see tools/inline_eval.py). The kernelspec's display name is set to the one JupyterLab
writes, so opening and saving a chapter in JupyterLab leaves it unchanged.

Usage: python tools/execute_notebooks.py [--timeout SECONDS] book/NN_slug.ipynb ...
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

import inline_eval  # noqa: E402


class ProseClient(NotebookClient):
    """A notebook client that also evaluates the ``{eval}`` roles of markdown cells (and of a
    figure's caption, after the code cell that draws it)."""

    async def async_execute_cell(self, cell, cell_index, execution_count=None, store_history=True):
        if cell.cell_type == "code":
            await super().async_execute_cell(
                cell, cell_index, execution_count=execution_count, store_history=store_history
            )
        elif cell.cell_type != "markdown":
            return cell
        exprs = inline_eval.expressions(inline_eval.markdown_source(cell))
        if not exprs:
            cell.metadata.pop(inline_eval.METADATA_KEY, None)
            return cell
        msg_id = self.kc.execute(
            "", silent=True, store_history=False, user_expressions=inline_eval.request(exprs)
        )
        reply = await self.async_wait_for_reply(msg_id, cell)
        results = inline_eval.stored(exprs, reply["content"]["user_expressions"])
        cell.metadata[inline_eval.METADATA_KEY] = results
        for entry in results:
            inline_eval.shown(entry["result"])  # an expression that fails stops the run here
        return cell


def set_kernel_display_name(notebook) -> None:
    kernelspec = dict(notebook.metadata.get("kernelspec", {}))
    kernelspec.update(
        name="python3", language="python", display_name=inline_eval.KERNEL_DISPLAY_NAME
    )
    notebook.metadata["kernelspec"] = nbformat.from_dict(kernelspec)


def execute(path: Path, timeout: int) -> None:
    notebook = nbformat.read(path, as_version=4)
    client = ProseClient(
        notebook,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": path.parent}},
    )
    client.execute()
    set_kernel_display_name(notebook)
    nbformat.write(notebook, path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebooks", nargs="+", type=Path)
    parser.add_argument("--timeout", type=int, default=120, help="seconds per cell")
    args = parser.parse_args(argv)
    for path in args.notebooks:
        print(f"executing {path}", flush=True)
        execute(path.resolve(), args.timeout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
