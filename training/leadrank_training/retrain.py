"""Scheduled retraining, one run: window the data, train, register as `challenger`, run the promotion gate.

python -m leadrank_training.retrain --data <training-set dir> --servable-features <file.json>
        [--config config/retraining.json] [--registry URL] [--work-dir DIR] [--as-of ISO-TIME]
python -m leadrank_training.retrain --show-schedule [--config ...]

The most recent `holdoutDays` of the window are held out for the gate (the challenger never trains on them);
the rest (`dataWindowDays` - `holdoutDays`) is split train / validation / test as in `train`.
Exit code: 0 promoted, 1 trained but not promoted (the reasons are printed), 2 bad config or usage,
3 not enough rows. The schedule (`schedule.cron`) is run by whatever runs the command; see docs/model.md."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .dataset import FEATURE_SPEC_FILE, TRAINING_SET_FILE, read_feature_spec
from .promote import GateResult, read_servable_features, run_gate
from .registry import ModelRegistry, RegistryError
from .registry_store import REPO_ROOT
from .train import run_training

DEFAULT_CONFIG = REPO_ROOT / "config" / "retraining.json"
DEFAULT_WORK_ROOT = REPO_ROOT / "var" / "retrain"
EXIT_PROMOTED, EXIT_NOT_PROMOTED, EXIT_BAD_INPUT, EXIT_TOO_FEW_ROWS = 0, 1, 2, 3
log = logging.getLogger("leadrank_training")


class Schedule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    cron: str
    timezone: str = "UTC"

    @field_validator("cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        if len(value.split()) != 5 or not croniter.is_valid(value):
            raise ValueError(f"not a 5-field cron expression: {value!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _valid_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise ValueError(f"unknown time zone {value!r}") from err
        return value

    def next_runs(self, after: datetime, count: int = 3) -> list[datetime]:
        it = croniter(self.cron, after.astimezone(ZoneInfo(self.timezone)))
        return [it.get_next(datetime) for _ in range(count)]


class RetrainingConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    schedule: Schedule
    dataWindowDays: int = Field(gt=0)
    holdoutDays: int = Field(gt=0)
    horizonDays: int = Field(gt=0)
    minRows: int = Field(gt=0)
    minHoldoutRows: int = Field(gt=0)
    split: Literal["time", "random"] = "time"
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)

    @model_validator(mode="after")
    def _consistent(self) -> RetrainingConfig:
        if self.holdoutDays >= self.dataWindowDays:
            raise ValueError("holdoutDays must be shorter than dataWindowDays")
        if any(f <= 0 for f in self.fractions) or abs(sum(self.fractions) - 1) > 1e-9:
            raise ValueError("fractions must be three positive numbers summing to 1")
        return self


def load_config(path: Path = DEFAULT_CONFIG) -> RetrainingConfig:
    """Raises ValueError naming every invalid field."""
    try:
        return RetrainingConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as err:
        raise ValueError(f"{path}: {err}") from err


@dataclass(frozen=True)
class RetrainResult:
    exit_code: int
    message: str
    version: str | None = None
    gate: GateResult | None = None
    summary: dict | None = None


def split_window(
    data_dir: Path, config: RetrainingConfig, work_dir: Path, as_of: datetime | None = None
) -> tuple[Path, Path, dict]:
    """Writes <work>/train and <work>/holdout (contract format) from the configured window of data_dir.
    With as_of, rows whose label is not final yet (snapshot later than as_of - horizon) are left out."""
    spec = read_feature_spec(data_dir)
    if spec["label"]["horizonDays"] != config.horizonDays:
        raise ValueError(
            f"the training set's label horizon is {spec['label']['horizonDays']} days, the config says "
            f"{config.horizonDays}"
        )
    table = pq.read_table(data_dir / TRAINING_SET_FILE)
    times = pd.to_datetime(table.column("snapshot_at").to_pandas(), utc=True)
    end = times.max()
    if as_of is not None:
        end = min(end, pd.Timestamp(as_of) - pd.Timedelta(days=config.horizonDays))
    window_start = end - pd.Timedelta(days=config.dataWindowDays)
    holdout_start = end - pd.Timedelta(days=config.holdoutDays)
    in_train = ((times > window_start) & (times <= holdout_start)).to_numpy()
    in_holdout = ((times > holdout_start) & (times <= end)).to_numpy()
    parts = {"train": in_train, "holdout": in_holdout}
    for name, mask in parts.items():
        out = work_dir / name
        out.mkdir(parents=True, exist_ok=True)
        pq.write_table(table.filter(pa.array(mask)), out / TRAINING_SET_FILE)
        shutil.copyfile(data_dir / FEATURE_SPEC_FILE, out / FEATURE_SPEC_FILE)
    summary = {
        "window": {"from": window_start.isoformat(), "to": end.isoformat()},
        "holdout_from": holdout_start.isoformat(),
        "train_rows": int(in_train.sum()),
        "holdout_rows": int(in_holdout.sum()),
    }
    return work_dir / "train", work_dir / "holdout", summary


def run_retrain(
    data_dir: Path,
    registry: ModelRegistry,
    config: RetrainingConfig,
    servable_features: list[dict] | None,
    work_dir: Path,
    as_of: datetime | None = None,
) -> RetrainResult:
    train_dir, holdout_dir, summary = split_window(data_dir, config, work_dir, as_of)
    if summary["train_rows"] < config.minRows or summary["holdout_rows"] < config.minHoldoutRows:
        return RetrainResult(
            EXIT_TOO_FEW_ROWS,
            f"not enough rows: {summary['train_rows']} to train (min {config.minRows}), "
            f"{summary['holdout_rows']} holdout (min {config.minHoldoutRows})",
            summary=summary,
        )
    training = run_training(train_dir, work_dir / "model", config.split, config.fractions)
    version = registry.register(work_dir / "model").version
    summary["version"] = version
    reason = f"scheduled retrain on {summary['window']['from']}..{summary['holdout_from']}"
    registry.set_alias("challenger", version, reason, action="retrain")
    try:
        gate = run_gate(
            registry, holdout_dir, servable_features, challenger=version, report_dir=work_dir / "promotion"
        )
    except RegistryError as err:  # e.g. the same data gave the champion's exact version
        return RetrainResult(EXIT_NOT_PROMOTED, f"not promoted: {err}", version, summary=summary)
    summary.update(
        {
            "test_metrics": training.card["metrics"]["test"],
            "promoted": gate.promoted,
            "reasons": gate.reasons,
            "champion_before": gate.champion,
            "report": str(gate.report_dir),
        }
    )
    verdict = "promoted" if gate.promoted else "not promoted"
    return RetrainResult(
        EXIT_PROMOTED if gate.promoted else EXIT_NOT_PROMOTED, f"{version} {verdict}", version, gate, summary
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leadrank_training.retrain",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, help="training-set directory (contract format)")
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--registry")
    parser.add_argument("--region", choices=("US", "EU"), help="the region's registry (regions/<region>/)")
    parser.add_argument("--servable-features", type=Path)
    parser.add_argument("--work-dir", type=Path, help="default var/retrain/<utc time>")
    parser.add_argument("--as-of", type=datetime.fromisoformat, help="drop rows whose label is not final yet")
    parser.add_argument("--show-schedule", action="store_true", help="print the next runs and exit")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    try:
        config = load_config(args.config)
    except (OSError, ValueError) as err:
        print(f"invalid retraining config: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    if args.show_schedule:
        runs = config.schedule.next_runs(datetime.now(UTC))
        print(
            json.dumps({"cron": config.schedule.cron, "next_runs": [r.isoformat() for r in runs]}, indent=2)
        )
        return 0
    if args.data is None:
        parser.error("--data is required")
    work_dir = args.work_dir or DEFAULT_WORK_ROOT / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    servable = read_servable_features(args.servable_features) if args.servable_features else None
    try:
        result = run_retrain(
            args.data, ModelRegistry.open(args.registry, args.region), config, servable, work_dir, args.as_of
        )
    except ValueError as err:
        print(f"refused: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    work_dir.mkdir(parents=True, exist_ok=True)
    (work_dir / "retrain.json").write_text(
        json.dumps(
            {"exit_code": result.exit_code, "message": result.message, **(result.summary or {})},
            indent=2,
            default=str,
        )
        + "\n",
        encoding="utf-8",
    )
    print(result.message)
    for reason in result.gate.reasons if result.gate else []:
        print(f"  - {reason}")
    return result.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
