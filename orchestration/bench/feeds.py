"""The benchmark's landing feeds, generated once per scale and cached.

`<cache>/<scale>/` holds:
- `landing/`: the history, every file received (dt=) before the incremental day;
- `next_day/`: the files received on the incremental day, landed by the incremental run;
- `unreceived/`: files the generator routed to later days (late uploads), never landed;
- `feeds.json`: the scale they were made for, and their sizes. A cache made for other
  parameters (or cut short) is made again.

The history and the next day come from one generation of `days + 1` days, so the next day
holds what a real next day holds: new reminders, but also late statuses, clicks and orders of
the reminders before it.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from orchestration.bench.scales import Scale
from orchestration.generate import SOURCES, generate

MANIFEST = "feeds.json"


@dataclass(frozen=True)
class Feeds:
    landing: Path
    next_day: Path
    manifest: dict


def landing_files(root: Path, source: str | None = None) -> list[Path]:
    sources = [source] if source else list(SOURCES)
    files: list[Path] = []
    for name in sources:
        files += sorted(p for p in (root / name).glob("dt=*/*") if p.name.endswith((".jsonl", ".jsonl.gz")))
    return files


def _sizes(root: Path) -> dict:
    per_source = {}
    for source in SOURCES:
        files = landing_files(root, source)
        per_source[source] = {"files": len(files), "bytes": sum(f.stat().st_size for f in files)}
    return {"files": sum(s["files"] for s in per_source.values()),
            "bytes": sum(s["bytes"] for s in per_source.values()), "per_source": per_source}


def ensure_feeds(scale: Scale, cache_root: Path, progress: bool = True) -> Feeds:
    folder = cache_root / scale.name
    manifest_path = folder / MANIFEST
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("scale") == scale.describe() and (folder / "landing").is_dir():
            return Feeds(folder / "landing", folder / "next_day", manifest)
    if folder.exists():
        shutil.rmtree(folder)
    generated = folder / "unreceived"
    print(f"bench {scale.name}: generating {scale.days + 1} days x {scale.reminders_per_day:,} reminders "
          f"into {folder} (once per scale)", file=sys.stderr, flush=True)
    summary = generate(generated, scale.start, scale.days + 1, scale.reminders_per_day, scale.seed,
                       progress=progress)
    cut = f"dt={scale.incremental_day.isoformat()}"
    for source in SOURCES:
        for day_folder in sorted((generated / source).glob("dt=*")):
            if day_folder.name < cut:
                target = folder / "landing" / source / day_folder.name
            elif day_folder.name == cut:
                target = folder / "next_day" / source / day_folder.name
            else:
                continue  # received after the incremental day: never landed in this benchmark
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(day_folder, target)
    manifest = {
        "scale": scale.describe(),
        "generated": {"reminders": summary.reminders, "lines": summary.lines, "bytes": summary.bytes_written},
        "landing": _sizes(folder / "landing"),
        "next_day": _sizes(folder / "next_day"),
    }
    manifest_path.write_text(json.dumps(manifest, indent=2) + "\n")
    return Feeds(folder / "landing", folder / "next_day", manifest)


def link_tree(source: Path, target: Path) -> int:
    """Land the files of `source` under `target` (same layout) as hard links (a copy across
    file systems): landing files are immutable, and the cache stays untouched. Returns the
    number of files landed."""
    count = 0
    for path in sorted(source.rglob("*")):
        if not path.is_file():
            continue
        destination = target / path.relative_to(source)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if destination.exists():
            raise FileExistsError(f"{destination} is landed already: landing files are never overwritten")
        try:
            os.link(path, destination)
        except OSError:
            shutil.copy2(path, destination)
        count += 1
    return count
