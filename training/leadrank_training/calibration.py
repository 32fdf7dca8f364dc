"""Probability calibration fitted on the validation period; serialised as calibration.json and applied
identically by scoring-sidecar/src/model/onnx-calibration.ts.

- platt:    p = 1 / (1 + exp(-(a * logit(p_raw) + b))), fitted with a >= 0 (see fit_platt)
- isotonic: p = linear interpolation of (x, y) breakpoints at p_raw, clamped to the end values
            (numpy.interp semantics); centered, slope-capped fit (see fit_isotonic)
- none:     p = p_raw
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import minimize
from scipy.special import expit
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import log_loss
from sklearn.model_selection import StratifiedKFold

from .metrics import expected_calibration_error

EPS = 1e-12
# Isotonic output is kept off 0 and 1: a certain-but-wrong prediction makes log loss infinite.
ISOTONIC_BOUNDS = (1e-3, 1 - 1e-3)
MAX_ISOTONIC_SLOPE = 20.0
# Selection rule: isotonic must beat Platt on cross-validated validation log loss by more than this,
# otherwise Platt (smooth, two parameters, keeps the ranking) is chosen.
ISOTONIC_MARGIN = 0.002


def logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), EPS, 1 - EPS)
    return np.log(p) - np.log1p(-p)


def fit_platt(p_raw: np.ndarray, y: np.ndarray) -> dict:
    """Platt scaling with the slope constrained to a >= 0, so calibration can never invert the ranking.

    An unconstrained fit on a period whose base rate moved (train 5 % -> validation 26 %) fitted slopes of
    -10.8 and -30.1 on a real lead history and turned AUC 0.59 into 0.41. With the bound, a model that does
    not rank on the calibration period gets a = 0 (a constant: the period's base rate), which the promotion
    gate then refuses for losing AUC, instead of silently reversing the order. Log loss minimised with
    L-BFGS-B (scipy); the problem is convex, so the bounded optimum is the global one."""
    z = logit(p_raw)
    y = np.asarray(y, dtype=np.float64)
    rate = float(np.clip(np.mean(y), EPS, 1 - EPS))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        t = theta[0] * z + theta[1]
        # log(1 + exp(t)) - y t, stable for large |t|
        value = float(np.sum(np.logaddexp(0.0, t) - y * t)) / len(y)
        r = (expit(t) - y) / len(y)
        return value, np.array([float(np.dot(r, z)), float(np.sum(r))])

    start = np.array([1.0, 0.0])
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=[(0.0, None), (None, None)])
    a, b = (float(v) for v in result.x)
    if not np.isfinite(a + b):  # degenerate input (e.g. one class): the base rate, no ranking
        a, b = 0.0, float(np.log(rate) - np.log1p(-rate))
    return {"method": "platt", "a": a, "b": b}


def fit_isotonic(p_raw: np.ndarray, y: np.ndarray) -> dict:
    """Centered isotonic regression with a slope cap.

    The pooled blocks of sklearn's isotonic fit become breakpoints at each block's mean p_raw (not at its
    edges, whose near-vertical joins would amplify tiny input differences), and adjacent blocks are pooled
    further until no segment is steeper than MAX_ISOTONIC_SLOPE. The cap bounds how much float32 scoring
    noise (~2e-7 in p_raw) can grow, which keeps TS/Python parity within 1e-5."""
    order = np.argsort(p_raw, kind="stable")
    x = np.asarray(p_raw, dtype=np.float64)[order]
    fitted = IsotonicRegression(y_min=ISOTONIC_BOUNDS[0], y_max=ISOTONIC_BOUNDS[1]).fit_transform(x, y[order])
    starts = np.flatnonzero(np.r_[True, np.diff(fitted) != 0])
    ends = np.r_[starts[1:], len(x)]
    weights = [float(e - s) for s, e in zip(starts, ends, strict=True)]
    centers = [float(np.mean(x[s:e])) for s, e in zip(starts, ends, strict=True)]
    values = [float(fitted[s]) for s in starts]
    while len(centers) > 1:
        slopes = [
            (values[i + 1] - values[i]) / (centers[i + 1] - centers[i])
            if centers[i + 1] > centers[i]
            else np.inf
            for i in range(len(centers) - 1)
        ]
        i = int(np.argmax(slopes))
        if slopes[i] <= MAX_ISOTONIC_SLOPE:
            break
        w = weights[i] + weights[i + 1]
        centers[i] = (weights[i] * centers[i] + weights[i + 1] * centers[i + 1]) / w
        values[i] = (weights[i] * values[i] + weights[i + 1] * values[i + 1]) / w
        weights[i] = w
        del centers[i + 1], values[i + 1], weights[i + 1]
    return {"method": "isotonic", "x": centers, "y": values}


def apply_calibration(calibration: dict, p_raw: np.ndarray) -> np.ndarray:
    p_raw = np.asarray(p_raw, dtype=np.float64)
    method = calibration["method"]
    if method == "platt":
        z = calibration["a"] * logit(p_raw) + calibration["b"]
        return 1.0 / (1.0 + np.exp(-z))
    if method == "isotonic":
        return np.interp(p_raw, np.asarray(calibration["x"]), np.asarray(calibration["y"]))
    if method == "none":
        return p_raw.copy()
    raise ValueError(f"unknown calibration method {method!r}")


FITTERS = {"platt": fit_platt, "isotonic": fit_isotonic}


def cross_validated_log_loss(
    p_raw: np.ndarray, y: np.ndarray, method: str, folds: int = 5, seed: int = 7
) -> float:
    losses = []
    for fit_rows, eval_rows in StratifiedKFold(folds, shuffle=True, random_state=seed).split(p_raw, y):
        cal = FITTERS[method](p_raw[fit_rows], y[fit_rows])
        p = np.clip(apply_calibration(cal, p_raw[eval_rows]), 1e-15, 1 - 1e-15)
        losses.append(log_loss(y[eval_rows], p, labels=[0, 1]))
    return float(np.mean(losses))


def choose_calibration(
    p_val: np.ndarray, y_val: np.ndarray, p_test: np.ndarray | None = None, y_test: np.ndarray | None = None
) -> tuple[dict[str, dict], dict]:
    """Fits Platt and isotonic on validation and picks one by the rule above (validation only, so the test
    period stays untouched); test log loss / ECE of each are measured for the report, not for the choice.
    Returns both fitted calibrations by method, and the comparison (with "chosen")."""
    comparison: dict = {
        "rule": f"isotonic if its 5-fold CV validation log loss < Platt's - {ISOTONIC_MARGIN}"
    }
    fitted = {}
    for method in ("platt", "isotonic"):
        fitted[method] = FITTERS[method](p_val, y_val)
        entry = {"validation_cv_log_loss": cross_validated_log_loss(p_val, y_val, method)}
        if p_test is not None and y_test is not None:
            p = apply_calibration(fitted[method], p_test)
            entry["test_log_loss"] = float(log_loss(y_test, np.clip(p, 1e-15, 1 - 1e-15), labels=[0, 1]))
            entry["test_ece"] = expected_calibration_error(y_test, p)
        comparison[method] = entry
    if p_test is not None and y_test is not None:
        comparison["uncalibrated"] = {
            "test_log_loss": float(log_loss(y_test, np.clip(p_test, 1e-15, 1 - 1e-15), labels=[0, 1])),
            "test_ece": expected_calibration_error(y_test, p_test),
        }
    better_isotonic = (
        comparison["isotonic"]["validation_cv_log_loss"]
        < comparison["platt"]["validation_cv_log_loss"] - ISOTONIC_MARGIN
    )
    chosen = "isotonic" if better_isotonic else "platt"
    comparison["chosen"] = chosen
    return fitted, comparison


# Prior correction: applied when the most recent part of the calibration period converts at a rate that
# differs from the calibrated mean there by more than this many binomial standard errors.
PRIOR_SHIFT_Z = 3.0
RECENT_FRACTION = 0.5


def _shift(calibration: dict, delta: float) -> dict:
    """The calibration with `delta` added in log-odds (monotone, so the ranking is kept)."""
    if calibration["method"] == "platt":
        return {**calibration, "b": calibration["b"] + delta}
    if calibration["method"] == "isotonic":
        ys = np.clip(np.asarray(calibration["y"], dtype=np.float64), *ISOTONIC_BOUNDS)
        return {**calibration, "y": [float(v) for v in expit(logit(ys) + delta)]}
    raise ValueError(f"cannot shift calibration {calibration['method']!r}")


def prior_correction(calibration: dict, p_raw_recent: np.ndarray, y_recent: np.ndarray) -> tuple[dict, dict]:
    """Moves the calibration to the recent base rate when it has shifted.

    The shift delta (log-odds) solves mean(calibrated p + delta) = recent rate on the recent rows (bisection:
    the mean is monotone in delta). Returns the (possibly) shifted calibration and what was measured."""
    p = apply_calibration(calibration, p_raw_recent)
    n = len(y_recent)
    rate = float(np.mean(y_recent)) if n else float("nan")
    mean_p = float(np.mean(p)) if n else float("nan")
    info: dict = {
        "recent_rows": n,
        "recent_base_rate": rate,
        "calibrated_mean_before": mean_p,
        "rule": f"shift when |rate - mean p| > {PRIOR_SHIFT_Z} binomial standard errors",
        "applied": False,
        "shift_log_odds": 0.0,
    }
    if n == 0 or not 0 < rate < 1:
        return calibration, info
    se = np.sqrt(max(mean_p * (1 - mean_p), 1e-12) / n)
    info["z"] = (rate - mean_p) / se
    if abs(info["z"]) <= PRIOR_SHIFT_Z:
        return calibration, info
    lo, hi = -20.0, 20.0
    for _ in range(100):
        mid = (lo + hi) / 2
        if float(np.mean(apply_calibration(_shift(calibration, mid), p_raw_recent))) < rate:
            lo = mid
        else:
            hi = mid
    delta = (lo + hi) / 2
    info.update(applied=True, shift_log_odds=delta)
    return _shift(calibration, delta), info


def recent_rows(times: np.ndarray, fraction: float = RECENT_FRACTION) -> np.ndarray:
    """Positions of the latest `fraction` of rows by time (ties kept together on the later side)."""
    order = np.argsort(times, kind="stable")
    if len(order) == 0:
        return order
    cut = times[order[int(np.floor(len(order) * (1 - fraction)))]]
    return np.flatnonzero(times >= cut)
