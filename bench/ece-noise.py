"""ECE of a perfectly calibrated model on n holdout rows (docs/model.md, "ECE needs enough holdout rows").

Draws p for n rows, draws each label as Bernoulli(p) (so the model is calibrated by construction), and computes the
ECE the promotion gate uses (training's `expected_calibration_error`, 10 equal-mass bins). Repeats `--draws` times per
n and prints the mean and the 95th percentile: the ECE a good model shows by chance alone. Last line JSON.

    .venv/bin/python bench/ece-noise.py [--draws 200] [--rows 1000,1386,2000,5000,10000] [--seed 7]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys

import numpy as np

sys.path.insert(
    0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "training")
)
from leadrank_training.metrics import expected_calibration_error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--rows", default="1000,1386,2000,5000,10000")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load "
        f"{' / '.join(f'{x:.1f}' for x in os.getloadavg())}, Python {platform.python_version()}"
    )
    print(
        f"p ~ Uniform(0, 1), labels ~ Bernoulli(p), {args.draws} draws per n, 10 equal-mass bins"
    )
    result = {}
    for n in (int(x) for x in args.rows.split(",")):
        eces = []
        for _ in range(args.draws):
            p = rng.uniform(0.0, 1.0, n)
            y = (rng.uniform(0.0, 1.0, n) < p).astype(float)
            eces.append(expected_calibration_error(y, p))
        mean, p95 = float(np.mean(eces)), float(np.percentile(eces, 95))
        result[str(n)] = {"mean": round(mean, 4), "p95": round(p95, 4)}
        print(f"n = {n:>6}: ECE mean {mean:.3f}, 95th percentile {p95:.3f}")
    print(json.dumps({"bench": "ece-noise", "draws": args.draws, "ece": result}))


if __name__ == "__main__":
    main()
