from __future__ import annotations

from pathlib import Path

import pytest

from leadrank_training.synthetic import write_synthetic_training_set
from leadrank_training.train import run_training

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def synthetic_set(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic_training_set(tmp_path_factory.mktemp("synthetic") / "set", rows=20_000)


@pytest.fixture(scope="session")
def trained(synthetic_set: Path, tmp_path_factory: pytest.TempPathFactory):
    out = tmp_path_factory.mktemp("model")
    return out, run_training(synthetic_set, out, families=["lightgbm"])
