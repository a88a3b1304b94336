"""The landing zone ($CAMPAIGNS_LANDING): where producers drop the source files."""

from __future__ import annotations

import os

import dagster as dg


class LandingZone(dg.ConfigurableResource):
    """The landing root: `<source>/dt=YYYY-MM-DD/<name>.jsonl[.gz]` below it."""

    root: str

    def check_exists(self) -> None:
        if "://" not in self.root and not os.path.isdir(self.root):
            raise dg.Failure(
                description=f"the landing folder {self.root} does not exist: set CAMPAIGNS_LANDING "
                f"or run `campaigns generate --out {self.root}` for sample data"
            )
