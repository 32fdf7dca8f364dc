"""onnxmltools' LightGBM converter vs LightGBM on categorical edge cases (why no re-encoding is needed)."""

import numpy as np

from leadrank_training.export import onnx_probabilities, save_onnx, to_onnx
from leadrank_training.model import predict_raw, train_booster


def test_categorical_splits_convert_exactly(tmp_path):
    rng = np.random.default_rng(1)
    n = 20_000
    never_missing = rng.integers(0, 12, n).astype(float)
    sometimes_missing = rng.integers(0, 30, n).astype(float)
    sometimes_missing[rng.random(n) < 0.2] = np.nan
    numeric = rng.normal(size=n)
    z = (
        0.9 * np.isin(never_missing, [0, 3, 5])
        - 0.8 * np.isin(sometimes_missing, [1, 2, 7, 9])
        + 0.5 * numeric
    )
    y = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    x = np.column_stack([never_missing, sometimes_missing, numeric]).astype(np.float32).astype(np.float64)
    booster = train_booster(x[:15_000], y[:15_000], x[15_000:], y[15_000:], ["a", "b", "c"], [0, 1])
    dump = booster.dump_model()

    def decisions(node):
        if "decision_type" not in node:
            return []
        return [node["decision_type"], *decisions(node["left_child"]), *decisions(node["right_child"])]

    assert "==" in [d for tree in dump["tree_info"] for d in decisions(tree["tree_structure"])]

    probe = x[15_000:].copy()
    probe[::3, 0] = np.nan  # missing where training never had a missing value
    probe[1::7, 1] = 99  # a category code never seen in training
    probe[2::11, 0] = -1  # negative code (LightGBM treats it as missing)
    path = tmp_path / "model.onnx"
    save_onnx(to_onnx(booster, 3, {}), path)
    diff = np.abs(onnx_probabilities(path, probe) - predict_raw(booster, probe))
    assert diff.max() <= 1e-5
