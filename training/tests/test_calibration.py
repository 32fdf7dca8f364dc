import numpy as np
import pytest

from leadrank_training.calibration import (
    MAX_ISOTONIC_SLOPE,
    apply_calibration,
    choose_calibration,
    fit_isotonic,
    fit_platt,
)
from leadrank_training.metrics import expected_calibration_error


def overconfident_scores(n: int, seed: int):
    """True probabilities, labels drawn from them, and a model that is 2.5x too sure of itself."""
    rng = np.random.default_rng(seed)
    true_logit = rng.normal(-0.5, 1.2, n)
    y = (rng.random(n) < 1 / (1 + np.exp(-true_logit))).astype(int)
    return 1 / (1 + np.exp(-2.5 * true_logit)), y


@pytest.mark.parametrize("fit", [fit_platt, fit_isotonic])
def test_calibration_improves_ece_on_held_out_rows(fit):
    p_fit, y_fit = overconfident_scores(5000, seed=1)
    p_held, y_held = overconfident_scores(5000, seed=2)
    before = expected_calibration_error(y_held, p_held)
    after = expected_calibration_error(y_held, apply_calibration(fit(p_fit, y_fit), p_held))
    assert before > 0.05
    assert after < before / 2


def test_isotonic_is_monotone_and_slope_capped():
    p, y = overconfident_scores(8000, seed=3)
    cal = fit_isotonic(p, y)
    x, v = np.array(cal["x"]), np.array(cal["y"])
    assert np.all(np.diff(x) > 0) and np.all(np.diff(v) >= 0)
    assert np.max(np.diff(v) / np.diff(x)) <= MAX_ISOTONIC_SLOPE + 1e-9
    grid = np.linspace(0, 1, 1001)
    assert np.all(np.diff(apply_calibration(cal, grid)) >= 0)


def test_platt_recovers_the_distortion():
    p, y = overconfident_scores(20000, seed=4)
    cal = fit_platt(p, y)
    assert cal["a"] == pytest.approx(1 / 2.5, rel=0.1)


def test_choice_is_made_on_validation_and_reported_on_test():
    p_val, y_val = overconfident_scores(3000, seed=5)
    p_test, y_test = overconfident_scores(3000, seed=6)
    fitted, comparison = choose_calibration(p_val, y_val, p_test, y_test)
    assert comparison["chosen"] in ("platt", "isotonic")
    assert set(fitted) == {"platt", "isotonic"}
    for method in ("platt", "isotonic"):
        assert {"validation_cv_log_loss", "test_log_loss", "test_ece"} <= set(comparison[method])
    assert comparison["uncalibrated"]["test_ece"] > comparison[comparison["chosen"]]["test_ece"]
    # Same inputs without the test rows give the same choice: the test period does not influence it.
    _, without_test = choose_calibration(p_val, y_val)
    assert without_test["chosen"] == comparison["chosen"]
