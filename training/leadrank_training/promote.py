"""Promotion gate: challenger vs champion on the same recent holdout rows, both scored as serving scores them
(their ONNX graphs in onnxruntime + calibration.json). Promotes the challenger only if every check passes.

python -m leadrank_training.promote --holdout <training-set dir> --servable-features <file.json>
        [--days N] [--challenger VERSION] [--registry URL] [--target lead|opportunity]
        [--report-dir DIR] [--dry-run]
python -m leadrank_training.promote rollback --reason "..." [--registry URL] [--target lead|opportunity]

Deal models (--target opportunity) pass the same rules except the ECE limit: the larger of 0.03 and the
`gate.opportunity.eceNoiseQuantile` quantile of the ECE a perfectly calibrated model shows on as many holdout
rows (labels drawn from the challenger's own probabilities, `eceNoiseDraws` draws; model-selection.json).

Exit code: 0 promoted (or rolled back), 1 refused (every reason is printed), 2 usage error.
--servable-features: JSON list of {"name", "kind"} the serving code computes (`leadrank model
servable-features` writes it; `leadrank model promote` passes it itself). Without it the gate refuses: it
cannot know that the sidecar could serve the challenger."""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from .calibration import apply_calibration
from .dataset import BASELINE_COLUMN, SEGMENT_COLUMNS, TrainingSet, load_training_set
from .export import onnx_probabilities
from .metrics import expected_calibration_error, score_metrics
from .registry import TARGETS, ModelRegistry, RegistryError
from .registry_store import REPO_ROOT
from .report import MISSING_SEGMENT
from .selection import load_selection_config

MAX_AUC_DROP = 0.005
MAX_ECE = 0.03
SEGMENT_MIN_ROWS = 500
MAX_SEGMENT_AUC_DROP = 0.02
DEFAULT_REPORT_ROOT = REPO_ROOT / "var" / "promotions"
log = logging.getLogger("leadrank_training")


@dataclass
class GateResult:
    promoted: bool
    challenger: str
    champion: str | None
    reasons: list[str] = field(default_factory=list)
    report: dict = field(default_factory=dict)
    report_dir: Path | None = None


def recent_rows(ts: TrainingSet, days: int | None) -> TrainingSet:
    """The last `days` days of the set (ending at its latest snapshot); all rows when days is None."""
    if days is None:
        return ts
    end = ts.frame["snapshot_at"].max()
    return ts.subset(np.flatnonzero((ts.frame["snapshot_at"] > end - pd.Timedelta(days=days)).to_numpy()))


def features_for_spec(ts: TrainingSet, spec: dict) -> tuple[np.ndarray | None, list[str]]:
    """The holdout's feature matrix in `spec`'s order and encoding. Categorical codes are re-mapped through
    the category names, because the holdout's and the model's category lists may differ (unknown -> NaN).
    Returns (None, problems) when the holdout cannot feed the model."""
    holdout = {f["name"]: (i, f) for i, f in enumerate(ts.spec["features"])}
    columns, problems = [], []
    for f in spec["features"]:
        found = holdout.get(f["name"])
        if found is None or found[1]["kind"] != f["kind"]:
            problems.append(f"holdout has no {f['kind']} feature {f['name']!r}")
            continue
        i, h = found
        values = ts.features[:, i]
        if f["kind"] == "categorical" and h["categories"] != f["categories"]:
            index = {name: float(k) for k, name in enumerate(f["categories"])}
            lookup = np.array([index.get(name, np.nan) for name in h["categories"]] + [np.nan])
            codes = np.where(np.isnan(values) | (values < 0) | (values >= len(h["categories"])), -1, values)
            values = lookup[codes.astype(np.int64)]
        columns.append(values)
    if problems:
        return None, problems
    return np.column_stack(columns) if columns else np.empty((len(ts.frame), 0)), []


def score_version_raw(
    model_dir: Path, ts: TrainingSet
) -> tuple[np.ndarray | None, np.ndarray | None, list[str]]:
    """(calibrated, uncalibrated) probabilities of the holdout rows, as serving computes them."""
    spec = json.loads((model_dir / "feature-spec.json").read_text(encoding="utf-8"))
    x, problems = features_for_spec(ts, spec)
    if x is None:
        return None, None, problems
    calibration = json.loads((model_dir / "calibration.json").read_text(encoding="utf-8"))
    raw = onnx_probabilities(model_dir / "model.onnx", x)
    return apply_calibration(calibration, raw), raw, []


def score_version(model_dir: Path, ts: TrainingSet) -> tuple[np.ndarray | None, list[str]]:
    p, _, problems = score_version_raw(model_dir, ts)
    return p, problems


def honesty_reasons(
    card: dict, y: np.ndarray, p: np.ndarray, p_raw: np.ndarray | None
) -> tuple[list[str], dict]:
    """Calibration must keep the ranking on the holdout, and the model must beat the rules on validation
    (the training run measured it: model_card.json -> baselines.beats_rules)."""
    gate = load_selection_config().gate
    reasons, out = [], {}
    if p_raw is not None and 0 < int(y.sum()) < len(y):
        raw, cal = float(roc_auc_score(y, p_raw)), float(roc_auc_score(y, p))
        out["calibration_ranking"] = {
            "raw_auc": raw,
            "calibrated_auc": cal,
            "tolerance": gate.maxCalibratedAucLoss,
        }
        if cal < raw - gate.maxCalibratedAucLoss:
            reasons.append(
                f"calibration lowers the ranking: calibrated AUC {cal:.4f} < raw AUC {raw:.4f} "
                f"- {gate.maxCalibratedAucLoss} on the holdout"
            )
    beats = card.get("baselines", {}).get("beats_rules")
    out["beats_rules"] = beats
    if beats is None:
        reasons.append("the model card does not record the comparison with the rules (retrain the model)")
    elif not beats["passed"]:
        v = card["baselines"]["validation"]
        reasons.append(
            f"the model does not beat the rules on validation: AUC {v['model_auc']:.4f} vs rules "
            f"{beats.get('reference_auc', v['rules_auc']):.4f} (gain {beats['validation_gain']:+.4f}, needs "
            f"{max(beats['margin'], 2 * beats.get('auc_standard_error', 0)):.4f}); the rules stay in place"
        )
    return reasons, out


def segment_aucs(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict[str, dict[str, dict]]:
    out: dict[str, dict[str, dict]] = {}
    for column in SEGMENT_COLUMNS:
        values = frame[column].astype(object).where(frame[column].notna(), MISSING_SEGMENT).to_numpy()
        out[column] = {}
        for value in sorted(set(values)):
            rows = values == value
            m = score_metrics(y[rows], p[rows])
            out[column][str(value)] = {
                "rows": m["rows"],
                "positives": m["positives"],
                "roc_auc": m["roc_auc"],
            }
    return out


def calibrated_ece_noise(p: np.ndarray, quantile: float, draws: int, seed: int = 7) -> float:
    """The `quantile` of the ECE a perfectly calibrated model shows on these rows: labels ~ Bernoulli(p)."""
    rng = np.random.default_rng(seed)
    eces = [expected_calibration_error((rng.random(len(p)) < p).astype(np.int8), p) for _ in range(draws)]
    return float(np.quantile(eces, quantile))


def unservable_features(spec: dict, servable: list[dict]) -> list[str]:
    kinds = {f["name"]: f["kind"] for f in servable}
    return [f"{f['name']} ({f['kind']})" for f in spec["features"] if kinds.get(f["name"]) != f["kind"]]


def holdout_overlap(card: dict, frame: pd.DataFrame) -> int:
    """Holdout rows whose snapshot falls in the model's training + validation period (a proxy for rows the
    model may have learnt from; the sets need not share lead ids)."""
    split = card.get("training_data", {}).get("split", {})
    try:
        start = pd.Timestamp(split["train"]["from"])
        end = pd.Timestamp(split["validation" if split.get("method") == "time" else "test"]["to"])
    except (KeyError, TypeError):
        return 0
    times = frame["snapshot_at"]
    return int(((times >= start) & (times <= end)).sum())


def _model_block(card: dict, y: np.ndarray, p: np.ndarray, frame: pd.DataFrame) -> dict:
    return {
        "version": card["version"],
        "feature_spec": card.get("feature_spec"),
        "parity": card.get("parity", {}).get("python_onnxruntime"),
        "holdout_rows_in_training_period": holdout_overlap(card, frame),
        "metrics": score_metrics(y, p),
        "segments": segment_aucs(frame, y, p),
    }


def evaluate_gate(
    challenger_card: dict,
    challenger_p: np.ndarray,
    champion_card: dict | None,
    champion_p: np.ndarray | None,
    holdout: TrainingSet,
    challenger_raw: np.ndarray | None = None,
    max_ece: float = MAX_ECE,
) -> tuple[list[str], dict]:
    """Every rule, with the reasons for refusal (empty = pass) and the comparison report. `max_ece`: the
    challenger's ECE limit (MAX_ECE; a deal model's is widened to the holdout's noise, see run_gate)."""
    y = holdout.labels
    frame = holdout.frame
    reasons, honesty = honesty_reasons(challenger_card, y, challenger_p, challenger_raw)
    challenger = _model_block(challenger_card, y, challenger_p, frame)
    champion = None if champion_card is None else _model_block(champion_card, y, champion_p, frame)
    c = challenger["metrics"]
    if c["roc_auc"] is None:
        reasons.append("the holdout has only one class: AUC is undefined")
    if c["ece"] > max_ece:
        reasons.append(f"challenger ECE {c['ece']:.4f} exceeds {max_ece:.4f}")
    if not (challenger["parity"] or {}).get("passed", False):
        reasons.append("challenger model card does not record a passed Python onnxruntime parity check")
    segments: list[dict] = []
    if champion is not None:
        k = champion["metrics"]
        if (
            c["roc_auc"] is not None
            and k["roc_auc"] is not None
            and c["roc_auc"] < k["roc_auc"] - MAX_AUC_DROP
        ):
            reasons.append(
                f"ROC-AUC drops by {k['roc_auc'] - c['roc_auc']:.4f} "
                f"({k['roc_auc']:.4f} -> {c['roc_auc']:.4f}), more than {MAX_AUC_DROP}"
            )
        for column, values in challenger["segments"].items():
            for value, cm in values.items():
                km = champion["segments"][column][value]
                row = {
                    "segment": column,
                    "value": value,
                    "rows": cm["rows"],
                    "champion_auc": km["roc_auc"],
                    "challenger_auc": cm["roc_auc"],
                    "checked": False,
                }
                if cm["rows"] >= SEGMENT_MIN_ROWS and cm["roc_auc"] is not None and km["roc_auc"] is not None:
                    row["checked"] = True
                    if cm["roc_auc"] < km["roc_auc"] - MAX_SEGMENT_AUC_DROP:
                        reasons.append(
                            f"segment {column}={value} ({cm['rows']} rows) loses "
                            f"{km['roc_auc'] - cm['roc_auc']:.4f} AUC ({km['roc_auc']:.4f} -> "
                            f"{cm['roc_auc']:.4f}), more than {MAX_SEGMENT_AUC_DROP}"
                        )
                segments.append(row)
    rules_holdout = None
    if BASELINE_COLUMN in frame.columns:
        b = frame[BASELINE_COLUMN].to_numpy(dtype=np.float64)
        has = ~np.isnan(b)
        if has.any() and 0 < int(y[has].sum()) < int(has.sum()):
            rules_holdout = float(roc_auc_score(y[has], b[has]))
    report = {
        "honesty": {**honesty, "rules_auc_holdout": rules_holdout},
        "rules": {
            "max_auc_drop": MAX_AUC_DROP,
            "max_ece": max_ece,
            "segment_min_rows": SEGMENT_MIN_ROWS,
            "max_segment_auc_drop": MAX_SEGMENT_AUC_DROP,
        },
        "holdout": {
            "rows": len(y),
            "positives": int(y.sum()),
            "from": frame["snapshot_at"].min().isoformat(),
            "to": frame["snapshot_at"].max().isoformat(),
        },
        "challenger": challenger,
        "champion": champion,
        "segment_comparison": segments,
    }
    return reasons, report


def _fmt(v: float | None) -> str:
    return "n/a" if v is None else f"{v:.4f}"


def render_markdown(report: dict) -> str:
    c, k = report["challenger"], report["champion"]
    lines = [
        f"# Promotion gate: {c['version']} vs {k['version'] if k else '(no champion)'}",
        "",
        f"**Decision: {'PROMOTED' if report['promoted'] else 'REFUSED'}**",
        "",
        *(f"- {r}" for r in report["reasons"]),
        "",
        f"Holdout: {report['holdout']['rows']} rows, {report['holdout']['positives']} positives, "
        f"{report['holdout']['from']} to {report['holdout']['to']}.",
        "",
        "| metric | champion | challenger |",
        "|---|---|---|",
    ]
    for key in ("roc_auc", "pr_auc", "log_loss", "brier", "ece", "lift_top_10pct"):
        lines.append(f"| {key} | {_fmt(k['metrics'][key]) if k else '-'} | {_fmt(c['metrics'][key])} |")
    lines.append(
        f"| holdout rows in training period | {k['holdout_rows_in_training_period'] if k else '-'} "
        f"| {c['holdout_rows_in_training_period']} |"
    )
    h = report.get("honesty", {})
    cr = h.get("calibration_ranking")
    if cr:
        lines.append(
            "| challenger AUC raw / calibrated (holdout) | - | "
            f"{_fmt(cr['raw_auc'])} / {_fmt(cr['calibrated_auc'])} |"
        )
    beats = h.get("beats_rules")
    if beats:
        lines.append(
            f"| challenger AUC gain over the rules (validation) | - | {beats['validation_gain']:+.4f} |"
        )
    if h.get("rules_auc_holdout") is not None:
        lines.append(f"| rules AUC (holdout) | - | {_fmt(h['rules_auc_holdout'])} |")
    checked = [s for s in report["segment_comparison"] if s["checked"]]
    if checked:
        lines += [
            "",
            f"## Segments with >= {SEGMENT_MIN_ROWS} rows",
            "",
            "| segment | value | rows | champion AUC | challenger AUC |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {s['segment']} | {s['value']} | {s['rows']} | {_fmt(s['champion_auc'])} | "
            f"{_fmt(s['challenger_auc'])} |"
            for s in checked
        ]
    return "\n".join(lines) + "\n"


def run_gate(
    registry: ModelRegistry,
    holdout_dir: Path,
    servable_features: list[dict] | None,
    days: int | None = None,
    challenger: str | None = None,
    report_dir: Path | None = None,
    promote: bool = True,
) -> GateResult:
    """Compares challenger (default: the `challenger` alias) with the `champion` alias and promotes it when
    every check passes. With no champion yet only the absolute checks apply."""
    challenger = challenger or registry.alias_version("challenger")
    if challenger is None:
        raise RegistryError(
            f"no {registry.label('challenger')} in {registry.url}: "
            "register a model with --alias challenger first"
        )
    champion = registry.alias_version("champion")
    if champion == challenger:
        raise RegistryError(f"{challenger} is already the {registry.label('champion')}")
    holdout = recent_rows(load_training_set(holdout_dir), days)
    reasons: list[str] = []
    with tempfile.TemporaryDirectory(prefix="leadrank-gate-") as work:
        challenger_dir = registry.download(challenger, Path(work) / "challenger")
        challenger_card = registry.card(challenger)
        spec = json.loads((challenger_dir / "feature-spec.json").read_text(encoding="utf-8"))
        if servable_features is None:
            reasons.append(
                "the serving feature list was not given (--servable-features): cannot check that "
                "the sidecar computes the challenger's features"
            )
        else:
            missing = unservable_features(spec, servable_features)
            if missing:
                reasons.append(f"the serving code does not compute features: {', '.join(missing)}")
        challenger_p, challenger_raw, problems = score_version_raw(challenger_dir, holdout)
        reasons += [f"challenger: {p}" for p in problems]
        champion_card = champion_p = None
        if champion is not None:
            champion_dir = registry.download(champion, Path(work) / "champion")
            champion_card = registry.card(champion)
            champion_p, problems = score_version(champion_dir, holdout)
            reasons += [f"champion: {p}" for p in problems]
    if challenger_p is None or (champion is not None and champion_p is None):
        report = {"challenger": {"version": challenger}, "champion": champion and {"version": champion}}
        gate_reasons: list[str] = []
    else:
        max_ece = MAX_ECE
        if registry.target == "opportunity":
            deal_gate = load_selection_config().gate.opportunity
            noise = calibrated_ece_noise(challenger_p, deal_gate.eceNoiseQuantile, deal_gate.eceNoiseDraws)
            max_ece = max(MAX_ECE, noise)
        gate_reasons, report = evaluate_gate(
            challenger_card, challenger_p, champion_card, champion_p, holdout, challenger_raw, max_ece
        )
        report["target"] = registry.target
    reasons += gate_reasons
    promoted = not reasons and promote
    report = {
        "decided_at": datetime.now(UTC).isoformat(),
        "promoted": promoted,
        "dry_run": not promote,
        "reasons": reasons,
        **report,
    }
    if promoted:
        c = report["challenger"]["metrics"]
        why = (
            f"promotion gate passed on {len(holdout.frame)} holdout rows: "
            f"AUC {c['roc_auc']:.4f}, ECE {c['ece']:.4f}"
        )
        if champion is not None:
            why += f" (champion {champion}: AUC {report['champion']['metrics']['roc_auc']:.4f})"
        registry.set_alias("champion", challenger, why, action="promote")
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    report_dir = report_dir or DEFAULT_REPORT_ROOT / f"{stamp}-{challenger}"
    report_dir.mkdir(parents=True, exist_ok=True)
    report_json = json.dumps(report, indent=2, default=str) + "\n"
    (report_dir / "promotion.json").write_text(report_json, encoding="utf-8")
    markdown = (
        render_markdown(report)
        if "holdout" in report
        else "# Refused\n\n" + "".join(f"- {r}\n" for r in reasons)
    )
    (report_dir / "promotion.md").write_text(markdown, encoding="utf-8")
    # A copy in the registry keeps every decision next to the versions it concerns.
    registry.store.write(f"promotions/{stamp}-{challenger}/promotion.json", report_json.encode())
    registry.store.write(f"promotions/{stamp}-{challenger}/promotion.md", markdown.encode())
    # What the product serves after this decision, for the dashboard: the champion if there is one, else
    # the rules, with the reasons the challenger was refused.
    serving = {
        "decided_at": report["decided_at"],
        "challenger": challenger,
        "serves": "model" if promoted or champion else "rules",
        "version": challenger if promoted else champion,
        "refused_because": reasons,
    }
    registry.store.write("status/serving-decision.json", (json.dumps(serving, indent=2) + "\n").encode())
    return GateResult(promoted, challenger, champion, reasons, report, report_dir)


def read_servable_features(path: Path) -> list[dict]:
    data = json.loads(path.read_text(encoding="utf-8"))
    features = data["features"] if isinstance(data, dict) else data
    if not all(isinstance(f, dict) and {"name", "kind"} <= f.keys() for f in features):
        raise ValueError(f"{path}: expected a list of {{name, kind}} objects")
    return features


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if argv[:1] == ["rollback"]:
        parser = argparse.ArgumentParser(prog="python -m leadrank_training.promote rollback")
        parser.add_argument("--registry")
        parser.add_argument(
            "--region", choices=("US", "EU"), help="the region's registry (regions/<region>/)"
        )
        parser.add_argument("--target", choices=TARGETS, default="lead")
        parser.add_argument("--reason", required=True)
        args = parser.parse_args(argv[1:])
        try:
            entry = ModelRegistry.open(args.registry, args.region, args.target).rollback(args.reason)
        except RegistryError as err:
            print(f"refused: {err}", file=sys.stderr)
            return 1
        print(json.dumps(entry, indent=2))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m leadrank_training.promote",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--holdout", type=Path, required=True, help="training-set directory (contract format)"
    )
    parser.add_argument("--days", type=int, help="use only the most recent N days of the holdout")
    parser.add_argument(
        "--servable-features", type=Path, help="JSON list of {name, kind} the sidecar computes"
    )
    parser.add_argument("--challenger", help="version to judge (default: the challenger alias)")
    parser.add_argument("--registry")
    parser.add_argument("--region", choices=("US", "EU"), help="the region's registry (regions/<region>/)")
    parser.add_argument(
        "--target", choices=TARGETS, default="lead", help="lead (default) or opportunity models"
    )
    parser.add_argument("--report-dir", type=Path)
    parser.add_argument("--dry-run", action="store_true", help="judge and report, move no alias")
    args = parser.parse_args(argv)
    servable = read_servable_features(args.servable_features) if args.servable_features else None
    try:
        result = run_gate(
            ModelRegistry.open(args.registry, args.region, args.target),
            args.holdout,
            servable,
            args.days,
            args.challenger,
            args.report_dir,
            promote=not args.dry_run,
        )
    except RegistryError as err:
        print(f"refused: {err}", file=sys.stderr)
        return 1
    verdict = "promoted" if result.promoted else ("passed (dry run)" if not result.reasons else "refused")
    print(f"{verdict}: challenger {result.challenger} vs champion {result.champion or '(none)'}")
    for reason in result.reasons:
        print(f"  - {reason}")
    if not result.promoted and result.champion is None:
        print("serving: no champion, the product keeps the rules-only score")
    print(f"report: {result.report_dir}/promotion.md")
    return 0 if result.promoted or (args.dry_run and not result.reasons) else 1


if __name__ == "__main__":
    raise SystemExit(main())
