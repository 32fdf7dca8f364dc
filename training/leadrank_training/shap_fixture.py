"""Parity fixture for the TypeScript TreeSHAP explainer (scoring-sidecar/src/explain/).

Trains a small deterministic LightGBM binary model on synthetic data with NaNs and categorical features, then
writes into --out:
  model.json    booster.dump_model()
  model.txt     booster.save_model(), to time LightGBM's own pred_contrib against
  fixture.json  feature names, evaluation rows (NaN as null), LightGBM's raw scores and pred_contrib output

The evaluation rows deliberately hit LightGBM's edge cases: values exactly on split thresholds, exact zeros,
NaN in features trained without NaN, negative, fractional and unseen category codes.

Usage: python training/leadrank_training/shap_fixture.py --out DIR [--trees 100 --num-leaves 31 ...]
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

import lightgbm as lgb
import numpy as np

SEED = 20240607


def synthetic_data(rng: np.random.Generator, n_rows: int, n_features: int) -> tuple[np.ndarray, np.ndarray]:
    """Columns: 0 categorical (12 codes), 1 categorical (3 codes), 2 never NaN, 3 constant, rest numeric."""
    x = rng.normal(size=(n_rows, n_features))
    x[:, 0] = rng.integers(0, 12, size=n_rows)
    x[:, 1] = rng.integers(0, 3, size=n_rows)
    x[:, 3] = 1.0  # constant: no tree can split on it
    # Counts with many exact zeros, like the event features.
    for j in range(4, n_features, 3):
        x[:, j] = rng.poisson(0.7, size=n_rows)
    cat_effect = np.array([1.2, -0.8, 0.3, 0.0, -1.5, 0.9, 0.4, -0.2, 1.1, -0.6, 0.2, 0.7])
    logit = (
        cat_effect[x[:, 0].astype(int)]
        + 0.6 * (x[:, 1] == 2)
        + 0.8 * x[:, 2]
        - 0.5 * x[:, 4] ** 2 * (x[:, 5] > 0)
        + 0.7 * np.tanh(x[:, 6] * x[:, 7])
        + 0.3 * x[:, 8:].sum(axis=1) / max(1, n_features - 8) ** 0.5
    )
    y = (rng.random(n_rows) < 1 / (1 + np.exp(-logit))).astype(float)
    # Missing values everywhere except columns 2 and 3 (whose splits then have missing_type None).
    for j in [0, 1, *range(4, n_features)]:
        x[rng.random(n_rows) < 0.15, j] = np.nan
    return x, y


def split_thresholds(dump: dict) -> dict[int, list[float]]:
    found: dict[int, list[float]] = {}

    def walk(node: dict) -> None:
        if "split_feature" not in node:
            return
        if node["decision_type"] == "<=":
            found.setdefault(node["split_feature"], []).append(float(node["threshold"]))
        walk(node["left_child"])
        walk(node["right_child"])

    for tree in dump["tree_info"]:
        walk(tree["tree_structure"])
    return found


def evaluation_rows(rng: np.random.Generator, n_rows: int, n_features: int, dump: dict) -> np.ndarray:
    x, _ = synthetic_data(rng, n_rows, n_features)
    thresholds = split_thresholds(dump)
    for j, values in thresholds.items():
        on_threshold = rng.random(n_rows) < 0.1
        x[on_threshold, j] = rng.choice(values, size=int(on_threshold.sum()))
    # NaN where training never saw one (missing_type None: LightGBM treats it as 0).
    x[rng.random(n_rows) < 0.1, 2] = np.nan
    x[rng.random(n_rows) < 0.05, 2] = 0.0
    # Category codes LightGBM must send right: negative, unseen; fractional ones truncate toward zero.
    odd = rng.random(n_rows)
    x[odd < 0.03, 0] = -1.0
    x[(odd >= 0.03) & (odd < 0.06), 0] = 40.0
    x[(odd >= 0.06) & (odd < 0.09), 0] = 2.7
    x[(odd >= 0.09) & (odd < 0.11), 0] = -0.5
    return x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--rows", type=int, default=1000, help="evaluation rows written to fixture.json")
    parser.add_argument("--train-rows", type=int, default=20000)
    parser.add_argument("--features", type=int, default=12)
    parser.add_argument("--trees", type=int, default=100)
    parser.add_argument("--num-leaves", type=int, default=31)
    parser.add_argument("--max-depth", type=int, default=6)
    parser.add_argument("--zero-as-missing", action="store_true", help="gives splits missing_type Zero")
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args()
    if args.features < 9:
        parser.error("--features must be at least 9")

    rng = np.random.default_rng(args.seed)
    x, y = synthetic_data(rng, args.train_rows, args.features)
    names = [f"f{j:02d}" for j in range(args.features)]
    params = {
        "objective": "binary",
        "learning_rate": 0.1,
        "num_leaves": args.num_leaves,
        "max_depth": args.max_depth,
        "min_data_in_leaf": 20,
        "max_cat_to_onehot": 4,  # column 1 (3 codes) splits one-vs-rest, column 0 many-vs-many
        "cat_smooth": 5.0,
        "min_data_per_group": 20,
        "zero_as_missing": args.zero_as_missing,
        "feature_fraction": 0.9,
        "bagging_fraction": 0.8,
        "bagging_freq": 1,
        "seed": args.seed,
        "deterministic": True,
        "force_row_wise": True,
        "num_threads": 1,
        "verbosity": -1,
    }
    train = lgb.Dataset(x, y, feature_name=names, categorical_feature=[0, 1])
    booster = lgb.train(params, train, num_boost_round=args.trees)
    dump = booster.dump_model()

    x_eval = evaluation_rows(rng, args.rows, args.features, dump)
    raw = booster.predict(x_eval, raw_score=True, num_threads=1)
    contrib = booster.predict(x_eval, pred_contrib=True, num_threads=1)

    def cell(v: float) -> float | None:
        return None if math.isnan(v) else float(v)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "model.json").write_text(json.dumps(dump))
    booster.save_model(str(args.out / "model.txt"))
    fixture = {
        "featureNames": names,
        "categoricalFeatures": [0, 1],
        "params": {k: v for k, v in params.items() if k != "verbosity"},
        "lightgbmVersion": lgb.__version__,
        "rows": [[cell(v) for v in row] for row in x_eval],
        "raw": [float(v) for v in raw],
        "contributions": [[float(v) for v in row] for row in contrib],
    }
    (args.out / "fixture.json").write_text(json.dumps(fixture))


if __name__ == "__main__":
    main()
