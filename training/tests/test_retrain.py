"""Scheduled retraining: config validation and one run of the command end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from leadrank_training.registry import ModelRegistry
from leadrank_training.retrain import (
    DEFAULT_CONFIG,
    EXIT_BAD_INPUT,
    EXIT_NOT_PROMOTED,
    EXIT_PROMOTED,
    EXIT_TOO_FEW_ROWS,
    RetrainingConfig,
    load_config,
    main,
    split_window,
)
from leadrank_training.synthetic import FEATURES, write_synthetic_training_set

SERVABLE = [{"name": f["name"], "kind": f["kind"]} for f in FEATURES]
VALID = {
    "schedule": {"cron": "0 3 * * 1", "timezone": "UTC"},
    "dataWindowDays": 300,
    "holdoutDays": 90,
    "horizonDays": 30,
    "minRows": 2000,
    "minHoldoutRows": 5000,
}


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_training_set(tmp_path_factory.mktemp("retrain") / "data", rows=30_000, seed=4)


def write_config(tmp_path: Path, **changes) -> Path:
    path = tmp_path / "retraining.json"
    path.write_text(json.dumps({**VALID, **changes}))
    return path


def test_the_repository_config_is_valid_and_schedules_weekly():
    config = load_config(DEFAULT_CONFIG)
    runs = config.schedule.next_runs(datetime(2026, 1, 1, tzinfo=UTC))
    assert [(r - runs[0]).days for r in runs] == [0, 7, 14]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"schedule": {"cron": "0 3 * *"}}, "cron"),
        ({"schedule": {"cron": "0 3 * * 1", "timezone": "Mars/Olympus"}}, "time zone"),
        ({"minRows": 0}, "minRows"),
        ({"holdoutDays": 400}, "holdoutDays must be shorter"),
        ({"fractions": [0.5, 0.2, 0.2]}, "fractions"),
        ({"windowDays": 30}, "windowDays"),
    ],
)
def test_invalid_configs_are_rejected_at_load(tmp_path, changes, message):
    with pytest.raises(ValueError, match=message):
        load_config(write_config(tmp_path, **changes))


def test_the_window_holds_out_the_most_recent_days(data, tmp_path):
    config = RetrainingConfig.model_validate(VALID)
    train, holdout, summary = split_window(data, config, tmp_path)
    train_times = pq.read_table(train / "training-set.parquet").column("snapshot_at").to_pandas()
    holdout_times = pq.read_table(holdout / "training-set.parquet").column("snapshot_at").to_pandas()
    assert train_times.max() <= pd.Timestamp(summary["holdout_from"]) < holdout_times.min()
    assert holdout_times.max() - holdout_times.min() <= pd.Timedelta(days=90)
    assert train_times.max() - train_times.min() <= pd.Timedelta(days=210)
    assert summary["train_rows"] == len(train_times) and summary["holdout_rows"] == len(holdout_times)
    # as_of drops rows whose 30-day label is not final yet.
    as_of = holdout_times.max().to_pydatetime()
    _, late, _ = split_window(data, config, tmp_path / "as-of", as_of=as_of)
    late_times = pq.read_table(late / "training-set.parquet").column("snapshot_at").to_pandas()
    assert late_times.max() <= holdout_times.max() - pd.Timedelta(days=30)


def test_a_run_trains_registers_and_promotes_then_reports(data, tmp_path, capsys):
    registry_url = (tmp_path / "registry").as_uri()
    servable = tmp_path / "servable.json"
    servable.write_text(json.dumps(SERVABLE))
    args = [
        "--data",
        str(data),
        "--config",
        str(write_config(tmp_path)),
        "--registry",
        registry_url,
        "--servable-features",
        str(servable),
    ]
    assert main([*args, "--work-dir", str(tmp_path / "run1")]) == EXIT_PROMOTED
    registry = ModelRegistry.open(registry_url)
    summary = json.loads((tmp_path / "run1" / "retrain.json").read_text())
    version = summary["version"]
    assert registry.alias_version("champion") == registry.alias_version("challenger") == version
    assert [e["action"] for e in registry.alias_log()] == ["retrain", "promote"]
    assert summary["promoted"] is True and summary["champion_before"] is None
    assert (tmp_path / "run1" / "promotion" / "promotion.md").exists()
    # Same data and config: the same version, which is already the champion, so nothing is promoted.
    assert main([*args, "--work-dir", str(tmp_path / "run2")]) == EXIT_NOT_PROMOTED
    assert "already the champion" in capsys.readouterr().out
    assert registry.alias_version("champion") == version


def test_a_run_with_a_worse_model_is_not_promoted(data, tmp_path, capsys):
    registry_url = (tmp_path / "registry").as_uri()
    servable = tmp_path / "servable.json"
    servable.write_text(json.dumps(SERVABLE))
    config = write_config(tmp_path)
    common = ["--data", str(data), "--config", str(config), "--registry", registry_url]
    assert main([*common, "--servable-features", str(servable), "--work-dir", str(tmp_path / "a")]) == 0
    champion = ModelRegistry.open(registry_url).alias_version("champion")
    # A shorter window gives a different model; without the serving feature list the gate must refuse it.
    shorter = write_config(tmp_path, dataWindowDays=250)
    code = main(
        [
            "--data",
            str(data),
            "--config",
            str(shorter),
            "--registry",
            registry_url,
            "--work-dir",
            str(tmp_path / "b"),
        ]
    )
    assert code == EXIT_NOT_PROMOTED
    assert "--servable-features" in capsys.readouterr().out
    registry = ModelRegistry.open(registry_url)
    assert registry.alias_version("champion") == champion != registry.alias_version("challenger")


def test_too_few_rows_and_a_horizon_mismatch_are_refused(data, tmp_path):
    base = ["--data", str(data), "--registry", (tmp_path / "registry").as_uri()]
    few = write_config(tmp_path, minRows=100_000)
    assert main([*base, "--config", str(few), "--work-dir", str(tmp_path / "few")]) == EXIT_TOO_FEW_ROWS
    assert ModelRegistry.open((tmp_path / "registry").as_uri()).versions() == []
    horizon = write_config(tmp_path, horizonDays=14)
    assert main([*base, "--config", str(horizon), "--work-dir", str(tmp_path / "h")]) == EXIT_BAD_INPUT
