"""BI readers query the published marts while the pipeline writes: no errors, one version per read."""

import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

from orchestration.generate import generate

CAMPAIGNS = str(Path(sys.executable).parent / "campaigns")


def test_reader_process_sees_only_whole_versions_while_the_pipeline_runs(tmp_path):
    feeds = tmp_path / "feeds"
    generate(feeds, date(2024, 6, 1), days=4, reminders_per_day=400, seed=5, progress=False)
    landing = tmp_path / "landing"
    env = {**os.environ, "CAMPAIGNS_LANDING": str(landing), "CAMPAIGNS_WAREHOUSE": str(tmp_path / "w.duckdb"),
           "DAGSTER_HOME": str(tmp_path / "dagster"), "CAMPAIGNS_PUBLISH": str(tmp_path / "publish")}
    stop = tmp_path / "stop"
    reader = subprocess.Popen([sys.executable, str(Path(__file__).parent / "bi_reader.py"),
                               str(tmp_path / "publish" / "bi.duckdb"), str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        # Land the feeds in two steps, a build after each: two versions published under the reader.
        for step, days in enumerate((("2024-06-01", "2024-06-02"), ("2024-06-03", "2024-06-04", "2024-06-05",
                                                                   "2024-06-06", "2024-06-07", "2024-06-08"))):
            for source in feeds.iterdir():
                for day in days:
                    if (source / f"dt={day}").exists():
                        shutil.copytree(source / f"dt={day}", landing / source.name / f"dt={day}")
            result = subprocess.run([CAMPAIGNS, "run"], env=env, capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr[-2000:]
    finally:
        stop.touch()
        output, _ = reader.communicate(timeout=60)

    reads = output.split("\n")[:-1]
    errors = [line for line in reads if not line.startswith("ok ")]
    assert errors == []
    versions = {line for line in reads}
    assert len(reads) > 10 and len(versions) >= 2, reads[:5]
