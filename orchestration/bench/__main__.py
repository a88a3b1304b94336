"""`python -m orchestration.bench --scale S [--work-dir DIR] [--skip-peer | --with-peer]
[--skip-spark | --with-spark] [--pipeline-only]`."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from orchestration.bench import BenchMismatch, BenchStepFailed, run_bench
from orchestration.bench.scales import SCALES


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestration.bench", description=__doc__)
    parser.add_argument("--scale", default="S", type=str.upper, choices=list(SCALES))
    parser.add_argument("--work-dir", type=Path, default=None,
                        help="keep the feeds cache, scratch and results under this folder")
    peer = parser.add_mutually_exclusive_group()
    peer.add_argument("--skip-peer", dest="skip_peer", action="store_true", default=None)
    peer.add_argument("--with-peer", dest="skip_peer", action="store_false")
    spark = parser.add_mutually_exclusive_group()
    spark.add_argument("--skip-spark", dest="skip_spark", action="store_true", default=None,
                       help="do not measure the spark engine")
    spark.add_argument("--with-spark", dest="skip_spark", action="store_false",
                       help="measure the spark engine at any scale (default: at XS and S)")
    parser.add_argument("--pipeline-only", action="store_true",
                        help="only the `campaigns run` figures: no floors, peers or spark engine")
    args = parser.parse_args(argv)
    try:
        run_bench(args.scale, args.work_dir, args.skip_peer, args.skip_spark, args.pipeline_only)
    except (BenchMismatch, BenchStepFailed) as error:
        print(f"bench: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
