"""LightGBM training with early stopping on validation AUC (after a minimum tree count), deterministic on a
given machine and data."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np

SEED = 20240101
MIN_TREES = 20
NUM_THREADS = 2

DEFAULT_PARAMS: dict = {
    "objective": "binary",
    # Early stopping watches validation AUC: log loss under a base-rate shift between train and validation
    # falls for a tree or two (the intercept moving) and then rises, which stopped real runs at one tree.
    "metric": "auc",
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
    min_trees: int = MIN_TREES,
    excluded: list[int] | None = None,
) -> lgb.Booster:
    """Boosts until validation AUC has not improved for `early_stopping_rounds` rounds, never stopping before
    `min_trees`; keeps the trees up to the best iteration at or after `min_trees`. Columns in `excluded` are
    blanked (all missing) so no tree splits on them; the model keeps the spec's input width, so serving
    passes the same rows and the excluded features get exactly zero SHAP."""
    merged = {**DEFAULT_PARAMS, **(params or {})}
    if excluded:
        x_train = x_train.copy()
        x_val = x_val.copy()
        x_train[:, excluded] = np.nan
        x_val[:, excluded] = np.nan
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
        callbacks=[_auc_early_stopping(early_stopping_rounds, min_trees)],
    )
    # Keep only the trees up to the best iteration, so the dump, the ONNX export and predict() agree.
    best = booster.best_iteration if booster.best_iteration > 0 else booster.current_iteration()
    return float32_exact_thresholds(lgb.Booster(model_str=booster.model_to_string(num_iteration=best)))


def _auc_early_stopping(patience: int, min_trees: int):
    """lgb.early_stopping has no minimum round count; this one only picks a best iteration >= min_trees.
    Hand-written for that reason (about 20 lines)."""
    state = {"best": -np.inf, "best_iter": 0}

    def callback(env: lgb.callback.CallbackEnv) -> None:
        auc = next(v for _, name, v, _ in env.evaluation_result_list if name == "auc")
        rounds = env.iteration + 1
        if rounds < min_trees:
            return
        if auc > state["best"] + 1e-9:
            state["best"], state["best_iter"] = auc, rounds
        elif rounds - state["best_iter"] >= patience:
            raise lgb.callback.EarlyStopException(
                state["best_iter"] - 1, [("validation", "auc", state["best"], True)]
            )
        if rounds == env.end_iteration:
            raise lgb.callback.EarlyStopException(
                state["best_iter"] - 1, [("validation", "auc", state["best"], True)]
            )

    callback.order = 30
    return callback


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
