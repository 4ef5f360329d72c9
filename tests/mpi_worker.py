"""Run under ``mpiexec -n P`` by tests/test_distributed.py (not collected by pytest itself).

``python tests/mpi_worker.py CASE OUT_JSON [ARG ...]``: every rank runs CASE; rank 0 writes the numbers
the test asserts on to OUT_JSON. Fault cases end the job on purpose (the test checks how).
"""
from __future__ import annotations

import json
import sys

import numpy as np

from vecprop.datasets import Standardizer, load_data_file
from vecprop.distributed import RankError, batch_plan, get_reducer


def basics(reducer, out, npy, csv_path):
    """Reducer sums, the batch plan, agreement, per-rank file blocks and reduced standardization."""
    r, P = reducer.rank, reducer.size
    buf = np.arange(5, dtype=np.float64) * (r + 1)
    reducer(buf)
    out["allreduce"] = buf.tolist()
    out["sum_int"] = reducer.sum(np.array([r, 1])).tolist()
    # the plan: every rank the same number of steps; sizes per step summed over ranks
    sizes = {}
    for m_r, B in [((50, 50, 50), 32), ((40, 20, 60), 12), ((7, 0, 13), 5), ((3, 3, 3), None)]:
        m_local = m_r[r]                                   # the first P shard sizes
        M = int(reducer.sum(np.array([m_local]))[0])
        plan = batch_plan(m_local, M, B)
        per_step = reducer.allgather([s.stop - s.start for s in plan])
        sizes[f"{M}/{B}"] = np.sum(per_step, axis=0).tolist()
        covers = all(a.stop == b.start for a, b in zip(plan[:-1], plan[1:])) and plan[-1].stop == m_local
        out.setdefault("plan_covers", []).append(bool(reducer.sum(np.array([not covers]))[0] == 0))
    out["plan_sizes"] = sizes
    try:
        reducer.check_same("layer_dims", [2, 3, 1] if r == 0 else [2, 4, 1])
    except RankError as exc:
        out["mismatch"] = str(exc)
    try:
        reducer.raise_any(ValueError("bad shard") if r == P - 1 else None)
    except RankError as exc:
        out["raise_any"] = str(exc)
    from vecprop.shards import global_standardizer, load_block
    for name, path in (("npy", npy), ("csv", csv_path)):
        whole = load_data_file(path)
        block = load_block(path, reducer)
        X = np.concatenate(reducer.allgather(block.X), axis=1)
        y = np.concatenate(reducer.allgather(block.y))
        out[name] = {"m_local": block.m, "X_equal": bool(np.array_equal(X, whole.X)),
                     "y_equal": bool(np.array_equal(y, whole.y)), "labels": block.target_names,
                     "labels_whole": whole.target_names, "task": block.task}
        stats, ref = global_standardizer(block.X, reducer), Standardizer.fit(whole.X)
        out[name]["mean_err"] = float(np.max(np.abs(stats.mean - ref.mean)))
        out[name]["scale_err"] = float(np.max(np.abs(stats.scale / ref.scale - 1)))
    try:
        load_block(csv_path.replace(".csv", "_bad.csv"), reducer)
    except RankError as exc:
        out["bad_csv"] = str(exc)


def raise_plain(reducer, out):
    """Rank 1 raises outside any fit; the others wait in a collective: the abort handler must end them."""
    if reducer.rank == 1:
        raise RuntimeError("deliberate failure on one rank")
    reducer(np.ones(3))


CASES = {"basics": basics, "raise_plain": raise_plain}


def main():
    case, path, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    reducer = get_reducer("mpi")
    out = {"size": reducer.size}
    CASES[case](reducer, out, *args)
    if reducer.is_root:
        with open(path, "w") as f:
            json.dump(out, f)


if __name__ == "__main__":
    main()
