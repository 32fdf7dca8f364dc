"""Evaluation on the test period: overall, per segment and against the rules baseline.

Writes JSON, Markdown and PNG charts."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # the Agg backend above must be chosen before pyplot loads
import numpy as np
import pandas as pd

from .dataset import BASELINE_COLUMN, CEILING_COLUMN, SEGMENT_COLUMNS
from .metrics import TOP_FRACTIONS, gains_curve, reliability_bins, score_metrics

MIN_SEGMENT_ROWS = 200
MIN_SEGMENT_CLASS_ROWS = 20
MISSING_SEGMENT = "(missing)"
METRIC_KEYS = (
    "roc_auc",
    "pr_auc",
    "log_loss",
    "brier",
    "ece",
    *(f"{kind}_top_{round(f * 100)}pct" for kind in ("lift", "capture") for f in TOP_FRACTIONS),
)


def segment_metrics(frame: pd.DataFrame, y: np.ndarray, p: np.ndarray) -> dict:
    """Per value of each segment column; segments with too few rows or too few of either class are flagged
    `too_few_rows` (their metrics are noisy, and AUC may be undefined)."""
    out: dict = {}
    for column in SEGMENT_COLUMNS:
        values = frame[column].astype(object).where(frame[column].notna(), MISSING_SEGMENT).to_numpy()
        per_value = {}
        for value in sorted(set(values)):
            rows = values == value
            m = score_metrics(y[rows], p[rows])
            positives = m["positives"]
            m["too_few_rows"] = bool(
                m["rows"] < MIN_SEGMENT_ROWS
                or positives < MIN_SEGMENT_CLASS_ROWS
                or m["rows"] - positives < MIN_SEGMENT_CLASS_ROWS
            )
            per_value[str(value)] = m
        out[column.removeprefix("seg_")] = per_value
    return out


def evaluate(test_frame: pd.DataFrame, y: np.ndarray, p_calibrated: np.ndarray, p_raw: np.ndarray) -> dict:
    report: dict = {
        "overall": score_metrics(y, p_calibrated),
        "uncalibrated": score_metrics(y, p_raw),
        "segments": segment_metrics(test_frame, y, p_calibrated),
        "reliability": {
            "calibrated": reliability_bins(y, p_calibrated),
            "uncalibrated": reliability_bins(y, p_raw),
        },
        "gains": {"model": gains_curve(y, p_calibrated)},
        "baseline": None,
    }
    if BASELINE_COLUMN in test_frame.columns:
        baseline = test_frame[BASELINE_COLUMN].to_numpy(dtype=np.float64)
        rows = ~np.isnan(baseline)
        probabilistic = bool(rows.any() and baseline[rows].min() >= 0 and baseline[rows].max() <= 1)
        report["baseline"] = {
            "rows_scored": int(rows.sum()),
            "rules": score_metrics(y[rows], baseline[rows], probabilistic=probabilistic),
            "model_same_rows": score_metrics(y[rows], p_calibrated[rows]),
        }
        report["gains"]["baseline"] = gains_curve(y[rows], baseline[rows])
    report["ceiling"] = None
    if CEILING_COLUMN in test_frame.columns:
        ceiling = test_frame[CEILING_COLUMN].to_numpy(dtype=np.float64)
        rows = ~np.isnan(ceiling)
        report["ceiling"] = {
            "rows_scored": int(rows.sum()),
            "bayes_optimal": score_metrics(y[rows], ceiling[rows]),
            "model_same_rows": score_metrics(y[rows], p_calibrated[rows]),
        }
    return report


def plot_calibration(report: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect")
    for key, style in (("uncalibrated", "s--"), ("calibrated", "o-")):
        bins = report["reliability"][key]
        ax.plot([b["mean_p"] for b in bins], [b["rate"] for b in bins], style, label=key)
    ax.set_xlabel("mean predicted probability (10 equal-mass bins)")
    ax.set_ylabel("observed conversion rate")
    ax.set_title("Calibration on the test period")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_gains(report: dict, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    for key, curve in report["gains"].items():
        ax.plot([c[0] for c in curve], [c[1] for c in curve], label=key)
    ax.set_xlabel("share of leads worked, best scores first")
    ax.set_ylabel("share of conversions captured")
    ax.set_title("Cumulative gains on the test period")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _fmt(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return str(value)


def _table(rows: list[tuple[str, dict]], keys: tuple[str, ...]) -> list[str]:
    lines = ["| | rows | " + " | ".join(keys) + " |", "|---" * (len(keys) + 2) + "|"]
    for name, m in rows:
        flag = " ⚠" if m.get("too_few_rows") else ""
        lines.append(f"| {name}{flag} | {m['rows']} | " + " | ".join(_fmt(m.get(k)) for k in keys) + " |")
    return lines


def write_report(out: Path, report: dict, context: dict) -> None:
    """report.json (everything), report.md (readable), calibration.png and gains.png."""
    full = {**context, **report}
    (out / "report.json").write_text(json.dumps(full, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    plot_calibration(report, out / "calibration.png")
    plot_gains(report, out / "gains.png")

    main_keys = ("roc_auc", "pr_auc", "log_loss", "brier", "ece")
    lift_keys = tuple(k for k in METRIC_KEYS if k.startswith(("lift", "capture")))
    comparison = context["calibration_comparison"]
    md = [
        f"# Evaluation report: {context['model_version']}",
        "",
        f"Training set `{context['spec_name']}` (spec hash `{context['spec_hash'][:12]}`), split "
        f"`{context['split']['method']}`; test period {context['split']['test']['from']} to "
        f"{context['split']['test']['to']} ({context['split']['test']['rows']} rows).",
        "",
        "## Overall (test period)",
        "",
        *_table([("calibrated", report["overall"]), ("uncalibrated", report["uncalibrated"])], main_keys),
        "",
        *_table([("calibrated", report["overall"])], lift_keys),
        "",
        "ECE: rows sorted by predicted probability and cut into 10 equal-mass bins; ECE is the row-weighted "
        "mean of |observed rate - mean prediction| over the bins.",
        "",
        "## Calibration choice",
        "",
        f"Rule: {comparison['rule']}. Chosen: **{comparison['chosen']}**.",
        "",
        "| method | validation CV log loss | test log loss | test ECE |",
        "|---|---|---|---|",
    ]
    for method in ("platt", "isotonic", "uncalibrated"):
        c = comparison.get(method, {})
        md.append(
            f"| {method} | {_fmt(c.get('validation_cv_log_loss'))} | {_fmt(c.get('test_log_loss'))} | "
            f"{_fmt(c.get('test_ece'))} |"
        )
    prior = comparison.get("prior_correction")
    if prior:
        md += [
            "",
            f"Prior correction ({prior['rule']}): latest {prior['recent_rows']} validation rows convert at "
            f"{_fmt(prior['recent_base_rate'])}, calibrated mean {_fmt(prior['calibrated_mean_before'])}; "
            f"applied: {prior['applied']} (shift {prior['shift_log_odds']:+.3f} log-odds).",
        ]
    ranking = context.get("calibration_ranking")
    if ranking:
        md += ["", "| AUC | raw | calibrated | calibration keeps the ranking |", "|---|---|---|---|"]
        for part, r in ranking.items():
            md.append(f"| {part} | {_fmt(r['raw_auc'])} | {_fmt(r['calibrated_auc'])} | {r['passed']} |")
    md += ["", "![calibration](calibration.png) ![gains](gains.png)", ""]
    selection = context.get("selection")
    if selection:
        md += [
            "## Model-family selection (chosen on validation AUC, ties to the simpler)",
            "",
            "| candidate | validation AUC | test AUC (uncalibrated) | chosen |",
            "|---|---|---|---|",
            *(
                f"| {c['name']} | {_fmt(c['validation_auc'])} | {_fmt(c['test_auc_uncalibrated'])} | "
                f"{'yes' if c['chosen'] else ''} |"
                for c in selection["candidates"]
            ),
            "",
        ]
    honest = context.get("baselines")
    if honest:
        b = honest["beats_rules"]
        md += [
            "## Baselines (rules and logistic beside the chosen model)",
            "",
            "| period | rows | model AUC | rules AUC | logistic AUC |",
            "|---|---|---|---|---|",
            *(
                f"| {part} | {honest[part]['rows']} | {_fmt(honest[part]['model_auc'])} | "
                f"{_fmt(honest[part]['rules_auc'])} | {_fmt(honest[part]['logistic_auc'])} |"
                for part in ("validation", "test")
            ),
            "",
            f"Rules: {honest['validation']['rules_source']}. Beats the rules on validation ({b['rule']}, "
            f"margin {b['margin']}): **{b['passed']}** (gain {b['validation_gain']:+.4f}).",
            "",
        ]
    drift = context.get("drift")
    if drift:
        md += [
            "## Drift",
            "",
            "Base rate: " + ", ".join(f"{k} {_fmt(v)}" for k, v in drift["base_rate"].items()) + ".",
            "",
            "| feature | PSI train -> validation | PSI train -> test |\n|---|---|---|",
            *(
                f"| {r['feature']} | {_fmt(r['psi_train_to_validation'])} | {_fmt(r['psi_train_to_test'])} |"
                for r in drift["most_moved_features"]
            ),
            "",
            drift["psi_rule"],
            "",
        ]
    for w in context.get("warnings", []):
        md += [f"**Warning:** {w}", ""]
    if report["baseline"]:
        b = report["baseline"]
        md += [
            "## Rules-only baseline (same rows)",
            "",
            *_table([("rules", b["rules"]), ("model", b["model_same_rows"])], main_keys + lift_keys),
            "",
        ]
    if report.get("ceiling"):
        c = report["ceiling"]
        md += [
            "## Against the Bayes-optimal ceiling (simulated data, same rows)",
            "",
            *_table([("Bayes-optimal", c["bayes_optimal"]), ("model", c["model_same_rows"])], main_keys),
            "",
        ]
    md += [
        "## Segments",
        "",
        f"⚠ = fewer than {MIN_SEGMENT_ROWS} rows or {MIN_SEGMENT_CLASS_ROWS} of a class.",
        "",
    ]
    for column, values in report["segments"].items():
        md += [
            f"### {column}",
            "",
            *_table(list(values.items()), ("roc_auc", "pr_auc", "ece", "lift_top_10pct")),
            "",
        ]
    (out / "report.md").write_text("\n".join(md), encoding="utf-8")
