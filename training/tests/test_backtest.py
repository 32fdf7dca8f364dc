"""Rolling backtest on synthetic data whose conversion drivers change over time."""

import json

import numpy as np
import pytest

from leadrank_training.backtest import area_under_gains, main, run_backtest
from leadrank_training.synthetic import write_synthetic_training_set


def test_area_under_gains_is_half_for_random_order_and_higher_for_a_perfect_one():
    rng = np.random.default_rng(1)
    y = (rng.random(20000) < 0.2).astype(int)
    assert area_under_gains(y, rng.random(20000)) == pytest.approx(0.5, abs=0.01)
    assert area_under_gains(y, y.astype(float)) == pytest.approx(1 - 0.2 / 2, abs=0.01)
    assert area_under_gains(np.zeros(5, dtype=int), np.arange(5.0)) is None


@pytest.fixture(scope="module")
def drifting(tmp_path_factory):
    return write_synthetic_training_set(
        tmp_path_factory.mktemp("bt") / "set", 9000, seed=21, effect_drift=2.0, base_rate_drift=1.5
    )


def test_rolling_retraining_beats_a_single_fit_under_drift(drifting):
    report = run_backtest(drifting, window_days=90, step_days=60)
    assert len(report["steps"]) >= 4
    pooled = report["pooled"]
    assert set(pooled) == {"rolling", "lightgbm", "logistic", "single_fit", "rules"}
    assert pooled["rolling"]["roc_auc"] > pooled["single_fit"]["roc_auc"] + 0.02
    assert pooled["rolling"]["area_under_gains"] > pooled["single_fit"]["area_under_gains"]
    assert pooled["rolling"]["ece"] < pooled["single_fit"]["ece"]
    assert pooled["rules"]["ece"] is None  # a 0-100 rules score is not a probability
    last = report["steps"][-1]["scores"]
    assert last["rolling"]["roc_auc"] > last["single_fit"]["roc_auc"]


def test_cli_writes_the_report_and_refuses_a_window_longer_than_the_data(drifting, tmp_path, capsys):
    out = tmp_path / "bt.json"
    assert (
        main(["--data", str(drifting), "--window-days", "200", "--step-days", "120", "--out", str(out)]) == 0
    )
    printed = capsys.readouterr().out
    assert "| pooled | ROC-AUC | area under gains | ECE |" in printed and "single_fit" in printed
    assert json.loads(out.read_text())["steps"]
    assert main(["--data", str(drifting), "--window-days", "400", "--step-days", "30"]) == 2
    assert "no step fits" in capsys.readouterr().err
