"""Leadrank model training: LightGBM -> calibrated probabilities -> ONNX, evaluation report, model card."""

import os

# LightGBM's OpenMP threads spin while waiting by default; on a busy 2-core machine (tests run in parallel)
# that made training 4x slower in wall time. Must be set before lightgbm loads the OpenMP runtime.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
