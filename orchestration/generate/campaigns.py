"""The campaigns' admin history (created, edited, paused, resumed) and which campaign may send when.

Rules, for `n` campaigns over a period of T = days:
- every campaign is created in the first minutes of the first day, except the 4th (and some
  later ones), launched about a quarter into the period;
- the 1st, 2nd and 3rd are edited about halfway (name, language or message_type; later sends
  use the new template and language), later ones with probability EDIT_RATE;
- the 3rd is paused about 30% into the period and resumed up to 2 days later; the 4th is
  paused near the end and stays paused; later ones are paused and resumed with PAUSE_RATE;
  with fewer than 3 campaigns the last one is paused for PAUSE_HOURS and resumed.
A campaign sends nothing before it is created or while paused: those reminders go to another
active campaign of the same store (else the 1st campaign), or are not sent if none is active.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from orchestration.generate.catalog import CAMPAIGN_CATALOG, STORES, TEMPLATES, CampaignSpec
from orchestration.generate.rates import DAY_MS, HOUR_MS, MINUTE_MS

EDIT_RATE = 0.5
PAUSE_RATE = 0.3
LATE_LAUNCH_RATE = 0.3
PAUSE_HOURS = 2


@dataclass
class Campaign:
    index: int
    spec: CampaignSpec
    campaign_id: str
    created_ms: int
    edits: list[tuple[int, dict]] = field(default_factory=list)
    pauses: list[tuple[int, int | None]] = field(default_factory=list)  # [pause, resume)

    @property
    def store(self) -> str:
        return self.spec.store

    @property
    def currency(self) -> str:
        return STORES[self.spec.store].currency

    def states(self) -> list[tuple[int, dict]]:
        """(from_ms, {name, language, message_type}) in time order."""
        state = {"name": self.spec.name, "language": self.spec.language, "message_type": self.spec.message_type}
        out = [(self.created_ms, dict(state))]
        for at, changes in self.edits:
            state = {**state, **changes}
            out.append((at, dict(state)))
        return out

    def active(self, ms: np.ndarray) -> np.ndarray:
        ok = ms >= self.created_ms
        for paused, resumed in self.pauses:
            ok &= ~((ms >= paused) & ((ms < resumed) if resumed is not None else True))
        return ok

    def events(self) -> list[dict]:
        first = self.states()[0][1]
        rows = [{"campaign_id": self.campaign_id, "event": "created", "occurred_at": self.created_ms,
                 **first, "currency": self.currency}]
        rows += [{"campaign_id": self.campaign_id, "event": "edited", "occurred_at": at, **changes}
                 for at, changes in self.edits]
        for paused, resumed in self.pauses:
            rows.append({"campaign_id": self.campaign_id, "event": "paused", "occurred_at": paused})
            if resumed is not None:
                rows.append({"campaign_id": self.campaign_id, "event": "resumed", "occurred_at": resumed})
        return rows


@dataclass
class CampaignPlan:
    campaigns: list[Campaign]
    versions: list[tuple[int, int, dict]]  # (campaign index, from_ms, state): one code each

    @property
    def weights(self) -> np.ndarray:
        w = np.array([c.spec.weight for c in self.campaigns], dtype=float)
        return w / w.sum()

    def assign(self, campaign: np.ndarray, sent_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Move sends of inactive campaigns to an active one (same store first, then the 1st
        campaign); returns (campaign, kept) where kept is False for sends no campaign could make."""
        campaign = campaign.copy()
        kept = np.ones(campaign.shape[0], dtype=bool)
        for c in self.campaigns:
            moving = (campaign == c.index) & ~c.active(sent_ms)
            if not moving.any():
                continue
            candidates = [o for o in self.campaigns if o.store == c.store and o.index != c.index]
            candidates += [o for o in self.campaigns if o.store != c.store and o.index == 0]
            for other in candidates:
                fits = moving & other.active(sent_ms)
                campaign[fits] = other.index
                moving &= ~fits
            kept &= ~moving
        return campaign, kept

    def version_codes(self, campaign: np.ndarray, sent_ms: np.ndarray) -> np.ndarray:
        """The campaign version (name/language/message_type) in force at each send."""
        code = np.full(campaign.shape[0], -1, dtype=np.int64)
        for v, (index, from_ms, _state) in enumerate(self.versions):
            code[(campaign == index) & (sent_ms >= from_ms)] = v  # versions are in time order
        return code

    def events(self) -> list[dict]:
        rows = [e for c in self.campaigns for e in c.events()]
        return sorted(rows, key=lambda e: (e["occurred_at"], e["campaign_id"], e["event"]))


def _at(rng: np.random.Generator, start_ms: int, fraction: float, period_ms: int) -> int:
    """An instant about `fraction` into the period, on a whole second."""
    jitter = int(rng.integers(0, HOUR_MS // 1000)) * 1000
    return start_ms + int(period_ms * fraction) // 1000 * 1000 + jitter


def plan_campaigns(rng: np.random.Generator, n: int, start_ms: int, days: int) -> CampaignPlan:
    period = days * DAY_MS
    end = start_ms + period
    campaigns: list[Campaign] = []
    for i in range(n):
        spec = CAMPAIGN_CATALOG[i % len(CAMPAIGN_CATALOG)]
        cycle = i // len(CAMPAIGN_CATALOG)
        campaign_id = spec.campaign_id if cycle == 0 else f"{spec.campaign_id}_{cycle + 1}"
        late_launch = i == 3 or (i > 3 and rng.random() < LATE_LAUNCH_RATE)
        if late_launch:
            created = _at(rng, start_ms, 0.25, period)
        else:
            created = start_ms + int(rng.integers(0, 10 * MINUTE_MS // 1000)) * 1000
        c = Campaign(i, spec, campaign_id, created)
        if spec.edit and (i < 3 or rng.random() < EDIT_RATE):
            c.edits.append((_at(rng, start_ms, 0.5, period), dict(spec.edit)))
        if i == 2:
            paused = _at(rng, start_ms, 0.3, period)
            c.pauses.append((paused, min(paused + max(HOUR_MS, min(2 * DAY_MS, int(period * 0.15))), end - HOUR_MS)))
        elif i == 3:
            c.pauses.append((_at(rng, start_ms, 0.85, period), None))
        elif i > 3 and rng.random() < PAUSE_RATE:
            paused = _at(rng, start_ms, float(rng.uniform(0.3, 0.7)), period)
            c.pauses.append((paused, paused + int(rng.integers(1, 48)) * HOUR_MS))
        campaigns.append(c)
    if n < 3:
        last = campaigns[-1]
        paused = _at(rng, start_ms, 0.6, period)
        last.pauses.append((paused, paused + PAUSE_HOURS * HOUR_MS))
    # drop anything that would fall after the period (tiny periods)
    for c in campaigns:
        c.edits = [(at, ch) for at, ch in c.edits if c.created_ms < at < end]
        c.pauses = [(p, r if r is not None and r < end else None) for p, r in c.pauses if c.created_ms < p < end]
    versions = [(c.index, at, state) for c in campaigns for at, state in c.states()]
    versions.sort(key=lambda v: (v[1], v[0]))
    return CampaignPlan(campaigns, versions)


def template_of(state: dict) -> str:
    return TEMPLATES.get(state["message_type"], state["message_type"] + "_v1")
