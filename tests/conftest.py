"""Shared fixtures: the real light curves beside the checkout."""

from __future__ import annotations

import os
from pathlib import Path

import pytest


REPO = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("TRANSITFLOW_REALDATA", REPO.parent / "shared" / "realdata"))


@pytest.fixture(scope="session")
def realdata() -> Path:
    """``../shared/realdata``: the real TESS/K2 files. Missing data is an error, not a skip."""
    if not (REALDATA / "truth.csv").exists():
        raise FileNotFoundError(f"{REALDATA}: real data not found; set TRANSITFLOW_REALDATA")
    return REALDATA

