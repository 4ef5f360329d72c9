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
        m_local = m_r[r]  # the first P shard sizes
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
        out[name] = {
            "m_local": block.m,
            "X_equal": bool(np.array_equal(X, whole.X)),
            "y_equal": bool(np.array_equal(y, whole.y)),
            "labels": block.target_names,
            "labels_whole": whole.target_names,
            "task": block.task,
        }
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


SHARDS = {2: (40, 24), 3: (40, 24, 32)}  # uneven shards with B·m_r/M integers for B = 16 (P=2), 12 (P=3)
OPTIONS = {
    "gd": {"optimizer": "gd", "learning_rate": 0.1},
    "momentum": {"optimizer": "momentum", "learning_rate": 0.05},
    "adam": {"optimizer": "adam", "learning_rate": 0.01},
    "l2": {"optimizer": "gd", "learning_rate": 0.1, "l2": 0.3},
    "sample_weight": {"optimizer": "adam", "learning_rate": 0.01},
    "class_weight": {"optimizer": "gd", "learning_rate": 0.1, "class_weight": "balanced"},
    "validation": {
        "optimizer": "adam",
        "learning_rate": 0.02,
        "early_stopping": True,
        "patience": 2,
        "monitor": "val_loss",
    },
}


def _global_data(M, n_x=3, K=3, seed=7):
    """The same data on every rank: X (n_x, M), one-hot Y (K, M) skewed towards class 0, weights (M,)."""
    from vecprop import one_hot

    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, M))
    y = np.minimum(rng.integers(0, K + 2, M), K - 1)[::-1].copy()
    return X, one_hot(y, K), rng.uniform(0.2, 2.0, M)


def _rel(a, b):
    return float(np.max(np.abs(a - b)) / max(np.max(np.abs(b)), 1e-300))


def fit(reducer, out):
    """Every option: P ranks against one process on the concatenated global batches."""
    from vecprop import Network

    r, P = reducer.rank, reducer.size
    shards = SHARDS[P]
    B, M = (16 if P == 2 else 12), sum(shards)
    X, Y, w = _global_data(M)
    X_val, Y_val, _ = _global_data(30, seed=8)
    starts = np.cumsum([0, *shards])
    block = slice(starts[r], starts[r + 1])
    # one process's order: shard 0's local batch k, shard 1's local batch k, ..., then batch k + 1
    plans = [batch_plan(m_r, M, B) for m_r in shards]
    order = np.concatenate(
        [
            np.arange(starts[q] + s.start, starts[q] + s.stop)
            for k in range(len(plans[0]))
            for q, plan in enumerate(plans)
            for s in [plan[k]]
        ]
    )
    val_blocks = [slice(v * 30 // P, (v + 1) * 30 // P) for v in range(P)]
    for name, opts in OPTIONS.items():
        kw = dict(opts, epochs=8 if name == "validation" else 3, batch_size=B, shuffle=False, verbose=0)
        sw = w if name == "sample_weight" else None
        ref = Network([3, 5, 4, 3], "tanh", seed=0)
        dist = Network([3, 5, 4, 3], "tanh", seed=0)
        val = (X_val, Y_val) if name == "validation" else None
        h_ref = ref.fit(
            X[:, order], Y[:, order], sample_weight=None if sw is None else sw[order], validation_data=val, **kw
        )
        h = dist.fit(
            X[:, block],
            Y[:, block],
            sample_weight=None if sw is None else sw[block],
            validation_data=None if val is None else (X_val[:, val_blocks[r]], Y_val[:, val_blocks[r]]),
            comm=reducer,
            **kw,
        )
        same = reducer.allgather((h.loss, h.val_loss, h.metrics.get("accuracy"), h.stop_reason, h.best_epoch))
        out[name] = {
            "theta": _rel(
                dist.theta if hasattr(dist, "theta") else dist._flat_params(),
                ref.theta if hasattr(ref, "theta") else ref._flat_params(),
            ),
            "loss": _rel(np.array(h.loss), np.array(h_ref.loss)),
            "val_loss": _rel(np.array(h.val_loss), np.array(h_ref.val_loss)) if h_ref.val_loss else 0.0,
            "epochs": [len(h.loss), len(h_ref.loss)],
            "best_epoch": [h.best_epoch, h_ref.best_epoch],
            "history_same_on_every_rank": all(s == same[0] for s in same),
        }
    # a plan that is not exact (global batches 9..11 for B = 10) with empty local batches on rank 0: one
    # process stepping through the same global batches, one fit call per batch (adam's state continues)
    sizes = (1, 59) if P == 2 else (1, 20, 39)
    s0 = np.cumsum([0, *sizes])
    plans = [batch_plan(m_r, 60, 10) for m_r in sizes]
    X6, Y6, _ = _global_data(60)
    dist = Network([3, 4, 3], seed=0)
    dist.fit(
        X6[:, s0[r] : s0[r + 1]],
        Y6[:, s0[r] : s0[r + 1]],
        epochs=2,
        batch_size=10,
        shuffle=False,
        optimizer="adam",
        verbose=0,
        comm=reducer,
    )
    ref = Network([3, 4, 3], seed=0)
    for _ in range(2):
        for k in range(len(plans[0])):
            cols = np.concatenate([np.arange(s0[q] + p[k].start, s0[q] + p[k].stop) for q, p in enumerate(plans)])
            ref.fit(X6[:, cols], Y6[:, cols], epochs=1, shuffle=False, optimizer="adam", verbose=0)
    out["ragged"] = {"theta": _rel(dist.theta, ref.theta), "rank0_sizes": [p.stop - p.start for p in plans[0]]}
    # shuffled: every rank ends with the same parameters and History
    net = Network([3, 5, 3], "relu", seed=1)
    h = net.fit(
        X[:, block], Y[:, block], epochs=3, batch_size=B, optimizer="adam", learning_rate=0.01, verbose=0, comm=reducer
    )
    thetas = reducer.allgather(net.theta.tobytes() if hasattr(net, "theta") else net._flat_params().tobytes())
    out["shuffled_same"] = all(t == thetas[0] for t in thetas) and all(
        x == reducer.allgather(h.loss)[0] for x in reducer.allgather(h.loss)
    )
    # mismatched options and a bad shard fail on every rank, naming the rank
    try:
        Network([3, 5, 3], "relu", seed=1).fit(
            X[:, block], Y[:, block], epochs=1, verbose=0, comm=reducer, learning_rate=0.1 if r == 0 else 0.2
        )
    except RankError as exc:
        out["mismatch"] = str(exc)
    from vecprop.training import DivergenceError

    try:  # an infinite cost is global: every rank raises, none aborts
        huge = np.full((1, X[:, block].shape[1]), 1e200 if r == 0 else 1.0)
        Network([3, 4, 1], "relu", "mse", seed=1).fit(X[:, block], huge, epochs=2, verbose=0, comm=reducer)
    except DivergenceError as exc:
        out["diverged"] = reducer.allgather(str(exc).split(";")[0])
    Xb = X[:, block].copy()
    if r == P - 1:
        Xb[1, 2] = np.nan
    try:
        Network([3, 5, 3], "relu", seed=1).fit(Xb, Y[:, block], epochs=1, verbose=0, comm=reducer)
    except RankError as exc:
        out["bad_shard"] = str(exc)


def checkpoint(reducer, out, path):
    """Rank 0 alone writes the checkpoint; every rank resumes from it and matches an uninterrupted run."""
    from vecprop import Network, load
    from vecprop.callbacks import Checkpoint

    r, P = reducer.rank, reducer.size
    X, Y, _ = _global_data(90)
    block = slice(r * 90 // P, (r + 1) * 90 // P)
    kw = dict(batch_size=10, optimizer="adam", learning_rate=0.01, keep_prob=0.8, verbose=0, comm=reducer)
    whole = Network([3, 6, 3], "relu", seed=3)
    whole.fit(X[:, block], Y[:, block], epochs=4, **kw)
    first = Network([3, 6, 3], "relu", seed=3)
    first.fit(X[:, block], Y[:, block], epochs=2, callbacks=[Checkpoint(path)], print_every=1, **kw)
    reducer.comm.Barrier()
    resumed = load(path)
    resumed.fit(X[:, block], Y[:, block], epochs=2, **kw)
    theta = resumed.theta if hasattr(resumed, "theta") else resumed._flat_params()
    ref = whole.theta if hasattr(whole, "theta") else whole._flat_params()
    out["resume"] = max(reducer.allgather(_rel(theta, ref)))


def fit_raise(reducer, out):
    """A callback raises on rank 1 in the middle of a fit: every rank must end, naming rank 1."""
    from vecprop import Network
    from vecprop.callbacks import Callback

    class Fail(Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            if reducer.rank == 1 and epoch == 1:
                raise MemoryError("deliberate failure in a callback")

    X, Y, _ = _global_data(40)
    Network([3, 4, 3], seed=0).fit(X, Y, epochs=50, batch_size=8, verbose=0, callbacks=[Fail()], comm=reducer)


def exit_mid_fit(reducer, out):
    """Rank 1 calls sys.exit(0) in the middle of a fit: that rank must abort the job, not just leave."""
    from vecprop import Network
    from vecprop.callbacks import Callback

    class Leave(Callback):
        def on_batch_end(self, trainer, batch, logs):
            if reducer.rank == 1 and batch == 2:
                sys.exit(0)

    X, Y, _ = _global_data(40)
    Network([3, 4, 3], seed=0).fit(X, Y, epochs=50, batch_size=8, verbose=0, callbacks=[Leave()], comm=reducer)


def estimators(reducer, out):
    """DNNClassifier/DNNRegressor fit and partial_fit with comm: P ranks against one process on the
    concatenated global batches (shuffle=False), plus the global checks and refusals."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from vecprop.sklearn import DNNClassifier, DNNRegressor

    warnings.simplefilter("ignore", ConvergenceWarning)
    r, P = reducer.rank, reducer.size
    shards = SHARDS[P]
    B, M = (16 if P == 2 else 12), sum(shards)
    starts = np.cumsum([0, *shards])
    block = slice(starts[r], starts[r + 1])
    plans = [batch_plan(m_r, M, B) for m_r in shards]
    order = np.concatenate(
        [
            np.arange(starts[q] + p[k].start, starts[q] + p[k].stop)
            for k in range(len(plans[0]))
            for q, p in enumerate(plans)
        ]
    )
    rng = np.random.default_rng(11)
    X = rng.standard_normal((M, 4))
    labels = np.array(["ant", "bee", "cat"])[np.minimum(rng.integers(0, 4, M), 2)]
    labels[starts[1] :] = np.where(labels[starts[1] :] == "cat", "bee", labels[starts[1] :])  # no cat past rank 0
    targets = np.column_stack([X[:, 0] - 2 * X[:, 1], np.tanh(X[:, 2] * X[:, 3])])  # two outputs: k = 2
    w = rng.uniform(0.2, 2.0, M)
    common = dict(hidden_layer_sizes=(5, 4), random_state=0, max_iter=4, shuffle=False, batch_size=B, alpha=1e-3)
    cases = {
        "classifier_sgd": (DNNClassifier, dict(solver="sgd", learning_rate_init=0.1), labels, None),
        "classifier_adam": (DNNClassifier, dict(solver="adam", learning_rate_init=0.01), labels, None),
        "classifier_balanced": (DNNClassifier, dict(solver="adam", class_weight="balanced"), labels, None),
        "classifier_weights": (DNNClassifier, dict(solver="sgd", learning_rate_init=0.1), labels, w),
        "regressor_sgd": (DNNRegressor, dict(solver="sgd", learning_rate_init=0.01), targets, None),
        "regressor_adam": (DNNRegressor, dict(solver="adam", learning_rate_init=0.01), targets, w),
    }
    for name, (cls, params, y, sw) in cases.items():
        ref = cls(**common, **params).fit(X[order], y[order], sample_weight=None if sw is None else sw[order])
        est = cls(**common, **params).fit(
            X[block], y[block], sample_weight=None if sw is None else sw[block], comm=reducer
        )
        out[name] = _compare_estimators(reducer, est, ref)
    # partial_fit: two epochs, classes given on every rank
    classes = np.array(["ant", "bee", "cat"])
    ref, est = DNNClassifier(**common, solver="adam"), DNNClassifier(**common, solver="adam")
    for _ in range(2):
        ref.partial_fit(X[order], labels[order], classes=classes)
        est.partial_fit(X[block], labels[block], classes=classes, comm=reducer)
    out["partial_fit"] = _compare_estimators(reducer, est, ref)
    ref, est = DNNRegressor(**common, solver="sgd"), DNNRegressor(**common, solver="sgd")
    for _ in range(2):
        ref.partial_fit(X[order], targets[order])
        est.partial_fit(X[block], targets[block], comm="mpi")
    out["partial_fit_regressor"] = _compare_estimators(reducer, est, ref)
    ref, est = DNNClassifier(**common, warm_start=True), DNNClassifier(**common, warm_start=True)
    for _ in range(2):  # warm_start: the second fit continues; its classes are every rank's labels
        ref.fit(X[order], labels[order])
        est.fit(X[block], labels[block], comm=reducer)
    out["warm_start"] = _compare_estimators(reducer, est, ref)
    # early stopping: each rank holds out its share, the score is over every rank's hold-out
    for cls, y in ((DNNClassifier, labels), (DNNRegressor, targets)):
        est = cls(hidden_layer_sizes=(6,), random_state=0, max_iter=30, early_stopping=True, n_iter_no_change=3)
        est.set_params(batch_size=B, validation_fraction=0.25, verbose=True)
        est.fit(X[block], y[block], comm=reducer)
        seen = reducer.allgather((est.validation_scores_, est.n_iter_, est.best_validation_score_, est.loss_curve_))
        out[f"early_{cls.__name__}"] = {
            "same_on_every_rank": all(v == seen[0] for v in seen),
            "n_iter": est.n_iter_,
            "scores": est.validation_scores_,
        }
    # refusals, on every rank at once
    try:
        DNNClassifier(solver="lbfgs").fit(X[block], labels[block], comm=reducer)
    except ValueError as exc:
        out["lbfgs"] = str(exc)
    try:
        DNNClassifier(max_iter=2).fit(X[block][:, : 4 - r], labels[block], comm=reducer)
    except RankError as exc:
        out["n_features"] = str(exc)
    try:
        bad = labels[block].copy()
        bad[0] = "dog" if r == P - 1 else bad[0]
        DNNClassifier(max_iter=1).partial_fit(X[block], bad, classes=classes, comm=reducer)
    except RankError as exc:
        out["unknown_class"] = str(exc)
    try:
        DNNClassifier(max_iter=1).partial_fit(X[block], labels[block], classes=classes[: 2 + (r == 0)], comm=reducer)
    except RankError as exc:
        out["classes_differ"] = str(exc)


def _compare_estimators(reducer, est, ref):
    """The distributed estimator against the one-process one: parameters, record, classes; and the same on
    every rank."""
    theta = np.concatenate([np.ravel(a) for a in [*est.coefs_, *est.intercepts_]])
    theta_ref = np.concatenate([np.ravel(a) for a in [*ref.coefs_, *ref.intercepts_]])
    thetas = reducer.allgather(theta.tobytes())
    return {
        "theta": _rel(theta, theta_ref),
        "loss_curve": _rel(np.array(est.loss_curve_), np.array(ref.loss_curve_)),
        "n_iter": [est.n_iter_, ref.n_iter_],
        "t": [est.t_, ref.t_],
        "classes": [getattr(est, "classes_", np.array([])).tolist(), getattr(ref, "classes_", np.array([])).tolist()],
        "same_on_every_rank": all(t == thetas[0] for t in thetas),
    }


CASES = {
    "basics": basics,
    "raise_plain": raise_plain,
    "fit": fit,
    "checkpoint": checkpoint,
    "estimators": estimators,
    "fit_raise": fit_raise,
    "exit_mid_fit": exit_mid_fit,
}


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
