import numpy as np
import pandas as pd
import pytest

from leadrank_training.split import random_split, time_split


def test_time_split_is_ordered_without_overlap():
    rng = np.random.default_rng(3)
    times = pd.Series(
        pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(rng.random(1000) * 100, unit="D")
    )
    split = time_split(times, (0.7, 0.15, 0.15))
    parts = [times.iloc[split.train], times.iloc[split.validation], times.iloc[split.test]]
    assert parts[0].max() < parts[1].min()
    assert parts[1].max() < parts[2].min()
    all_rows = np.concatenate([split.train, split.validation, split.test])
    assert sorted(all_rows.tolist()) == list(range(1000))
    assert abs(len(split.train) - 700) <= 1 and abs(len(split.test) - 150) <= 1


def test_rows_sharing_a_timestamp_stay_together():
    times = pd.Series(pd.to_datetime(["2024-01-01"] * 6 + ["2024-01-02"] * 2 + ["2024-01-03"] * 2, utc=True))
    split = time_split(times, (0.5, 0.3, 0.2))
    assert split.train.tolist() == [0, 1, 2, 3, 4, 5]
    assert split.validation.tolist() == [6, 7]
    assert split.test.tolist() == [8, 9]


def test_time_split_refuses_empty_parts_and_bad_fractions():
    same = pd.Series(pd.to_datetime(["2024-01-01"] * 10, utc=True))
    with pytest.raises(ValueError, match="empty"):
        time_split(same)
    with pytest.raises(ValueError, match="fractions"):
        time_split(same, (0.5, 0.5, 0.5))


def test_random_split_partitions_deterministically():
    a, b = random_split(500, seed=1), random_split(500, seed=1)
    assert np.array_equal(a.test, b.test)
    assert len(set(a.train) & set(a.test)) == 0
    assert len(a.train) + len(a.validation) + len(a.test) == 500
