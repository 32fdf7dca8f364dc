"""A synthetic training set in the contract format (known ground truth), for tests and the parity check."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .dataset import BASELINE_COLUMN, FEATURE_SPEC_FILE, SEGMENT_COLUMNS, TRAINING_SET_FILE, feature_spec_hash

INDUSTRIES = ["Technology", "Finance", "Healthcare", "Retail", "Manufacturing", "Education", "Energy"]
SOURCES = ["Web", "Referral", "Event", "Paid Search", "Partner", "Cold Call"]
REGIONS = ["EMEA", "NA", "LATAM", "APAC"]
SIZES = ["1-10", "11-50", "51-200", "201-1000", "1000+"]

FEATURES = [
    {"name": "web_visits_30d", "kind": "numeric", "description": "Website visits in the last 30 days"},
    {"name": "time_on_site_min", "kind": "numeric", "description": "Minutes on site, last 30 days"},
    {"name": "email_opens_30d", "kind": "numeric", "description": "Marketing emails opened"},
    {"name": "has_phone", "kind": "boolean", "description": "A phone number is on file"},
    {"name": "industry", "kind": "categorical", "categories": INDUSTRIES, "description": "Industry"},
    {"name": "lead_source", "kind": "categorical", "categories": SOURCES, "description": "Lead source"},
    {"name": "region", "kind": "categorical", "categories": REGIONS, "description": "Sales region"},
    {"name": "company_size", "kind": "categorical", "categories": SIZES, "description": "Employees band"},
]


CALENDAR_FEATURE = {"name": "day_of_year", "kind": "numeric", "description": "Day of the year (UTC)"}


def synthetic_spec(name: str = "synthetic", calendar: bool = False) -> dict:
    features = [*FEATURES, CALENDAR_FEATURE] if calendar else FEATURES
    return {
        "specVersion": 1,
        "name": name,
        "hash": feature_spec_hash(features),
        "features": features,
        "label": {"name": "label", "horizonDays": 30},
        "snapshotTime": "snapshot_at",
        "segments": list(SEGMENT_COLUMNS),
    }


def write_synthetic_training_set(
    directory: Path,
    rows: int,
    seed: int = 11,
    *,
    base_rate_drift: float = 0.0,
    feature_drift: float = 0.0,
    signal: bool = True,
    calendar: bool = False,
    effect_drift: float = 0.0,
) -> Path:
    """Leads over one year: known logistic ground truth, a 0-100 rules baseline score, missing values.

    Drift knobs (t = share of the year elapsed at the snapshot, 0..1):
    - base_rate_drift: the log-odds intercept moves by base_rate_drift * t (the base rate shifts over time);
    - feature_drift: web visits are Poisson(3) + round(feature_drift * t), so late periods hold values beyond
      the training range (their effect on the log-odds stays linear);
    - signal=False: the label is independent of every feature (base rate 0.2, plus base_rate_drift);
    - calendar=True: adds a day_of_year feature (no effect on the label);
    - effect_drift: the lead-source effects are scaled by (1 - effect_drift * t): what converts changes over
      time (at 2 they are reversed by the end of the year), which only retraining follows."""
    rng = np.random.default_rng(seed)
    n = rows
    t = np.sort(rng.random(n))
    # Shifted, not rescaled: the spread stays that of Poisson(3), so late values leave the training range.
    visits = (rng.poisson(3, n) + np.round(feature_drift * t)).astype(float)
    visits[rng.random(n) < 0.05] = np.nan
    time_on_site = np.round(rng.lognormal(1.5, 1.0, n), 1)
    opens = rng.poisson(1.5, n).astype(float)
    has_phone = (rng.random(n) < 0.6).astype(float)
    cats = {
        "industry": rng.integers(0, len(INDUSTRIES), n).astype(float),
        "lead_source": rng.integers(0, len(SOURCES), n).astype(float),
        "region": rng.integers(0, len(REGIONS), n).astype(float),
        "company_size": rng.integers(0, len(SIZES), n).astype(float),
    }
    cats["industry"][rng.random(n) < 0.1] = np.nan
    cats["company_size"][rng.random(n) < 0.15] = np.nan
    effect_industry = np.array([0.6, 0.3, 0.0, -0.4, 0.2, -0.6, 0.1])
    effect_source = np.array([0.0, 1.0, 0.5, -0.2, 0.7, -0.9])
    z = (
        -2.0
        + 0.25 * np.nan_to_num(visits, nan=1.0)
        + 0.35 * np.log1p(time_on_site)
        + 0.2 * opens
        + 0.5 * has_phone
        + np.where(
            np.isnan(cats["industry"]), -0.3, effect_industry[np.nan_to_num(cats["industry"]).astype(int)]
        )
        + effect_source[cats["lead_source"].astype(int)] * (1 - effect_drift * t)
        + 0.3 * np.nan_to_num(cats["company_size"], nan=1.0) / 4
    )
    if not signal:
        z = np.full(n, np.log(0.2 / 0.8))
    z = z + base_rate_drift * t
    label = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(np.int32)
    snapshot = pd.Timestamp("2024-01-01", tz="UTC") + pd.to_timedelta(t * 365, unit="D")
    baseline = np.clip(20 * has_phone + 5 * np.nan_to_num(visits) + 3 * opens, 0, 100)

    def names(codes: np.ndarray, values: list[str]) -> list[str | None]:
        return [None if np.isnan(c) else values[int(c)] for c in codes]

    columns: dict = {
        "lead_id": pa.array([f"SYN{seed:03d}{i:08d}" for i in range(n)]),
        "snapshot_at": pa.array(snapshot.as_unit("ms"), type=pa.timestamp("ms", tz="UTC")),
        "label": pa.array(label, type=pa.int32()),
        "seg_region": pa.array(names(cats["region"], REGIONS), type=pa.string()),
        "seg_lead_source": pa.array(names(cats["lead_source"], SOURCES), type=pa.string()),
        "seg_industry": pa.array(names(cats["industry"], INDUSTRIES), type=pa.string()),
        "seg_company_size": pa.array(names(cats["company_size"], SIZES), type=pa.string()),
    }
    values = {
        "web_visits_30d": visits,
        "time_on_site_min": time_on_site,
        "email_opens_30d": opens,
        "has_phone": has_phone,
        **cats,
        "day_of_year": np.floor(t * 365) + 1,
    }
    spec = synthetic_spec(calendar=calendar)
    for f in spec["features"]:
        columns[f["name"]] = pa.array(values[f["name"]], type=pa.float64(), from_pandas=True)
    columns[BASELINE_COLUMN] = pa.array(baseline, type=pa.float64())
    directory.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table(columns), directory / TRAINING_SET_FILE)
    (directory / FEATURE_SPEC_FILE).write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    return directory
