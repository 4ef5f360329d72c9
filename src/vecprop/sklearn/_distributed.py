"""The estimators over MPI: ``fit(X, y, comm=...)`` and ``partial_fit(X, y, ..., comm=...)`` on every rank.

Each rank passes *its own shard* of the rows; the network trains through ``Network.fit(comm=...)``
(vecprop.distributed), and this module holds what the estimators add on top, each a collective every
rank calls at the same point of ``fit``:

* the reducer for ``comm`` (``solver="lbfgs"`` refused: SciPy's L-BFGS-B runs in one process);
* local checks made collective (:func:`local`): a bad shard raises the same RankError on every rank;
* ``n_features`` compared across ranks, the class labels gathered (``classes_`` is their union), the
  counts of ``class_weight="balanced"``, the number of training rows and the weight sum (which set
  ``batch_size="auto"``, ``t_`` and the L2 scale), all global;
* the early-stopping score (accuracy or R²) of every rank's held-out rows together: the labels and
  predictions of the held-out rows are gathered (O(m_val) numbers) and scored by scikit-learn's function.

Only rank 0 prints (``verbose``); every rank ends with the same fitted estimator.
"""

from __future__ import annotations

import numpy as np

from vecprop.distributed import RankMismatchError, get_reducer

__all__ = [
    "reducer_for",
    "local",
    "check_n_features",
    "check_same_classes",
    "global_labels",
    "global_class_counts",
    "global_count",
    "global_weight_sum",
    "uniform_weights",
    "global_score",
]


def reducer_for(est, comm):
    """The MPIReducer for ``comm`` (None: one process); ValueError for ``solver="lbfgs"``.

    Parameters
    ----------
    est : DNNClassifier or DNNRegressor
    comm : None, "mpi" (``MPI.COMM_WORLD``) or an mpi4py intracommunicator
    """
    if comm is None:
        return None
    if est.solver == "lbfgs":
        raise ValueError(
            f"{type(est).__name__}: solver='lbfgs' cannot train over MPI (comm=...): SciPy's L-BFGS-B runs in "
            "one process. Use solver='adam' or 'sgd' with comm, or fit lbfgs on one process"
        )
    return get_reducer(comm)


def local(reducer, fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; over MPI a failure on any rank raises RankError on every rank, naming it."""
    if reducer is None:
        return fn(*args, **kwargs)
    return reducer.agree(fn, *args, **kwargs)


def check_n_features(reducer, name: str, X) -> None:
    """RankMismatchError on every rank unless every rank's X has as many columns (features)."""
    counts = reducer.allgather(int(X.shape[1]))
    if any(c != counts[0] for c in counts):
        shown = "; ".join(f"rank {r}: {c}" for r, c in enumerate(counts))
        raise RankMismatchError(
            f"{name}: X has a different number of features on the {reducer.size} ranks ({shown}); every "
            "rank's shard must hold the same feature columns, in the same order (only the rows differ)"
        )


def check_same_classes(reducer, name: str, classes) -> None:
    """RankMismatchError on every rank unless ``partial_fit``'s ``classes`` is the same on every rank."""
    values = reducer.allgather(None if classes is None else np.asarray(classes).tolist())
    if any(v != values[0] for v in values):
        shown = "; ".join(f"rank {r}: {v}" for r, v in enumerate(values))
        raise RankMismatchError(
            f"{name}: partial_fit got different classes on the {reducer.size} ranks ({shown}); pass every "
            "rank the same classes=, all the labels of the whole data set"
        )


def global_labels(reducer, name: str, y):
    """What a LabelBinarizer is fitted on so that every rank gets the same ``classes_``: the sorted union
    of every rank's labels (1-D y), or this rank's indicator matrix once every rank's has as many columns.
    """
    if y.ndim == 2:  # multilabel indicators: the classes are the columns
        widths = reducer.allgather(int(y.shape[1]))
        if any(w != widths[0] for w in widths):
            raise RankMismatchError(
                f"{name}: the label indicator matrices have different numbers of columns on the ranks "
                f"({widths}); every rank needs one column per label of the whole data set"
            )
        return y
    parts = reducer.allgather(np.unique(y))
    kinds = {p.dtype.kind for p in parts if p.size}
    if len(kinds) > 1:
        raise RankMismatchError(f"{name}: the ranks' labels are of different types ({sorted(kinds)}); use one type")
    return np.unique(np.concatenate([p for p in parts if p.size] or [parts[0]]))


def global_class_counts(reducer, y_labels, classes) -> np.ndarray:
    """The number of rows of each of ``classes`` over every rank's labels, shape (n_classes,)."""
    local_counts = (np.asarray(y_labels).reshape(-1, 1) == np.asarray(classes).reshape(1, -1)).sum(axis=0)
    return reducer.sum(local_counts.astype(np.int64))


def global_count(reducer, m: int) -> int:
    """Σ_r m_r: the rows of every rank."""
    return int(reducer.sum(np.array([m], np.int64))[0])


def global_weight_sum(reducer, w) -> float:
    """Σ w over every rank's rows."""
    return float(reducer.sum(np.array([np.sum(w, dtype=np.float64)]))[0])


def uniform_weights(reducer, w) -> bool:
    """Whether every weight on every rank is the same number (then the fit is the unweighted one)."""
    lo, hi = (float(w.min()), float(w.max())) if w is not None and w.size else (np.inf, -np.inf)
    extremes = reducer.allgather((w is None, lo, hi))
    if any(none for none, _, _ in extremes):
        return False
    return min(lo for _, lo, _ in extremes) == max(hi for _, _, hi in extremes)


def global_score(reducer, score_function, y_val, y_pred, w_val) -> float:
    """``score_function`` (accuracy_score or r2_score) over every rank's held-out rows together; NaN when
    any rank's predictions were not finite (``y_pred`` None there)."""
    parts = reducer.allgather((y_val, y_pred, w_val))
    if any(p[1] is None for p in parts):
        return float("nan")
    y_true = np.concatenate([p[0] for p in parts])
    y_hat = np.concatenate([p[1] for p in parts])
    weights = None if parts[0][2] is None else np.concatenate([p[2] for p in parts])
    return float(score_function(y_true, y_hat, sample_weight=weights))
