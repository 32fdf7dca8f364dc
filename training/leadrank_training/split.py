"""Train / validation / test splits: by snapshot time (default) or random (for comparison only)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    method: str

    def parts(self) -> dict[str, np.ndarray]:
        return {"train": self.train, "validation": self.validation, "test": self.test}


def _check_fractions(fractions: tuple[float, float, float]) -> None:
    if len(fractions) != 3 or any(f <= 0 for f in fractions) or abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must be three positive numbers summing to 1, got {fractions}")


def time_split(snapshot_at: pd.Series, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)) -> Split:
    """Cuts by time at the row-count quantiles; rows sharing a timestamp stay on the same side."""
    _check_fractions(fractions)
    times = snapshot_at.to_numpy(dtype="datetime64[ns]")
    order = np.argsort(times, kind="stable")
    n = len(order)
    sorted_times = times[order]
    # The last row of each nominal part sets its end; rows tied with it join that (earlier) part.
    end1 = sorted_times[max(int(np.ceil(n * fractions[0])) - 1, 0)]
    end2 = sorted_times[max(int(np.ceil(n * (fractions[0] + fractions[1]))) - 1, 0)]
    train = np.flatnonzero(times <= end1)
    validation = np.flatnonzero((times > end1) & (times <= end2))
    test = np.flatnonzero(times > end2)
    if min(len(train), len(validation), len(test)) == 0:
        raise ValueError("time split left a part empty: too few distinct snapshot times")
    return Split(train, validation, test, "time")


def random_split(n: int, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15), seed: int = 7) -> Split:
    _check_fractions(fractions)
    order = np.random.default_rng(seed).permutation(n)
    a = round(n * fractions[0])
    b = round(n * (fractions[0] + fractions[1]))
    return Split(np.sort(order[:a]), np.sort(order[a:b]), np.sort(order[b:]), "random")
