"""Issue 15: calibration that never inverts, AUC early stopping, family selection, calendar exclusion,
honest baselines, on synthetic data with and without drift (synthetic.py's drift knobs)."""

import json

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from leadrank_training.calibration import apply_calibration, fit_platt, logit, prior_correction
from leadrank_training.dataset import load_training_set
from leadrank_training.export import onnx_probabilities
from leadrank_training.selection import SelectionConfig, load_selection_config
from leadrank_training.synthetic import write_synthetic_training_set
from leadrank_training.train import run_training

ROWS = 8000


def reversed_scores(n: int, seed: int):
    """Scores that rank the wrong way round on this period (what a model trained before a drift shows)."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-1.0, 1.0, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    return 1 / (1 + np.exp(true_logit)), y


def test_platt_never_inverts_where_an_unconstrained_fit_does():
    p, y = reversed_scores(5000, seed=1)
    unconstrained = LogisticRegression(C=1e6).fit(logit(p).reshape(-1, 1), y).coef_[0][0]
    assert unconstrained < -0.5  # the old fit_platt's slope: it would reverse the ranking
    cal = fit_platt(p, y)
    assert cal["a"] == 0.0
    calibrated = apply_calibration(cal, p)
    # A constant: no ranking at all (AUC 0.5), never the reversed one; the gate refuses such a model.
    assert np.ptp(calibrated) == 0
    assert calibrated[0] == pytest.approx(np.mean(y), abs=0.01)


def test_platt_keeps_a_positive_slope_when_the_scores_rank():
    rng = np.random.default_rng(2)
    z = rng.normal(0, 1, 4000)
    y = (rng.random(4000) < 1 / (1 + np.exp(-z))).astype(int)
    p = 1 / (1 + np.exp(-3 * z))
    cal = fit_platt(p, y)
    assert cal["a"] == pytest.approx(1 / 3, rel=0.15)
    assert roc_auc_score(y, apply_calibration(cal, p)) == pytest.approx(roc_auc_score(y, p), abs=1e-12)


@pytest.mark.parametrize("method", ["platt", "isotonic"])
def test_prior_correction_moves_to_the_recent_base_rate_only_when_it_shifted(method):
    from leadrank_training.calibration import FITTERS

    rng = np.random.default_rng(3)
    z = rng.normal(-1.5, 1.0, 6000)
    p = 1 / (1 + np.exp(-z))
    y_old = (rng.random(6000) < p).astype(int)
    cal = FITTERS[method](p, y_old)
    same, info = prior_correction(cal, p[:3000], y_old[:3000])
    assert not info["applied"] and same == cal
    y_new = (rng.random(3000) < 1 / (1 + np.exp(-(z[:3000] + 1.0)))).astype(int)  # base rate up
    shifted, info = prior_correction(cal, p[:3000], y_new)
    assert info["applied"] and info["shift_log_odds"] > 0.5
    assert np.mean(apply_calibration(shifted, p[:3000])) == pytest.approx(np.mean(y_new), abs=2e-3)
    # A log-odds shift keeps the order.
    before, after = apply_calibration(cal, p), apply_calibration(shifted, p)
    assert roc_auc_score(y_old, after) == pytest.approx(roc_auc_score(y_old, before), abs=1e-9)


@pytest.fixture(scope="module")
def drift_runs(tmp_path_factory):
    """One training per scenario (both families), shared by the tests below."""
    root = tmp_path_factory.mktemp("drift")
    scenarios = {
        "none": {},
        "base_rate": {"base_rate_drift": 3.0},
        "features": {"feature_drift": 20.0},
        "no_signal": {"signal": False},
    }
    out = {}
    for name, knobs in scenarios.items():
        data = write_synthetic_training_set(root / name, ROWS, seed=5, **knobs)
        out[name] = run_training(data, root / f"{name}-model")
    return out


@pytest.mark.parametrize("scenario", ["none", "base_rate", "features", "no_signal"])
def test_calibration_never_lowers_auc_under_drift(drift_runs, scenario):
    card = drift_runs[scenario].card
    for part in ("validation", "test"):
        r = card["calibration_ranking"][part]
        assert r["calibrated_auc"] >= r["raw_auc"] - 0.001, (scenario, part, r)
    if drift_runs[scenario].calibration["method"] == "platt":
        assert drift_runs[scenario].calibration["a"] >= 0


def test_the_linear_candidate_wins_when_inputs_drift_beyond_the_training_range(drift_runs):
    result = drift_runs["features"]
    rows = {c["family"]: c for c in result.card["selection"]["candidates"] if c["family"] == "logistic"}
    trees = [c for c in result.card["selection"]["candidates"] if c["family"] == "lightgbm"]
    assert result.chosen.family == "logistic"
    # On the test period (visits beyond anything seen in training) the linear model ranks better than
    # every tree candidate, and by more than without drift.
    gap = rows["logistic"]["test_auc_uncalibrated"] - max(t["test_auc_uncalibrated"] for t in trees)
    none = drift_runs["none"].card["selection"]["candidates"]
    gap_none = next(c for c in none if c["family"] == "logistic")["test_auc_uncalibrated"] - max(
        c["test_auc_uncalibrated"] for c in none if c["family"] == "lightgbm"
    )
    assert gap > 0.01 and gap > gap_none


def test_no_signal_model_does_not_beat_the_rules(drift_runs):
    card = drift_runs["no_signal"].card
    assert card["baselines"]["beats_rules"]["passed"] is False
    assert any("does not beat the rules" in w for w in card["warnings"])
    # With signal it does, and the report puts the rules and the logistic baseline beside the model.
    good = drift_runs["none"].card["baselines"]
    assert good["beats_rules"]["passed"] is True
    assert good["test"]["rules_auc"] < good["test"]["model_auc"]
    assert good["test"]["logistic_auc"] is not None


def test_drift_report_names_the_moving_feature_and_the_base_rates(drift_runs):
    drift = drift_runs["features"].card["drift"]
    assert drift["most_moved_features"][0]["feature"] == "web_visits_30d"
    rates = drift_runs["base_rate"].card["drift"]["base_rate"]
    assert rates["train"] < rates["validation"] < rates["test"]


def test_early_stopping_keeps_the_minimum_tree_count(drift_runs):
    for c in drift_runs["no_signal"].candidates:
        if c.family == "lightgbm":
            assert c.info["trees"] >= load_selection_config().lightgbm.minTrees


def test_ties_go_to_the_simpler_family(tmp_path):
    data = write_synthetic_training_set(tmp_path / "set", 4000, seed=8)
    config = load_selection_config().model_copy(update={"tieMargin": 1.0})
    result = run_training(data, tmp_path / "m", selection=config)
    assert result.chosen.family == "logistic"


def test_calendar_features_warn_and_can_be_excluded(tmp_path):
    data = write_synthetic_training_set(tmp_path / "set", 6000, seed=9, base_rate_drift=3.0, calendar=True)
    base = load_selection_config().model_copy(update={"families": ["lightgbm"]})
    warned = run_training(data, tmp_path / "with", selection=base).card
    assert "day_of_year" in warned["model"]["top_features"]
    assert any("calendar" in w for w in warned["warnings"])
    excluded = run_training(
        data, tmp_path / "without", selection=base.model_copy(update={"excludeCalendarFeatures": True})
    )
    card = excluded.card
    assert card["model"]["excluded_features"] == ["day_of_year"]
    assert "day_of_year" not in card["model"]["top_features"]
    dump = json.loads((tmp_path / "without" / "model.json").read_text())
    index = dump["feature_names"].index("day_of_year")
    splits = json.dumps([t["tree_structure"] for t in dump["tree_info"]])
    assert f'"split_feature": {index},' not in splits
    # Same input width as the spec: serving passes the column, the model ignores it.
    ts = load_training_set(data)
    x = ts.features[:50].copy()
    before = onnx_probabilities(tmp_path / "without" / "model.onnx", x)
    x[:, index] = 9999
    assert np.array_equal(before, onnx_probabilities(tmp_path / "without" / "model.onnx", x))


def test_unknown_excluded_feature_is_a_clear_error():
    with pytest.raises(ValueError, match="no_such_feature"):
        SelectionConfig(excludeFeatures=["no_such_feature"]).excluded_for(["a", "b"])
