"""The compiled engine's fused kernels (numba, ``cache=True``): everything of a training step but the GEMMs.

Each kernel does in one pass over memory what the NumPy engine does in several calls:

- :func:`bias_act` — eq. (2)'s bias and eq. (1): ``Z += b``, ``A = g(Z)``, and inverted dropout
  ``A_drop = A * (U < keep_prob) / keep_prob``;
- :func:`bp4` — the dropout mask on dA[l] (BP3's output), BP4 ``dZ = dA * g'(Z)``, and BP2's row sums
  ``db = Σ_i dZ(i)``;
- :func:`head` — the output layer: g_L(Z[L]) (softmax, sigmoid or linear), the loss sum of its canonical
  loss (from the logits), ``dZ[L] = w (A[L] − Y)``, BP2 for layer L and the number classified right;
- :func:`gather_rows` — a shuffled batch's examples, copied from the data;
- :func:`update` — BP1–BP2's 1/Σw, L2, global-norm clipping and one optimizer step over the flat
  parameter vector.

Arrays are (n_l, m) in C order (rows are units), so the elementwise kernels split rows between threads.
Every elementwise kernel is a serial function over a block of rows (``r0:r1``) plus a ``*_parallel``
driver that hands fixed blocks to numba's threads with ``prange``: small arrays run serially (no thread
launch), large ones on every core, and either way each result is computed by the same code in the same
order, so the numbers do not depend on the number of threads. Activation and optimizer are chosen by an
integer code outside the inner loops, so each kernel compiles once per dtype.

The arithmetic repeats the NumPy path's operations in its order (``(A * D) / keep_prob``,
``v = beta v + (1 - beta) dW``, ...) so the engines agree to rounding.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

__all__ = [
    "ACT",
    "OUT",
    "OPT",
    "bias_act",
    "bias_act_parallel",
    "bp4",
    "bp4_parallel",
    "head",
    "gather_rows",
    "gather_rows_parallel",
    "update",
    "update_parallel",
    "BLOCK",
]

# activation codes (hidden layers and elementwise outputs)
ACT = {"linear": 0, "relu": 1, "leaky_relu": 2, "sigmoid": 3, "tanh": 4}
# fused output heads: the canonical (output activation, loss) pairs
OUT = {("softmax", "categorical_cross_entropy"): 0, ("sigmoid", "binary_cross_entropy"): 1, ("linear", "mse"): 2}
# optimizer codes
OPT = {
    "gd": 0,
    "momentum": 1,
    "nesterov": 2,
    "rmsprop": 3,
    "adam": 4,
    "adamw": 5,
    "sklearn_sgd": 6,  # scikit-learn's SGD without Nesterov's look-ahead
    "sklearn_sgd_nesterov": 7,
    "sklearn_adam": 8,
}
BLOCK = 8  # rows per parallel work item (elementwise kernels); flat elements per item: BLOCK * 4096

_opts = dict(cache=True, nogil=True)


# ------------------------------------------------------------------------------------- forward
@njit(**_opts)
def _sigmoid(z):
    """σ(z) = exp(−log(1 + e^−z)), as the NumPy path computes it (logaddexp: no overflow for any z)."""
    t = -z
    return math.exp(-(max(t, 0.0) + math.log1p(math.exp(-abs(t)))))


@njit(**_opts)
def _bias_act_rows(Z, b, A, kind, slope, U, keep_prob, A_drop, r0, r1):
    """Rows r0:r1 of: Z += b (eq. 2); A = g(Z) (eq. 1); A_drop = A * (U < keep_prob) / keep_prob if U has rows."""
    m = Z.shape[1]
    for i in range(r0, r1):
        bi = b[i, 0]
        if kind == 0:
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                A[i, j] = z
        elif kind == 1:
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                A[i, j] = 0.0 if z <= 0 else z  # max(z, 0); NaN stays NaN
        elif kind == 2:
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                a = z * slope
                A[i, j] = z if z > a else a  # max(z, slope z)
        elif kind == 3:
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                A[i, j] = _sigmoid(z)
        else:
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                A[i, j] = math.tanh(z)
        if U.shape[0]:
            for j in range(m):
                d = 1.0 if U[i, j] < keep_prob else 0.0  # D[l]: keep with probability keep_prob
                A_drop[i, j] = (A[i, j] * d) / keep_prob  # inverted dropout
    return 0


@njit(**_opts)
def bias_act(Z, b, A, kind, slope, U, keep_prob, A_drop):
    """Eq. (2)'s bias and eq. (1) in one pass, serially.

    Z : (n_l, m) holding W A_prev, overwritten with Z = W A_prev + b; b : (n_l, 1);
    A : (n_l, m) receives g(Z) (may be Z itself for the linear g); kind : ACT code; slope : leaky_relu's;
    U : (n_l, m) float64 uniform draws, or (0, 0) for no dropout; A_drop : (n_l, m), the dropped A.
    """
    return _bias_act_rows(Z, b, A, kind, slope, U, keep_prob, A_drop, 0, Z.shape[0])


@njit(parallel=True, **_opts)
def bias_act_parallel(Z, b, A, kind, slope, U, keep_prob, A_drop):
    """:func:`bias_act` with blocks of BLOCK rows spread over numba's threads."""
    n = Z.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        _bias_act_rows(Z, b, A, kind, slope, U, keep_prob, A_drop, k * BLOCK, min(n, (k + 1) * BLOCK))
    return 0


# ------------------------------------------------------------------------------------- backward
@njit(fastmath={"reassoc"}, **_opts)
def _row_sum(x):
    """Σ_j x[j] in float64, vectorized: the additions are reassociated into SIMD lanes (a fixed order for a
    given length, so the same on every call; it differs from BLAS's order by rounding only)."""
    s = 0.0
    for j in range(x.shape[0]):
        s += x[j]
    return s


@njit(fastmath={"reassoc"}, **_opts)
def _sum_squares(x):
    """Σ_j x[j]² in float64, vectorized as :func:`_row_sum` (the L2 term's Σ_l ‖W[l]‖²)."""
    s = 0.0
    for j in range(x.shape[0]):
        v = float(x[j])
        s += v * v
    return s


@njit(**_opts)
def _bp4_rows(dA, Z, A, kind, slope, U, keep_prob, dZ, db, r0, r1):
    """Rows r0:r1 of: dA = dA * D / keep_prob (if U has rows); dZ = dA * g'(Z) (BP4); db = Σ_i dZ (BP2)."""
    m = Z.shape[1]
    for i in range(r0, r1):
        if U.shape[0]:
            for j in range(m):
                d = 1.0 if U[i, j] < keep_prob else 0.0
                dA[i, j] = (dA[i, j] * d) / keep_prob  # the same mask and scale as forward
        if kind == 0:
            for j in range(m):
                dZ[i, j] = dA[i, j]
        elif kind == 1:
            for j in range(m):
                g = 1.0 if Z[i, j] > 0 else 0.0  # g'(Z) = 1 where Z > 0
                dZ[i, j] = g * dA[i, j]
        elif kind == 2:
            for j in range(m):
                g = 1.0 if Z[i, j] > 0 else slope
                dZ[i, j] = g * dA[i, j]
        elif kind == 3:
            for j in range(m):
                a = A[i, j]
                dZ[i, j] = ((1.0 - a) * a) * dA[i, j]  # g'(Z) = A (1 − A)
        else:
            for j in range(m):
                a = A[i, j]
                dZ[i, j] = (1.0 - a * a) * dA[i, j]  # g'(Z) = 1 − A²
        db[i, 0] = _row_sum(dZ[i])
    return 0


@njit(**_opts)
def bp4(dA, Z, A, kind, slope, U, keep_prob, dZ, db):
    """BP4 with the dropout mask and BP2's sums, serially (no 1/m: the caller divides by Σ w).

    dA : (n_l, m) from BP3, masked in place when U has rows; Z, A : layer l's cache (A before dropout);
    dZ : (n_l, m) receives dA * g'(Z); db : (n_l, 1) receives Σ_i dZ(i).
    """
    return _bp4_rows(dA, Z, A, kind, slope, U, keep_prob, dZ, db, 0, Z.shape[0])


@njit(parallel=True, **_opts)
def bp4_parallel(dA, Z, A, kind, slope, U, keep_prob, dZ, db):
    """:func:`bp4` with blocks of BLOCK rows spread over numba's threads."""
    n = Z.shape[0]
    for k in prange((n + BLOCK - 1) // BLOCK):
        _bp4_rows(dA, Z, A, kind, slope, U, keep_prob, dZ, db, k * BLOCK, min(n, (k + 1) * BLOCK))
    return 0


# ------------------------------------------------------------------------------------- output layer
@njit(**_opts)
def head(Z, b, A, Yt, w, kind, dZ, db, out):
    """The output layer after W[L] A[L-1], serially (n_L is small).

    Z : (n_L, m) holding W[L] A[L-1], overwritten with Z[L]; b : (n_L, 1); A : (n_L, m) receives A[L];
    Yt : (m, n_L) the targets, one example per row; w : (m,) weights or (0,) for none; kind : OUT code;
    dZ : (n_L, m) receives w (A − Y); db : (n_L, 1) receives Σ_i dZ(i).
    out : (2,) receives the weighted loss sum Σ_i w_i L(y(i), a(i)) (from the logits) and the number of
    examples classified right (argmax agreement for softmax, every unit's 0/1 right for sigmoid; 0 for
    linear).

    The loops run along the rows (units) with one running value per example (column), so the compiler
    vectorizes them over the examples; each example's sums still add its units in order 0..n_L−1.
    """
    n, m = Z.shape
    weighted = w.shape[0] > 0
    loss_j = np.zeros(m)  # each example's loss, before its weight
    right = 0
    if kind == 0:  # softmax + categorical cross-entropy
        zmax = np.empty(m, Z.dtype)
        s = np.zeros(m)
        ysum = np.zeros(m)
        amax = np.empty(m, Z.dtype)
        ymax = np.empty(m, Z.dtype)
        ka = np.zeros(m, np.int64)
        ky = np.zeros(m, np.int64)
        for j in range(m):
            zmax[j] = -np.inf
        for i in range(n):
            bi = b[i, 0]
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                zmax[j] = max(zmax[j], z)
        for i in range(n):
            for j in range(m):
                e = math.exp(Z[i, j] - zmax[j])
                A[i, j] = e
                s[j] += e
        log_s = np.log(s)
        for i in range(n):
            for j in range(m):
                a = A[i, j] / s[j]
                A[i, j] = a
                y = Yt[j, i]
                ysum[j] += y
                loss_j[j] -= y * ((Z[i, j] - zmax[j]) - log_s[j])  # −Σ_k Y_k log softmax(z)_k
                if i == 0 or a > amax[j]:
                    amax[j], ka[j] = a, i
                if i == 0 or y > ymax[j]:
                    ymax[j], ky[j] = y, i
        for i in range(n):
            for j in range(m):
                wj = w[j] if weighted else 1.0
                dZ[i, j] = (A[i, j] * ysum[j] - Yt[j, i]) * wj  # A ΣY − Y: A − Y for one-hot columns
        for j in range(m):
            right += ka[j] == ky[j]
    elif kind == 1:  # sigmoid + binary cross-entropy
        wrong = np.zeros(m, np.int64)
        for i in range(n):
            bi = b[i, 0]
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                softplus = math.log1p(math.exp(-abs(z)))  # log(1 + e^−|z|), shared by σ and the loss
                a = math.exp(-(max(-z, 0.0) + softplus))  # _sigmoid(z), its operations in its order
                A[i, j] = a
                y = Yt[j, i]
                loss_j[j] += (max(z, 0.0) - y * z) + softplus
                wj = w[j] if weighted else 1.0
                dZ[i, j] = (a - y) * wj
                wrong[j] += (a > 0.5) != (y > 0.5)
        for j in range(m):
            right += wrong[j] == 0
    else:  # linear + mean squared error
        for i in range(n):
            bi = b[i, 0]
            for j in range(m):
                z = Z[i, j] + bi
                Z[i, j] = z
                A[i, j] = z
                diff = z - Yt[j, i]
                loss_j[j] += diff * diff
                wj = w[j] if weighted else 1.0
                dZ[i, j] = diff * wj
        for j in range(m):
            loss_j[j] *= 0.5
    loss = 0.0
    for j in range(m):
        loss += (w[j] if weighted else 1.0) * loss_j[j]
    for i in range(n):
        db[i, 0] = _row_sum(dZ[i])  # BP2
    out[0] = loss
    out[1] = right
    return 0


# ------------------------------------------------------------------------------------- batch gather
@njit(**_opts)
def _gather_block(src, idx, dst, k0, k1):
    for k in range(k0, k1):
        r = idx[k]
        for c in range(src.shape[1]):
            dst[k, c] = src[r, c]
    return 0


@njit(**_opts)
def gather_rows(src, idx, dst):
    """dst[k] = src[idx[k]]: examples (rows of X.T, contiguous) of a shuffled batch, serially."""
    return _gather_block(src, idx, dst, 0, idx.shape[0])


@njit(parallel=True, **_opts)
def gather_rows_parallel(src, idx, dst):
    """:func:`gather_rows` with blocks of 16 examples spread over numba's threads."""
    n = idx.shape[0]
    for k in prange((n + 15) // 16):
        _gather_block(src, idx, dst, k * 16, min(n, (k + 1) * 16))
    return 0


# ------------------------------------------------------------------------------------- update
@njit(**_opts)
def _grad(g, theta, i, w_sum, l2c, scale):
    """One element of the gradient the optimizer sees: (g / Σw + (λ/m) W) · clip scale (l2c = 0 for biases);
    ``w_sum`` here is 1/Σw (a product vectorizes better than a quotient; they differ by rounding).

    With l2c = 0 and scale = 1 the extra terms are exact no-ops, so one straight-line formula serves every
    case and the loops below vectorize.
    """
    return (g[i] * w_sum + l2c * theta[i]) * scale


@njit(**_opts)
def _norm2_block(g, theta, w_sum, l2c, k0, k1):
    s = 0.0
    for i in range(k0, k1):
        x = _grad(g, theta, i, w_sum, l2c, 1.0)
        s += x * x
    return s


@njit(**_opts)
def _step_block(theta, g, v, s, w_sum, l2c, scale, kind, lr, beta1, beta2, eps, decay, bc1, bc2, k0, k1):
    """Elements k0:k1 of one group: the final gradient x (written back to g), then one step of ``kind``.

    v, s : the group's first and second moments (length 0 where not kept); l2c : λ/m for weights, 0 for
    biases; decay : AdamW's 1 − α λ for weights, 1 otherwise; bc1, bc2 : Adam's 1 − β1^t, 1 − β2^t.
    The scalars are first rounded to θ's dtype, so float32 parameters are updated in float32 arithmetic
    (as NumPy's weak Python scalars do) and the loops vectorize at full width. One loop per optimizer, so
    each is a straight line the compiler vectorizes.
    """
    c = np.empty(14, theta.dtype)
    c[0], c[1], c[2], c[3] = w_sum, l2c, scale, lr
    c[4], c[5], c[6], c[7] = beta1, 1.0 - beta1, beta2, 1.0 - beta2
    c[8], c[9], c[10], c[11] = eps, decay, lr * beta1, lr / bc1
    c[12], c[13] = bc2, lr * math.sqrt(bc2) / bc1
    w_, l2_, scale_, lr_ = c[0], c[1], c[2], c[3]
    b1, omb1, b2, omb2 = c[4], c[5], c[6], c[7]
    eps_, decay_, lr_b1, lr_bc1, bc2_, lr_t = c[8], c[9], c[10], c[11], c[12], c[13]
    if kind == 0:
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            theta[i] -= x * lr_  # W = W − α dW
    elif kind == 1:
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            vi = v[i] * b1 + x * omb1  # v = β v + (1 − β) dW
            v[i] = vi
            theta[i] -= vi * lr_  # W = W − α v
    elif kind == 2:
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            t = x * omb1
            vi = v[i] * b1 + t
            v[i] = vi
            theta[i] = (theta[i] - t * lr_) - vi * lr_b1  # W − α(1 − β) dW − α β v
    elif kind == 3:
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            si = s[i] * b1 + (x * x) * omb1  # s = β s + (1 − β) dW²
            s[i] = si
            theta[i] -= (x / (math.sqrt(si) + eps_)) * lr_  # W − α dW / (√s + ε)
    elif kind == 4 or kind == 5:
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            vi = v[i] * b1 + x * omb1  # v = β1 v + (1 − β1) dW
            si = s[i] * b2 + (x * x) * omb2  # s = β2 s + (1 − β2) dW²
            v[i] = vi
            s[i] = si
            # AdamW first decays W by itself (W = W − α λ W; decay = 1 for Adam), then α v_c / (√s_c + ε)
            theta[i] = theta[i] * decay_ - (vi / (math.sqrt(si / bc2_) + eps_)) * lr_bc1
    elif kind == 6 or kind == 7:  # scikit-learn's SGD, momentum μ = beta1
        nesterov = kind == 7
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            step = x * lr_
            ui = v[i] * b1 - step  # u = μ u − α dW
            v[i] = ui
            theta[i] += (ui * b1 - step) if nesterov else ui  # W + (μ u − α dW), or W + u
    else:  # scikit-learn's Adam: ε added to √s, the bias corrections folded into α_t = α √(1 − β2^t) / (1 − β1^t)
        for i in range(k0, k1):
            x = _grad(g, theta, i, w_, l2_, scale_)
            g[i] = x
            vi = v[i] * b1 + x * omb1
            si = s[i] * b2 + (x * x) * omb2
            v[i] = vi
            s[i] = si
            theta[i] -= (vi / (math.sqrt(si) + eps_)) * lr_t  # W − α_t v / (√s + ε)
    return 0


@njit(**_opts)
def update(theta, g, vW, vb, sW, sb, n_W, w_sum, l2c, clip, kind, lr, beta1, beta2, eps, decay, bc1, bc2):
    """One fused update of the flat parameter vector ``theta`` [W1..WL, b1..bL] from the batch sums ``g``.

    g : (n,) Σ_i w_i ∂L/∂θ; divided by w_sum (zeros if w_sum <= 0), plus l2c θ on the weights (the first
    n_W), clipped to global norm ``clip`` (0: none), written back, then one step of optimizer ``kind``
    (OPT code) with moments vW, sW (weights) and vb, sb (biases), length 0 where the optimizer keeps none.
    Serial.
    """
    n = theta.shape[0]
    if not w_sum > 0:  # no weight in the batch: no data gradient
        g[:] = 0.0
        w_sum = 1.0
    w_sum = 1.0 / w_sum  # the loops multiply by 1/Σw
    scale = 1.0
    if clip > 0:
        norm = math.sqrt(_norm2_block(g, theta, w_sum, l2c, 0, n_W) + _norm2_block(g, theta, w_sum, 0.0, n_W, n))
        if norm > clip:
            scale = clip / norm
    _step_block(theta[:n_W], g[:n_W], vW, sW, w_sum, l2c, scale, kind, lr, beta1, beta2, eps, decay, bc1, bc2, 0, n_W)
    _step_block(theta[n_W:], g[n_W:], vb, sb, w_sum, 0.0, scale, kind, lr, beta1, beta2, eps, 1.0, bc1, bc2, 0, n - n_W)
    return 0


UPDATE_BLOCK = 32768  # flat elements per parallel work item of update_parallel


@njit(parallel=True, **_opts)
def update_parallel(theta, g, vW, vb, sW, sb, n_W, w_sum, l2c, clip, kind, lr, beta1, beta2, eps, decay, bc1, bc2):
    """:func:`update` with fixed blocks of UPDATE_BLOCK elements spread over numba's threads; the clipping
    norm is summed over the blocks in block order, so it does not depend on the number of threads."""
    n = theta.shape[0]
    size = UPDATE_BLOCK
    blocks = (n + size - 1) // size
    if not w_sum > 0:
        g[:] = 0.0
        w_sum = 1.0
    w_sum = 1.0 / w_sum  # the loops multiply by 1/Σw
    scale = 1.0
    if clip > 0:
        parts = np.empty(blocks)
        for k in prange(blocks):
            k0, k1 = k * size, min(n, (k + 1) * size)
            parts[k] = _norm2_block(g, theta, w_sum, l2c, k0, min(k1, n_W)) + _norm2_block(
                g, theta, w_sum, 0.0, max(k0, n_W), k1
            )
        norm2 = 0.0
        for k in range(blocks):
            norm2 += parts[k]
        if math.sqrt(norm2) > clip:
            scale = clip / math.sqrt(norm2)
    tW, gW, tb, gb = theta[:n_W], g[:n_W], theta[n_W:], g[n_W:]
    for k in prange(blocks):
        k0, k1 = k * size, min(n, (k + 1) * size)
        if k0 < n_W:
            _step_block(
                tW, gW, vW, sW, w_sum, l2c, scale, kind, lr, beta1, beta2, eps, decay, bc1, bc2, k0, min(k1, n_W)
            )
        if k1 > n_W:
            _step_block(
                tb,
                gb,
                vb,
                sb,
                w_sum,
                0.0,
                scale,
                kind,
                lr,
                beta1,
                beta2,
                eps,
                1.0,
                bc1,
                bc2,
                max(k0, n_W) - n_W,
                k1 - n_W,
            )
    return 0


# ------------------------------------------------------------------------------------- many steps in one call
N_STATS = 5  # per batch: loss sum, weight sum, count, number right, Σ_l ‖W[l]‖² (before its update)


@njit(**_opts)
def _view(flat, start, rows, cols):
    """flat[start : start + rows·cols] as a (rows, cols) C-ordered array (no copy)."""
    return flat[start : start + rows * cols].reshape((rows, cols))


@njit(**_opts)
def train_batches(
    theta,
    g,
    vW,
    vb,
    sW,
    sb,
    Xt,
    Yt,
    w,
    idx,
    starts,
    dims,
    kinds,
    slopes,
    head_kind,
    ws,
    n_W,
    l2,
    clip,
    opt,
    lr,
    beta1,
    beta2,
    eps,
    decay,
    t0,
    stats,
):
    """Whole training steps, one per mini-batch, in one call: the Trainer's loop without the interpreter.

    Batch b is the examples ``idx[starts[b] : starts[b+1]]``; for each: the gather of its rows of Xt
    (m, n_0), Yt (m, n_L), w (m,) (w of length 0: unweighted); eq. (2) (``np.dot``: BLAS through SciPy)
    and eq. (1) (:func:`_bias_act_rows`) for layers 1..L−1; the output layer (:func:`head`: g_L, the
    loss sum, dZ[L] = w (A[L] − Y), BP2, the number right); BP1, BP3 (``np.dot``) and BP4 + BP2
    (:func:`_bp4_rows`) from L down, as sums over the batch into ``g`` (laid out as θ); the cost
    J = loss sum / Σw + λ/(2 m_b) Σ‖W‖²; and, when J is finite, :func:`update` (1/Σw, L2, clipping, the
    optimizer ``opt`` with step count t0 + b + 1). A non-finite J stops the call before that batch's
    update (the Trainer's divergence check).

    theta, g : (n,) parameters [W1..WL, b1..bL] and the gradient buffer; vW, vb, sW, sb : the moments
    (length 0 where not kept); dims : (L+1,) n_0..n_L; kinds, slopes : (L−1,) hidden activation codes
    (ACT) and leaky slopes; head_kind : OUT code; ws : workspace of at least
    ``(n_0 + n_L + 1 + Σ_l 2 n_l + Σ_{l<L} 2 n_l) · max batch`` elements of θ's dtype; stats : (B, N_STATS)
    float64 receives each batch's loss sum and weight sum (rounded to θ's dtype, as the Trainer's buffer
    holds them), count, number right and Σ‖W‖² (0 without L2).

    Returns the number of batches run (the last one unupdated if its J was not finite).
    """
    L = dims.shape[0] - 1
    n0, nL = dims[0], dims[L]
    n_b = starts.shape[0] - 1
    m_max = 0
    for b in range(n_b):
        m_max = max(m_max, starts[b + 1] - starts[b])
    # offsets: weights and biases in θ (and g); Z, A, dZ (l = 1..L), dA (l < L) in the workspace
    oW = np.empty(L + 1, np.int64)
    ob = np.empty(L + 1, np.int64)
    oZ = np.empty(L + 1, np.int64)
    oA = np.empty(L + 1, np.int64)
    odZ = np.empty(L + 1, np.int64)
    odA = np.empty(L + 1, np.int64)
    pw, pb, pws = 0, n_W, (n0 + nL + 1) * m_max
    for l in range(1, L + 1):
        oW[l], ob[l] = pw, pb
        pw += dims[l] * dims[l - 1]
        pb += dims[l]
        oZ[l], oA[l], odZ[l], odA[l] = pws, pws + dims[l] * m_max, pws + 2 * dims[l] * m_max, pws + 3 * dims[l] * m_max
        pws += 4 * dims[l] * m_max
    weighted = w.shape[0] > 0
    no_U = np.empty((0, 0))
    head_out = np.empty(2)
    rounded = np.empty(2, theta.dtype)  # the loss and weight sums as the Trainer's buffer of θ's dtype holds them
    for b in range(n_b):
        s0 = starts[b]
        m_b = starts[b + 1] - s0
        # the batch gather: one example per row
        Xb = _view(ws, 0, m_b, n0)
        Yb = _view(ws, n0 * m_max, m_b, nL)
        wb = ws[(n0 + nL) * m_max : (n0 + nL) * m_max + (m_b if weighted else 0)]
        w_sum = 0.0
        for k in range(m_b):
            r = idx[s0 + k]
            for c in range(n0):
                Xb[k, c] = Xt[r, c]
            for c in range(nL):
                Yb[k, c] = Yt[r, c]
            if weighted:
                wb[k] = w[r]
                w_sum += w[r]
        if not weighted:
            w_sum = m_b
        # forward: eqs. (2)(1) for layers 1..L−1, then the output head
        for l in range(1, L + 1):
            n_l, n_p = dims[l], dims[l - 1]
            W = _view(theta, oW[l], n_l, n_p)
            Z = _view(ws, oZ[l], n_l, m_b)
            if l == 1:
                np.dot(W, Xb.T, Z)  # eq. (2)'s product W[1] X
            else:
                np.dot(W, _view(ws, oA[l - 1], n_p, m_b), Z)  # W[l] A[l−1]
            bl = _view(theta, ob[l], n_l, 1)
            A = _view(ws, oA[l], n_l, m_b)
            if l < L:
                _bias_act_rows(Z, bl, A, kinds[l - 1], slopes[l - 1], no_U, 1.0, A, 0, n_l)
            else:
                head(Z, bl, A, Yb, wb, head_kind, _view(ws, odZ[l], n_l, m_b), _view(g, ob[l], n_l, 1), head_out)
        # backward: BP1, BP3 (BLAS), BP4 + BP2 (kernel) from L down; sums over the batch
        for l in range(L, 0, -1):
            n_l, n_p = dims[l], dims[l - 1]
            dZ = _view(ws, odZ[l], n_l, m_b)
            dW = _view(g, oW[l], n_l, n_p)
            if l == 1:
                np.dot(dZ, Xb, dW)  # BP1: dZ[1] X.T
                break
            A_prev = _view(ws, oA[l - 1], n_p, m_b)
            np.dot(dZ, A_prev.T, dW)  # BP1: dZ[l] A[l−1].T
            dA = _view(ws, odA[l - 1], n_p, m_b)
            np.dot(_view(theta, oW[l], n_l, n_p).T, dZ, dA)  # BP3: W[l].T dZ[l]
            _bp4_rows(
                dA,
                _view(ws, oZ[l - 1], n_p, m_b),
                A_prev,
                kinds[l - 2],
                slopes[l - 2],
                no_U,
                1.0,
                _view(ws, odZ[l - 1], n_p, m_b),
                _view(g, ob[l - 1], n_p, 1),
                0,
                n_p,
            )  # BP4 + BP2
        # the cost, as the Trainer computes it from its buffer
        rounded[0] = head_out[0]
        rounded[1] = w_sum
        loss_sum, w_sum = float(rounded[0]), float(rounded[1])
        count = float(m_b)
        J = loss_sum / w_sum if w_sum > 0 else 0.0  # eq. (3)
        ss = 0.0
        if l2 > 0:
            ss = _sum_squares(theta[:n_W])
            J += l2 / (2.0 * count) * ss
        stats[b, 0] = loss_sum
        stats[b, 1] = w_sum
        stats[b, 2] = count
        stats[b, 3] = head_out[1]
        stats[b, 4] = ss
        if not math.isfinite(J):
            return b + 1
        t = float(t0 + b + 1)
        update(
            theta,
            g,
            vW,
            vb,
            sW,
            sb,
            n_W,
            w_sum,
            l2 / count if l2 > 0 else 0.0,
            clip,
            opt,
            lr,
            beta1,
            beta2,
            eps,
            decay,
            1.0 - math.pow(beta1, t),
            1.0 - math.pow(beta2, t),
        )
    return n_b


def train_batches_workspace(dims, m_max: int) -> int:
    """Elements of :func:`train_batches`' workspace for batches of at most ``m_max`` examples."""
    return int((dims[0] + dims[-1] + 1 + 4 * sum(dims[1:])) * m_max)
