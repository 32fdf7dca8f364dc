"""python -m leadrank_training.train --data <training-set dir> --out <model dir>

Time-ordered split; candidates (LightGBM grid with early stopping on AUC, logistic regression) chosen on
the validation window; calibration that keeps the ranking, fitted on validation with a prior correction;
ONNX export, evaluation report with the rules and logistic baselines and a drift report, Python onnxruntime
parity check and model card."""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import lightgbm as lgb
import numpy as np

from .calibration import apply_calibration, choose_calibration, prior_correction, recent_rows
from .dataset import BASELINE_COLUMN, FEATURE_SPEC_FILE, TrainingSet, load_training_set
from .export import onnx_probabilities, opsets_of, save_onnx, to_onnx
from .linear import LinearModel, linear_to_onnx
from .model_card import INTENDED_USE, LIMITS, code_version, content_version
from .report import evaluate, write_report
from .selection import (
    Candidate,
    SelectionConfig,
    auc_or_half,
    auc_standard_error,
    choose,
    drift_report,
    load_selection_config,
    top_features,
    train_candidates,
)
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
    booster: lgb.Booster | None  # the chosen model when it is LightGBM
    calibration: dict
    calibration_candidates: dict[str, dict]
    split: Split
    chosen: Candidate
    candidates: list[Candidate]


def calibrate(
    p_val: np.ndarray, y_val: np.ndarray, val_times: np.ndarray, p_test: np.ndarray, y_test: np.ndarray
) -> tuple[dict, dict[str, dict], dict]:
    """Chooses Platt (slope >= 0) or isotonic on validation (the most recent labelled window before test),
    then corrects the prior to the base rate of the latest half of validation when it has shifted."""
    candidates, comparison = choose_calibration(p_val, y_val, p_test, y_test)
    recent = recent_rows(val_times)
    calibration, prior = prior_correction(candidates[comparison["chosen"]], p_val[recent], y_val[recent])
    comparison["prior_correction"] = prior
    return calibration, candidates, comparison


def ranking_check(y: np.ndarray, p_raw: np.ndarray, p_cal: np.ndarray, tolerance: float) -> dict:
    """Calibration must keep the ranking: calibrated AUC not below raw AUC by more than `tolerance`."""
    raw, cal = auc_or_half(y, p_raw), auc_or_half(y, p_cal)
    return {"raw_auc": raw, "calibrated_auc": cal, "tolerance": tolerance, "passed": cal >= raw - tolerance}


def baselines(frame, y: np.ndarray, p_model: np.ndarray, logistic_p: np.ndarray | None) -> dict:
    """The rules' AUC (baseline_score; 0.5 = no rules score in the data: unranked) and the logistic
    baseline beside the chosen model, on the same rows."""
    out: dict = {"rows": len(y), "model_auc": auc_or_half(y, p_model)}
    if BASELINE_COLUMN in frame.columns:
        rules = frame[BASELINE_COLUMN].to_numpy(dtype=np.float64)
        has = ~np.isnan(rules)
        out["rules_auc"] = auc_or_half(y[has], rules[has]) if has.any() else 0.5
        out["rules_source"] = BASELINE_COLUMN
    else:
        out["rules_auc"] = 0.5
        out["rules_source"] = "none in the data: rules treated as unranked (AUC 0.5)"
    out["logistic_auc"] = None if logistic_p is None else auc_or_half(y, logistic_p)
    return out


RESIDENCY_FILE = "residency.json"


def training_residency(data_dir: Path, ts: TrainingSet) -> dict:
    """The model card's `residency`: the region the training set declares (residency.json, written by
    `leadrank training-set build --region`) after checking that every row is of it, or pooled. A set without
    residency.json (built before it was recorded) is reported as such: region and pooled unknown (null)."""
    regions = sorted({str(r) for r in ts.frame["seg_region"].dropna().unique()})
    path = Path(data_dir) / RESIDENCY_FILE
    if not path.exists():
        return {"region": None, "pooled": None, "regions": regions}
    declared = json.loads(path.read_text(encoding="utf-8"))
    region = declared.get("region")
    pooled = bool(declared.get("pooled"))
    if not pooled:
        outside = int((ts.frame["seg_region"] != region).sum())
        if region not in ("US", "EU") or outside:
            raise ValueError(
                f"{path}: declares region {region!r} but {outside} of {len(ts.frame)} rows are of another"
            )
    return {"region": None if pooled else region, "pooled": pooled, "regions": regions}


def run_training(
    data_dir: Path,
    out_dir: Path,
    split_method: str = "time",
    fractions: tuple[float, float, float] = (0.7, 0.15, 0.15),
    params: dict | None = None,
    selection: SelectionConfig | None = None,
    families: list[str] | None = None,
) -> TrainingResult:
    """Trains every candidate, chooses on validation, calibrates, exports and evaluates; writes every
    artifact into out_dir."""
    config = selection or load_selection_config()
    if families is not None:
        unknown = sorted(set(families) - {"lightgbm", "logistic"})
        if unknown or not families:
            raise ValueError(f"unknown model families {unknown}; expected lightgbm and/or logistic")
        config = config.model_copy(update={"families": families})
    ts = load_training_set(data_dir)
    residency = training_residency(data_dir, ts)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = make_split(ts, split_method, fractions)
    y = ts.labels
    x = ts.features
    excluded = config.excluded_for(ts.feature_names)
    candidates = train_candidates(
        x[split.train], y[split.train], x[split.validation], y[split.validation],
        ts.spec, config, params, excluded, log.info,
    )  # fmt: skip
    chosen = choose(candidates, config.tieMargin)
    log.info(f"chosen: {chosen.name} (validation AUC {chosen.validation_auc:.4f})")
    p_val = chosen.predict_raw(x[split.validation])
    p_test_raw = chosen.predict_raw(x[split.test])
    val_times = ts.frame["snapshot_at"].iloc[split.validation].to_numpy(dtype="datetime64[ns]")
    calibration, cal_candidates, comparison = calibrate(
        p_val, y[split.validation], val_times, p_test_raw, y[split.test]
    )
    p_test = apply_calibration(calibration, p_test_raw)
    p_val_cal = apply_calibration(calibration, p_val)
    tolerance = config.gate.maxCalibratedAucLoss
    calibration_ranking = {
        "validation": ranking_check(y[split.validation], p_val, p_val_cal, tolerance),
        "test": ranking_check(y[split.test], p_test_raw, p_test, tolerance),
    }

    metadata = {"feature_spec_hash": ts.spec["hash"], "model_family": chosen.family}
    if isinstance(chosen.model, LinearModel):
        onnx_model = linear_to_onnx(chosen.model, x.shape[1], metadata)
        dump = chosen.model.dump()
    else:
        onnx_model = to_onnx(chosen.model, x.shape[1], metadata)
        dump = chosen.model.dump_model()
    save_onnx(onnx_model, out_dir / "model.onnx")
    (out_dir / "calibration.json").write_text(json.dumps(calibration, indent=2) + "\n", encoding="utf-8")
    (out_dir / "model.json").write_text(json.dumps(dump) + "\n", encoding="utf-8")
    (out_dir / SCORE_SCALE_FILE).write_text(
        json.dumps(score_scale(p_val_cal), indent=2) + "\n", encoding="utf-8"
    )
    shutil.copyfile(data_dir / FEATURE_SPEC_FILE, out_dir / FEATURE_SPEC_FILE)
    version = content_version(out_dir)

    logistic = next((c for c in candidates if c.family == "logistic"), None)
    val_frame = ts.frame.iloc[split.validation].reset_index(drop=True)
    test_frame = ts.frame.iloc[split.test].reset_index(drop=True)
    honest = {
        "validation": baselines(
            val_frame, y[split.validation], p_val_cal,
            None if logistic is None else logistic.predict_raw(x[split.validation]),
        ),
        "test": baselines(
            test_frame, y[split.test], p_test,
            None if logistic is None else logistic.predict_raw(x[split.test]),
        ),
    }  # fmt: skip
    margin = config.gate.minAucOverRules
    v = honest["validation"]
    positives = int(y[split.validation].sum())
    # The chosen model's validation AUC is the best of several candidates on these rows (optimistic), so the
    # gain must also clear two standard errors of the AUC, or a no-signal model passes by chance.
    # The reference is the rules' AUC, or 0.5 when the rules rank no better than chance on these rows (a
    # rules AUC below 0.5 by chance made a no-signal model look like a gain).
    se = auc_standard_error(v["model_auc"], positives, len(split.validation) - positives)
    reference = max(v["rules_auc"], 0.5)
    honest["beats_rules"] = {
        "margin": margin,
        "reference_auc": reference,
        "validation_gain": v["model_auc"] - reference,
        "auc_standard_error": se,
        "rule": "model AUC - max(rules AUC, 0.5) >= max(margin, 2 standard errors (Hanley-McNeil))",
        "passed": v["model_auc"] - reference >= max(margin, 2 * se),
    }
    candidate_rows = [
        {
            "name": c.name,
            "family": c.family,
            "validation_auc": c.validation_auc,
            "test_auc_uncalibrated": auc_or_half(y[split.test], c.predict_raw(x[split.test])),
            "chosen": c is chosen,
            **({"trees": c.info["trees"]} if c.family == "lightgbm" else {"C": c.info["C"]}),
        }
        for c in candidates
    ]
    top = top_features(chosen, x[split.validation], ts.feature_names, config.calendarWarningTop)
    calendar_top = [f for f in top if f in config.calendarFeatures]
    warnings = []
    if calendar_top:
        warnings.append(
            f"top features include calendar features {calendar_top}: they encode the training window and "
            "do not extrapolate; consider excludeCalendarFeatures in config/training/model-selection.json"
        )
    if not calibration_ranking["validation"]["passed"]:
        warnings.append("calibration lowered validation AUC: it does not keep the ranking")
    if not honest["beats_rules"]["passed"]:
        warnings.append(
            f"the model does not beat the rules by {max(margin, 2 * se):.4f} AUC on validation "
            f"({v['model_auc']:.4f} vs rules {v['rules_auc']:.4f}): the promotion gate will keep the rules"
        )
    for w in warnings:
        log.warning(f"warning: {w}")

    report = evaluate(test_frame, y[split.test], p_test, p_test_raw)
    windows = {name: _window(ts, rows) for name, rows in split.parts().items()}
    drift = drift_report(windows, x, split.parts(), ts.spec)
    context = {
        "model_version": version,
        "spec_name": ts.spec["name"],
        "spec_hash": ts.spec["hash"],
        "split": {"method": split.method, "fractions": list(fractions), **windows},
        "calibration_comparison": comparison,
        "calibration_ranking": calibration_ranking,
        "selection": {"chosen": chosen.name, "tie_margin": config.tieMargin, "candidates": candidate_rows},
        "baselines": honest,
        "drift": drift,
        "warnings": warnings,
    }
    write_report(out_dir, report, context)

    model_block: dict = {
        "type": chosen.family,
        "name": chosen.name,
        "categorical_features": [ts.feature_names[i] for i in ts.categorical_indexes],
        "excluded_features": excluded,
        "top_features": top,
        "onnx_opsets": opsets_of(onnx_model),
        "calibration": calibration["method"],
    }
    if isinstance(chosen.model, LinearModel):
        model_block.update(
            C=chosen.model.c, bins=config.logistic.bins, design_columns=chosen.info["design_columns"]
        )
    else:
        model_block.update(trees=chosen.model.num_trees(), params=chosen.info["params"])
    card = {
        "version": version,
        "created_by": "leadrank_training.train",
        "code_version": code_version(Path(__file__).resolve().parents[2]),
        "feature_spec": feature_spec_block(ts.spec),
        "label": ts.spec["label"],
        "training_data": {"source": str(data_dir), "split": context["split"]},
        "residency": residency,
        "model": model_block,
        "selection": context["selection"],
        "metrics": {"test": report["overall"], "test_uncalibrated": report["uncalibrated"]},
        "calibration_comparison": comparison,
        "calibration_ranking": calibration_ranking,
        "baselines": honest,
        "drift": drift,
        "warnings": warnings,
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
    booster = chosen.model if isinstance(chosen.model, lgb.Booster) else None
    return TrainingResult(card, booster, calibration, cal_candidates, split, chosen, candidates)


def feature_spec_block(spec: dict) -> dict:
    """The card's record of the features: the fitted spec's hash, and the spec configuration the training
    set was computed from (config/features/<target>.json: hash, full content, overrides with their reasons),
    which serving compares with its active spec. None for training sets that do not carry it. `target` is
    the training target the labels follow (outcome, time axis, horizon, snapshot schedule), None when not
    recorded."""
    source = spec.get("source")
    return {
        "name": spec["name"],
        "hash": spec["hash"],
        "features": len(spec["features"]),
        "target": spec.get("target"),
        "config": None
        if source is None
        else {"file": source.get("file"), "hash": source["hash"], "content": source["config"]},
        "overrides": [] if source is None else source["overrides"],
    }


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
    parser.add_argument(
        "--selection",
        type=Path,
        help="model-selection config (default config/training/model-selection.json)",
    )
    parser.add_argument(
        "--families", help="comma-separated subset of the config's families, e.g. lightgbm or logistic"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    params = read_params(args.params) if args.params else None
    try:
        selection = load_selection_config(args.selection)
    except (OSError, ValueError) as err:
        print(f"invalid model-selection config: {err}", file=sys.stderr)
        return 2
    families = args.families.split(",") if args.families else None
    try:
        card = run_training(args.data, args.out, args.split, args.fractions, params, selection, families).card
    except ValueError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
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
                "family": card["model"]["type"],
                "calibrated_auc_validation": card["calibration_ranking"]["validation"]["calibrated_auc"],
                "raw_auc_validation": card["calibration_ranking"]["validation"]["raw_auc"],
                "rules_auc_validation": card["baselines"]["validation"]["rules_auc"],
                "warnings": card["warnings"],
                "parity": card["parity"]["python_onnxruntime"]["max_abs_diff"],
            }
        )
    )
    return 0 if card["parity"]["python_onnxruntime"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
