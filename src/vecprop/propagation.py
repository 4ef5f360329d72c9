"""Forward propagation, eqs. (1)(2), the cost, eq. (3), and backpropagation BP1–BP4: the seed, line for line.

This is the reference implementation of the math: ``Network.forward/backward/cost``, ``gradient_check``,
:mod:`vecprop.course` and the ``reference`` engine call it, and every faster engine (vecprop.engines) must
agree with it to 1e-12. It allocates every array it returns; there are no buffers here on purpose.
Layers are numbered 1..L; layer 0 is the input X = A[0] of shape (n_0, m). Columns are examples.

Beyond the seed, three things the course adds in its second part are threaded through, each marked
``# [dropout]``, ``# [L2]`` or ``# [weights]``: inverted dropout (``keep_prob``), L2 regularization
(``l2`` = λ) and per-example weights (``sample_weight``). With all three off, every line is the seed's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from .activations import Activation
from .head import OutputHead
from .losses import Loss

__all__ = [
    "LayerCache",
    "param_layout",
    "param_views",
    "linear_forward",
    "layer_forward",
    "forward",
    "cost",
    "linear_backward",
    "layer_backward",
    "backward",
    "keep_probs",
    "normalized_weights",
]


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
        views[prefix + key] = flat[start : start + rows * cols].reshape(rows, cols)
    return views


def linear_forward(A_prev: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Eq. (2): Z = W A_prev + b, with W (n_l, n_{l-1}), A_prev (n_{l-1}, m), b (n_l, 1) -> Z (n_l, m)."""
    return W @ A_prev + b  # b broadcasts over the m columns


def layer_forward(A_prev, W, b, g: Activation):
    """Eqs. (2) then (1) for one layer; returns ``(Z, A)``, both (n_l, m)."""
    Z = linear_forward(A_prev, W, b)  # eq. (2)
    A = g.forward(Z)  # eq. (1)
    return Z, A


def keep_probs(keep_prob, L: int) -> tuple:
    """[dropout] Per-layer keep probabilities for layers 1..L from a float or a list over the hidden layers.

    The output layer never drops units. Raises ValueError for values outside (0, 1] or a wrong length.
    """
    if keep_prob is None:
        return (1.0,) * L
    if np.ndim(keep_prob) == 0:
        hidden = [float(keep_prob)] * (L - 1)
    else:
        hidden = [float(p) for p in keep_prob]
        if len(hidden) != L - 1:
            raise ValueError(
                f"keep_prob has {len(hidden)} values but the network has {L - 1} hidden layers; "
                "give one float, or one value per hidden layer"
            )
    for p in hidden:
        if not 0.0 < p <= 1.0:
            raise ValueError(f"keep_prob must be in (0, 1] (the probability of KEEPING a unit), got {p}")
    return (*hidden, 1.0)


def forward(
    X: np.ndarray,
    params: dict,
    activations: Sequence[Activation],
    *,
    keep_prob: Sequence[float] | None = None,
    rng: np.random.Generator | None = None,
):
    """Forward propagation through layers 1..L.

    Parameters
    ----------
    X : ndarray of shape (n_0, m)
    params : dict with ``"W{l}"`` (n_l, n_{l-1}) and ``"b{l}"`` (n_l, 1) for l = 1..L
    activations : sequence of L Activation objects, g for layers 1..L
    keep_prob : sequence of L floats or None
        [dropout] Inverted dropout while training (the course's): A[l] ← A[l] * D[l] / keep_prob[l] with
        D[l] = (U < keep_prob[l]), U = rng.random((n_l, m)) drawn layer by layer. None at prediction time.
    rng : numpy.random.Generator, required when any keep_prob < 1

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
        Z, A = layer_forward(A_prev, params[f"W{l}"], params[f"b{l}"], activations[l - 1])  # eqs. (2)(1)
        D = None
        if keep_prob is not None and keep_prob[l - 1] < 1.0:  # [dropout]
            D = rng.random(A.shape) < keep_prob[l - 1]  # keep each unit with prob keep_prob
            caches[l] = LayerCache(A_prev, Z, A, D)
            A = A * D / keep_prob[l - 1]  # inverted: E[A] unchanged
        else:
            caches[l] = LayerCache(A_prev, Z, A, D)
    return A, caches


def normalized_weights(sample_weight, m: int, dtype):
    """[weights] Per-example weights scaled to mean one, shape (1, m), so J stays an average (eq. 3); None
    if unweighted. A batch whose weights are all zero contributes nothing (J = 0, zero gradients)."""
    if sample_weight is None:
        return None
    w = np.asarray(sample_weight, dtype=dtype).reshape(1, m)
    total = w.sum()
    return w * (m / total) if total > 0 else w


def cost(
    AL: np.ndarray,
    Y: np.ndarray,
    loss: Loss,
    *,
    ZL: np.ndarray | None = None,
    sample_weight=None,
    params: dict | None = None,
    l2: float = 0.0,
) -> float:
    """Eq. (3): J = (1/m) Σ_i L(y(i), A[L](i)), plus the course's L2 term λ/(2m) Σ_l ‖W[l]‖²_F.

    Parameters
    ----------
    AL, Y : ndarrays of shape (n_L, m)
    loss : Loss
    ZL : ndarray of shape (n_L, m), optional
        The output logits; when given, the loss is computed from them (finite for any |Z|).
    sample_weight : array of shape (m,), optional — [weights] the weighted average Σ w L / Σ w
    params, l2 : [L2] the weights and λ (ignored when l2 == 0)

    Returns
    -------
    float
    """
    m = Y.shape[1]
    losses = loss.per_example(AL, Y, ZL)  # L(y(i), A[L](i)), shape (m,)
    w = normalized_weights(sample_weight, m, losses.dtype)
    if w is not None:  # [weights]
        losses = w[0] * losses
    J = losses.sum() / m  # eq. (3)
    if l2:  # [L2]
        J += l2 / (2 * m) * sum(float(np.vdot(W, W)) for k, W in params.items() if k[0] == "W")
    return float(J)


def linear_backward(dZ: np.ndarray, A_prev: np.ndarray, W: np.ndarray, *, need_dA_prev: bool = True):
    """BP1–BP3 for one layer: dZ (n_l, m), A_prev (n_{l-1}, m), W (n_l, n_{l-1}).

    Returns ``(dA_prev (n_{l-1}, m) or None when need_dA_prev is False, dW (n_l, n_{l-1}), db (n_l, 1))``.
    """
    m = A_prev.shape[1]
    dW = dZ @ A_prev.T / m  # BP1  (1/m) dZ A_prevᵀ
    db = np.sum(dZ, axis=1, keepdims=True) / m  # BP2  (1/m) Σ_i dZ(i): a sum over the columns
    dA_prev = W.T @ dZ if need_dA_prev else None  # BP3
    return dA_prev, dW, db


def layer_backward(dA: np.ndarray, cache: LayerCache, W: np.ndarray, g: Activation, *, need_dA_prev: bool = True):
    """BP4 then BP1–BP3 for one layer: returns ``(dA_prev, dW, db, dZ)``."""
    dZ = g.backward(dA, cache.Z, cache.A)  # BP4  dZ = dA * g'(Z)
    dA_prev, dW, db = linear_backward(dZ, cache.A_prev, W, need_dA_prev=need_dA_prev)
    return dA_prev, dW, db, dZ


def backward(
    AL: np.ndarray,
    Y: np.ndarray,
    caches: dict,
    params: dict,
    activations: Sequence[Activation],
    loss: Loss,
    *,
    keep_prob: Sequence[float] | None = None,
    sample_weight=None,
    l2: float = 0.0,
    need_dA0: bool = True,
) -> dict:
    """Backpropagation: one pass from layer L down to 1, reusing the forward caches.

    Parameters
    ----------
    AL, Y : ndarrays of shape (n_L, m)
    caches : dict l -> LayerCache, from :func:`forward`
    params, activations, loss : as for :func:`forward` and :func:`cost`
    keep_prob : [dropout] the per-layer keep probabilities of that forward pass (the masks are in caches)
    sample_weight : array of shape (m,), optional — [weights]
    l2 : float — [L2] λ; adds (λ/m) W[l] to dW[l]
    need_dA0 : bool — also compute dA[0] = W[1]ᵀ dZ[1] (not needed to train)

    Returns
    -------
    grads : dict with ``"dW{l}"`` (n_l, n_{l-1}), ``"db{l}"`` (n_l, 1), ``"dZ{l}"`` (n_l, m) for l = 1..L
        and ``"dA{l}"`` (n_l, m) for l = L-1..0 (``"dA0"`` only when ``need_dA0``).
    """
    L = len(activations)
    m = Y.shape[1]
    w = normalized_weights(sample_weight, m, AL.dtype)
    grads = {}
    # dZ[L]: the fused A[L] − Y for the loss's canonical output, else ∂L/∂A[L] then BP4 through g_L;
    # [weights] column i times w_i (example i's loss counts w_i times)
    dZ = OutputHead(activations[-1], loss).output_delta(AL, Y, caches[L].Z, w)
    for l in range(L, 0, -1):
        W = params[f"W{l}"]
        if l == L:
            dA, dW, db = linear_backward(dZ, caches[L].A_prev, W, need_dA_prev=need_dA0 or L > 1)  # BP1–BP3
        else:  # dA is dA[l], from BP3 of layer l+1
            if caches[l].D is not None:  # [dropout] the same mask and scale as forward
                dA = dA * caches[l].D / keep_prob[l - 1]
            grads[f"dA{l}"] = dA
            dA, dW, db, dZ = layer_backward(
                dA, caches[l], W, activations[l - 1], need_dA_prev=need_dA0 or l > 1
            )  # BP4, then BP1–BP3
        if l2:  # [L2] ∂/∂W of λ/(2m) ‖W‖²
            dW = dW + (l2 / m) * W
        grads[f"dZ{l}"], grads[f"dW{l}"], grads[f"db{l}"] = dZ, dW, db
    if need_dA0:
        grads["dA0"] = dA
    return grads
