"""The NumPy engine: the seed's forward and BP1–BP4 computed into preallocated buffers.

Per batch size one :class:`Workspace` holds every Z[l], A[l], dZ[l], dA[l], the dropout draws and the
shuffled batch's columns, so a training step allocates no array of the batch's size. dW[l] and db[l] are
written straight into the Trainer's flat buffer (views laid out as :func:`vecprop.propagation.param_layout`),
as sums over the batch's examples: the 1/m of BP1–BP2 is the Trainer's, after the reduction.
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from .. import propagation
from ..propagation import LayerCache
from .base import CORRECT, COUNT, LOSS_SUM, N_SCALARS, WEIGHT_SUM, Engine, batch_size_of

__all__ = ["NumpyEngine", "Workspace", "blas_threads"]


class Workspace:
    """Arrays that every training batch of m examples reuses, so the training loop allocates nothing.

    For layers l = 1..L: ``Z[l]``, ``A[l]``, ``dZ[l]`` (n_l, m) and ``dA[l]`` for l < L; with dropout the
    uniform draws ``U[l]`` (float64, as ``rng.random`` draws), the mask ``D[l]`` and the dropped
    activations ``A_drop[l]``; for a shuffled batch its gathered columns ``X``, ``Y``, ``w``.
    """

    def __init__(self, layer_dims, m: int, dtype, keep_prob=None, batch=None):
        L = len(layer_dims) - 1
        new = lambda *shape: np.empty(shape, dtype)  # noqa: E731
        self.m = m
        self.ones = np.ones((m, 1), dtype)  # BP2's Σ_i as a matrix-vector product
        self.pred, self.label, self.hit = np.empty(m, np.intp), np.empty(m, np.intp), np.empty(m, bool)
        if batch is not None:  # the shuffled batch itself: X (n_0, m), Y (n_L, m), w (m,)
            X, Y, w = batch
            # in the data's own memory order, so gathering columns is a straight copy
            self.X = np.empty((X.shape[0], m), X.dtype, order="F" if _columns_contiguous(X) else "C")
            self.Y = np.empty((Y.shape[0], m), Y.dtype, order="F" if _columns_contiguous(Y) else "C")
            self.w = None if w is None else np.empty(m, w.dtype)
        self.Z = {l: new(layer_dims[l], m) for l in range(1, L + 1)}
        self.A = {l: new(layer_dims[l], m) for l in range(1, L + 1)}
        self.dZ = {l: new(layer_dims[l], m) for l in range(1, L + 1)}
        self.dA = {l: new(layer_dims[l], m) for l in range(1, L)}
        self.losses = new(m)
        dropped = [l for l in range(1, L + 1) if keep_prob is not None and keep_prob[l - 1] < 1.0]
        self.U = {l: np.empty((layer_dims[l], m)) for l in dropped}
        self.D = {l: np.empty((layer_dims[l], m), bool) for l in dropped}
        self.A_drop = {l: new(layer_dims[l], m) for l in dropped}

    def gather(self, X, Y, w, idx):
        """The columns idx of X, Y (and w) copied into this workspace's batch buffers.

        idx comes from a permutation of range(m), so every index is valid: mode="clip" lets NumPy write
        straight into the buffers (with the default mode="raise", np.take with out= copies through a
        temporary, which doubles the time of a large gather).
        """
        for A, out in ((X, self.X), (Y, self.Y)):
            if _columns_contiguous(out):  # whole columns at a time: rows of A.T
                A.T.take(idx, axis=0, out=out.T, mode="clip")
            else:
                A.take(idx, axis=1, out=out, mode="clip")
        if w is not None:
            w.take(idx, out=self.w, mode="clip")
        return self.X, self.Y, self.w


def _columns_contiguous(A) -> bool:
    """Whether each column of A is contiguous (Fortran order), as X.T of a row-major array is."""
    return A.flags.f_contiguous and not A.flags.c_contiguous


def forward(ws: Workspace, X, params, activations, keep_prob, rng) -> tuple:
    """Eqs. (2)(1) for layers 1..L into ``ws`` (inverted dropout as :func:`propagation.forward`)."""
    caches = {}
    A = X
    for l in range(1, len(activations) + 1):
        A_prev = A
        Z = np.matmul(params[f"W{l}"], A_prev, out=ws.Z[l])  # eq. (2)
        Z += params[f"b{l}"]
        A = activations[l - 1].forward(Z, out=ws.A[l])  # eq. (1)
        D = None
        if keep_prob is not None and keep_prob[l - 1] < 1.0:
            U = rng.random(A.shape, out=ws.U[l])
            D = np.less(U, keep_prob[l - 1], out=ws.D[l])
            caches[l] = LayerCache(A_prev, Z, A, D)
            A = np.multiply(A, D, out=ws.A_drop[l])
            np.divide(A, keep_prob[l - 1], out=A)
        else:
            caches[l] = LayerCache(A_prev, Z, A, D)
    return A, caches


def backward(ws: Workspace, AL, Y, w, caches, params, activations, head, keep_prob, dW, db) -> None:
    """BP4 and BP1–BP3 from layer L down into ``ws``; dW[l] = dZ A_prevᵀ and db[l] = Σ_i dZ as SUMS
    over the batch (no 1/m), written into the views ``dW[l]``, ``db[l]``; w: raw per-example weights."""
    L = len(activations)
    dZ = head.output_delta(AL, Y, caches[L].Z, w, out=ws.dZ[L])  # dZ[L] (A[L] − Y for a canonical pair)
    for l in range(L, 0, -1):
        cache = caches[l]
        if l < L:
            dA = ws.dA[l]
            if cache.D is not None:
                dA *= cache.D  # the same mask and scale as forward
                np.divide(dA, keep_prob[l - 1], out=dA)
            dZ = activations[l - 1].backward(dA, cache.Z, cache.A, out=ws.dZ[l])  # BP4
        np.matmul(dZ, cache.A_prev.T, out=dW[l])  # BP1 (sum over the batch)
        np.matmul(dZ, ws.ones, out=db[l])  # BP2 Σ_i dZ(i)
        if l > 1:
            np.matmul(params[f"W{l}"].T, dZ, out=ws.dA[l - 1])  # BP3


class NumpyEngine(Engine):
    """The default training engine: zero-allocation NumPy steps, batch gather, BLAS thread policy."""

    name = "numpy"

    def __init__(self, model, keep_prob=None):
        super().__init__(model, keep_prob)
        self._workspaces = {}  # (batch size, gathered) -> Workspace
        self._views = None  # (out, dW views, db views)
        self._fortran = False

    def bind(self, X, Y, sample_weight=None):
        super().bind(X, Y, sample_weight)
        self._workspaces.clear()
        self._fortran = False
        model = self.model  # fixed for this fit: looked up once, not per batch
        self._fixed = (model.n_params, model.head, model.params, model.activations, model.L)

    def session(self, batch_size):
        return blas_threads(self.model.layer_dims, batch_size)

    def _workspace(self, m_b, gathered):
        ws = self._workspaces.get((m_b, gathered))
        if ws is None:
            batch = (self.X, self.Y, self.sample_weight) if gathered else None
            ws = Workspace(self.model.layer_dims, m_b, self.model.dtype, self.keep_prob, batch)
            self._workspaces[(m_b, gathered)] = ws
        return ws

    def _grad_views(self, out):
        if self._views is None or self._views[0] is not out:
            views = propagation.param_views(out[: self.model.n_params], self.model.layer_dims)
            L = self.model.L
            self._views = (
                out,
                {l: views[f"W{l}"] for l in range(1, L + 1)},
                {l: views[f"b{l}"] for l in range(1, L + 1)},
            )
        return self._views[1], self._views[2]

    def _batch(self, cols, m_b):
        if isinstance(cols, slice):
            X, Y, w = self.X, self.Y, self.sample_weight
            return self._workspace(m_b, False), X[:, cols], Y[:, cols], None if w is None else w[cols]
        if not self._fortran:
            # Each shuffled batch gathers whole columns; with columns contiguous (Fortran order, as X_rows.T
            # already is) that is a straight copy. A row-major X is copied once into that layout.
            self.X, self.Y, self._fortran = np.asfortranarray(self.X), np.asfortranarray(self.Y), True
        ws = self._workspace(m_b, True)
        return (ws, *ws.gather(self.X, self.Y, self.sample_weight, cols))

    def batch_sums(self, cols, out):
        n, head, params, activations, L = self._fixed
        m_b = batch_size_of(cols, self.m)
        if m_b == 0:
            out[:] = 0
            return
        ws, X, Y, w = self._batch(cols, m_b)
        AL, caches = forward(ws, X, params, activations, self.keep_prob, self.model.rng)
        self.caches = caches
        losses = head.per_example(AL, Y, caches[L].Z)
        dW, db = self._grad_views(out)
        backward(ws, AL, Y, w, caches, params, activations, head, self.keep_prob, dW, db)
        out[n + LOSS_SUM] = losses.sum() if w is None else np.dot(w, losses)
        out[n + WEIGHT_SUM] = m_b if w is None else w.sum()
        out[n + COUNT] = m_b
        out[n + CORRECT] = _n_correct(AL, Y, head, ws)

    def eval_sums(self, X, Y, sample_weight=None):
        model = self.model
        sums = np.zeros(N_SCALARS, model.dtype)
        m = X.shape[1]
        if m == 0:
            return sums
        AL, caches = propagation.forward(X, model.params, model.activations)
        losses = model.head.per_example(AL, Y, caches[model.L].Z)
        w = sample_weight
        sums[:] = (
            losses.sum() if w is None else np.dot(w, losses),
            m if w is None else np.sum(w),
            m,
            model.head.n_correct(AL, Y),
        )
        return sums


def _n_correct(AL, Y, head, ws) -> int:
    """Examples classified right (OutputHead.n_correct), a softmax's argmaxes written into ws's buffers."""
    if head.activation.name == "softmax":
        AL.argmax(axis=0, out=ws.pred)
        Y.argmax(axis=0, out=ws.label)
        return int(np.count_nonzero(np.equal(ws.pred, ws.label, out=ws.hit)))
    return head.n_correct(AL, Y)


def blas_threads(layer_dims, batch: int):
    """One BLAS thread while the products are small (n_l·n_{l-1}·batch < 4e6): a second thread only
    adds synchronization there, and on a busy machine it can cost 10×. Needs threadpoolctl (optional)."""
    largest = max(n * p for p, n in zip(layer_dims[:-1], layer_dims[1:])) * batch
    if largest >= 4e6:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:
        return contextlib.nullcontext()
    # Building a controller scans the process's shared libraries (about 2 ms, once per fit before): it is
    # kept until a module is imported, since a new BLAS (SciPy's) only arrives with an import.
    if _CONTROLLER[0] is None or _CONTROLLER[1] != len(sys.modules):
        _CONTROLLER[:] = [ThreadpoolController(), len(sys.modules)]
    return _CONTROLLER[0].limit(limits=1, user_api="blas")


_CONTROLLER = [None, -1]  # threadpoolctl's ThreadpoolController and len(sys.modules) when it was built
