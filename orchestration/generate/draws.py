"""Small random-draw helpers shared by the simulation modules."""

from __future__ import annotations

import numpy as np


def lognormal_ms(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> np.ndarray:
    """Positive whole-millisecond delays, log-normal around `median_ms`."""
    return np.ceil(rng.lognormal(np.log(median_ms), sigma, n)).astype(np.int64)


def choice(rng: np.random.Generator, weights: dict, n: int) -> np.ndarray:
    """Indexes into `weights` (in its order) drawn with its (normalised) weights."""
    p = np.array(list(weights.values()), dtype=float)
    return rng.choice(len(p), n, p=p / p.sum())


def at_least_one(rng: np.random.Generator, mask: np.ndarray, eligible: np.ndarray) -> np.ndarray:
    """Make sure a quirk shows up even in tiny samples: flag one eligible row if none is."""
    if not mask.any() and eligible.any():
        candidates = np.flatnonzero(eligible)
        mask = mask.copy()
        mask[candidates[rng.integers(0, candidates.shape[0])]] = True
    return mask
