"""Reads the training-set contract written by scoring-sidecar/src/features/training-set-file.ts."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

TRAINING_SET_FILE = "training-set.parquet"
FEATURE_SPEC_FILE = "feature-spec.json"
SEGMENT_COLUMNS = ("seg_region", "seg_lead_source", "seg_industry", "seg_company_size")
BASELINE_COLUMN = "baseline_score"
# Bayes-optimal probability from a simulator's ground truth: evaluation only, never a feature.
CEILING_COLUMN = "ceiling_score"


def canonical_json(value: object) -> str:
    """Same bytes as canonicalJson() in training-set-file.ts (sorted keys, no whitespace)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def feature_spec_hash(features: list[dict]) -> str:
    return hashlib.sha256(canonical_json(features).encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TrainingSet:
    spec: dict
    frame: pd.DataFrame  # lead_id, snapshot_at, label, segments, optional baseline_score
    features: np.ndarray  # float64 (rows x spec features), values rounded through float32; NaN = missing

    @property
    def feature_names(self) -> list[str]:
        return [f["name"] for f in self.spec["features"]]

    @property
    def categorical_indexes(self) -> list[int]:
        return [i for i, f in enumerate(self.spec["features"]) if f["kind"] == "categorical"]

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy(dtype=np.int64)

    @property
    def has_baseline(self) -> bool:
        return BASELINE_COLUMN in self.frame.columns

    def subset(self, rows: np.ndarray) -> TrainingSet:
        return TrainingSet(self.spec, self.frame.iloc[rows].reset_index(drop=True), self.features[rows])


def read_feature_spec(directory: Path) -> dict:
    spec = json.loads((directory / FEATURE_SPEC_FILE).read_text(encoding="utf-8"))
    if spec.get("specVersion") != 1:
        raise ValueError(f"unsupported specVersion {spec.get('specVersion')!r}")
    if spec["hash"] != feature_spec_hash(spec["features"]):
        raise ValueError("feature-spec.json: hash does not match the features array")
    for f in spec["features"]:
        if f["kind"] not in ("numeric", "boolean", "categorical"):
            raise ValueError(f"feature {f['name']}: unknown kind {f['kind']!r}")
        if (f["kind"] == "categorical") != ("categories" in f):
            raise ValueError(f"feature {f['name']}: categories go with categorical features only")
    return spec


def load_training_set(directory: Path | str) -> TrainingSet:
    directory = Path(directory)
    spec = read_feature_spec(directory)
    table = pq.read_table(directory / TRAINING_SET_FILE)
    names = [f["name"] for f in spec["features"]]
    missing = [
        c
        for c in ["lead_id", "snapshot_at", "label", *SEGMENT_COLUMNS, *names]
        if c not in table.column_names
    ]
    if missing:
        raise ValueError(f"training set lacks columns {missing}")
    frame = table.select(
        ["lead_id", "snapshot_at", "label", *SEGMENT_COLUMNS]
        + [c for c in (BASELINE_COLUMN, CEILING_COLUMN) if c in table.column_names]
    ).to_pandas()
    frame["snapshot_at"] = pd.to_datetime(frame["snapshot_at"], utc=True)
    if not frame["label"].isin([0, 1]).all():
        raise ValueError("label must be 0 or 1")
    features = np.column_stack(
        [table.column(n).to_numpy(zero_copy_only=False).astype(np.float64) for n in names]
    )
    # Serving feeds float32 to ONNX: train and compare on the same float32-representable values.
    features = features.astype(np.float32).astype(np.float64)
    return TrainingSet(spec=spec, frame=frame, features=features)
