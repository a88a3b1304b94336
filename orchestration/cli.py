"""`campaigns`: generate sample feeds, run the pipeline through Dagster, send a report, open the UI.

Every error a user can cause ends in one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from orchestration.errors import DefinitionsError
from orchestration.days import DayRange, DayRangeError, parse_day
from orchestration.settings import REPO_ROOT, SettingsError, load_settings


class UsageError(Exception):
    """A one-line message for the user; exit code 2."""


class CommandFailed(Exception):
    """A one-line message for the user; exit code 1."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, not argparse's usage block
        raise UsageError(f"{message} (see `{self.prog} --help`)")


def _date(name: str):
    def parse(value: str) -> date:
        try:
            return parse_day(value, name)
        except DayRangeError as error:
            raise argparse.ArgumentTypeError(str(error)) from None
    return parse


def _positive(name: str, minimum: int = 1):
    def parse(value: str) -> int:
        try:
            number = int(value)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a whole number, got {value!r}") from None
        if number < minimum:
            raise argparse.ArgumentTypeError(f"{name} must be at least {minimum}, got {number}")
        return number
    return parse


def _port(value: str) -> int:
    port = _positive("--port")(value)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"--port must be at most 65535, got {port}")
    return port


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="campaigns", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    generate = commands.add_parser("generate", help="write realistic sample landing files")
    generate.add_argument("--out", default=None, help="landing root to write (default $CAMPAIGNS_LANDING)")
    generate.add_argument("--start", type=_date("--start"), default=date(2024, 6, 1), help="first day (YYYY-MM-DD)")
    generate.add_argument("--days", type=_positive("--days"), default=14)
    generate.add_argument("--reminders-per-day", type=_positive("--reminders-per-day"), default=500)
    generate.add_argument("--seed", type=_positive("--seed", 0), default=7)
    generate.add_argument("--no-progress", action="store_true", help="no progress bar")

    run = commands.add_parser("run", help="load new landing files and build every model, through Dagster")
    run.add_argument("--start", type=_date("--start"), help="first local day to load and build")
    run.add_argument("--end", type=_date("--end"), help="last local day to load and build (inclusive)")
    run.add_argument("--verbose", action="store_true", help="print Dagster's event log and dbt's output too")

    report = commands.add_parser("report", help="write the conversions CSV and email it")
    report.add_argument("--start", type=_date("--start"), help="first local day (YYYY-MM-DD)")
    report.add_argument("--end", type=_date("--end"), help="last local day, inclusive")
    report.add_argument("--landed-range", action="store_true",
                        help="instead of --start/--end: every day the marts hold (what `make run` sends)")
    report.add_argument("--to", default=None, help="comma-separated recipients (default $REPORT_RECIPIENTS)")
    report.add_argument("--force", action="store_true", help="send even if this report was sent already")

    commands.add_parser("ui", help="open the Dagster UI (dagster dev -w workspace.yaml)")

    dashboard = commands.add_parser("dashboard", help="serve the campaign overview page on 127.0.0.1")
    dashboard.add_argument("--port", type=_port, default=8501, help="the port (default 8501)")

    bench = commands.add_parser("bench", help="measure the pipeline against DuckDB's floor and a pandas peer")
    bench.add_argument("--scale", choices=["XS", "S", "M", "L", "M2"], default="S",
                       help="reminders over 30 days: S 100 thousand, M 3 million, L 10 million (XS: a smoke test); "
                            "M2: M's days over 60 days, the runs only")
    bench.add_argument("--skip-spark", action="store_true",
                       help="do not measure the spark engine (measured at XS and S otherwise)")
    return parser


# What BI tools find under $CAMPAIGNS_PUBLISH (orchestration/publishing.py).
PUBLISHED_FILES = "bi.duckdb, current/<mart>.parquet, current/<fact>/<day>.parquet"


def cmd_generate(args: argparse.Namespace) -> int:
    from orchestration.generate import generate

    out = args.out or load_settings().landing
    summary = generate(out, args.start, args.days, args.reminders_per_day, args.seed,
                       progress=not args.no_progress)
    print(f"wrote sample landing files to {out}: {summary}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load_settings()
    window = DayRange(args.start, args.end, start_name="--start", end_name="--end")
    if "://" not in settings.landing and not os.path.isdir(settings.landing):
        raise UsageError(f"the landing folder {settings.landing} does not exist "
                         "(set CAMPAIGNS_LANDING, or `campaigns generate` sample data)")
    if settings.engine == "spark":
        from orchestration.resources.engine import require_java

        require_java()  # before the run starts: one line, not a failed step per source
    elif window.is_everything:
        # Nothing new landed since a build that was published: say so without starting Dagster.
        from orchestration.build_state import nothing_to_do

        built = nothing_to_do(settings)
        if built is not None:
            print(f"nothing to do: no new landing file, and the marts and their published copy are "
                  f"up to date ({built.describe()})")
            print(f"  warehouse  {settings.warehouse}")
            print(f"  BI copy    {settings.publish} ({PUBLISHED_FILES})")
            return 0
    from orchestration.instance import cli_run_tags, fail_orphaned_cli_runs, get_instance

    instance = get_instance(settings)
    for run_id in fail_orphaned_cli_runs(instance):
        print(f"campaigns: marked run {run_id} failed: the process running it died", file=sys.stderr)
    from orchestration.definitions import PIPELINE_JOB_NAME, defs
    from orchestration.run_progress import QUIET_RUN_CONFIG, RunProgress, root_cause, terminal_only_for_us

    job = defs.resolve_job_def(PIPELINE_JOB_NAME)
    run_id = str(uuid.uuid4())  # known before the run starts, so the listener can follow it
    started = time.monotonic()
    with terminal_only_for_us(quiet=not args.verbose) as out:
        progress = RunProgress(out)
        instance.add_event_listener(run_id, progress)
        result = job.execute_in_process(instance=instance, run_id=run_id, raise_on_error=False,
                                        run_config=None if args.verbose else QUIET_RUN_CONFIG,
                                        tags={**window.tags(), **cli_run_tags()})
        progress.finish([node.name for node in job.graph.nodes_in_topological_order])
    elapsed = time.monotonic() - started
    if not result.success:
        failures = [f"{event.step_key}: {root_cause(event.step_failure_data.error)}"
                    for event in result.all_events if event.is_step_failure]
        raise CommandFailed(f"run {run_id} failed at " + ("; ".join(failures) or "an unknown step")
                            + " (details in the Dagster UI: `campaigns ui`)")
    totals = progress.totals
    print(f"run {run_id} succeeded in {elapsed:.1f} s: {totals.new_files:,} new files, {totals.lines:,} lines "
          f"({totals.rejected:,} rejected), {totals.models} models built, {totals.checks_passed} checks passed, "
          f"{totals.warnings} warnings")
    if settings.engine == "spark":
        print(f"  Spark      {settings.spark_master}, tables in {settings.spark_warehouse}")
    print(f"  warehouse  {settings.warehouse}" + (" (the marts served from Spark)" if settings.engine == "spark" else ""))
    print(f"  BI copy    {settings.publish} ({PUBLISHED_FILES})")
    print(f"  the UI     `campaigns ui` (or `make ui`), then http://127.0.0.1:3000/runs/{run_id}")
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    import duckdb

    from orchestration.reporting.errors import ReportArgumentError, ReportError
    from orchestration.reporting.standalone import report_from_settings, stderr_logger
    from orchestration.resources.warehouse import WarehouseLockTimeout, WarehouseMissing

    settings = load_settings()
    start, end = args.start, args.end
    try:
        if args.landed_range:
            if start or end:
                raise UsageError("--landed-range replaces --start and --end: give one or the other")
            start, end = _landed_range(settings)
        elif start is None or end is None:
            raise UsageError("--start and --end are both required (or --landed-range)")
        outcome = report_from_settings(settings, start, end, args.to, args.force, log=stderr_logger())
    except ReportArgumentError as error:
        raise UsageError(str(error)) from None
    except (ReportError, WarehouseMissing) as error:
        raise CommandFailed(str(error)) from None
    except (WarehouseLockTimeout, duckdb.Error) as error:
        raise CommandFailed(" ".join(str(error).split())) from None
    print(outcome.summary())
    return 0


def _landed_range(settings) -> tuple[date, date]:
    """The first and last day the daily mart holds, read through the warehouse resource."""
    from orchestration.resources.warehouse import WarehouseResource

    with WarehouseResource(database=settings.warehouse).read() as con:
        start, end = con.execute(
            "SELECT min(metric_date), max(metric_date) FROM marts.mart_daily_campaign_metrics").fetchone()
    if start is None:
        raise CommandFailed("the marts hold no day yet: land data and run `campaigns run` first")
    return start, end


def cmd_ui(args: argparse.Namespace) -> int:
    from orchestration.instance import get_instance

    # The storages are created here, under the lock, not by the webserver and daemon at once.
    get_instance(load_settings())
    dagster = shutil.which("dagster", path=str(Path(sys.executable).parent)) or shutil.which("dagster")
    if not dagster:
        raise CommandFailed("the dagster command is not installed: run `make install`")
    os.chdir(REPO_ROOT)
    os.execv(dagster, [dagster, "dev", "-w", str(REPO_ROOT / "workspace.yaml")])
    return 0  # not reached


def cmd_dashboard(args: argparse.Namespace) -> int:
    from orchestration.dashboard.serve import HOST, port_in_use, streamlit_command

    settings = load_settings()
    if port_in_use(args.port):
        raise CommandFailed(f"port {args.port} on {HOST} is in use: pick another with --port")
    print(f"campaign overview page on http://{HOST}:{args.port}, reading the published copy in "
          f"{settings.publish} (Ctrl-C stops it)", flush=True)
    os.chdir(REPO_ROOT)
    command = streamlit_command(args.port)
    os.execv(command[0], command)
    return 0  # not reached


def cmd_bench(args: argparse.Namespace) -> int:
    from orchestration.bench import BenchMismatch, BenchStepFailed, run_bench

    try:
        run_bench(args.scale, skip_spark=True if args.skip_spark else None)
    except (BenchMismatch, BenchStepFailed) as error:
        raise CommandFailed(f"bench {args.scale}: {_first_line(str(error))}") from None
    return 0


def _first_line(text: str) -> str:
    lines = [line.strip() for line in (text or "").strip().splitlines() if line.strip()]
    return lines[-1] if lines else "no message"


COMMANDS = {"generate": cmd_generate, "run": cmd_run, "report": cmd_report, "ui": cmd_ui,
            "dashboard": cmd_dashboard, "bench": cmd_bench}


def main(argv: list[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except (UsageError, DayRangeError) as error:
        print(f"campaigns: error: {error}", file=sys.stderr)
        return 2
    except (SettingsError, ValueError, CommandFailed, OSError, DefinitionsError) as error:
        print(f"campaigns: error: {_first_line(str(error))}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("campaigns: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
