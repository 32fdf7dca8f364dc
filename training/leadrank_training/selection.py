"""Model-family selection: the candidates (LightGBM grid, logistic regression), the choice on the validation
window (ties to the simpler), and the diagnostics that go beside it (drift report, calendar warning).

Configuration: config/training/model-selection.json (validated with pydantic; unknown keys are errors)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import lightgbm as lgb
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sklearn.metrics import roc_auc_score

from .linear import LinearModel, fit_logistic
from .model import DEFAULT_PARAMS, predict_raw, train_booster
from .registry_store import REPO_ROOT

DEFAULT_SELECTION_CONFIG = REPO_ROOT / "config" / "training" / "model-selection.json"
# Simpler first: a tie (within tieMargin of the best validation AUC) goes to the earliest of these.
FAMILY_ORDER = ("logistic", "lightgbm")


class LightGbmSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minTrees: int = Field(20, ge=1)
    earlyStoppingRounds: int = Field(50, ge=1)
    maxRounds: int = Field(2000, ge=1)
    grid: list[dict] = Field(default_factory=lambda: [{}], min_length=1)


class LogisticSearch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    C: list[float] = Field(default_factory=lambda: [0.01, 0.1, 1.0], min_length=1)
    bins: int = Field(8, ge=2, le=64)


class OpportunityGateConfig(BaseModel):
    """The deal models' gate (`--target opportunity`): deals are hundreds, so the fixed ECE limit would refuse
    a perfectly calibrated model by chance; the limit is the ECE such a model shows on the holdout's rows."""

    model_config = ConfigDict(extra="forbid")
    eceNoiseQuantile: float = Field(0.95, gt=0, lt=1)
    eceNoiseDraws: int = Field(200, ge=20)


class GateConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    minAucOverRules: float = Field(0.01, ge=0)
    maxCalibratedAucLoss: float = Field(0.001, ge=0)
    opportunity: OpportunityGateConfig = Field(default_factory=OpportunityGateConfig)


class SelectionConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    families: list[Literal["lightgbm", "logistic"]] = Field(
        default_factory=lambda: ["lightgbm", "logistic"], min_length=1
    )
    tieMargin: float = Field(0.002, ge=0)
    lightgbm: LightGbmSearch = Field(default_factory=LightGbmSearch)
    logistic: LogisticSearch = Field(default_factory=LogisticSearch)
    calendarFeatures: list[str] = Field(default_factory=lambda: ["days_to_quarter_end", "day_of_year"])
    excludeCalendarFeatures: bool = False
    excludeFeatures: list[str] = Field(default_factory=list)
    calendarWarningTop: int = Field(3, ge=1)
    gate: GateConfig = Field(default_factory=GateConfig)

    def excluded_for(self, feature_names: list[str]) -> list[str]:
        """Features the model must not use; unknown names in excludeFeatures are an error."""
        unknown = sorted(set(self.excludeFeatures) - set(feature_names))
        if unknown:
            raise ValueError(f"excludeFeatures names features the training set lacks: {unknown}")
        out = set(self.excludeFeatures)
        if self.excludeCalendarFeatures:
            out |= set(self.calendarFeatures) & set(feature_names)
        return [n for n in feature_names if n in out]


def load_selection_config(path: Path | None = None) -> SelectionConfig:
    """Raises ValueError naming the file and every invalid field."""
    path = path or DEFAULT_SELECTION_CONFIG
    try:
        return SelectionConfig.model_validate_json(path.read_text(encoding="utf-8"))
    except ValidationError as err:
        raise ValueError(f"{path}: {err}") from err


def auc_standard_error(auc: float, positives: int, negatives: int) -> float:
    """Hanley & McNeil (1982) standard error of an AUC."""
    if positives == 0 or negatives == 0:
        return float("inf")
    q1, q2 = auc / (2 - auc), 2 * auc * auc / (1 + auc)
    var = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives
    )
    return float(np.sqrt(max(var, 0.0)))


def auc_or_half(y: np.ndarray, score: np.ndarray) -> float:
    return float(roc_auc_score(y, score)) if 0 < int(np.sum(y)) < len(y) else 0.5


@dataclass
class Candidate:
    family: str
    name: str
    params: dict
    model: lgb.Booster | LinearModel
    validation_auc: float
    complexity: tuple[int, int]
    info: dict

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        if isinstance(self.model, LinearModel):
            return self.model.predict_raw(x)
        return predict_raw(self.model, x)


def train_candidates(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    spec: dict,
    config: SelectionConfig,
    base_params: dict | None,
    excluded: list[str],
    log: Callable[[str], None] = lambda _m: None,
) -> list[Candidate]:
    names = [f["name"] for f in spec["features"]]
    categorical = [i for i, f in enumerate(spec["features"]) if f["kind"] == "categorical"]
    excluded_idx = [names.index(n) for n in excluded]
    out: list[Candidate] = []
    if "logistic" in config.families:
        model, info = fit_logistic(
            x_train, y_train, x_val, y_val, spec["features"], set(excluded),
            tuple(config.logistic.C), config.logistic.bins,
        )  # fmt: skip
        auc = auc_or_half(y_val, model.raw_score(x_val))
        out.append(Candidate("logistic", f"logistic[C={model.c}]", info, model, auc, (0, 0), info))
        log(f"candidate logistic C={model.c}: validation AUC {auc:.4f}")
    if "lightgbm" in config.families:
        lg = config.lightgbm
        for k, entry in enumerate(lg.grid):
            params = {**(base_params or {}), **entry}
            booster = train_booster(
                x_train, y_train, x_val, y_val, names, categorical, params,
                max_rounds=lg.maxRounds, early_stopping_rounds=lg.earlyStoppingRounds,
                min_trees=lg.minTrees, excluded=excluded_idx,
            )  # fmt: skip
            auc = auc_or_half(y_val, predict_raw(booster, x_val))
            label = ",".join(f"{key}={v}" for key, v in sorted(entry.items())) or "base"
            info = {"params": {**DEFAULT_PARAMS, **params}, "trees": booster.num_trees(), "grid_index": k}
            out.append(Candidate("lightgbm", f"lightgbm[{label}]", params, booster, auc, (1, k), info))
            log(f"candidate lightgbm[{label}]: {booster.num_trees()} trees, validation AUC {auc:.4f}")
    return out


def choose(candidates: list[Candidate], tie_margin: float) -> Candidate:
    """The simplest candidate within tie_margin of the best validation AUC."""
    best = max(c.validation_auc for c in candidates)
    tied = [c for c in candidates if c.validation_auc >= best - tie_margin]
    return min(tied, key=lambda c: c.complexity)


def top_features(candidate: Candidate, x_val: np.ndarray, feature_names: list[str], k: int) -> list[str]:
    """Most important features: total split gain (trees) or mean |SHAP| on validation rows (logistic)."""
    if isinstance(candidate.model, LinearModel):
        weight = np.mean(np.abs(candidate.model.shap(x_val)[:, :-1]), axis=0)
    else:
        weight = candidate.model.feature_importance(importance_type="gain")
    order = np.argsort(-np.asarray(weight, dtype=np.float64), kind="stable")
    return [feature_names[i] for i in order[:k] if weight[i] > 0]


def population_stability(
    reference: np.ndarray, current: np.ndarray, categorical: bool, bins: int = 10
) -> float:
    """PSI of one feature: reference quantile bins (or codes), missing as a bin, shares floored at 1e-4."""

    def shares(values: np.ndarray, edges: np.ndarray | None, codes: np.ndarray | None) -> np.ndarray:
        missing = np.isnan(values)
        v = values[~missing]
        if codes is not None:
            counts = np.array([np.sum(v == c) for c in codes] + [np.sum(~np.isin(v, codes))])
        else:
            counts = np.bincount(np.searchsorted(edges, v, side="right"), minlength=len(edges) + 1)
        counts = np.append(counts, missing.sum()).astype(np.float64)
        return np.maximum(counts / max(len(values), 1), 1e-4)

    ref = reference[~np.isnan(reference)]
    if categorical:
        codes, edges = np.unique(ref), None
    else:
        codes = None
        edges = np.unique(np.quantile(ref, np.linspace(0, 1, bins + 1)[1:-1])) if len(ref) else np.empty(0)
    a, b = shares(reference, edges, codes), shares(current, edges, codes)
    return float(np.sum((b - a) * np.log(b / a)))


def drift_report(
    windows: dict[str, dict], x: np.ndarray, parts: dict[str, np.ndarray], spec: dict, top: int = 5
) -> dict:
    """Base rate per window and the features whose distribution moves most (PSI, train -> test)."""
    features = spec["features"]
    psi = []
    for j, f in enumerate(features):
        cat = f["kind"] == "categorical"
        to_val = population_stability(x[parts["train"], j], x[parts["validation"], j], cat)
        to_test = population_stability(x[parts["train"], j], x[parts["test"], j], cat)
        psi.append({"feature": f["name"], "psi_train_to_validation": to_val, "psi_train_to_test": to_test})
    psi.sort(key=lambda r: -r["psi_train_to_test"])
    return {
        "base_rate": {
            name: (w["positives"] / w["rows"] if w["rows"] else None) for name, w in windows.items()
        },
        "most_moved_features": psi[:top],
        "psi_rule": "PSI over 10 training-quantile bins (codes for categoricals), missing as a bin; "
        "> 0.1 moderate, > 0.25 large",
    }


def config_json(config: SelectionConfig) -> dict:
    return json.loads(config.model_dump_json())
