"""Training reproduces the parameters recorded with the code before the engine seam (issue #10).

tests/data/reference_trajectories.npz was written by tests/data/make_reference_trajectories.py at commit
901558d; every configuration there (every optimizer, shuffled ragged mini-batches, L2, dropout, sample and
class weights, clipping, schedules, early stopping with restore, continuation) must train to the same
parameters within 1e-12 relative (float64).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
_spec = importlib.util.spec_from_file_location("make_reference_trajectories", DATA / "make_reference_trajectories.py")
refs = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(refs)
SAVED = np.load(DATA / "reference_trajectories.npz")


@pytest.mark.parametrize("engine", [None, "numpy", "reference"])
@pytest.mark.parametrize("name", sorted(refs.CONFIGS))
def test_training_reproduces_reference_trajectory(name, engine):
    flat, history = refs.run(name, engine)
    expected = SAVED[name]
    assert flat.shape == expected.shape
    np.testing.assert_allclose(flat, expected, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(history.loss, SAVED[name + "__loss"], rtol=1e-12, atol=1e-14)
