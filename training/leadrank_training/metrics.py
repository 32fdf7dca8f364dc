"""Classification, calibration and ranking metrics used in the evaluation report."""

from __future__ import annotations

import math

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, log_loss, roc_auc_score

TOP_FRACTIONS = (0.05, 0.10, 0.20)
ECE_BINS = 10


def expected_calibration_error(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> float:
    """ECE with equal-mass bins: rows sorted by p and cut into `bins` groups of (nearly) equal size;
    sum over bins of (bin size / n) * |mean label - mean p|."""
    order = np.argsort(p, kind="stable")
    total = 0.0
    for part in np.array_split(order, bins):
        if len(part):
            total += len(part) / len(p) * abs(float(np.mean(y[part])) - float(np.mean(p[part])))
    return total


def reliability_bins(y: np.ndarray, p: np.ndarray, bins: int = ECE_BINS) -> list[dict]:
    order = np.argsort(p, kind="stable")
    return [
        {"n": len(part), "mean_p": float(np.mean(p[part])), "rate": float(np.mean(y[part]))}
        for part in np.array_split(order, bins)
        if len(part)
    ]


def lift_and_capture(y: np.ndarray, score: np.ndarray, fraction: float) -> tuple[float, float]:
    """Top `fraction` of rows by score (ties broken by row order): lift = rate there / base rate;
    capture = share of all positives found there."""
    n_top = max(1, math.ceil(fraction * len(y)))
    top = np.argsort(-score, kind="stable")[:n_top]
    positives = float(np.sum(y))
    if positives == 0:
        return float("nan"), float("nan")
    return float(np.mean(y[top])) / (positives / len(y)), float(np.sum(y[top])) / positives


def gains_curve(y: np.ndarray, score: np.ndarray, points: int = 50) -> list[tuple[float, float]]:
    order = np.argsort(-score, kind="stable")
    cum = np.cumsum(y[order]) / max(1.0, float(np.sum(y)))
    idx = np.unique(np.linspace(0, len(y) - 1, points).astype(int))
    return [(0.0, 0.0)] + [(float((i + 1) / len(y)), float(cum[i])) for i in idx]


def _none_if_nan(x: float) -> float | None:
    return None if x is None or math.isnan(x) else float(x)


def score_metrics(y: np.ndarray, score: np.ndarray, probabilistic: bool = True) -> dict:
    """Every report metric for one set of rows. AUCs are null when only one class is present;
    probability metrics are null when `score` is not a probability (e.g. a rules score)."""
    y = np.asarray(y, dtype=np.int64)
    score = np.asarray(score, dtype=np.float64)
    both = 0 < int(np.sum(y)) < len(y)
    out: dict = {
        "rows": len(y),
        "positives": int(np.sum(y)),
        "base_rate": float(np.mean(y)) if len(y) else None,
        "roc_auc": float(roc_auc_score(y, score)) if both else None,
        "pr_auc": float(average_precision_score(y, score)) if both else None,
    }
    if probabilistic:
        clipped = np.clip(score, 1e-15, 1 - 1e-15)
        out["log_loss"] = float(log_loss(y, clipped, labels=[0, 1]))
        out["brier"] = float(brier_score_loss(y, score))
        out["ece"] = expected_calibration_error(y, score)
    else:
        out["log_loss"] = out["brier"] = out["ece"] = None
    for fraction in TOP_FRACTIONS:
        lift, capture = lift_and_capture(y, score, fraction)
        key = f"top_{round(fraction * 100)}pct"
        out[f"lift_{key}"] = _none_if_nan(lift)
        out[f"capture_{key}"] = _none_if_nan(capture)
    return out
