import numpy as np
import pytest

from leadrank_training.metrics import expected_calibration_error, lift_and_capture, score_metrics


def test_ece_uses_equal_mass_bins():
    # Two bins of 2 rows: mean p 0.1 vs rate 0.5, and mean p 0.8 vs rate 0.5 -> 0.5*0.4 + 0.5*0.3.
    y = np.array([0, 1, 1, 0])
    p = np.array([0.1, 0.1, 0.8, 0.8])
    assert expected_calibration_error(y, p, bins=2) == pytest.approx(0.35)
    assert expected_calibration_error(np.array([0, 1]), np.array([0.0, 1.0]), bins=2) == pytest.approx(0.0)


def test_lift_and_capture_at_top_fraction():
    y = np.array([1, 0, 1, 0, 0, 0, 0, 0, 0, 1])
    score = np.arange(10, 0, -1, dtype=float)  # row 0 is best
    lift, capture = lift_and_capture(y, score, 0.2)  # top 2 rows: one positive
    assert lift == pytest.approx(0.5 / 0.3)
    assert capture == pytest.approx(1 / 3)


def test_score_metrics_handles_one_class_and_non_probabilities():
    m = score_metrics(np.array([0, 0, 0]), np.array([0.2, 0.4, 0.1]))
    assert m["roc_auc"] is None and m["log_loss"] is not None
    r = score_metrics(np.array([0, 1, 1]), np.array([10.0, 50.0, 90.0]), probabilistic=False)
    assert r["roc_auc"] == pytest.approx(1.0) and r["ece"] is None
