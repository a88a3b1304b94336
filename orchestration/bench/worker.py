"""The in-engine steps of the benchmark, each run in a fresh process so that its time and peak
memory are its own (no warm buffer pool, no memory left over from the step before):

    python -m orchestration.bench.worker STEP ARGS_JSON RESULT_JSON

- parse_floor: DuckDB's bare read_json over each source's landing files, counting the rows
  (the faster of two scans); then, for reference, the same scan stored into a table;
- ingest: our loader (orchestration/ingestion/loader.py), source by source, into a new warehouse;
- engine_floor: benchmarks/engine_floor.sql over the raw tables;
- whole_floor: benchmarks/whole_floor.sql from the landing JSON, into a database of its own;
- run_steps: the step durations of the latest Dagster run recorded in a DAGSTER_HOME;
- overview: the overview page's reads for a range change, on a published copy (bench/overview.py).
Times are measured inside the process: interpreter start-up and imports are not the step's.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import duckdb

# A floor is the best the engine does: the faster of two scans (the first may pay for a cold cache).
PARSE_FLOOR_REPEATS = 2


def _sql_list(paths: list[Path]) -> str:
    return "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"


def parse_floor(landing: str, store_database: str) -> dict:
    """The count floor, and for reference the parse-and-store floor: the same read_json with
    every column materialized into a table of a database file (what any loader must at least do)."""
    from orchestration.bench.feeds import landing_files
    from orchestration.generate import SOURCES

    con = duckdb.connect(store_database)
    per_source = {}
    for source in SOURCES:
        files = landing_files(Path(landing), source)
        if not files:
            per_source[source] = {"seconds": 0.0, "rows": 0, "files": 0, "bytes": 0, "store_seconds": 0.0}
            continue
        scan = f"read_json({_sql_list(files)}, format = 'newline_delimited', ignore_errors = true)"
        timings = []
        for _ in range(PARSE_FLOOR_REPEATS):
            started = time.perf_counter()
            rows = con.execute(f"SELECT count(*) FROM {scan}").fetchone()[0]
            timings.append(time.perf_counter() - started)
        started = time.perf_counter()
        con.execute(f"CREATE OR REPLACE TABLE {source} AS SELECT * FROM {scan}")
        con.execute("CHECKPOINT")
        stored = time.perf_counter() - started
        per_source[source] = {"seconds": min(timings), "rows": rows, "files": len(files),
                              "bytes": sum(f.stat().st_size for f in files), "store_seconds": stored}
    con.close()
    Path(store_database).unlink(missing_ok=True)
    return {"seconds": sum(s["seconds"] for s in per_source.values()),
            "store_seconds": sum(s["store_seconds"] for s in per_source.values()), "per_source": per_source}


def ingest(landing: str, database: str) -> dict:
    from orchestration.generate import SOURCES
    from orchestration.ingestion.loader import ensure_raw_tables, load_source
    from orchestration.resources.warehouse import MEMORY_LIMIT, open_connection

    started_all = time.perf_counter()
    con = open_connection(database, memory_limit=MEMORY_LIMIT)  # as the raw assets open it
    ensure_raw_tables(con)
    per_source = {}
    for source in SOURCES:
        started = time.perf_counter()
        result = load_source(con, landing, source)
        per_source[source] = {"seconds": time.perf_counter() - started, "files": len(result.files),
                              "lines": result.lines, "rows_loaded": result.rows_loaded,
                              "records_rejected": result.records_rejected}
    started = time.perf_counter()
    con.close()  # the checkpoint: the loaded rows written to the database file
    checkpoint = time.perf_counter() - started
    return {"seconds": time.perf_counter() - started_all, "checkpoint_seconds": checkpoint,
            "per_source": per_source}


def engine_floor(database: str, script: str) -> dict:
    from orchestration.resources.warehouse import MEMORY_LIMIT, open_connection

    sql = Path(script).read_text()
    started = time.perf_counter()
    con = open_connection(database, memory_limit=MEMORY_LIMIT)  # as dbt's profile has it
    con.execute(sql)
    con.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds}


def script_text(script: str) -> str:
    """A DuckDB CLI script as one SQL text: each `.read FILE` line (relative to the repository)
    replaced by that file, as the CLI reads it."""
    from orchestration.settings import REPO_ROOT

    lines = []
    for line in Path(script).read_text().splitlines():
        if line.startswith(".read "):
            line = script_text(str(REPO_ROOT / line.removeprefix(".read ").strip()))
        lines.append(line)
    return "\n".join(lines)


def whole_floor(landing: str, database: str, script: str) -> dict:
    from orchestration.resources.warehouse import MEMORY_LIMIT, open_connection

    sql = script_text(script)
    Path(database).unlink(missing_ok=True)
    started = time.perf_counter()
    con = open_connection(database, memory_limit=MEMORY_LIMIT)
    con.execute("SET VARIABLE landing = '" + landing.replace("'", "''") + "'")
    con.execute(sql)
    con.close()
    return {"seconds": time.perf_counter() - started}


def run_steps(dagster_home: str) -> dict:
    import dagster as dg

    instance = dg.DagsterInstance.from_config(dagster_home)
    runs = instance.get_runs(limit=1)
    if not runs:
        return {"run_id": None, "steps": {}}
    run = runs[0]
    stats = instance.get_run_stats(run.run_id)
    steps = {s.step_key: round((s.end_time or 0) - (s.start_time or 0), 3)
             for s in instance.get_run_step_stats(run.run_id) if s.start_time}
    return {"run_id": run.run_id, "status": run.status.value,
            "run_seconds": round((stats.end_time or 0) - (stats.start_time or 0), 3) if stats.start_time else None,
            "steps": steps}


def overview(publish: str) -> dict:
    from orchestration.bench.overview import measure_overview

    return measure_overview(publish)


STEPS = {"parse_floor": parse_floor, "ingest": ingest, "engine_floor": engine_floor, "run_steps": run_steps,
         "overview": overview, "whole_floor": whole_floor}


def main(argv: list[str]) -> int:
    step, arguments, result_path = argv
    result = STEPS[step](**json.loads(arguments))
    Path(result_path).write_text(json.dumps(result, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
