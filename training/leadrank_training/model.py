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
    return lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))


def predict_raw(booster: lgb.Booster, x: np.ndarray) -> np.ndarray:
    """Uncalibrated P(label = 1)."""
    return booster.predict(x, num_threads=NUM_THREADS)
