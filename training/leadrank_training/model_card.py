"""model_card.json: what the model is, what it was trained on, how good it is, and where not to use it."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

# Files whose bytes define the model's behaviour; their hash is the model version.
VERSIONED_ARTIFACTS = ("model.onnx", "calibration.json", "feature-spec.json")

INTENDED_USE = (
    "Rank open Salesforce leads by the probability that they convert to an opportunity within the label "
    "horizon, to order reps' worklists. Scores are calibrated probabilities for the population and period "
    "the model was trained on."
)
LIMITS = [
    "Trained on historical outcomes: it reproduces past sales behaviour, including its biases.",
    "Calibration holds for the training population; re-check it after changes in lead mix or process.",
    "Segments flagged too_few_rows in report.json have unreliable metrics.",
    "Not for decisions about people beyond prioritising outreach (no eligibility, pricing or credit use).",
    "Features must be computed as in the feature spec; unknown categories and missing values are allowed.",
]


def content_version(model_dir: Path) -> str:
    digest = hashlib.sha256()
    for name in VERSIONED_ARTIFACTS:
        data = (model_dir / name).read_bytes()
        digest.update(name.encode() + b"\0" + str(len(data)).encode() + b"\0" + data)
    return "lr-" + digest.hexdigest()[:16]


def code_version(repo_dir: Path) -> dict | None:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=repo_dir, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "training"], cwd=repo_dir, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return {"git_commit": commit, "training_code_modified": bool(dirty)}
