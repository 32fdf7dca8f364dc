"""Scheduled retraining: config validation and one run of the command end to end."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pyarrow as pa
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

REPO = Path(__file__).resolve().parents[2]
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


# --- deal (opportunity) models -------------------------------------------------------------------------
DEAL = {**VALID, "horizonDays": 90, "minRows": 1000, "minHoldoutRows": 500}


def write_deal_set(directory: Path, rows: int, seed: int) -> Path:
    """A deal training set as `leadrank opportunities training-set --region US` writes one: the
    opportunity-win spec (90-day label horizon), every row of US, residency.json naming US."""
    data = write_synthetic_training_set(directory, rows=rows, seed=seed)
    spec = json.loads((data / "feature-spec.json").read_text())
    spec["name"] = "opportunity-win"
    spec["label"]["horizonDays"] = 90
    (data / "feature-spec.json").write_text(json.dumps(spec))
    table = pq.read_table(data / "training-set.parquet")
    index = table.schema.get_field_index("seg_region")
    table = table.set_column(index, "seg_region", pa.array(["US"] * table.num_rows, type=pa.string()))
    pq.write_table(table, data / "training-set.parquet")
    (data / "residency.json").write_text(json.dumps({"region": "US", "pooled": False}))
    return data


@pytest.fixture(scope="module")
def deals(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_deal_set(tmp_path_factory.mktemp("retrain-deals") / "data", rows=12_000, seed=6)


def test_the_repository_config_retrains_deals_on_their_own_schedule():
    config = load_config(DEFAULT_CONFIG)
    deal = config.for_target("opportunity")
    assert deal is not None and deal is config.targets.opportunity
    assert config.for_target("lead") is config
    # The deal spec's label horizon (config/features/opportunity.json), so a deal set passes split_window.
    spec = json.loads((DEFAULT_CONFIG.parent / "features" / "opportunity.json").read_text())
    assert deal.horizonDays == spec["training"]["horizonDays"]
    assert deal.schedule.cron != config.schedule.cron


@pytest.mark.parametrize(
    ("targets", "message"),
    [
        ({"opportunity": {**DEAL, "minRows": 0}}, r"targets\.opportunity\.minRows"),
        (
            {"opportunity": {**DEAL, "schedule": {"cron": "every monday"}}},
            r"targets\.opportunity\.schedule\.cron",
        ),
        (
            {"opportunity": {**DEAL, "holdoutDays": 400}},
            r"targets\.opportunity\n.*holdoutDays must be shorter",
        ),
        ({"deals": DEAL}, r"targets\.deals\n.*Extra inputs are not permitted"),
    ],
)
def test_a_bad_target_entry_is_refused_naming_the_file_and_field(tmp_path, targets, message):
    path = write_config(tmp_path, targets=targets)
    with pytest.raises(ValueError, match=message) as raised:
        load_config(path)
    assert str(path) in str(raised.value)
    # The command says the same and stops before touching any data or registry (exit 2).
    assert main(["--config", str(path), "--target", "opportunity", "--show-schedule"]) == EXIT_BAD_INPUT


def test_deal_retraining_without_a_configured_target_is_refused(tmp_path, capsys):
    path = write_config(tmp_path)
    assert main(["--config", str(path), "--target", "opportunity", "--show-schedule"]) == EXIT_BAD_INPUT
    assert f"{path} has no targets.opportunity" in capsys.readouterr().err
    assert main(["--config", str(path), "--show-schedule"]) == 0


def test_a_deal_run_registers_in_the_regions_deal_registry_and_passes_the_deal_gate(
    deals, data, tmp_path, capsys
):
    root = tmp_path / "registry"
    servable = tmp_path / "servable.json"
    servable.write_text(json.dumps(SERVABLE))
    config = write_config(tmp_path, targets={"opportunity": DEAL})
    common = ["--config", str(config), "--registry", root.as_uri(), "--region", "US"]
    # A lead set is not retrained as a deal model: refused before training, nothing registered.
    wrong = [*common, "--target", "opportunity", "--data", str(data), "--work-dir", str(tmp_path / "lead")]
    assert main([*wrong, "--servable-features", str(servable)]) == EXIT_BAD_INPUT
    assert "is a lead training set; retraining --target opportunity" in capsys.readouterr().err
    assert not root.exists()

    run = [*common, "--target", "opportunity", "--data", str(deals), "--servable-features", str(servable)]
    assert main([*run, "--work-dir", str(tmp_path / "run")]) == EXIT_PROMOTED
    summary = json.loads((tmp_path / "run" / "retrain.json").read_text())
    version = summary["version"]
    assert summary["target"] == "opportunity"
    assert summary["registry"].endswith("/regions/US/targets/opportunity")
    deal_registry = ModelRegistry.open(root.as_uri(), "US", "opportunity")
    assert deal_registry.alias_version("champion") == deal_registry.alias_version("challenger") == version
    assert [e["action"] for e in deal_registry.alias_log()] == ["retrain", "promote"]
    # Trained with config/training/opportunity-win.json, judged by the deal gate.
    assert summary["params"] == str(REPO / "config" / "training" / "opportunity-win.json")
    card = deal_registry.card(version)
    if card["model"]["type"] != "logistic":  # a tree model carries the deal parameters (4 leaves)
        assert card["model"]["params"]["num_leaves"] == 4
    assert card["residency"]["region"] == "US"
    gate = json.loads((tmp_path / "run" / "promotion" / "promotion.json").read_text())
    assert gate["target"] == "opportunity" and gate["rules"]["max_ece"] >= 0.03
    # Only the US deal registry holds it: not the US lead registry, not the root, not the EU registry.
    assert ModelRegistry.open(root.as_uri(), "US").versions() == []
    assert ModelRegistry.open(root.as_uri()).versions() == []
    assert ModelRegistry.open(root.as_uri(), target="opportunity").versions() == []
    assert ModelRegistry.open(root.as_uri(), "EU", "opportunity").versions() == []
    # The EU registry refuses a US deal set (residency) before training: exit 2, nothing registered there.
    eu = ["--config", str(config), "--registry", root.as_uri(), "--region", "EU", "--target", "opportunity"]
    capsys.readouterr()
    assert main([*eu, "--data", str(deals), "--work-dir", str(tmp_path / "eu")]) == EXIT_BAD_INPUT
    assert "holds US rows; the EU registry takes only EU (or pooled) models" in capsys.readouterr().err
    assert not (tmp_path / "eu" / "model").exists()
    assert not (root / "regions" / "EU").exists()
