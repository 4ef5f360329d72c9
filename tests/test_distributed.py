"""Data-parallel training over MPI: each case runs under ``mpiexec -n P`` (P = 2 and 3) as a subprocess
with a timeout, so a hang fails the test instead of stalling the suite. tests/mpi_worker.py holds the
code the ranks run; rank 0 writes the numbers asserted here."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the distributed tests need the mpi extra: pip install 'vecprop[mpi]'")

WORKER = Path(__file__).with_name("mpi_worker.py")
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
TIMEOUT = 120          # seconds per mpiexec run: a hang fails the test, never the whole suite

if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install 'vecprop[mpi]' brings MPICH's)", allow_module_level=True)


def mpirun(P, *args, timeout=TIMEOUT):
    """``mpiexec -n P`` the arguments; returns the CompletedProcess (a TimeoutExpired fails the test)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([MPIEXEC, "-n", str(P), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, env=env)


def run_case(P, case, tmp_path, *args):
    out = tmp_path / f"{case}_{P}.json"
    proc = mpirun(P, sys.executable, WORKER, case, out, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """A .npy (numeric, 3 classes) and a CSV (string labels), plus a CSV with a bad row near its end."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    m = 101
    X = rng.standard_normal((m, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    y = rng.integers(0, 3, m)
    np.save(d / "data.npy", np.column_stack([X, y]))
    labels = np.array(["cat", "dog", "eel"])[y]
    rows = ["a,b,c,animal"] + [",".join([*(repr(float(v)) for v in x), k]) for x, k in zip(X, labels)]
    (d / "data.csv").write_text("\n".join(rows) + "\n")
    bad = list(rows)
    bad[-3] = bad[-3].replace(bad[-3].split(",")[1], "oops", 1)
    (d / "data_bad.csv").write_text("\n".join(bad) + "\n")
    return str(d / "data.npy"), str(d / "data.csv")


@pytest.mark.parametrize("P", [2, 3])
def test_reducer_plan_blocks_and_standardization(P, tmp_path, data_files):
    out = run_case(P, "basics", tmp_path, *data_files)
    assert out["size"] == P
    assert out["allreduce"] == [k * P * (P + 1) / 2 for k in range(5)]
    assert out["sum_int"] == [P * (P - 1) / 2, P]
    assert all(out["plan_covers"])
    sizes = out["plan_sizes"]
    if P == 2:
        assert sizes["100/32"] == [32, 32, 32, 4]      # equal shards, P | B: exactly B, the rest last
        assert sizes["60/12"] == [12] * 5              # uneven shards in the proportions of B
        assert sizes["7/5"] == [5, 2]                  # an empty shard takes part with empty batches
    else:
        assert sizes["150/32"] == [30, 33, 33, 30, 24]  # P ∤ B: each global batch within P − 1 of B
        assert sizes["120/12"] == [12] * 10
        assert sizes["20/5"] == [4, 5, 5, 6]
    assert sizes["9/None" if P == 3 else "6/None"] == [9 if P == 3 else 6]
    assert "layer_dims differs across the" in out["mismatch"] and "rank 1: [2, 4, 1]" in out["mismatch"]
    assert out["raise_any"] == f"rank {P - 1} of {P}: bad shard"
    for name in ("npy", "csv"):
        block = out[name]
        assert block["X_equal"] and block["y_equal"], block
        assert block["labels"] == block["labels_whole"] and block["task"] == "classification"
        assert block["mean_err"] < 1e-12 and block["scale_err"] < 1e-12
    assert out["npy"]["m_local"] == 101 // P          # rank 0's block of rows
    assert f"of {P}: " in out["bad_csv"] and "data_bad.csv:100:2: non-numeric value 'oops'" in out["bad_csv"]


@pytest.mark.parametrize("P", [2, 3])
def test_a_failing_rank_ends_every_rank(P, tmp_path):
    t0 = time.perf_counter()
    proc = mpirun(P, sys.executable, WORKER, "raise_plain", tmp_path / "unused.json", timeout=60)
    assert proc.returncode != 0
    assert time.perf_counter() - t0 < 30
    assert "vecprop: rank 1 of %d failed: RuntimeError: deliberate failure on one rank" % P in proc.stderr
