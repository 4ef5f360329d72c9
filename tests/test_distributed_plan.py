"""vecprop.distributed without MPI: communicator resolution, the global-batch plan, row blocks, and
that nothing imports mpi4py until a communicator is asked for."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from vecprop.distributed import batch_plan, block_range, get_reducer
from vecprop.training import mini_batches


def test_get_reducer_resolves_or_says_what_it_takes():
    assert get_reducer(None) is None
    with pytest.raises(ValueError, match="comm must be None, 'mpi' or an mpi4py communicator, got 'mpl'"):
        get_reducer("mpl")
    with pytest.raises(ValueError, match="got int"):
        get_reducer(3)


@pytest.mark.parametrize("m, B", [(10, 3), (64, 16), (7, 7), (7, 100), (5, None), (1000, 33)])
def test_one_rank_plan_is_the_course_mini_batches(m, B):
    _, expected = mini_batches(m, B, None, shuffle=False)
    assert batch_plan(m, m, B) == expected


@pytest.mark.parametrize("shards, B", [((50, 50), 32), ((40, 20, 60), 12), ((1, 999), 10), ((3, 4, 5, 6), 7)])
def test_plan_uses_every_example_once_in_the_same_number_of_steps(shards, B):
    M = sum(shards)
    plans = [batch_plan(m, M, B) for m in shards]
    assert {len(p) for p in plans} == {-(-M // B)}
    for m, plan in zip(shards, plans):
        assert plan[0].start == 0 and plan[-1].stop == m
        assert all(a.stop == b.start and a.stop >= a.start for a, b in zip(plan, plan[1:]))
    sizes = np.sum([[s.stop - s.start for s in p] for p in plans], axis=0)
    assert sizes.sum() == M and np.all(np.abs(sizes[:-1] - B) <= len(shards) - 1)


def test_block_range_splits_rows_into_near_equal_contiguous_blocks():
    blocks = [block_range(10, r, 3) for r in range(3)]
    assert blocks == [(0, 3), (3, 6), (6, 10)]


def test_import_does_not_need_mpi4py():
    code = "import sys, vecprop, vecprop.distributed, vecprop.training; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "False", out.stderr
