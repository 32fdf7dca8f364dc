"""The logistic-regression candidate: an additive model in log-odds, exported to ONNX, explained exactly.

Design (one block of columns per feature; excluded features get none):
- numeric / boolean: the standardised value (missing -> 0), a missing indicator, and "steps" [x >= e] at up
  to `bins - 1` training quantiles (a thermometer code of quantile bins: piecewise-constant corrections on
  top of the linear term). The linear term extrapolates beyond the training range, which trees cannot.
- categorical: one indicator per level [x == code] and a missing indicator; unknown codes get no column
  (they score as the reference level).
L2-regularised logistic regression (scikit-learn, lbfgs) on that design, C chosen on validation AUC.

Why the ONNX graph is built here and not by skl2onnx: the design needs missing indicators, and skl2onnx
1.20 drops SimpleImputer's `add_indicator` columns (converted graph: 2 columns where sklearn has 3) and has no
MissingIndicator converter; the graph below uses only standard ONNX ops (opset 15: Gather, IsNaN, Where,
GreaterOrEqual, Equal, MatMul, Sigmoid), no ai.onnx.ml at all, so onnxruntime-node 1.30 loads it. Input
`features` float32 [N, n_features], output `probabilities` float32 [N, 2], the same contract as the
LightGBM export. Comparisons are exact: quantile edges are data values, float32 like the inputs.

Linear SHAP (exact for an additive model in the link space): phi_j(x) = f_j(x_j) - E_train[f_j], where f_j is
feature j's block (sum of coefficient x design column); expected value = intercept + sum_j E_train[f_j].
`model.json` holds each f_j (scoring-sidecar/src/explain/linear-shap.ts evaluates it)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score

from .export import INPUT_NAME, PROBABILITIES_OUTPUT, TARGET_OPSET

DEFAULT_BINS = 8
DEFAULT_C_GRID = (0.01, 0.1, 1.0)


@dataclass
class LinearDesign:
    """The design matrix definition, fitted on training rows (quantiles, means, scales, levels)."""

    feature_names: list[str]
    kinds: list[str]
    excluded: list[str]
    numeric: list[int] = field(default_factory=list)  # features with a linear term + missing indicator
    mean: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    scale: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    step_feature: list[int] = field(default_factory=list)
    step_at: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))
    categorical: list[int] = field(default_factory=list)  # features with a missing indicator
    level_feature: list[int] = field(default_factory=list)
    level_code: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.float32))

    @classmethod
    def fit(
        cls, x: np.ndarray, spec_features: list[dict], excluded: set[str], bins: int = DEFAULT_BINS
    ) -> LinearDesign:
        x = x.astype(np.float32)
        d = cls([f["name"] for f in spec_features], [f["kind"] for f in spec_features], sorted(excluded))
        means, scales, steps, codes = [], [], [], []
        for j, f in enumerate(spec_features):
            if f["name"] in excluded:
                continue
            col = x[:, j]
            seen = col[~np.isnan(col)]
            if f["kind"] == "categorical":
                d.categorical.append(j)
                for code in range(len(f["categories"])):
                    if np.any(seen == code):
                        d.level_feature.append(j)
                        codes.append(code)
                continue
            d.numeric.append(j)
            mu = np.float32(np.mean(seen)) if len(seen) else np.float32(0)
            sd = np.float32(np.std(seen)) if len(seen) else np.float32(1)
            means.append(mu)
            scales.append(sd if sd > 0 else np.float32(1))
            if f["kind"] == "numeric" and len(seen):
                # "lower" quantiles are data values: [x >= e] is then the same test in float32 and float64.
                edges = np.unique(np.quantile(seen, np.linspace(0, 1, bins + 1)[1:-1], method="lower"))
                for e in edges[edges > seen.min()]:
                    d.step_feature.append(j)
                    steps.append(e)
        d.mean = np.asarray(means, dtype=np.float32)
        d.scale = np.asarray(scales, dtype=np.float32)
        d.step_at = np.asarray(steps, dtype=np.float32)
        d.level_code = np.asarray(codes, dtype=np.float32)
        if not d.numeric and not d.categorical:
            raise ValueError("the logistic candidate has no features (all excluded)")
        return d

    def columns(self) -> list[tuple[int, str]]:
        """(feature index, role) of each design column, in design order."""
        return (
            [(j, "linear") for j in self.numeric]
            + [(j, "missing") for j in self.numeric]
            + [(j, "step") for j in self.step_feature]
            + [(j, "level") for j in self.level_feature]
            + [(j, "missing") for j in self.categorical]
        )

    def transform(self, x: np.ndarray) -> np.ndarray:
        """The design in float32 arithmetic, as the ONNX graph computes it."""
        x = x.astype(np.float32)
        parts = []
        if self.numeric:
            xn = x[:, self.numeric]
            z = (xn - self.mean) / self.scale
            parts += [np.where(np.isnan(xn), np.float32(0), z), np.isnan(xn).astype(np.float32)]
        if self.step_feature:
            parts.append((x[:, self.step_feature] >= self.step_at).astype(np.float32))
        if self.level_feature:
            parts.append((x[:, self.level_feature] == self.level_code).astype(np.float32))
        if self.categorical:
            parts.append(np.isnan(x[:, self.categorical]).astype(np.float32))
        return np.column_stack(parts).astype(np.float32)


@dataclass
class LinearModel:
    design: LinearDesign
    coef: np.ndarray  # float64, one per design column
    intercept: float
    c: float
    expected: np.ndarray  # E_train[f_j] per feature (0 for excluded)

    def raw_score(self, x: np.ndarray) -> np.ndarray:
        return self.design.transform(x).astype(np.float64) @ self.coef + self.intercept

    def predict_raw(self, x: np.ndarray) -> np.ndarray:
        """Uncalibrated P(label = 1)."""
        return 1.0 / (1.0 + np.exp(-self.raw_score(x)))

    def contributions(self, x: np.ndarray) -> np.ndarray:
        """f_j(x_j) per row and feature (rows x features), in log-odds."""
        design = self.design.transform(x).astype(np.float64)
        out = np.zeros((x.shape[0], len(self.design.feature_names)))
        for k, (j, _) in enumerate(self.design.columns()):
            out[:, j] += design[:, k] * self.coef[k]
        return out

    def shap(self, x: np.ndarray) -> np.ndarray:
        """Exact SHAP values (rows x (features + 1)): phi_j, then the expected value."""
        phi = self.contributions(x) - self.expected
        base = np.full((x.shape[0], 1), self.intercept + float(np.sum(self.expected)))
        return np.hstack([phi, base])

    def dump(self) -> dict:
        """model.json for scoring-sidecar/src/explain/linear-shap.ts."""
        d = self.design
        cols = d.columns()
        features = []
        for j, name in enumerate(d.feature_names):
            entry: dict = {"name": name, "kind": d.kinds[j], "expected": float(self.expected[j])}
            mine = [(k, role) for k, (jj, role) in enumerate(cols) if jj == j]
            entry["excluded"] = name in d.excluded
            if j in d.numeric:
                i = d.numeric.index(j)
                entry["mean"] = float(d.mean[i])
                entry["scale"] = float(d.scale[i])
            entry["linear"] = next((float(self.coef[k]) for k, r in mine if r == "linear"), 0.0)
            entry["missing"] = next((float(self.coef[k]) for k, r in mine if r == "missing"), 0.0)
            step_ks = [k for k, r in mine if r == "step"]
            entry["steps"] = [
                {"at": float(d.step_at[k - len(d.numeric) * 2]), "weight": float(self.coef[k])}
                for k in step_ks
            ]
            first_level = len(d.numeric) * 2 + len(d.step_feature)
            entry["levels"] = [
                {"code": float(d.level_code[k - first_level]), "weight": float(self.coef[k])}
                for k, r in mine
                if r == "level"
            ]
            features.append(entry)
        return {
            "kind": "linear",
            "objective": "binary",
            "link": "logit",
            "feature_names": d.feature_names,
            "intercept": self.intercept,
            "expected_value": self.intercept + float(np.sum(self.expected)),
            "features": features,
        }


def fit_logistic(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    spec_features: list[dict],
    excluded: set[str],
    c_grid: tuple[float, ...] = DEFAULT_C_GRID,
    bins: int = DEFAULT_BINS,
) -> tuple[LinearModel, dict]:
    """Fits one model per C and keeps the best validation AUC (ties to the stronger regularisation)."""
    design = LinearDesign.fit(x_train, spec_features, excluded, bins)
    d_train = design.transform(x_train).astype(np.float64)
    d_val = design.transform(x_val).astype(np.float64)
    best: tuple[float, LogisticRegression, float] | None = None
    tried = []
    for c in sorted(c_grid):
        lr = LogisticRegression(C=c, max_iter=2000, tol=1e-6).fit(d_train, y_train)
        z = d_val @ lr.coef_[0] + lr.intercept_[0]
        auc = float(roc_auc_score(y_val, z)) if 0 < y_val.sum() < len(y_val) else 0.5
        tried.append({"C": c, "validation_auc": auc})
        if best is None or auc > best[0] + 1e-4:
            best = (auc, lr, c)
    assert best is not None
    _, lr, c = best
    coef = lr.coef_[0].astype(np.float64)
    model = LinearModel(design, coef, float(lr.intercept_[0]), c, np.zeros(len(design.feature_names)))
    model.expected = model.contributions(x_train).mean(axis=0)
    return model, {"C_grid": tried, "C": c, "bins": bins, "design_columns": int(d_train.shape[1])}


def _const(name: str, values: np.ndarray, dtype: type = np.float32) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype=dtype), name)


def linear_to_onnx(model: LinearModel, n_features: int, metadata: dict[str, str]) -> onnx.ModelProto:
    d = model.design
    nodes, inits, parts = [], [], []

    def gather(name: str, idx: list[int]) -> str:
        inits.append(_const(f"{name}_idx", np.asarray(idx), np.int64))
        nodes.append(helper.make_node("Gather", [INPUT_NAME, f"{name}_idx"], [name], axis=1))
        return name

    def as_float(src: str, out: str) -> str:
        nodes.append(helper.make_node("Cast", [src], [out], to=TensorProto.FLOAT))
        return out

    inits.append(_const("zero", np.zeros(1)))
    if d.numeric:
        xn = gather("xn", d.numeric)
        inits += [_const("mu", d.mean), _const("sd", d.scale)]
        nodes += [
            helper.make_node("IsNaN", [xn], ["xn_nan"]),
            helper.make_node("Sub", [xn, "mu"], ["xn_c"]),
            helper.make_node("Div", ["xn_c", "sd"], ["xn_z"]),
            helper.make_node("Where", ["xn_nan", "zero", "xn_z"], ["lin"]),
        ]
        parts += ["lin", as_float("xn_nan", "miss_n")]
    if d.step_feature:
        xs = gather("xs", d.step_feature)
        inits.append(_const("edges", d.step_at))
        nodes.append(helper.make_node("GreaterOrEqual", [xs, "edges"], ["ge"]))
        parts.append(as_float("ge", "steps"))
    if d.level_feature:
        xl = gather("xl", d.level_feature)
        inits.append(_const("codes", d.level_code))
        nodes.append(helper.make_node("Equal", [xl, "codes"], ["eq"]))
        parts.append(as_float("eq", "levels"))
    if d.categorical:
        xc = gather("xc", d.categorical)
        nodes.append(helper.make_node("IsNaN", [xc], ["xc_nan"]))
        parts.append(as_float("xc_nan", "miss_c"))
    inits += [
        _const("coef", model.coef.reshape(-1, 1)),
        _const("intercept", np.array([model.intercept])),
        _const("one", np.ones(1)),
    ]
    nodes += [
        helper.make_node("Concat", parts, ["design"], axis=1),
        helper.make_node("MatMul", ["design", "coef"], ["z0"]),
        helper.make_node("Add", ["z0", "intercept"], ["z"]),
        helper.make_node("Sigmoid", ["z"], ["p1"]),
        helper.make_node("Sub", ["one", "p1"], ["p0"]),
        helper.make_node("Concat", ["p0", "p1"], [PROBABILITIES_OUTPUT], axis=1),
    ]
    graph = helper.make_graph(
        nodes,
        "leadrank_logistic",
        [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [None, n_features])],
        [helper.make_tensor_value_info(PROBABILITIES_OUTPUT, TensorProto.FLOAT, [None, 2])],
        inits,
    )
    onnx_model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", TARGET_OPSET)], producer_name="leadrank_training"
    )
    onnx_model.ir_version = 8
    for key, value in sorted(metadata.items()):
        entry = onnx_model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(onnx_model)
    return onnx_model
