from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from leadrank_training.synthetic import write_synthetic_training_set
from leadrank_training.train import run_training

REPO = Path(__file__).resolve().parents[2]
# Beside the repository; LEADRANK_X_EDUCATION_CSV points elsewhere (e.g. from a git worktree).
X_EDUCATION_CSV = Path(
    os.environ.get("LEADRANK_X_EDUCATION_CSV", REPO.parent / "shared" / "data" / "x-education-leads.csv")
)


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_training_set(tmp_path_factory.mktemp("synthetic") / "set", rows=20_000)


@pytest.fixture(scope="session")
def trained(synthetic_set: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("model")
    return out, run_training(synthetic_set, out, families=["lightgbm"])


@pytest.fixture(scope="session")
def x_education_sets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """clean/ and leaky/ built by the TypeScript builder (the contract's writer), as in production."""
    if not X_EDUCATION_CSV.exists():
        pytest.fail(f"missing {X_EDUCATION_CSV}: the shared data folder must sit beside the repository")
    npx = shutil.which("npx")
    if npx is None:
        pytest.fail("npx (Node.js) is needed to build the x-education training sets")
    out = tmp_path_factory.mktemp("x-education")
    subprocess.run(
        [
            npx,
            "tsx",
            "scoring-sidecar/src/commands/x-education.ts",
            "--csv",
            str(X_EDUCATION_CSV),
            "--out",
            str(out),
        ],
        cwd=REPO,
        check=True,
        capture_output=True,
    )
    return out
