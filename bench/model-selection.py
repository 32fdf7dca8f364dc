"""Model-family selection, calibration and rolling backtests on data with and without drift, and X Education.

PYTHONPATH=training .venv/bin/python bench/model-selection.py [--rows 20000] [--x-education-sets DIR]

Synthetic sets come from training/leadrank_training/synthetic.py (its drift knobs); X Education's training sets
are the ones the general pipeline builds (`npx tsx scripts/x-education.ts --out var/x-education`: importer,
shipped specs, `leadrank training-set build`), read from --x-education-sets (never from the repository). Prints
one table per part, the machine, and a last JSON line with every figure."""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "training"))

from leadrank_training.backtest import run_backtest  # noqa: E402
from leadrank_training.synthetic import write_synthetic_training_set  # noqa: E402
from leadrank_training.train import run_training  # noqa: E402

WORK = REPO / "var" / "bench" / "model-selection"
SCENARIOS = {
    "no drift": {},
    "base-rate drift (+3 log-odds over the year)": {"base_rate_drift": 3.0},
    "feature drift (visits Poisson(3) + 20t)": {"feature_drift": 20.0},
    "effect drift (lead-source effects reversed)": {"effect_drift": 2.0, "base_rate_drift": 1.5},
    "no signal (label independent of features)": {"signal": False},
}


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return f"{cpu} x {os.cpu_count()}, Python {platform.python_version()}, load average {load:.1f}"


def summary(card: dict, seconds: float) -> dict:
    cands = {c["name"]: round(c["test_auc_uncalibrated"], 4) for c in card["selection"]["candidates"]}
    b = card["baselines"]
    return {
        "chosen": card["model"]["name"],
        "test_auc": round(card["metrics"]["test"]["roc_auc"], 4),
        "test_auc_raw": round(card["calibration_ranking"]["test"]["raw_auc"], 4),
        "test_ece": round(card["metrics"]["test"]["ece"], 4),
        "calibration": card["model"]["calibration"],
        "prior_shift": card["calibration_comparison"]["prior_correction"]["applied"],
        "rules_auc_test": round(b["test"]["rules_auc"], 4),
        "logistic_auc_test": None
        if b["test"]["logistic_auc"] is None
        else round(b["test"]["logistic_auc"], 4),
        "beats_rules": b["beats_rules"]["passed"],
        "candidates_test_auc": cands,
        "top_moved_feature": card["drift"]["most_moved_features"][0]["feature"],
        "base_rate": {k: round(v, 4) for k, v in card["drift"]["base_rate"].items()},
        "seconds": round(seconds, 1),
    }


def print_table(title: str, rows: dict[str, dict]) -> None:
    print(f"\n## {title}\n")
    print(
        "| data | chosen | test AUC (cal / raw) | ECE | rules AUC | logistic AUC | beats rules | candidates |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows.items():
        cands = ", ".join(f"{k} {v}" for k, v in r["candidates_test_auc"].items())
        print(
            f"| {name} | {r['chosen']} | {r['test_auc']} / {r['test_auc_raw']} | {r['test_ece']} | "
            f"{r['rules_auc_test']} | {r['logistic_auc_test']} | {r['beats_rules']} | {cands} |"
        )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--x-education-sets", type=Path, default=REPO / "var" / "x-education")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    print(f"machine: {machine()}")
    WORK.mkdir(parents=True, exist_ok=True)
    out: dict = {"rows": args.rows, "synthetic": {}, "x_education": {}, "backtest": {}}

    for name, knobs in SCENARIOS.items():
        data = write_synthetic_training_set(
            WORK / f"syn-{len(out['synthetic'])}", args.rows, seed=42, **knobs
        )
        start = time.perf_counter()
        card = run_training(data, WORK / f"syn-{len(out['synthetic'])}-model").card
        out["synthetic"][name] = summary(card, time.perf_counter() - start)
    print_table(f"Synthetic ({args.rows} rows, time split 70/15/15)", out["synthetic"])

    data = WORK / "syn-3"  # effect drift
    start = time.perf_counter()
    bt = run_backtest(data, window_days=90, step_days=60)
    out["backtest"] = {
        "data": "effect drift",
        "window_days": 90,
        "step_days": 60,
        "steps": len(bt["steps"]),
        "pooled": {
            k: {m: (None if v is None else round(v, 4)) for m, v in s.items()}
            for k, s in bt["pooled"].items()
        },
        "seconds": round(time.perf_counter() - start, 1),
    }
    print(f"\n## Rolling backtest on effect drift (window 90 days, step 60 days, {len(bt['steps'])} steps)\n")
    print("| scorer | pooled AUC | area under gains | ECE |\n|---|---|---|---|")
    for k, m in out["backtest"]["pooled"].items():
        print(f"| {k} | {m['roc_auc']} | {m['area_under_gains']} | {m['ece']} |")

    xe = args.x_education_sets
    if (xe / "clean" / "training-set.parquet").exists():
        for variant in ("clean", "leaky"):
            for split in ("time", "random"):
                start = time.perf_counter()
                card = run_training(xe / variant, WORK / f"xe-{variant}-{split}", split_method=split).card
                out["x_education"][f"{variant} / {split}"] = summary(card, time.perf_counter() - start)
        print_table("X Education (9,240 leads; time = Lead Number order)", out["x_education"])
    else:
        print(f"\nX Education skipped: no training sets in {xe} (npx tsx scripts/x-education.ts --out {xe})")
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
