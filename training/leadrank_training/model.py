"""LightGBM training with early stopping, deterministic on a given machine and data."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

SEED = 20240101
NUM_THREADS = 2

DEFAULT_PARAMS: dict = {
    "objective": "binary",
    "metric": "binary_logloss",
    "learning_rate": 0.05,
    "num_leaves": 31,
    "max_depth": -1,
    "min_data_in_leaf": 20,
    "feature_fraction": 0.9,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "cat_smooth": 10.0,
    "seed": SEED,
    "deterministic": True,
    "force_row_wise": True,
    "num_threads": NUM_THREADS,
    "verbosity": -1,
}


def train_booster(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    feature_names: list[str],
    categorical: list[int],
    params: dict | None = None,
    max_rounds: int = 2000,
    early_stopping_rounds: int = 50,
) -> lgb.Booster:
    merged = {**DEFAULT_PARAMS, **(params or {})}
    train = lgb.Dataset(
        x_train, y_train, feature_name=feature_names, categorical_feature=categorical, free_raw_data=False
    )
    valid = lgb.Dataset(x_val, y_val, reference=train)
    booster = lgb.train(
        merged,
        train,
        num_boost_round=max_rounds,
        valid_sets=[valid],
        valid_names=["validation"],
        callbacks=[lgb.early_stopping(early_stopping_rounds, verbose=False)],
    )
    # Keep only the trees up to the best iteration, so the dump, the ONNX export and predict() agree.
    return float32_exact_thresholds(
        lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
    )


def _float32_floor(value: float) -> float:
    """The largest float32 that is <= value."""
    f = np.float32(value)
    if float(f) > value:
        f = np.nextafter(f, np.float32(-np.inf))
    return float(f)


def float32_exact_thresholds(booster: lgb.Booster) -> lgb.Booster:
    """Moves every numerical split threshold down to the largest float32 not above it.

    Serving runs the ONNX graph in float32 (inputs and thresholds); LightGBM compares in float64. For a
    float32 input x, `x <= t` holds exactly when `x <= float32_floor(t)`, so after this rewrite LightGBM, the
    ONNX graph and the TreeSHAP dump take the same branch for every input, instead of flipping when a float64
    midpoint rounds onto a data value (seen as parity errors of 1e-3 on models with ~1,000 trees).
    """
    lines = booster.model_to_string().split("\n")
    thresholds_at: int | None = None
    for i, line in enumerate(lines):
        if line.startswith("threshold="):
            thresholds_at = i
        elif line.startswith("decision_type=") and thresholds_at is not None:
            kinds = [int(v) for v in line[len("decision_type=") :].split()]
            values = lines[thresholds_at][len("threshold=") :].split()
            rewritten = [
                v if kind & 1 else repr(_float32_floor(float(v)))  # bit 0 set: categorical (an index)
                for v, kind in zip(values, kinds, strict=True)
            ]
            lines[thresholds_at] = "threshold=" + " ".join(rewritten)
            thresholds_at = None
    # tree_sizes holds each tree's byte length, which the rewrite changes; without it LightGBM reads the
    # trees sequentially.
    lines = [line for line in lines if not line.startswith("tree_sizes=")]
    return lgb.Booster(model_str="\n".join(lines))


def predict_raw(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """Uncalibrated P(label = 1)."""
    return booster.predict(x, num_threads=NUM_THREADS)
