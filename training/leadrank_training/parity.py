"""python -m leadrank_training.parity --out <dir> [--data <training-set dir>] [--rows 10000]

Trains a model (on --data, or on a synthetic set with enough test rows), then writes the rows the
TypeScript loader must score and the LightGBM(+calibration) probabilities it must reproduce:
- <out>/model/: the model artifacts
- <out>/parity-rows.parquet: features in spec order, then p_calibrated, p_uncalibrated, p_platt, p_isotonic
- <out>/calibration-{platt,isotonic}.json: both candidate calibrations
- <out>/parity.json: summary"""

from __future__ import annotations

import argparse
import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from .calibration import apply_calibration
from .dataset import load_training_set
from .synthetic import write_synthetic_training_set
from .train import run_training

DEFAULT_ROWS = 10_000
SYNTHETIC_ROWS = 70_000  # the 15 % test period then has 10,500 rows
PARITY_ROWS_FILE = "parity-rows.parquet"
log = logging.getLogger("leadrank_training")


def run_parity(
    out: Path, data: Path | None = None, rows: int = DEFAULT_ROWS, family: str = "lightgbm"
) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    if data is None:
        data = write_synthetic_training_set(out / "training-set", SYNTHETIC_ROWS)
    result = run_training(data, out / "model", families=[family])
    ts = load_training_set(data)
    test = result.split.test
    if len(test) < rows:
        raise ValueError(f"the test period has {len(test)} rows, fewer than the {rows} requested")
    x = ts.features[test[:rows]]
    p_uncalibrated = result.chosen.predict_raw(x)
    p_calibrated = apply_calibration(result.calibration, p_uncalibrated)
    columns = {name: pa.array(x[:, j], type=pa.float64()) for j, name in enumerate(ts.feature_names)}
    columns["p_calibrated"] = pa.array(p_calibrated, type=pa.float64())
    columns["p_uncalibrated"] = pa.array(p_uncalibrated, type=pa.float64())
    # Both candidate calibrations, so the TypeScript side checks each method, not only the chosen one.
    for method, calibration in sorted(result.calibration_candidates.items()):
        columns[f"p_{method}"] = pa.array(apply_calibration(calibration, p_uncalibrated), type=pa.float64())
        (out / f"calibration-{method}.json").write_text(
            json.dumps(calibration, indent=2) + "\n", encoding="utf-8"
        )
    pq.write_table(pa.table(columns), out / PARITY_ROWS_FILE)
    summary = {
        "model_dir": str(out / "model"),
        "rows_file": str(out / PARITY_ROWS_FILE),
        "rows": rows,
        "features": ts.feature_names,
        "calibration": result.calibration["method"],
        "version": result.card["version"],
        "python": result.card["parity"]["python_onnxruntime"],
    }
    if family == "logistic":
        # Exact linear SHAP from Python for the TypeScript explainer's parity check (phi..., expected value).
        shap = result.chosen.model.shap(x)
        pq.write_table(
            pa.table({f"shap_{j}": pa.array(shap[:, j], type=pa.float64()) for j in range(shap.shape[1])}),
            out / "parity-shap.parquet",
        )
    summary["family"] = family
    (out / "parity.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m leadrank_training.parity", description=__doc__)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--data", type=Path, default=None, help="training-set directory (default: synthetic)")
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--family", choices=["lightgbm", "logistic"], default="lightgbm")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    summary = run_parity(args.out, args.data, args.rows, args.family)
    log.info(
        json.dumps({"msg": "parity rows written", **{k: summary[k] for k in ("rows", "version", "python")}})
    )
    return 0 if summary["python"]["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
