"""bench/online.ts's Python side, run with the project venv (LEADRANK_PYTHON):
train <data dir> <model dir>    train the bench model (LightGBM family only) and keep LightGBM's model.txt beside
                                it, so the FastAPI peer and pred_contrib run the very model the sidecar serves
contrib <model.txt> <rows.f64> <width> <single rows>
                                LightGBM's own pred_contrib on those rows, one thread: rows/s batched and one
                                row at a time (one JSON line)
"""

import json
import sys
import time
from pathlib import Path

import numpy as np


def train(data: Path, out: Path) -> None:
    from leadrank_training.train import run_training

    result = run_training(
        data, out, "time", (0.7, 0.15, 0.15), None, None, ["lightgbm"]
    )
    if result.booster is None:
        raise SystemExit("the bench model is not LightGBM")
    result.booster.save_model(str(out / "model.txt"))
    print(
        json.dumps(
            {"version": result.card["version"], "trees": result.booster.num_trees()}
        )
    )


def contrib(model_file: str, rows_file: str, width: int, single: int) -> None:
    import lightgbm as lgb

    booster = lgb.Booster(model_file=model_file)
    rows = np.fromfile(rows_file, dtype=np.float64).reshape(-1, width)
    booster.predict(rows[:100], pred_contrib=True, num_threads=1)  # warm-up
    started = time.process_time()
    booster.predict(rows, pred_contrib=True, num_threads=1)
    batched = len(rows) / (time.process_time() - started)
    started = time.process_time()
    for i in range(single):
        booster.predict(rows[i : i + 1], pred_contrib=True, num_threads=1)
    one = single / (time.process_time() - started)
    print(
        json.dumps(
            {"batched_rows_per_s": batched, "single_rows_per_s": one, "rows": len(rows)}
        )
    )


if __name__ == "__main__":
    if sys.argv[1] == "train":
        train(Path(sys.argv[2]), Path(sys.argv[3]))
    elif sys.argv[1] == "contrib":
        contrib(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(__doc__)
