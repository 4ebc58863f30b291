"""The publishing workflow passes zizmor (pinned in requirements.txt), offline."""

import shutil
import subprocess
import sys
from pathlib import Path

from toc import ROOT

WORKFLOWS = ROOT / ".github" / "workflows"


def test_workflows_pass_zizmor():
    zizmor = shutil.which("zizmor", path=str(Path(sys.executable).parent)) or "zizmor"
    assert list(WORKFLOWS.glob("*.yml")), "no workflow to lint"
    run = subprocess.run(
        [zizmor, "--offline", "--no-progress", str(WORKFLOWS)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_workflow_runs_the_readme_test_command_and_publishes_the_site_and_pdf():
    workflow = (WORKFLOWS / "publish.yml").read_text()
    readme = (ROOT / "README.md").read_text()
    assert "make test   #" in readme and "run: make test" in workflow
    for step in ("run: make pdf", "actions/upload-pages-artifact@", "actions/deploy-pages@"):
        assert step in workflow, step
    assert "path: _build/html" in workflow and "branches: [main]" in workflow
