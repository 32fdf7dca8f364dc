import json

import numpy as np
import onnx

from leadrank_training.calibration import apply_calibration
from leadrank_training.dataset import load_training_set
from leadrank_training.export import onnx_probabilities
from leadrank_training.metrics import TOP_FRACTIONS
from leadrank_training.model import predict_raw
from leadrank_training.report import METRIC_KEYS
from leadrank_training.train import run_training


def test_artifacts_are_written(trained):
    out, _ = trained
    for name in (
        "model.onnx",
        "calibration.json",
        "model.json",
        "feature-spec.json",
        "report.json",
        "report.md",
        "calibration.png",
        "gains.png",
        "model_card.json",
    ):
        assert (out / name).stat().st_size > 0, name
    dump = json.loads((out / "model.json").read_text())
    assert dump["feature_names"][:2] == ["web_visits_30d", "time_on_site_min"]
    assert (out / "calibration.png").read_bytes()[:4] == b"\x89PNG"


def test_onnx_matches_lightgbm_with_python_onnxruntime(trained, synthetic_set):
    out, result = trained
    ts = load_training_set(synthetic_set)
    x = ts.features[result.split.test]
    expected_raw = predict_raw(result.booster, x)
    got_raw = onnx_probabilities(out / "model.onnx", x)
    assert np.max(np.abs(got_raw - expected_raw)) <= 1e-5
    calibration = json.loads((out / "calibration.json").read_text())
    got = apply_calibration(calibration, got_raw)
    assert np.max(np.abs(got - apply_calibration(result.calibration, expected_raw))) <= 1e-5
    # NaN in every feature (all missing) is scored the same way too.
    blank = np.full((3, x.shape[1]), np.nan)
    assert (
        np.max(np.abs(onnx_probabilities(out / "model.onnx", blank) - predict_raw(result.booster, blank)))
        <= 1e-5
    )


def test_onnx_opsets_load_in_onnxruntime_node(trained):
    out, _ = trained
    opsets = {o.domain or "ai.onnx": o.version for o in onnx.load(out / "model.onnx").opset_import}
    assert opsets["ai.onnx.ml"] <= 3
    assert opsets["ai.onnx"] <= 15


def test_report_has_every_metric_segment_and_baseline(trained):
    out, _ = trained
    report = json.loads((out / "report.json").read_text())
    for key in METRIC_KEYS:
        assert report["overall"][key] is not None, key
    assert len([k for k in report["overall"] if k.startswith("lift_")]) == len(TOP_FRACTIONS)
    assert set(report["segments"]) == {"region", "lead_source", "industry", "company_size"}
    assert "(missing)" in report["segments"]["industry"]
    for values in report["segments"].values():
        for m in values.values():
            assert "too_few_rows" in m and "roc_auc" in m and "ece" in m
    assert report["baseline"]["rules"]["roc_auc"] < report["baseline"]["model_same_rows"]["roc_auc"]
    assert report["baseline"]["rules"]["log_loss"] is None  # a 0-100 rules score is not a probability
    md = (out / "report.md").read_text()
    for heading in ("## Overall", "## Calibration choice", "## Rules-only baseline", "## Segments", "ECE"):
        assert heading in md


def test_model_card_fields(trained):
    out, result = trained
    card = json.loads((out / "model_card.json").read_text())
    assert card["version"].startswith("lr-") and len(card["version"]) == 19
    split = card["training_data"]["split"]
    assert (
        split["train"]["to"]
        < split["validation"]["from"]
        <= split["validation"]["to"]
        < split["test"]["from"]
    )
    assert split["train"]["rows"] + split["validation"]["rows"] + split["test"]["rows"] == 20_000
    assert card["feature_spec"]["hash"] == json.loads((out / "feature-spec.json").read_text())["hash"]
    assert "git_commit" in (card["code_version"] or {"git_commit": None})
    assert card["metrics"]["test"]["roc_auc"] > 0.6
    assert card["parity"]["python_onnxruntime"]["passed"] is True
    assert card["intended_use"] and card["limits"]
    assert card["model"]["calibration"] == result.calibration["method"]


def test_same_data_gives_the_same_model(trained, synthetic_set, tmp_path):
    out, _ = trained
    again = run_training(synthetic_set, tmp_path, families=["lightgbm"])
    assert again.card["version"] == json.loads((out / "model_card.json").read_text())["version"]
    assert (tmp_path / "model.json").read_bytes() == (out / "model.json").read_bytes()
