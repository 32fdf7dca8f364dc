"""ONNX export of a LightGBM booster, pinned to opsets that onnxruntime-node loads."""

from __future__ import annotations

from pathlib import Path

import lightgbm as lgb
import numpy as np
import onnx
import onnxruntime as ort
from onnxmltools import convert_lightgbm
from onnxmltools.convert.common.data_types import FloatTensorType

# onnxruntime-node runs TreeEnsembleClassifier at ai.onnx.ml 1-4 only; ML opset 5 replaces it (stack notes).
# onnxmltools' LightGBM converter takes only the main opset (an int) and emits TreeEnsembleClassifier at
# ai.onnx.ml 1; to_onnx() checks the result against MAX_ML_OPSET so a converter upgrade cannot slip past.
TARGET_OPSET = 15
MAX_ML_OPSET = 3
INPUT_NAME = "features"
PROBABILITIES_OUTPUT = "probabilities"


def to_onnx(booster: lgb.Booster, n_features: int, metadata: dict[str, str]) -> onnx.ModelProto:
    model = convert_lightgbm(
        booster,
        name="leadrank",
        initial_types=[(INPUT_NAME, FloatTensorType([None, n_features]))],
        target_opset=TARGET_OPSET,
        zipmap=False,
    )
    opsets = {o.domain or "": o.version for o in model.opset_import}
    if opsets.get("", 0) > TARGET_OPSET or opsets.get("ai.onnx.ml", 0) > MAX_ML_OPSET:
        raise RuntimeError(f"ONNX opsets {opsets} would not load in onnxruntime-node")
    outputs = [o.name for o in model.graph.output]
    if outputs[-1] != PROBABILITIES_OUTPUT:
        raise RuntimeError(f"unexpected ONNX outputs {outputs}")
    for key, value in sorted(metadata.items()):
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    onnx.checker.check_model(model)
    return model


def opsets_of(model: onnx.ModelProto) -> dict[str, int]:
    return {o.domain or "ai.onnx": o.version for o in model.opset_import}


def save_onnx(model: onnx.ModelProto, path: Path) -> None:
    path.write_bytes(model.SerializeToString(deterministic=True))


def onnx_probabilities(path: Path, x: np.ndarray) -> np.ndarray:
    """P(label = 1) from the ONNX file with Python onnxruntime (one thread, like the sidecar)."""
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    (probabilities,) = session.run([PROBABILITIES_OUTPUT], {INPUT_NAME: x.astype(np.float32)})
    return np.asarray(probabilities, dtype=np.float64)[:, 1]
