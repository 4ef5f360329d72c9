"""Forward propagation, eqs. (1)(2), the cost, eq. (3), and backpropagation BP1–BP4: the seed, line for line.

This is the package's one implementation of the math; Network, the course functions, the trainer and the
estimators all call it. Layers are numbered 1..L; layer 0 is the input X = A[0] of shape (n_0, m).
Columns are examples.

Beyond the seed, three things the course adds in its second part are threaded through: inverted
dropout (``keep_prob``), L2 regularization (``l2`` = λ) and per-example weights (``sample_weight``).
With all three off, every line is exactly the seed's.
"""
from __future__ import annotations

from typing import NamedTuple, Sequence

import numpy as np

from .activations import Activation
from .losses import Loss

__all__ = ["LayerCache", "Workspace", "param_layout", "param_views", "linear_forward", "layer_forward", "forward",
           "cost", "linear_backward", "layer_backward", "backward", "keep_probs", "normalized_weights"]


class LayerCache(NamedTuple):
    """What layer l's forward pass keeps for its backward pass (backward never recomputes forward).

    A_prev : (n_{l-1}, m) — the input A[l-1] as layer l saw it (after dropout, if any)
    Z      : (n_l, m)     — eq. (2)
    A      : (n_l, m)     — eq. (1), g(Z), before dropout
    D      : (n_l, m) bool or None — the dropout mask applied to A, None when layer l keeps all units
    """

    A_prev: np.ndarray
    Z: np.ndarray
    A: np.ndarray
    D: np.ndarray | None = None


def param_layout(layer_dims) -> dict:
    """Where each parameter sits in one flat vector ``[W1, ..., WL, b1, ..., bL]``: key -> (start, shape).

    All weights come first, then all biases, so ``flat[:n_W]`` holds every W[l] and ``flat[n_W:]``
    every b[l] (an optimizer updates each group with one call; weight decay touches only the first).
    """
    L = len(layer_dims) - 1
    shapes = [(f"W{l}", (layer_dims[l], layer_dims[l - 1])) for l in range(1, L + 1)]
    shapes += [(f"b{l}", (layer_dims[l], 1)) for l in range(1, L + 1)]
    layout, start = {}, 0
    for key, shape in shapes:
        layout[key] = (start, shape)
        start += shape[0] * shape[1]
    return layout


def param_views(flat: np.ndarray, layer_dims, prefix: str = "") -> dict:
    """``{prefix + "W1": (n_1, n_0) view, prefix + "b1": (n_1, 1) view, ...}`` into ``flat`` (see param_layout),
    in the course's order W1, b1, W2, b2, ..."""
    layout = param_layout(layer_dims)
    views = {}
    for key in (f"{p}{l}" for l in range(1, len(layer_dims)) for p in "Wb"):
        start, (rows, cols) = layout[key]
        views[prefix + key] = flat[start:start + rows * cols].reshape(rows, cols)
    return views


class Workspace:
    """Arrays that every training batch of m examples reuses, so the training loop allocates nothing.

    For layers l = 1..L: ``Z[l]``, ``A[l]`` (n_l, m), and with dropout the uniform draws ``U[l]``, the
    mask ``D[l]`` and the dropped activations ``A_drop[l]``; for backward ``dZ[l]``, ``dA[l]``
    (n_l, m), and the gradients ``dW[l]`` (n_l, n_{l-1}) and ``db[l]`` (n_l, 1), which are views into
    one flat vector ``grads`` laid out as :func:`param_layout` (so that BP1–BP2's 1/m, clipping and the
    optimizer each take one call for all layers). Results computed with a workspace are views into it,
    valid until the next batch.
    """

    def __init__(self, layer_dims, m: int, dtype, keep_prob=None, batch=None, l2: bool = False):
        L = len(layer_dims) - 1
        new = lambda *shape: np.empty(shape, dtype)  # noqa: E731
        self.m = m
        self.ones = np.ones((m, 1), dtype)           # BP2's Σ_i as a matrix-vector product
        self.pred, self.label, self.hit = np.empty(m, np.intp), np.empty(m, np.intp), np.empty(m, bool)
        if batch is not None:                        # the shuffled batch itself: X (n_0, m), Y (n_L, m), w (m,)
            X, Y, w = batch
            # in the data's own memory order, so gathering columns is a straight copy
            self.X = np.empty((X.shape[0], m), X.dtype, order="F" if _columns_contiguous(X) else "C")
            self.Y = np.empty((Y.shape[0], m), Y.dtype, order="F" if _columns_contiguous(Y) else "C")
            self.w = None if w is None else np.empty(m, w.dtype)
        self.Z = {l: new(layer_dims[l], m) for l in range(1, L + 1)}
        self.A = {l: new(layer_dims[l], m) for l in range(1, L + 1)}
        self.dZ = {l: new(layer_dims[l], m) for l in range(1, L + 1)}
        self.dA = {l: new(layer_dims[l], m) for l in range(1, L)}
        layout = param_layout(layer_dims)
        self.grads = new(sum(s[0] * s[1] for _, s in layout.values()))
        views = param_views(self.grads, layer_dims)
        self.dW = {l: views[f"W{l}"] for l in range(1, L + 1)}
        self.db = {l: views[f"b{l}"] for l in range(1, L + 1)}
        # scratch for the L2 term (λ/m) W[l], only when training with l2 > 0
        self.l2W = {l: new(layer_dims[l], layer_dims[l - 1]) for l in range(1, L + 1)} if l2 else {}
        dropped = [l for l in range(1, L + 1) if keep_prob is not None and keep_prob[l - 1] < 1.0]
        self.U = {l: np.empty((layer_dims[l], m)) for l in dropped}       # float64, as rng.random draws
        self.D = {l: np.empty((layer_dims[l], m), bool) for l in dropped}
        self.A_drop = {l: new(layer_dims[l], m) for l in dropped}

    def gather(self, X, Y, w, idx):
        """The columns idx of X, Y (and w) copied into this workspace's batch buffers.

        idx comes from a permutation of range(m), so every index is valid: mode="clip" lets NumPy write
        straight into the buffers (with the default mode="raise", np.take with out= copies through a
        temporary, which doubles the time of a large gather).
        """
        for A, out in ((X, self.X), (Y, self.Y)):
            if _columns_contiguous(out):               # whole columns at a time: rows of A.T
                A.T.take(idx, axis=0, out=out.T, mode="clip")
            else:
                A.take(idx, axis=1, out=out, mode="clip")
        if w is not None:
            w.take(idx, out=self.w, mode="clip")
        return self.X, self.Y, self.w


def _columns_contiguous(A) -> bool:
    """Whether each column of A is contiguous (Fortran order), as X.T of a row-major array is."""
    return A.flags.f_contiguous and not A.flags.c_contiguous


def _buffer(ws, name, l):
    """ws.<name>[l], or None (allocate) without a workspace."""
    return None if ws is None else getattr(ws, name).get(l)


def linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Eq. (2): Z = W A_prev + b, with W (n_l, n_{l-1}), A_prev (n_{l-1}, m), b (n_l, 1) -> Z (n_l, m)."""
    Z = np.matmul(W, A_prev, out=out)   # (n_l, m)
    Z += b                              # b broadcasts over the m columns
    return Z


def layer_forward(A_prev, W, b, g: Activation, Z_out=None, A_out=None):
    """Eqs. (2) then (1) for one layer; returns ``(Z, A)``, both (n_l, m) (into the buffers if given)."""
    Z = linear_forward(A_prev, W, b, out=Z_out)   # eq. (2)
    A = g.forward(Z, out=A_out)                    # eq. (1)
    return Z, A


def keep_probs(keep_prob, L: int) -> tuple:
    """Per-layer keep probabilities for layers 1..L from a float or a list over the hidden layers.

    The output layer never drops units. Raises ValueError for values outside (0, 1] or a wrong length.
    """
    if keep_prob is None:
        return (1.0,) * L
    if np.ndim(keep_prob) == 0:
        hidden = [float(keep_prob)] * (L - 1)
    else:
        hidden = [float(p) for p in keep_prob]
        if len(hidden) != L - 1:
            raise ValueError(f"keep_prob has {len(hidden)} values but the network has {L - 1} hidden layers; "
                             "give one float, or one value per hidden layer")
    for p in hidden:
        if not 0.0 < p <= 1.0:
            raise ValueError(f"keep_prob must be in (0, 1] (the probability of KEEPING a unit), got {p}")
    return (*hidden, 1.0)


def forward(X: np.ndarray, params: dict, activations: Sequence[Activation], *,
            keep_prob: Sequence[float] | None = None, rng: np.random.Generator | None = None,
            ws: Workspace | None = None):
    """Forward propagation through layers 1..L.

    Parameters
    ----------
    X : ndarray of shape (n_0, m)
    params : dict with ``"W{l}"`` (n_l, n_{l-1}) and ``"b{l}"`` (n_l, 1) for l = 1..L
    activations : sequence of L Activation objects, g for layers 1..L
    keep_prob : sequence of L floats or None
        Inverted dropout while training (the course's): A[l] ← A[l] * D[l] / keep_prob[l] with
        D[l] ~ Bernoulli(keep_prob[l]) drawn from ``rng``. None at prediction time.
    rng : numpy.random.Generator, required when any keep_prob < 1
    ws : Workspace, optional — buffers for m examples to compute into (the training loop's)

    Returns
    -------
    AL : ndarray of shape (n_L, m)
    caches : dict mapping l = 1..L to LayerCache(A_prev, Z, A, D)
    """
    L = len(activations)
    caches = {}
    A = X
    for l in range(1, L + 1):
        A_prev = A
        Z, A = layer_forward(A_prev, params[f"W{l}"], params[f"b{l}"], activations[l - 1],
                             _buffer(ws, "Z", l), _buffer(ws, "A", l))       # eqs. (2)(1)
        D = None
        if keep_prob is not None and keep_prob[l - 1] < 1.0:
            U = rng.random(A.shape, out=_buffer(ws, "U", l))
            D = np.less(U, keep_prob[l - 1], out=_buffer(ws, "D", l))   # keep each unit with prob keep_prob
            caches[l] = LayerCache(A_prev, Z, A, D)
            A = np.multiply(A, D, out=_buffer(ws, "A_drop", l))
            np.divide(A, keep_prob[l - 1], out=A)                      # inverted dropout: E[A] unchanged
        else:
            caches[l] = LayerCache(A_prev, Z, A, D)
    return A, caches


def normalized_weights(sample_weight, m: int, dtype):
    """Per-example weights scaled to mean one, shape (1, m), so J stays an average (eq. 3); None if unweighted.

    A batch whose weights are all zero contributes nothing (J = 0, zero gradients).
    """
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=dtype).reshape(1, m)
    total = w.sum()
    return w * (m / total) if total > 0 else w


def cost(AL: np.ndarray, Y: np.ndarray, loss: Loss, *, ZL: np.ndarray | None = None,
         sample_weight=None, params: dict | None = None, l2: float = 0.0) -> float:
    """Eq. (3): J = (1/m) Σ_i L(y(i), A[L](i)), plus the course's L2 term λ/(2m) Σ_l ‖W[l]‖²_F.

    Parameters
    ----------
    AL, Y : ndarrays of shape (n_L, m)
    loss : Loss
    ZL : ndarray of shape (n_L, m), optional
        The output logits; when given, the loss is computed from them (finite for any |Z|).
    sample_weight : array of shape (m,), optional — weighted average Σ w L / Σ w instead of the mean
    params, l2 : the weights and λ for the L2 term (ignored when l2 == 0)

    Returns
    -------
    float
    """
    m = Y.shape[1]
    losses = loss.per_example(AL, Y, ZL)                 # L(y(i), A[L](i)), shape (m,)
    w = normalized_weights(sample_weight, m, losses.dtype)
    J = (losses.sum() if w is None else (w[0] * losses).sum()) / m      # eq. (3)
    if l2:
        J += l2 / (2 * m) * sum(float(np.vdot(W, W)) for k, W in params.items() if k[0] == "W")
    return float(J)


def linear_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, *, need_dA_prev: bool = True,
                    dW_out=None, db_out=None, dA_prev_out=None, ones=None, divide_by_m: bool = True):
    """BP1–BP3 for one layer.

    Parameters
    ----------
    dZ : (n_l, m); A_prev : (n_{l-1}, m); W : (n_l, n_{l-1})
    dW_out, db_out, dA_prev_out : optional buffers to write the results into
    ones : (m, 1) ones, optional — reused for BP2's sum over examples
    divide_by_m : bool — False leaves BP1–BP2's 1/m to the caller (:func:`backward` with a Workspace
        divides every layer's dW and db at once)

    Returns
    -------
    dA_prev : (n_{l-1}, m), or None when ``need_dA_prev`` is False (layer 1 in training)
    dW : (n_l, n_{l-1})
    db : (n_l, 1)
    """
    m = A_prev.shape[1]
    dW = np.matmul(dZ, A_prev.T, out=dW_out)                 # BP1  (n_l, n_{l-1}), times m
    db = np.matmul(dZ, ones if ones is not None else np.ones((m, 1), dZ.dtype), out=db_out)  # BP2  (n_l, 1): Σ_i dZ(i)
    if divide_by_m:
        dW /= m                                               # BP1  dW = (1/m) dZ A_prevᵀ
        db /= m                                               # BP2  db = (1/m) Σ_i dZ(i)
    dA_prev = np.matmul(W.T, dZ, out=dA_prev_out) if need_dA_prev else None  # BP3  (n_{l-1}, m)
    return dA_prev, dW, db


def layer_backward(dA: np.ndarray, cache: LayerCache, W: np.ndarray, g: Activation, *,
                   need_dA_prev: bool = True, ws: Workspace | None = None, l: int | None = None):
    """BP4 then BP1–BP3 for one layer l: returns ``(dA_prev, dW, db, dZ)`` (into ws's buffers if given)."""
    dZ = g.backward(dA, cache.Z, cache.A, out=_buffer(ws, "dZ", l))   # BP4  dZ = dA * g'(Z)  (n_l, m)
    dA_prev, dW, db = linear_backward(dZ, cache.A_prev, W, need_dA_prev=need_dA_prev,
                                      dW_out=_buffer(ws, "dW", l), db_out=_buffer(ws, "db", l),
                                      dA_prev_out=None if ws is None else ws.dA.get(l - 1),
                                      ones=None if ws is None else ws.ones, divide_by_m=ws is None)
    return dA_prev, dW, db, dZ


def backward(AL: np.ndarray, Y: np.ndarray, caches: dict, params: dict, activations: Sequence[Activation],
             loss: Loss, *, keep_prob: Sequence[float] | None = None, sample_weight=None, l2: float = 0.0,
             need_dA0: bool = True, ws: Workspace | None = None) -> dict:
    """Backpropagation: one pass from layer L down to 1, reusing the forward caches.

    Parameters
    ----------
    AL, Y : ndarrays of shape (n_L, m)
    caches : dict l -> LayerCache, from :func:`forward`
    params, activations, loss : as for :func:`forward` and :func:`cost`
    keep_prob : the per-layer keep probabilities used in that forward pass (dropout masks are in caches)
    sample_weight : array of shape (m,), optional
    l2 : float — λ; adds (λ/m) W[l] to dW[l]
    need_dA0 : bool — also compute dA[0] = W[1]ᵀ dZ[1] (not needed to train)
    ws : Workspace, optional — buffers to compute into (the training loop's; needs need_dA0=False); BP1–BP2's
        1/m is then applied once to the flat ``ws.grads`` after the loop over layers (same values)

    Returns
    -------
    grads : dict with ``"dW{l}"`` (n_l, n_{l-1}), ``"db{l}"`` (n_l, 1), ``"dZ{l}"`` (n_l, m) for l = 1..L
        and ``"dA{l}"`` (n_l, m) for l = L-1..0 (``"dA0"`` only when ``need_dA0``).
    """
    L = len(activations)
    m = Y.shape[1]
    g_L = activations[L - 1]
    w = normalized_weights(sample_weight, m, AL.dtype)
    grads = {}
    if g_L.name == loss.canonical_activation:
        dZ = loss.dZL(AL, Y, out=_buffer(ws, "dZ", L))   # fused output: dZ[L] = A[L] − Y
        if w is not None:
            dZ *= w
        dA_prev, dW, db = linear_backward(dZ, caches[L].A_prev, params[f"W{L}"],
                                          need_dA_prev=need_dA0 or L > 1, dW_out=_buffer(ws, "dW", L),
                                          db_out=_buffer(ws, "db", L), dA_prev_out=_buffer(ws, "dA", L - 1),
                                          ones=None if ws is None else ws.ones, divide_by_m=ws is None)
    else:
        dA = loss.dAL(AL, Y)                     # ∂L/∂A[L], then BP4 through g_L
        if w is not None:
            dA *= w
        dA_prev, dW, db, dZ = layer_backward(dA, caches[L], params[f"W{L}"], g_L,
                                             need_dA_prev=need_dA0 or L > 1, ws=ws, l=L)
    grads[f"dZ{L}"], grads[f"dW{L}"], grads[f"db{L}"] = dZ, dW, db
    for l in range(L - 1, 0, -1):
        dA = dA_prev                             # dA[l] from BP3 of layer l+1
        cache = caches[l]
        if cache.D is not None:
            dA *= cache.D                        # the same mask and scale as forward
            np.divide(dA, keep_prob[l - 1], out=dA)
        grads[f"dA{l}"] = dA
        dA_prev, dW, db, dZ = layer_backward(dA, cache, params[f"W{l}"], activations[l - 1],
                                             need_dA_prev=need_dA0 or l > 1, ws=ws, l=l)
        grads[f"dZ{l}"], grads[f"dW{l}"], grads[f"db{l}"] = dZ, dW, db
    if need_dA0:
        grads["dA0"] = dA_prev
    if ws is not None:
        np.divide(ws.grads, m, out=ws.grads)     # BP1–BP2's 1/m, every layer's dW and db at once
    if l2:
        for l in range(1, L + 1):
            grads[f"dW{l}"] += np.multiply(params[f"W{l}"], l2 / m, out=_buffer(ws, "l2W", l))  # ∂/∂W of λ/(2m) ‖W‖²
    return grads
