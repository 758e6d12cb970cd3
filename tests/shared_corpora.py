"""Where the shared corpora (18f, 18f-mixed, bad-inputs) live: next to the repo, or where
PRECEDENT_SHARED_CORPORA points. Tests that need them skip locally without them, and fail under CI."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _find() -> Path:
    for cand in (os.environ.get("PRECEDENT_SHARED_CORPORA"), ROOT.parent / "shared" / "corpora",
                 Path("/work/shared/corpora")):
        if cand and (Path(cand) / "18f-mixed").is_dir():
            return Path(cand)
    return ROOT.parent / "shared" / "corpora"


SHARED = _find()
MIXED = SHARED / "18f-mixed"
BAD = SHARED / "bad-inputs"
CORPUS_18F = SHARED / "18f"

if not MIXED.is_dir() and os.environ.get("CI"):
    raise RuntimeError(f"The shared corpora are missing ({SHARED}); set PRECEDENT_SHARED_CORPORA.")

needs_shared = pytest.mark.skipif(not MIXED.is_dir(), reason=f"shared corpora not found at {SHARED}")
