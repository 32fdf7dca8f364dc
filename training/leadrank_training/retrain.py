"""Scheduled retraining, one run: window the data, train, register as `challenger`, run the promotion gate.

python -m leadrank_training.retrain --data <training-set dir> --servable-features <file.json>
        [--target lead|opportunity] [--config config/retraining.json] [--registry URL] [--region US|EU]
        [--work-dir DIR] [--as-of ISO-TIME]
python -m leadrank_training.retrain --show-schedule [--target ...] [--config ...]

The most recent `holdoutDays` of the window are held out for the gate (the challenger never trains on them);
the rest (`dataWindowDays` - `holdoutDays`) is split train / validation / test as in `train`.
Targets: lead models (the default) use the top-level settings of the config; deal models (--target
opportunity, a set `leadrank opportunities training-set` built) use `targets.opportunity` of it, train with
config/training/opportunity-win.json, register in the opportunity registry (targets/opportunity/, after
regions/<region>/) and pass the deal gate (model-selection.json gate.opportunity). A config without
`targets.opportunity` does not retrain deal models (exit 2 for --target opportunity).
Exit code: 0 promoted, 1 trained but not promoted (the reasons are printed), 2 bad config or usage,
3 not enough rows. `leadrank worker --roles scheduler` runs each target on its `schedule.cron`
(docs/batch.md); anything else that runs the command on the cron works too (docs/model.md)."""

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
from .registry import TARGETS, ModelRegistry, RegistryError, model_target
from .registry_store import REPO_ROOT
from .train import RESIDENCY_FILE, feature_spec_block, read_params, run_training

DEFAULT_CONFIG = REPO_ROOT / "config" / "retraining.json"
DEFAULT_WORK_ROOT = REPO_ROOT / "var" / "retrain"
# The training parameters of each target (None: the trainer's defaults, as lead retraining always used).
TARGET_PARAMS: dict[str, Path | None] = {
    "lead": None,
    "opportunity": REPO_ROOT / "config" / "training" / "opportunity-win.json",
}
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


class TargetRetraining(BaseModel):
    """One target's retraining: its schedule, data window, holdout and minimum rows."""

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
    def _consistent(self) -> TargetRetraining:
        if self.holdoutDays >= self.dataWindowDays:
            raise ValueError("holdoutDays must be shorter than dataWindowDays")
        if any(f <= 0 for f in self.fractions) or abs(sum(self.fractions) - 1) > 1e-9:
            raise ValueError("fractions must be three positive numbers summing to 1")
        return self


class Targets(BaseModel):
    """Targets other than lead (the top level of the file): each is retrained only when configured."""

    model_config = ConfigDict(extra="forbid")
    opportunity: TargetRetraining | None = None


class RetrainingConfig(TargetRetraining):
    """config/retraining.json: the lead target's settings at the top level, other targets under `targets`."""

    targets: Targets = Targets()

    def for_target(self, target: str) -> TargetRetraining | None:
        if target not in TARGETS:
            raise ValueError(f"target must be one of {', '.join(TARGETS)}, not {target!r}")
        return self if target == "lead" else getattr(self.targets, target)


def load_config(path: Path = DEFAULT_CONFIG) -> RetrainingConfig:
    """Raises ValueError naming every invalid field."""
    try:
        return RetrainingConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as err:
        raise ValueError(f"{path}: {err}") from err


def read_residency(data_dir: Path) -> dict:
    """The training set's residency.json ({} for a set built before it was recorded)."""
    path = data_dir / RESIDENCY_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}


@dataclass(frozen=True)
class RetrainResult:
    exit_code: int
    message: str
    version: str | None = None
    gate: GateResult | None = None
    summary: dict | None = None


def split_window(
    data_dir: Path, config: TargetRetraining, work_dir: Path, as_of: datetime | None = None
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
        # The set's region goes with its parts: the trainer copies it to the card, and a region's registry
        # takes only that region's models.
        if (data_dir / RESIDENCY_FILE).exists():
            shutil.copyfile(data_dir / RESIDENCY_FILE, out / RESIDENCY_FILE)
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
    config: TargetRetraining,
    servable_features: list[dict] | None,
    work_dir: Path,
    as_of: datetime | None = None,
) -> RetrainResult:
    """Trains the registry's target (lead or opportunity) on data_dir, which must be a set of that target."""
    found = model_target({"feature_spec": feature_spec_block(read_feature_spec(data_dir))})
    if found != registry.target:
        article = "an" if found[0] in "aeiou" else "a"
        raise ValueError(
            f"{data_dir} is {article} {found} training set; retraining --target {registry.target} needs "
            + (
                "one from leadrank opportunities training-set"
                if registry.target == "opportunity"
                else "a lead set"
            )
        )
    declared = read_residency(data_dir)
    if (
        registry.region is not None
        and not declared.get("pooled")
        and declared.get("region") != registry.region
    ):
        raise ValueError(
            f"{data_dir} holds {declared.get('region') or 'unrecorded'} rows; the {registry.region} registry "
            f"takes only {registry.region} (or pooled) models"
        )
    train_dir, holdout_dir, summary = split_window(data_dir, config, work_dir, as_of)
    if summary["train_rows"] < config.minRows or summary["holdout_rows"] < config.minHoldoutRows:
        return RetrainResult(
            EXIT_TOO_FEW_ROWS,
            f"not enough rows: {summary['train_rows']} to train (min {config.minRows}), "
            f"{summary['holdout_rows']} holdout (min {config.minHoldoutRows})",
            summary=summary,
        )
    params_file = TARGET_PARAMS[registry.target]
    params = read_params(params_file) if params_file is not None else None
    training = run_training(train_dir, work_dir / "model", config.split, config.fractions, params)
    version = registry.register(work_dir / "model").version
    summary.update(
        {
            "version": version,
            "target": registry.target,
            "registry": registry.url,
            "params": None if params_file is None else str(params_file),
        }
    )
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
    parser.add_argument(
        "--target",
        choices=TARGETS,
        default="lead",
        help="lead (default) or opportunity: deal models, config targets.opportunity, targets/opportunity/",
    )
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
    target_config = config.for_target(args.target)
    if target_config is None:
        print(
            f"invalid retraining config: {args.config} has no targets.{args.target}: "
            f"{args.target} models are not retrained",
            file=sys.stderr,
        )
        return EXIT_BAD_INPUT
    if args.show_schedule:
        schedule = target_config.schedule
        runs = schedule.next_runs(datetime.now(UTC))
        print(
            json.dumps(
                {"target": args.target, "cron": schedule.cron, "next_runs": [r.isoformat() for r in runs]},
                indent=2,
            )
        )
        return 0
    if args.data is None:
        parser.error("--data is required")
    work_dir = args.work_dir or DEFAULT_WORK_ROOT / datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    servable = read_servable_features(args.servable_features) if args.servable_features else None
    try:
        registry = ModelRegistry.open(args.registry, args.region, args.target)
        result = run_retrain(args.data, registry, target_config, servable, work_dir, args.as_of)
    except (ValueError, RegistryError) as err:
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
