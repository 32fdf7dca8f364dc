"""python -m leadrank_training.train --data <training-set dir> --out <model dir>

Time-ordered split, LightGBM with early stopping, calibration fitted on validation, ONNX export,
evaluation report, Python onnxruntime parity check and model card."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np

from .calibration import apply_calibration, choose_calibration
from .dataset import FEATURE_SPEC_FILE, TrainingSet, load_training_set
from .export import onnx_probabilities, opsets_of, save_onnx, to_onnx
from .model import DEFAULT_PARAMS, predict_raw, train_booster
from .model_card import INTENDED_USE, LIMITS, code_version, content_version
from .report import evaluate, write_report
from .split import Split, random_split, time_split

PARITY_TOLERANCE = 1e-5
log = logging.getLogger("leadrank_training")


def _window(ts: TrainingSet, rows: np.ndarray) -> dict:
    times = ts.frame["snapshot_at"].iloc[rows]
    y = ts.labels[rows]
    return {
        "from": times.min().isoformat(),
        "to": times.max().isoformat(),
        "rows": len(rows),
        "positives": int(y.sum()),
    }


def make_split(ts: TrainingSet, method: str, fractions: tuple[float, float, float]) -> Split:
    if method == "time":
        return time_split(ts.frame["snapshot_at"], fractions)
    if method == "random":
        return random_split(len(ts.frame), fractions)
    raise ValueError(f"unknown split {method!r}")


def python_parity(model_dir: Path, x: np.ndarray, expected: np.ndarray, calibration: dict) -> dict:
    """ONNX (Python onnxruntime, float32) + calibration.json vs LightGBM (float64) + calibration."""
    got = apply_calibration(calibration, onnx_probabilities(model_dir / "model.onnx", x))
    diff = float(np.max(np.abs(got - expected))) if len(x) else 0.0
    return {
        "python_onnxruntime": {
            "rows": len(x),
            "max_abs_diff": diff,
            "tolerance": PARITY_TOLERANCE,
            "passed": diff <= PARITY_TOLERANCE,
        }
    }


@dataclass(frozen=True)
class TrainingResult:
    card: dict
    booster: lgb.Booster
    calibration: dict
    calibration_candidates: dict[str, dict]
    split: Split


def run_training(
    data_dir: Path,
    out_dir: Path,
    split_method: str = "time",
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    params: dict | None = None,
) -> TrainingResult:
    """Trains, exports and evaluates; writes every artifact into out_dir."""
    ts = load_training_set(data_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = make_split(ts, split_method, fractions)
    y = ts.labels
    x = ts.features
    booster = train_booster(
        x[split.train],
        y[split.train],
        x[split.validation],
        y[split.validation],
        ts.feature_names,
        ts.categorical_indexes,
        params,
    )
    p_val = predict_raw(booster, x[split.validation])
    p_test_raw = predict_raw(booster, x[split.test])
    candidates, comparison = choose_calibration(p_val, y[split.validation], p_test_raw, y[split.test])
    calibration = candidates[comparison["chosen"]]
    p_test = apply_calibration(calibration, p_test_raw)

    onnx_model = to_onnx(booster, x.shape[1], {"feature_spec_hash": ts.spec["hash"]})
    save_onnx(onnx_model, out_dir / "model.onnx")
    (out_dir / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")
    (out_dir / "model.json").write_text(json.dumps(booster.dump_model()) + "\n", encoding="utf-8")
    (out_dir / SCORE_SCALE_FILE).write_text(
        json.dumps(score_scale(apply_calibration(calibration, p_val)), indent=2) + "\n", encoding="utf-8"
    )
    shutil.copyfile(data_dir / FEATURE_SPEC_FILE, out_dir / FEATURE_SPEC_FILE)
    version = content_version(out_dir)

    test_frame = ts.frame.iloc[split.test].reset_index(drop=True)
    report = evaluate(test_frame, y[split.test], p_test, p_test_raw)
    windows = {name: _window(ts, rows) for name, rows in split.parts().items()}
    context = {
        "model_version": version,
        "spec_name": ts.spec["name"],
        "spec_hash": ts.spec["hash"],
        "split": {"method": split.method, "fractions": list(fractions), **windows},
        "calibration_comparison": comparison,
    }
    write_report(out_dir, report, context)

    card = {
        "version": version,
        "created_by": "leadrank_training.train",
        "code_version": code_version(Path(__file__).resolve().parents[2]),
        "feature_spec": {"name": ts.spec["name"], "hash": ts.spec["hash"], "features": len(ts.feature_names)},
        "label": ts.spec["label"],
        "training_data": {"source": str(data_dir), "split": context["split"]},
        "model": {
            "type": "lightgbm",
            "trees": booster.num_trees(),
            "params": {**DEFAULT_PARAMS, **(params or {})},
            "categorical_features": [ts.feature_names[i] for i in ts.categorical_indexes],
            "onnx_opsets": opsets_of(onnx_model),
            "calibration": calibration["method"],
        },
        "metrics": {"test": report["overall"], "test_uncalibrated": report["uncalibrated"]},
        "calibration_comparison": comparison,
        "parity": python_parity(out_dir, x[split.test], p_test, calibration),
        "intended_use": INTENDED_USE,
        "limits": LIMITS,
        "artifacts": [
            "model.onnx",
            "calibration.json",
            SCORE_SCALE_FILE,
            "model.json",
            "feature-spec.json",
            "report.json",
            "report.md",
            "calibration.png",
            "gains.png",
        ],
    }
    (out_dir / "model_card.json").write_text(
        json.dumps(card, indent=2, allow_nan=False) + "\n", encoding="utf-8"
    )
    return TrainingResult(card, booster, calibration, candidates, split)


def parse_fractions(text: str) -> tuple[float, float, float]:
    parts = tuple(float(v) for v in text.split(","))
    if len(parts) != 3:
        raise argparse.ArgumentTypeError("expected three comma-separated fractions, e.g. 0.7,0.15,0.15")
    return parts  # type: ignore[return-value]


SCORE_SCALE_FILE = "score-scale.json"


def score_scale(p_reference: np.ndarray) -> dict:
    """The 0-100 score is the percentile of a lead's calibrated probability among the validation period's
    snapshots: conversions are rare, so probability x 100 would put nearly every lead in band D. Serving
    interpolates between these 101 quantiles (scoring-sidecar/src/model/score-scale.ts)."""
    return {
        "method": "percentile",
        "reference": "calibrated probabilities of the validation period",
        "rows": int(p_reference.size),
        "quantiles": [float(q) for q in np.quantile(p_reference, np.linspace(0.0, 1.0, 101))],
    }


def read_params(path: Path) -> dict:
    """LightGBM parameters from a JSON file's "lightgbm" object; unknown top-level keys are an error."""
    doc = json.loads(path.read_text())
    unknown = set(doc) - {"description", "lightgbm"}
    if unknown or not isinstance(doc.get("lightgbm"), dict):
        raise SystemExit(f"{path}: expected {{'description', 'lightgbm': {{...}}}}, got keys {sorted(doc)}")
    return doc["lightgbm"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leadrank_training.train", description=__doc__)
    parser.add_argument("--data", type=Path, required=True, help="training-set directory (contract format)")
    parser.add_argument("--out", type=Path, required=True, help="model directory to write")
    parser.add_argument("--split", choices=["time", "random"], default="time")
    parser.add_argument("--fractions", type=parse_fractions, default=(0.7, 0.15, 0.15))
    parser.add_argument(
        "--params",
        type=Path,
        help="JSON file of LightGBM parameters, e.g. config/training/lead-conversion.json",
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = read_params(args.params) if args.params else None
    card = run_training(args.data, args.out, args.split, args.fractions, params).card
    m = card["metrics"]["test"]
    log.info(
        json.dumps(
            {
                "msg": "model trained",
                "version": card["version"],
                "out": str(args.out),
                "split": args.split,
                "roc_auc": m["roc_auc"],
                "log_loss": m["log_loss"],
                "ece": m["ece"],
                "calibration": card["model"]["calibration"],
                "parity": card["parity"]["python_onnxruntime"]["max_abs_diff"],
            }
        )
    )
    return 0 if card["parity"]["python_onnxruntime"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
