"""A dbt project that does not parse stops `campaigns run` with one line naming the problem,
not a traceback: a copy of the repository with a broken model and no manifest yet."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def copy_of_the_project(root: Path) -> Path:
    for name in ("orchestration", "models", "dbt_project"):
        shutil.copytree(REPO / name, root / name,
                        ignore=shutil.ignore_patterns("target", "logs", "__pycache__", ".user.yml"))
    shutil.copy(REPO / "workspace.yaml", root / "workspace.yaml")
    return root


@pytest.mark.parametrize(("broken_file", "text", "message"), [
    ("broken.sql", "select {{ ref('no_such_model') }} as x\n",
     "Compilation Error: Model 'model.campaigns.broken' (models/marts/broken.sql) depends on a node named "
     "'no_such_model' which was not found"),
    ("broken.yml", "version: 2\nmodels:\n  - name: fct_x\n    columns: [\n",
     "Parsing Error: Error reading campaigns: marts/broken.yml - Runtime Error: Syntax error near line 5"),
])
def test_a_dbt_parse_failure_is_one_line_and_a_nonzero_exit(tmp_path, broken_file, text, message):
    project = copy_of_the_project(tmp_path / "repo")
    (project / "dbt_project" / "models" / "marts" / broken_file).write_text(text)
    (tmp_path / "landing").mkdir()
    env = {**os.environ, "CAMPAIGNS_LANDING": str(tmp_path / "landing"), "PYTHONPATH": str(project),
           "CAMPAIGNS_WAREHOUSE": str(tmp_path / "w.duckdb"), "DAGSTER_HOME": str(tmp_path / "dagster_home")}
    # `python -m` from the copy: its orchestration/ (and so its dbt_project/) comes first on the path.
    result = subprocess.run([sys.executable, "-m", "orchestration.cli", "run"], cwd=project, env=env,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 1
    assert result.stderr.splitlines() == [f"campaigns: error: dbt parse failed: {message}"]
    assert result.stdout == ""
