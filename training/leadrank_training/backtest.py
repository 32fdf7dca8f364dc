"""Rolling backtest: retrain as time moves forward, as scheduled retraining would, and score the next step.

python -m leadrank_training.backtest --data <training-set dir> --window-days 120 --step-days 30
        [--validation-fraction 0.2] [--selection FILE] [--params FILE] [--out report.json]

At each step t (the first at start + window, then every step): train on the `window` days before t (the last
`validation-fraction` of them, by time, is the validation window that chooses the family, stops boosting and
fits the calibration), then score the rows in (t, t + step]. Scorers compared on the same rows:
- rolling: the model chosen at each step (what scheduled retraining serves);
- lightgbm, logistic: each family's best candidate at each step (calibrated on its own validation);
- single_fit: the model chosen at the first step, never retrained;
- rules: the training set's baseline_score (when present).
Per step and pooled over all steps: ROC-AUC, the area under the cumulative gains (lift) curve and ECE.
Exit code: 0 done, 2 bad input (e.g. no step fits in the data)."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from .calibration import apply_calibration
from .dataset import BASELINE_COLUMN, load_training_set
from .metrics import expected_calibration_error
from .selection import Candidate, auc_or_half, choose, load_selection_config, train_candidates
from .train import calibrate, read_params

log = logging.getLogger("leadrank_training")
MIN_STEP_ROWS = 50


def area_under_gains(y: np.ndarray, score: np.ndarray) -> float | None:
    """Area under the cumulative gains curve (share of conversions captured vs share of leads worked, best
    scores first, ties by row order): 0.5 for a random order, 1 - base rate / 2 for a perfect one."""
    positives = float(np.sum(y))
    if positives == 0 or len(y) == 0:
        return None
    captured = np.cumsum(y[np.argsort(-score, kind="stable")]) / positives
    return float(np.mean(captured))


def metrics(y: np.ndarray, p: np.ndarray, probabilistic: bool = True) -> dict:
    return {
        "rows": len(y),
        "base_rate": float(np.mean(y)) if len(y) else None,
        "roc_auc": auc_or_half(y, p),
        "area_under_gains": area_under_gains(y, p),
        "ece": expected_calibration_error(y, p) if probabilistic and len(y) else None,
    }


def _calibrated(c: Candidate, x_val, y_val, t_val, x_test, y_test) -> tuple[dict, np.ndarray]:
    cal, _, _ = calibrate(c.predict_raw(x_val), y_val, t_val, c.predict_raw(x_test), y_test)
    return cal, apply_calibration(cal, c.predict_raw(x_test))


def run_backtest(
    data_dir: Path,
    window_days: float,
    step_days: float,
    validation_fraction: float = 0.2,
    selection_path: Path | None = None,
    params: dict | None = None,
) -> dict:
    config = load_selection_config(selection_path)
    ts = load_training_set(data_dir)
    times = ts.frame["snapshot_at"].to_numpy(dtype="datetime64[ns]")
    x, y = ts.features, ts.labels
    excluded = config.excluded_for(ts.feature_names)
    window, step = pd.Timedelta(days=window_days), pd.Timedelta(days=step_days)
    start, end = pd.Timestamp(times.min()), pd.Timestamp(times.max())
    rules = ts.frame[BASELINE_COLUMN].to_numpy(dtype=np.float64) if ts.has_baseline else None
    steps, pooled = [], {}
    single: tuple[Candidate, dict] | None = None
    t = start + window
    while t < end:
        train = np.flatnonzero((times > np.datetime64(t - window)) & (times <= np.datetime64(t)))
        test = np.flatnonzero((times > np.datetime64(t)) & (times <= np.datetime64(t + step)))
        t_next = t + step
        if len(test) < MIN_STEP_ROWS or len(train) < 5 * MIN_STEP_ROWS:
            t = t_next
            continue
        order = train[np.argsort(times[train], kind="stable")]
        cut = int(len(order) * (1 - validation_fraction))
        fit, val = np.sort(order[:cut]), np.sort(order[cut:])
        if not (0 < y[fit].sum() < len(fit)) or not (0 < y[val].sum() < len(val)):
            t = t_next
            continue
        cands = train_candidates(x[fit], y[fit], x[val], y[val], ts.spec, config, params, excluded)
        chosen = choose(cands, config.tieMargin)
        args = (x[val], y[val], times[val], x[test], y[test])
        cal, p_rolling = _calibrated(chosen, *args)
        if single is None:
            single = (chosen, cal)
        scores: dict[str, tuple[np.ndarray, bool]] = {"rolling": (p_rolling, True)}
        for family in ("lightgbm", "logistic"):
            of_family = [c for c in cands if c.family == family]
            if of_family:
                best = max(of_family, key=lambda c: c.validation_auc)
                scores[family] = (_calibrated(best, *args)[1], True)
        scores["single_fit"] = (apply_calibration(single[1], single[0].predict_raw(x[test])), True)
        if rules is not None:
            has = ~np.isnan(rules[test])
            r = np.where(has, rules[test], np.nanmin(rules) - 1)
            scores["rules"] = (r, bool(np.nanmin(rules) >= 0 and np.nanmax(rules) <= 1))
        row = {
            "test_from": t.isoformat(),
            "test_to": (t + step).isoformat(),
            "train_rows": len(fit),
            "validation_rows": len(val),
            "chosen": chosen.name,
            "scores": {name: metrics(y[test], p, prob) for name, (p, prob) in scores.items()},
        }
        steps.append(row)
        for name, (p, prob) in scores.items():
            pooled.setdefault(name, ([], [], prob))
            pooled[name][0].append(y[test])
            pooled[name][1].append(p)
        log.info(
            f"step {t.date()}..{(t + step).date()}: {len(test)} rows, {chosen.name}, "
            + ", ".join(f"{n} AUC {m['roc_auc']:.3f}" for n, m in row["scores"].items())
        )
        t = t_next
    if not steps:
        raise ValueError(
            f"no step fits: data spans {start.date()}..{end.date()}, window {window_days} days, step "
            f"{step_days} days (each step needs {MIN_STEP_ROWS} test rows and both classes)"
        )
    return {
        "data": str(data_dir),
        "window_days": window_days,
        "step_days": step_days,
        "validation_fraction": validation_fraction,
        "families": list(config.families),
        "excluded_features": excluded,
        "steps": steps,
        "pooled": {
            name: metrics(np.concatenate(ys), np.concatenate(ps), prob)
            for name, (ys, ps, prob) in pooled.items()
        },
        "mean_over_steps": {
            name: {
                key: float(
                    np.mean([s["scores"][name][key] for s in steps if s["scores"][name][key] is not None])
                )
                for key in ("roc_auc", "area_under_gains")
            }
            for name in pooled
        },
    }


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.4f}"


def render(report: dict) -> str:
    names = list(report["pooled"])
    lines = [
        f"Rolling backtest: window {report['window_days']} days, step {report['step_days']} days, "
        f"{len(report['steps'])} steps",
        "",
        "| step (test from) | rows | base rate | chosen | " + " | ".join(f"{n} AUC" for n in names) + " |",
        "|---" * (4 + len(names)) + "|",
    ]
    for s in report["steps"]:
        first = next(iter(s["scores"].values()))
        lines.append(
            f"| {s['test_from'][:10]} | {first['rows']} | {_fmt(first['base_rate'])} | {s['chosen']} | "
            + " | ".join(_fmt(s["scores"].get(n, {}).get("roc_auc")) for n in names)
            + " |"
        )
    lines += ["", "| pooled | ROC-AUC | area under gains | ECE |", "|---|---|---|---|"]
    for n in names:
        m = report["pooled"][n]
        lines.append(f"| {n} | {_fmt(m['roc_auc'])} | {_fmt(m['area_under_gains'])} | {_fmt(m['ece'])} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m leadrank_training.backtest",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--data", type=Path, required=True, help="training-set directory (contract format)")
    parser.add_argument(
        "--window-days", type=float, required=True, help="days of history each step trains on"
    )
    parser.add_argument("--step-days", type=float, required=True, help="days between retrainings")
    parser.add_argument("--validation-fraction", type=float, default=0.2)
    parser.add_argument("--selection", type=Path, help="model-selection config")
    parser.add_argument("--params", type=Path, help="LightGBM parameters file (as for train)")
    parser.add_argument("--out", type=Path, help="write the full report (JSON) here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    if args.window_days <= 0 or args.step_days <= 0 or not 0 < args.validation_fraction < 1:
        print(
            "refused: --window-days and --step-days must be > 0, --validation-fraction in (0, 1)",
            file=sys.stderr,
        )
        return 2
    try:
        params = read_params(args.params) if args.params else None
        report = run_backtest(
            args.data, args.window_days, args.step_days, args.validation_fraction, args.selection, params
        )
    except (OSError, ValueError) as err:
        print(f"refused: {err}", file=sys.stderr)
        return 2
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=2, allow_nan=False) + "\n", encoding="utf-8")
    print(render(report), end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
