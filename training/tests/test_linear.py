"""The logistic candidate: ONNX graph = Python model, exact linear SHAP."""

import numpy as np
import onnx
import pytest

from leadrank_training.dataset import load_training_set
from leadrank_training.export import onnx_probabilities, save_onnx
from leadrank_training.linear import fit_logistic, linear_to_onnx
from leadrank_training.split import time_split


@pytest.fixture(scope="module")
def linear(synthetic_set, tmp_path_factory):
    ts = load_training_set(synthetic_set)
    s = time_split(ts.frame["snapshot_at"])
    x, y = ts.features, ts.labels
    model, _ = fit_logistic(
        x[s.train], y[s.train], x[s.validation], y[s.validation], ts.spec["features"], {"region"}
    )
    path = tmp_path_factory.mktemp("linear") / "model.onnx"
    save_onnx(linear_to_onnx(model, x.shape[1], {"feature_spec_hash": ts.spec["hash"]}), path)
    return ts, s, model, path


def test_onnx_matches_the_python_model_with_missing_unknown_and_out_of_range_values(linear):
    ts, s, model, path = linear
    x = ts.features[s.test]
    odd = np.array(
        [
            [np.nan] * x.shape[1],
            [1e6, 1e6, 1e6, 1, 99, -3, 0, 4],  # far beyond the training range, unknown codes
            [-5, 0, 0, 0, 0.5, 2, 1, np.nan],  # a code between levels
        ]
    )
    rows = np.vstack([x, odd])
    assert np.max(np.abs(onnx_probabilities(path, rows) - model.predict_raw(rows))) <= 1e-6
    opsets = {o.domain or "ai.onnx": o.version for o in onnx.load(path).opset_import}
    assert opsets == {"ai.onnx": 15}  # no ai.onnx.ml at all: onnxruntime-node loads it


def test_linear_shap_is_exact_and_excluded_features_get_zero(linear):
    ts, s, model, _ = linear
    x = ts.features[s.test[:500]]
    phi = model.shap(x)
    np.testing.assert_allclose(phi.sum(axis=1), model.raw_score(x), atol=1e-9)
    region = ts.feature_names.index("region")
    assert np.all(phi[:, region] == 0)
    # Mean SHAP over the training rows is zero per feature (phi_j = f_j - E_train f_j).
    train_phi = model.shap(ts.features[s.train])[:, :-1]
    np.testing.assert_allclose(train_phi.mean(axis=0), 0, atol=1e-9)
    # Changing one feature moves only its own SHAP value.
    y = x.copy()
    visits = ts.feature_names.index("web_visits_30d")
    y[:, visits] += 3
    diff = model.shap(y)[:, :-1] - phi[:, :-1]
    assert np.all(np.delete(diff, visits, axis=1) == 0) and np.any(diff[:, visits] != 0)
