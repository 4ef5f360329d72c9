"""The Array API engine: the seed's math on any array library that follows the Array API standard.

NumPy, PyTorch (CPU or CUDA), CuPy and array-api-strict arrays all work: every operation goes through
the namespace of the data, ``xp = array_api_compat.array_namespace(X)``, and stays on X's device. The
equations are the reference's (``propagation.py``), written with the standard's functions and in-place
operators instead of NumPy's ``out=``:

    Z[l] = W[l] A[l-1] + b[l]         eq. (2)      A[l] = g(Z[l])         eq. (1)
    dZ[L] = A[L] − Y  (canonical)     dZ[l] = dA[l] * g'(Z[l])            BP4
    Σ_i w_i dW = dZ A[l-1]ᵀ           BP1 (the trainer divides by Σ_i w_i: the 1/m)
    Σ_i w_i db = Σ_i dZ(i)            BP2          dA[l-1] = W[l]ᵀ dZ[l]  BP3

Dropout masks (``U < keep_prob``) come from :func:`mask_source`: on a GPU they are drawn there (PyTorch's
or CuPy's generator, seeded from the network's Generator); elsewhere they are drawn on the host from the
network's Generator, the same draws as every other engine, and moved, so a run is the same as NumPy's.
Parameters, moments and the per-batch sums live on the device; nothing returns to the host inside a step
except what the trainer asks for.
"""

from __future__ import annotations

import math

import numpy as np

from .base import N_SCALARS, Engine

__all__ = ["XPEngine", "namespace_of", "ACTIVATIONS_XP", "LOSSES_XP"]


def namespace_of(*arrays):
    """The Array API namespace of ``arrays`` (array-api-compat's wrapper for NumPy, PyTorch, CuPy)."""
    from array_api_compat import array_namespace

    return array_namespace(*arrays)


# ----------------------------------------------------------------------------------- eq. (1) and BP4
def _sigmoid(xp, Z):
    return xp.exp(-xp.logaddexp(xp.zeros_like(Z), -Z))  # σ(Z) = exp(−log(1 + e^−Z)), as the reference


def _softmax(xp, Z):
    e = xp.exp(Z - xp.max(Z, axis=0, keepdims=True))  # shift: exponents <= 0, no overflow
    return e / xp.sum(e, axis=0, keepdims=True)


def _leaky(xp, Z, slope):
    return xp.maximum(Z, Z * slope)


def _exp(xp, Z):
    cap = math.log(float(xp.finfo(Z.dtype).max)) * (1 - 1e-6)  # just below overflow, as activations.Exp
    return xp.exp(xp.minimum(Z, xp.full_like(Z, cap)))


# name -> (g(xp, Z, act), BP4(xp, dA, Z, A, act) = dA * g'(Z))
ACTIVATIONS_XP = {
    "sigmoid": (lambda xp, Z, a: _sigmoid(xp, Z), lambda xp, dA, Z, A, a: (1.0 - A) * A * dA),
    "tanh": (lambda xp, Z, a: xp.tanh(Z), lambda xp, dA, Z, A, a: (1.0 - A * A) * dA),
    "relu": (lambda xp, Z, a: xp.maximum(Z, xp.zeros_like(Z)), lambda xp, dA, Z, A, a: xp.astype(Z > 0, dA.dtype) * dA),
    "leaky_relu": (
        lambda xp, Z, a: _leaky(xp, Z, a.slope),
        lambda xp, dA, Z, A, a: xp.where(Z > 0, xp.ones_like(dA), xp.full_like(dA, a.slope)) * dA,
    ),
    "linear": (lambda xp, Z, a: Z, lambda xp, dA, Z, A, a: dA),
    "exp": (lambda xp, Z, a: _exp(xp, Z), lambda xp, dA, Z, A, a: dA * A),
    "softmax": (
        lambda xp, Z, a: _softmax(xp, Z),
        lambda xp, dA, Z, A, a: (dA - xp.sum(A * dA, axis=0, keepdims=True)) * A,
    ),
}


# ----------------------------------------------------------------------------------- eq. (3) and dZ[L]
def _log_clip(xp, A):
    return xp.log(xp.maximum(A, xp.full_like(A, xp.finfo(A.dtype).smallest_normal)))


def _bce(xp, AL, Y, ZL):
    if ZL is not None:  # max(z, 0) − y z + log(1 + e^−|z|)
        L = xp.maximum(ZL, xp.zeros_like(ZL)) - Y * ZL + xp.log1p(xp.exp(-xp.abs(ZL)))
    else:
        L = -(Y * _log_clip(xp, AL) + (1 - Y) * _log_clip(xp, 1 - AL))
    return xp.sum(L, axis=0)


def _cce(xp, AL, Y, ZL):
    if ZL is not None:  # log softmax(z) = z − max − log Σ e^(z − max)
        shifted = ZL - xp.max(ZL, axis=0, keepdims=True)
        log_A = shifted - xp.log(xp.sum(xp.exp(shifted), axis=0, keepdims=True))
    else:
        log_A = _log_clip(xp, AL)
    return -xp.sum(Y * log_A, axis=0)


def _mse(xp, AL, Y, ZL):
    diff = AL - Y
    return 0.5 * xp.sum(diff * diff, axis=0)


def _poisson(xp, AL, Y, ZL):  # Σ_k [Y log Y − Y log A − Y + A], 0 log 0 = 0
    y_log_y = Y * xp.log(xp.where(Y > 0, Y, xp.ones_like(Y)))
    log_A = ZL if ZL is not None else _log_clip(xp, AL)
    return xp.sum(y_log_y - Y * log_A - Y + AL, axis=0)


def _tiny(xp, A):
    return xp.full_like(A, xp.finfo(A.dtype).smallest_normal)


# name -> (per_example(xp, AL, Y, ZL) (m,), dAL(xp, AL, Y), fused dZL(xp, AL, Y))
LOSSES_XP = {
    "binary_cross_entropy": (
        _bce,
        lambda xp, A, Y: -(Y / xp.maximum(A, _tiny(xp, A)) - (1 - Y) / xp.maximum(1 - A, _tiny(xp, A))),
        lambda xp, A, Y: A - Y,
    ),
    "categorical_cross_entropy": (
        _cce,
        lambda xp, A, Y: -Y / xp.maximum(A, _tiny(xp, A)),
        lambda xp, A, Y: A * xp.sum(Y, axis=0, keepdims=True) - Y,
    ),
    "mse": (_mse, lambda xp, A, Y: A - Y, lambda xp, A, Y: A - Y),
    "poisson": (_poisson, lambda xp, A, Y: 1 - Y / xp.maximum(A, _tiny(xp, A)), lambda xp, A, Y: A - Y),
}


def _host(a):
    """One explicit copy of ``a`` to a NumPy array (torch, CuPy, array-api-strict on any device)."""
    if isinstance(a, np.ndarray):
        return a
    from array_api_compat import is_array_api_strict_namespace, is_cupy_array, is_torch_array

    if is_torch_array(a):
        return a.detach().cpu().numpy()
    if is_cupy_array(a):
        return a.get()
    if is_array_api_strict_namespace(namespace_of(a)):
        import array_api_strict

        a = a.to_device(array_api_strict.Device("CPU_DEVICE"))
    return np.from_dlpack(a)


class XPEngine(Engine):
    """Per-batch sums of the gradient, loss, weight, count and hits on any Array API namespace.

    Follows the engine contract (``engines.base.Engine``): :meth:`batch_sums` writes
    ``[Σ w ∂L/∂θ (flat), Σ w L, Σ w, m_b, n_correct]`` into a buffer on the parameters' device; the
    Trainer reads the four scalars with one transfer per batch (:meth:`scalars`), or, with
    :meth:`step_on_device`, accumulates them on the device and reads them once per epoch, and checks finiteness
    once per epoch (:meth:`all_finite`).
    """

    name = "xp"
    array_api = True

    def __init__(self, model, keep_prob=None):
        super().__init__(model, keep_prob)
        self.xp = None
        self.w = None
        self.masks = None  # the dropout masks' source for this fit (mask_source)

    @classmethod
    def supports(cls, model) -> bool:
        """Whether every activation and the loss have Array API forms here (custom ones do not)."""
        return all(g.name in ACTIVATIONS_XP for g in model.activations) and model.loss.name in LOSSES_XP

    # ------------------------------------------------------------------------------- data
    def bind(self, X, Y, sample_weight=None) -> None:
        """The training data of this fit, arrays of one namespace on one device."""
        self.xp = namespace_of(X)
        self.X, self.Y, self.w = X, Y, sample_weight
        self.sample_weight = sample_weight
        self.masks = None if self.keep_prob is None else mask_source(self)

    # ------------------------------------------------------------------------------- the Trainer's arrays
    def _theta_xp(self):
        return namespace_of(self.model.theta)

    def zeros(self, size: int):
        from array_api_compat import device

        theta = self.model.theta
        return self._theta_xp().zeros(size, dtype=theta.dtype, device=device(theta))

    def scalars(self, tail) -> tuple:
        return tuple(float(v) for v in _host(tail).tolist())  # one transfer

    def sum_of_squares(self, weights) -> float:
        xp = namespace_of(*weights)
        return float(xp.sum(xp.stack([xp.sum(W * W) for W in weights])))

    def copy_params(self, theta):
        from array_api_compat import device

        return namespace_of(theta).asarray(theta, copy=True, device=device(theta))

    def copy_into(self, dst, src) -> None:
        dst[...] = src

    def all_finite(self, theta) -> bool:
        xp = namespace_of(theta)
        return bool(xp.all(xp.isfinite(theta)))

    def _columns(self, A, cols):
        if A is None or isinstance(cols, slice):
            return None if A is None else A[..., cols]
        from array_api_compat import device

        idx = self.xp.asarray(np.asarray(cols, dtype=np.int64), device=device(A))
        return self.xp.take(A, idx, axis=A.ndim - 1)

    # ------------------------------------------------------------------------------- the step
    def forward(self, X, params, *, train: bool):
        """Eqs. (2)(1) for l = 1..L; returns (A[L], caches [(A_prev, Z, A, D)])."""
        xp, model = self.xp, self.model
        A, caches = X, []
        for l, g in enumerate(model.activations, start=1):
            A_prev = A
            Z = params[f"W{l}"] @ A_prev + params[f"b{l}"]  # eq. (2)
            A = ACTIVATIONS_XP[g.name][0](xp, Z, g)  # eq. (1)
            D = None
            p = 1.0 if self.keep_prob is None or not train else self.keep_prob[l - 1]
            if p < 1.0:  # inverted dropout, D = U < keep_prob
                masks = self.masks or HostMasks(model.rng)
                D = masks(xp, (Z.shape[0], Z.shape[1]), p, Z)
                caches.append((A_prev, Z, A, D))
                A = A * xp.astype(D, A.dtype) / p
            else:
                caches.append((A_prev, Z, A, D))
        return A, caches

    def _head(self, AL, Y, caches):
        """Per-example losses (m,) from the logits when the output/loss pair is canonical."""
        model = self.model
        canonical = model.activations[-1].name == model.loss.canonical_activation
        per_example = LOSSES_XP[model.loss.name][0]
        return per_example(self.xp, AL, Y, caches[-1][1] if canonical else None), canonical

    def _n_correct(self, AL, Y):
        xp, out = self.xp, self.model.activations[-1].name
        if out == "softmax":
            return xp.sum(xp.astype(xp.argmax(AL, axis=0) == xp.argmax(Y, axis=0), AL.dtype))
        if out == "sigmoid":
            return xp.sum(xp.astype(xp.all((AL > 0.5) == (Y > 0.5), axis=0), AL.dtype))
        from array_api_compat import device

        return xp.zeros((), dtype=AL.dtype, device=device(AL))

    def batch_sums(self, cols, out) -> None:
        """Forward, loss and BP1–BP4 on the columns ``cols`` of the bound data, as sums, into ``out``."""
        xp, model = self.xp, self.model
        X, Y, w = (self._columns(A, cols) for A in (self.X, self.Y, self.w))
        n = model.n_params
        m_b = X.shape[1]
        if m_b == 0:
            out[...] = 0
            return
        params = model.params
        AL, caches = self.forward(X, params, train=True)
        losses, canonical = self._head(AL, Y, caches)
        wrow = None if w is None else xp.reshape(w, (1, m_b))
        L = len(model.activations)
        if canonical:
            dZ = LOSSES_XP[model.loss.name][2](xp, AL, Y)  # dZ[L] = A[L] − Y
            if wrow is not None:
                dZ = dZ * wrow
        else:
            dA = LOSSES_XP[model.loss.name][1](xp, AL, Y)
            if wrow is not None:
                dA = dA * wrow
            g = model.activations[-1]
            dZ = ACTIVATIONS_XP[g.name][1](xp, dA, caches[-1][1], caches[-1][2], g)  # BP4
        dW, db = {}, {}
        for l in range(L, 0, -1):
            A_prev, Z, A, D = caches[l - 1]
            if l < L:
                if D is not None:
                    dA = dA * xp.astype(D, dA.dtype) / self.keep_prob[l - 1]  # the same mask and scale
                g = model.activations[l - 1]
                dZ = ACTIVATIONS_XP[g.name][1](xp, dA, Z, A, g)  # BP4
            dW[l] = dZ @ xp.matrix_transpose(A_prev)  # BP1 (times Σ w)
            db[l] = xp.sum(dZ, axis=1, keepdims=True)  # BP2 (times Σ w)
            if l > 1:
                dA = xp.matrix_transpose(params[f"W{l}"]) @ dZ  # BP3
        pieces = [xp.reshape(dW[l], (-1,)) for l in range(1, L + 1)]
        pieces += [xp.reshape(db[l], (-1,)) for l in range(1, L + 1)]
        out[:n] = xp.concat(pieces)
        out[n] = xp.sum(losses) if w is None else xp.sum(w * losses)
        out[n + 1] = float(m_b) if w is None else xp.sum(w)
        out[n + 2] = float(m_b)
        out[n + 3] = self._n_correct(AL, Y)

    def eval_sums(self, X, Y, sample_weight=None):
        """[Σ w L, Σ w, m, n_correct] on (X, Y) without dropout or gradients, as a NumPy array (one transfer)."""
        xp = self.xp or namespace_of(X)
        self.xp = xp
        if X.shape[1] == 0:
            return np.zeros(N_SCALARS, self.model.dtype)
        AL, caches = self.forward(X, self.model.params, train=False)
        losses, _ = self._head(AL, Y, caches)
        m = X.shape[1]
        w = sample_weight
        loss_sum = xp.sum(losses) if w is None else xp.sum(w * losses)
        from array_api_compat import device

        count = xp.asarray(float(m), dtype=AL.dtype, device=device(AL))
        sums = xp.stack([loss_sum, count if w is None else xp.sum(w), count, self._n_correct(AL, Y)])
        return np.asarray(_host(sums), dtype=self.model.dtype)

    # ------------------------------------------------------------------------------- an epoch on the device
    def host_reads_wait(self) -> bool:
        """Whether reading a device scalar on the host waits for the device: a GPU (PyTorch CUDA, CuPy, any
        other library), or one of array-api-strict's simulated devices standing in for one. On a CPU a read
        is free and the per-batch path's few operations fewer are faster (torch CPU: ~80 µs a batch)."""
        from array_api_compat import device, is_array_api_strict_namespace, is_numpy_array, is_torch_array

        theta = self.model.theta
        if is_numpy_array(theta):
            return False
        if is_torch_array(theta):
            return theta.device.type != "cpu"
        if is_array_api_strict_namespace(namespace_of(theta)):
            import array_api_strict

            return device(theta) != array_api_strict.Device("CPU_DEVICE")
        return True

    def epoch_totals(self):
        """Zeros on the parameters' device for :meth:`step_on_device`: [Σ_b J_b m_b, Σ_b n_correct, first
        non-finite batch index (inf: none)]."""
        totals = self.zeros(3)
        totals[2] = math.inf
        return totals

    def step_on_device(self, buf, totals, b: int, *, n_W, count, l2, optimizer, opt_state, lr) -> None:
        """The Trainer's step after :meth:`batch_sums`, with no transfer to the host.

        The batch's cost J = Σ w L / Σ w (eq. (3); 0 for a batch of weight 0) + λ/(2 m_b)·Σ‖W‖² — the same
        operations as the Trainer's, on device scalars — is added to ``totals`` with the hits and, when it is
        not finite, the batch index; then the update runs as :meth:`update` (a non-finite J makes the
        parameters non-finite too, which the Trainer finds at the epoch's end). ``count`` is m_b.
        """
        model = self.model
        xp, theta, n = self._theta_xp(), model.theta, model.n_params
        loss_sum, w_sum = buf[n], buf[n + 1]
        w_pos = xp.where(w_sum > 0, w_sum, xp.ones_like(w_sum))
        J = loss_sum / w_pos  # eq. (3); loss_sum is 0 when w_sum is
        if l2:  # the Trainer's λ/(2 m_b)·Σ_l ‖W[l]‖², as sum_of_squares adds it, left on the device
            weights = [W for key, W in model.params.items() if key[0] == "W"]
            J = J + l2 / (2 * count) * xp.sum(xp.stack([xp.sum(W * W) for W in weights]))
        totals[0] += J * count
        totals[1] += buf[n + 3]
        first_bad = xp.minimum(totals[2], xp.full_like(J, float(b)))
        totals[2] = xp.where(xp.isfinite(J), totals[2], first_bad)
        grads = buf[:n]
        grads /= w_pos  # BP1–BP2's 1/Σw here, so that update divides by 1
        self.update(
            theta,
            grads,
            n_W=n_W,
            w_sum=1.0,
            count=count,
            l2=l2,
            clip_norm=None,
            optimizer=optimizer,
            opt_state=opt_state,
            lr=lr,
        )

    # ------------------------------------------------------------------------------- the update
    def update(self, theta, grads, *, n_W, w_sum, count, l2, clip_norm, optimizer, opt_state, lr) -> None:
        """BP1–BP2's 1/Σw, the L2 term, clipping and the optimizer's rule, all on the device."""
        xp = namespace_of(theta)
        if w_sum > 0:
            grads /= w_sum
        else:
            grads[...] = 0
        if l2:
            grads[:n_W] += theta[:n_W] * (l2 / count)
        if clip_norm:
            norm = math.sqrt(float(xp.sum(grads * grads)))
            if norm > clip_norm:
                grads *= clip_norm / norm
        step = _RULES.get(optimizer.name) if type(optimizer).__module__ == "vecprop.optimizers" else None
        if step is None:
            raise ValueError(
                f"the xp engine updates with the built-in optimizers only; "
                f"optimizer {optimizer.name!r} needs engine='numpy' and NumPy arrays"
            )
        opt_state["t"] += 1
        t, alpha = opt_state["t"], float(lr)
        for key, W, dW in (("W", theta[:n_W], grads[:n_W]), ("b", theta[n_W:], grads[n_W:])):
            moments = {k: _on_device(xp, opt_state, f"{k}d{key}", W) for k in optimizer.moments}
            step(optimizer, key, W, dW, moments, alpha, t)


# ----------------------------------------------------------------------------------- dropout masks
class HostMasks:
    """Masks ``U < keep_prob`` from the network's NumPy Generator, drawn on the host and moved to the device:
    the same masks as every NumPy engine (one transfer per dropped layer and batch)."""

    def __init__(self, rng):
        self.rng = rng

    def __call__(self, xp, shape, p, like):
        from array_api_compat import device

        return xp.asarray(self.rng.random(shape) < p, device=device(like))  # U ~ U(0, 1) on the host


class TorchMasks:
    """Masks drawn on the parameters' device by a ``torch.Generator`` seeded once per fit from the network's
    Generator: reproducible from the network's seed, but not the NumPy engines' masks."""

    def __init__(self, rng, dev):
        import torch

        self.generator = torch.Generator(device=dev)
        self.generator.manual_seed(int(rng.integers(2**63 - 1)))

    def __call__(self, xp, shape, p, like):
        import torch

        draws = torch.rand(shape, generator=self.generator, device=like.device, dtype=like.dtype)  # U ~ U(0, 1)
        return draws < p


class CupyMasks:
    """Masks drawn on the GPU by ``cupy.random.default_rng`` seeded once per fit from the network's
    Generator: reproducible from the network's seed, but not the NumPy engines' masks."""

    def __init__(self, rng):
        import cupy

        self.generator = cupy.random.default_rng(int(rng.integers(2**63 - 1)))

    def __call__(self, xp, shape, p, like):
        return self.generator.random(shape, dtype=like.dtype) < p  # U ~ U(0, 1) on the device


def mask_source(engine):
    """The dropout masks' source for a fit: drawn on the device where host reads wait for one (PyTorch
    CUDA: TorchMasks, CuPy: CupyMasks), else on the host (HostMasks: NumPy, PyTorch CPU, array-api-strict
    on any device, which has no random numbers of its own), identical to the NumPy engines' masks."""
    from array_api_compat import is_cupy_array, is_torch_array

    rng, theta = engine.model.rng, engine.model.theta
    if not engine.host_reads_wait():
        return HostMasks(rng)
    if is_torch_array(theta):
        return TorchMasks(rng, theta.device)
    if is_cupy_array(theta):
        return CupyMasks(rng)
    return HostMasks(rng)


def _on_device(xp, state, key, like):
    """The optimizer moment ``state[key]`` as an array of ``like``'s namespace and device (moved once)."""
    value = state[key]
    if namespace_of(value) is not xp:
        from array_api_compat import device

        value = xp.asarray(np.asarray(value), device=device(like))
        state[key] = value
    return value


# The optimizers' rules (optimizers.py), with in-place operators on any namespace; same order of operations.
def _gd(opt, key, W, dW, mom, alpha, t):
    W -= dW * alpha  # W = W − α dW


def _momentum(opt, key, W, dW, mom, alpha, t):
    v = mom["v"]
    v *= opt.beta
    v += dW * (1.0 - opt.beta)  # v = β v + (1 − β) dW
    W -= v * alpha  # W = W − α v


def _nesterov(opt, key, W, dW, mom, alpha, t):
    v = mom["v"]
    tmp = dW * (1.0 - opt.beta)
    v *= opt.beta
    v += tmp  # v = β v + (1 − β) dW
    tmp *= alpha
    W -= tmp  # W = W − α (1 − β) dW ...
    W -= v * (alpha * opt.beta)  # ... − α β v


def _rmsprop(opt, key, W, dW, mom, alpha, t):
    namespace = namespace_of(W)
    s = mom["s"]
    tmp = dW * dW
    tmp *= 1.0 - opt.beta
    s *= opt.beta
    s += tmp  # s = β s + (1 − β) dW²
    tmp = namespace.sqrt(s)
    tmp += opt.epsilon
    tmp = dW / tmp
    tmp *= alpha
    W -= tmp  # W = W − α dW / (√s + ε)


def _adam_moments(opt, dW, mom):
    """Advance and return (v, s), as Adam._moments."""
    v, s = mom["v"], mom["s"]
    tmp = dW * (1.0 - opt.beta1)
    v *= opt.beta1
    v += tmp  # v = β1 v + (1 − β1) dW
    tmp = dW * dW
    tmp *= 1.0 - opt.beta2
    s *= opt.beta2
    s += tmp  # s = β2 s + (1 − β2) dW²
    return v, s


def _adam(opt, key, W, dW, mom, alpha, t):
    namespace = namespace_of(W)
    v, s = _adam_moments(opt, dW, mom)
    tmp = s / (1.0 - opt.beta2**t)  # s_c
    tmp = namespace.sqrt(tmp)
    tmp += opt.epsilon
    tmp = v / tmp
    tmp *= alpha / (1.0 - opt.beta1**t)  # α v_c / (√s_c + ε)
    W -= tmp


def _adamw(opt, key, W, dW, mom, alpha, t):
    if key.startswith("W"):
        W *= 1.0 - alpha * opt.weight_decay  # W = W − α λ W
    _adam(opt, key, W, dW, mom, alpha, t)


def _sklearn_sgd(opt, key, W, dW, mom, alpha, t):
    u = mom["v"]
    tmp = dW * alpha
    u *= opt.momentum
    u -= tmp  # u = momentum u − α dW
    if opt.nesterov:
        W += opt.momentum * u - tmp  # W = W + (momentum u − α dW), the new u
    else:
        W += u  # W = W + u


def _sklearn_adam(opt, key, W, dW, mom, alpha, t):
    v, s = _adam_moments(opt, dW, mom)
    alpha_t = alpha * math.sqrt(1.0 - opt.beta2**t) / (1.0 - opt.beta1**t)
    tmp = namespace_of(W).sqrt(s)
    tmp += opt.epsilon  # √s + ε
    tmp = v / tmp
    tmp *= alpha_t
    W -= tmp  # W = W − α_t v / (√s + ε)


_RULES = {
    "gd": _gd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamw": _adamw,
    "sklearn_sgd": _sklearn_sgd,  # the estimators' solver="sgd"
    "sklearn_adam": _sklearn_adam,  # the estimators' solver="adam"
}
