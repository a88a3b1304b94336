"""`campaigns bench --scale S|M|L`: what the pipeline costs next to what DuckDB itself needs.

    run_bench(scale, work_dir=None, skip_peer=None, skip_spark=None) -> dict

On one set of landing files per scale (generated once, cached), one run measures, one step at a
time and each in a process of its own:
1. the parse floor: DuckDB's bare read_json over each source's files (row count);
2. ingestion: our loader, source by source, into a new warehouse;
3. transforms: `dbt build --full-refresh` on that warehouse;
4. the engine floor: benchmarks/engine_floor.sql, the same rules by hand in DuckDB SQL;
5. the whole floor: benchmarks/whole_floor.sql, DuckDB alone from the landing JSON to the same
   answers; the pandas and Polars peers: benchmarks/pandas_peer.py and polars_peer.py, the
   same rules as a pandas or a Polars user writes them;
6. `campaigns run` through Dagster on the history (wall time, peak RSS of the process tree),
   then again after one more day has landed (the incremental day);
7. the time to import the Dagster definitions in a fresh Python;
8. the overview page answering a range change (7 and 30 days) on the marts step 6 published;
9. the two runs of step 6 again with CAMPAIGNS_ENGINE=spark, at XS and S (spark_engine.py).
The floors and the peers must find the same conversions and daily metrics as the marts, and the
marts after the incremental run the same as the floor over all the data, the spark engine's
published marts the same as the DuckDB engine's: a failed check is
printed as a diff and raises BenchMismatch (after the results are written), since timings of
programs that disagree mean nothing.

Modules: harness (the environment, figures, failures and checks), steps (each measured step),
run (run_bench: the steps in order), and the workers, feeds, comparisons and report beside them.
Results: `benchmarks/results/<scale>.json` and a printed table. With `work_dir`, everything
(feeds cache, scratch warehouses, results) stays under it instead: the smoke test's mode.
"""

from orchestration.bench.harness import BenchMismatch, BenchStepFailed
from orchestration.bench.run import run_bench
from orchestration.bench.scales import SCALES

__all__ = ["SCALES", "BenchMismatch", "BenchStepFailed", "run_bench"]
