"""The compiled engine: BLAS for the GEMMs, fused numba kernels (:mod:`.numba_kernels`) for everything else.

Per batch it makes 3L − 1 GEMM calls (eq. 2, BP1, BP3) and L + 2 kernel calls: the batch gather, one
bias + activation (+ dropout) kernel per hidden layer, one output-layer kernel (g_L, the loss sum,
dZ[L] = w (A[L] − Y), BP2 and the number right) and one BP4 (+ mask, + BP2) kernel per hidden layer; the
optimizer step is one more (:meth:`NumbaEngine.update`). Every kernel has a twin that splits the
rows over numba's threads; they run only when ``NumbaEngine.parallel`` is True (default False), on
arrays of at least ``PARALLEL_MIN`` elements. Serial is the default because numba's OpenMP threads spin
after each parallel region while OpenBLAS's threads spin after each GEMM: on a 2-core machine the two
pools took turns and the large benchmark job (784-512-512-10, batch 256) ran 3× slower than serial
kernels (with ``OMP_WAIT_POLICY=passive`` or numba's workqueue layer the slowdown went away but the
threads bought nothing measurable on 2 busy cores). Set it on machines with cores to spare.

It compiles the built-in activations (linear, relu, leaky_relu, sigmoid, tanh; softmax as the output) and
losses; a softmax hidden layer (whose Jacobian is not diagonal) runs on the activation's NumPy methods;
:meth:`NumbaEngine.supports` says False for anything else (a registered custom activation), and
``engine="auto"`` then picks the NumPy engine. An output activation that is not its loss's canonical one
(e.g. sigmoid with categorical cross-entropy) goes through the loss's and activation's own NumPy methods
for the output layer only. Compiled code is cached on disk (numba's ``cache=True``, in ``__pycache__``).

**Many steps per call.** In the small regime (40-100-100-10, batch 100) those ~L + 2 kernel calls,
3L − 1 BLAS calls, the update and the Trainer's per-batch bookkeeping cost as much Python overhead as the
GEMMs themselves. :meth:`NumbaEngine.steps` runs many whole training steps in ONE compiled call,
:func:`.numba_kernels.train_batches`: per batch the gather by index, eq. (2) with ``np.dot`` inside
numba (BLAS through SciPy's ``cython_blas``: it needs SciPy), eq. (1), the canonical output head
(softmax / sigmoid / identity with its loss), BP1–BP4, the cost with L2, the divergence check and the
fused update of the built-in optimizers (gd, momentum, nesterov, rmsprop, adam, adamw, scikit-learn's
SGD and Adam). The Trainer uses it (``Trainer._can_step``) only where the numbers and the control are
those of the per-batch path: one process (the plain ``LocalReducer``), no callback overriding
``on_batch_end``, no stopping rule acting after a batch other than Ctrl-C's and a callback's stop, and
:meth:`NumbaEngine.can_step`: no dropout, hidden activations the kernels compile, the loss's canonical
output activation, a built-in optimizer, SciPy present, ``parallel`` off. The learning rate is
constant within an epoch (schedules step per epoch), so one value serves a call. An epoch's batches are
cut into calls of about ``training.STEPS_FLOP`` floating-point operations, so Ctrl-C stops the fit
after the current call. float32 networks compute in float32 (sgemm, float32 arrays), float64 in
float64. After a fit on this path ``net.caches`` is empty (no batch's caches are kept).
"""

from __future__ import annotations

import importlib.util
import math

import numpy as np

from ..activations import LeakyReLU, Linear, ReLU, Sigmoid, Softmax, Tanh
from ..losses import MSE, BinaryCrossEntropy, CategoricalCrossEntropy
from ..optimizers import GD, Adam, AdamW, Momentum, Nesterov, RMSprop, SklearnAdam, SklearnSGD
from ..propagation import LayerCache, param_layout, param_views
from . import numba_kernels as K
from .base import CORRECT, COUNT, LOSS_SUM, N_SCALARS, WEIGHT_SUM, Engine, batch_size_of
from .numpy_engine import blas_threads

__all__ = ["NumbaEngine", "PARALLEL_MIN", "UPDATE_PARALLEL_MIN"]

PARALLEL_MIN = 1 << 15  # elements from which a kernel runs on numba's threads (below: serially)
# The update streams θ, the gradient and the moments once, at memory speed: threads pay off only for
# very large vectors (784-512-512-10's 670k parameters measured no faster on two busy cores).
UPDATE_PARALLEL_MIN = 1 << 21
_ACTIVATIONS = (Linear, ReLU, LeakyReLU, Sigmoid, Tanh)  # compiled for every layer
_LOSSES = (BinaryCrossEntropy, CategoricalCrossEntropy, MSE)
_OPTIMIZERS = {
    GD: "gd",
    Momentum: "momentum",
    Nesterov: "nesterov",
    RMSprop: "rmsprop",
    Adam: "adam",
    AdamW: "adamw",
    SklearnSGD: "sklearn_sgd",
    SklearnAdam: "sklearn_adam",
}
_HAS_SCIPY = importlib.util.find_spec("scipy") is not None  # numba's np.dot needs SciPy's BLAS
_NO_U = np.empty((0, 0))  # "no dropout" for the kernels (one compiled version either way)


def _threads() -> int:
    import numba

    return numba.get_num_threads()


class _Buffers:
    """Every array of one batch size: Z[l], A[l] (A is Z for a linear g), dZ[l], dA[l] (l < L), the
    dropout draws U[l] and dropped activations A_drop[l], and the gathered batch Xt (m_b, n_0),
    Yt (m_b, n_L), w (m_b,) with one example per row."""

    def __init__(self, model, m_b, keep_prob, weighted):
        dims, dtype, L = model.layer_dims, model.dtype, model.L
        new = lambda n: np.empty((n, m_b), dtype)  # noqa: E731
        self.Z = {l: new(dims[l]) for l in range(1, L + 1)}
        self.A = {l: self.Z[l] if type(model.activations[l - 1]) is Linear else new(dims[l]) for l in range(1, L + 1)}
        self.dZ = {l: new(dims[l]) for l in range(1, L + 1)}
        self.dA = {l: new(dims[l]) for l in range(1, L)}
        dropped = [l for l in range(1, L + 1) if keep_prob is not None and keep_prob[l - 1] < 1.0]
        self.U = {l: np.empty((dims[l], m_b)) for l in dropped}  # float64, as rng.random draws
        self.A_drop = {l: new(dims[l]) for l in dropped}
        self.Xt = np.empty((m_b, dims[0]), dtype)
        self.Yt = np.empty((m_b, dims[-1]), dtype)
        self.w = np.empty(m_b, dtype) if weighted else np.empty(0, dtype)
        self.head = np.empty(2)  # the output kernel's loss sum, number right


class NumbaEngine(Engine):
    """Fused numba kernels around BLAS GEMMs; equal to the reference engine within rounding.

    Parameters
    ----------
    model : the network (duck-typed, see :mod:`vecprop.engines.base`)
    keep_prob : tuple of L keep probabilities for layers 1..L, or None
    """

    name = "numba"
    parallel = False  # run the *_parallel kernels on large arrays (see the module docstring)

    def __init__(self, model, keep_prob=None):
        super().__init__(model, keep_prob)
        acts = model.activations
        self._kinds = [(K.ACT.get(g.name, -1), float(getattr(g, "slope", 0.0))) for g in acts]
        self._head = K.OUT.get((acts[-1].name, model.loss.name)) if type(acts[-1]) in (*_ACTIVATIONS, Softmax) else None
        self._buffers = {}
        self._views = None
        self._no_w = np.empty(0, model.dtype)
        self._last = None  # (buffers, X) of the last batch, for ``caches``
        self._parallel = False  # whether numba has more than one thread (read once per batch)
        self._ws = None  # the workspace of steps()
        self._step_args = None  # steps()' data and layer codes, built once per bind

    @property
    def caches(self) -> dict:
        """The last batch's ``LayerCache(A_prev, Z, A, D)`` for l = 1..L (views of the buffers, valid until
        the next batch), built when asked for: the kernels keep the dropout draws U, not the masks D."""
        if self._last is None:
            return {}
        buf, A_prev = self._last
        caches = {}
        for l in range(1, self.model.L + 1):
            U = buf.U.get(l)
            caches[l] = LayerCache(A_prev, buf.Z[l], buf.A[l], None if U is None else self.keep_prob[l - 1] > U)
            A_prev = buf.A_drop.get(l, buf.A[l])
        return caches

    @caches.setter
    def caches(self, value):
        self._last = None  # the base class starts with none

    @classmethod
    def supports(cls, model) -> bool:
        """True for float32/float64 networks of built-in activations and losses (not for a registered one)."""
        acts = model.activations
        return (
            np.dtype(model.dtype).name in ("float32", "float64")
            and all(type(g) in (*_ACTIVATIONS, Softmax) for g in acts)
            and type(model.loss) in _LOSSES
        )

    def bind(self, X, Y, sample_weight=None):
        """Keep the data with one example per row (X.T of the course's X; no copy when X is X_rows.T)."""
        super().bind(X, Y, sample_weight)
        self._Xt = np.ascontiguousarray(X.T)  # (m, n_0)
        self._Yt = np.ascontiguousarray(Y.T)  # (m, n_L)
        self._w = None if sample_weight is None else np.ascontiguousarray(sample_weight)
        self._buffers.clear()
        self._step_args = None

    def session(self, batch_size):
        """The NumPy engine's BLAS thread policy (one BLAS thread while the GEMMs are small), applied to
        SciPy's BLAS too: it is loaded first, as :meth:`steps` calls it (threadpoolctl limits only the
        libraries loaded when the limit is set)."""
        if _HAS_SCIPY:
            importlib.import_module("scipy.linalg.cython_blas")
        return blas_threads(self.model.layer_dims, batch_size)

    # ------------------------------------------------------------------------------------- batch
    def _batch(self, cols, m_b):
        """(buffers, Xt, Yt, w) of this batch: views for a slice, gathered rows for indices."""
        buf = self._buffers.get(m_b)
        if buf is None:
            buf = self._buffers[m_b] = _Buffers(self.model, m_b, self.keep_prob, self._w is not None)
        if isinstance(cols, slice):
            w = self._no_w if self._w is None else self._w[cols]
            return buf, self._Xt[cols], self._Yt[cols], w
        idx = np.asarray(cols, dtype=np.intp)
        for src, dst in ((self._Xt, buf.Xt), (self._Yt, buf.Yt)):
            (K.gather_rows_parallel if self._parallel and dst.size >= PARALLEL_MIN else K.gather_rows)(src, idx, dst)
        if self._w is not None:
            self._w.take(idx, out=buf.w, mode="clip")  # a permutation's indices: all valid
        return buf, buf.Xt, buf.Yt, (buf.w if self._w is not None else self._no_w)

    def _grad_views(self, out):
        if self._views is None or self._views[0] is not out:
            views = param_views(out[: self.model.n_params], self.model.layer_dims)
            self._views = (out, views)
        return self._views[1]

    def batch_sums(self, cols, out):
        n = out.shape[0] - N_SCALARS
        m_b = batch_size_of(cols, self.m)
        if m_b == 0:
            out[:] = 0
            return
        self._parallel = self.parallel and _threads() > 1
        buf, Xt, Yt, w = self._batch(cols, m_b)
        self._last = (buf, Xt.T)
        A_prev = self._forward(buf, Xt.T)
        grads = self._grad_views(out)
        loss_sum, right = self._output_layer(buf, A_prev, Yt, w, grads)
        self._backward(buf, Xt.T, grads)
        out[n + LOSS_SUM] = loss_sum
        out[n + WEIGHT_SUM] = m_b if self._w is None else w.sum()
        out[n + COUNT] = m_b
        out[n + CORRECT] = right

    def _forward(self, buf, X):
        """Eqs. (2)(1) with dropout for the hidden layers 1..L−1; returns A[L−1] as layer L sees it."""
        params, kp, parallel = self.model.params, self.keep_prob, self._parallel
        A_prev = X
        for l in range(1, self.model.L):
            Z = np.matmul(params[f"W{l}"], A_prev, out=buf.Z[l])  # eq. (2)'s product
            kind, slope = self._kinds[l - 1]
            U = buf.U.get(l)
            if U is not None:
                self.model.rng.random(out=U)  # D[l] = U < keep_prob[l]
            A_drop = buf.A_drop.get(l, buf.A[l])
            if kind < 0:  # a hidden softmax: NumPy's methods
                Z += params[f"b{l}"]
                self.model.activations[l - 1].forward(Z, out=buf.A[l])
                if U is not None:
                    np.multiply(buf.A[l], kp[l - 1] > U, out=A_drop)
                    np.divide(A_drop, kp[l - 1], out=A_drop)
            else:
                kernel = K.bias_act_parallel if parallel and Z.size >= PARALLEL_MIN else K.bias_act
                kernel(
                    Z,
                    params[f"b{l}"],
                    buf.A[l],
                    kind,
                    slope,
                    _NO_U if U is None else U,
                    1.0 if U is None else kp[l - 1],
                    A_drop,
                )  # eq. (2)'s bias, eq. (1), dropout
            A_prev = A_drop
        return A_prev

    def _output_layer(self, buf, A_prev, Yt, w, grads):
        """Layer L: eq. (2), g_L, the loss sum, dZ[L] and db[L] (BP2); returns (loss sum, number right)."""
        model, L = self.model, self.model.L
        Z = np.matmul(model.params[f"W{L}"], A_prev, out=buf.Z[L])
        if self._head is not None:
            K.head(Z, model.params[f"b{L}"], buf.A[L], Yt, w, self._head, buf.dZ[L], grads[f"b{L}"], buf.head)
            return buf.head[0], int(buf.head[1])
        # an output activation that is not the loss's canonical one: the output head's NumPy methods
        head, Y = model.head, Yt.T
        Z += model.params[f"b{L}"]
        AL = head.activation.forward(Z, out=buf.A[L])
        losses = head.per_example(AL, Y, Z)
        dZ = head.output_delta(AL, Y, Z, None if self._w is None else w, out=buf.dZ[L])  # ∂L/∂A[L], BP4
        if dZ is not buf.dZ[L]:
            buf.dZ[L][...] = dZ
        np.sum(buf.dZ[L], axis=1, out=grads[f"b{L}"][:, 0])  # BP2
        loss_sum = losses.sum() if self._w is None else np.dot(w, losses)
        return loss_sum, head.n_correct(AL, Y)

    def _backward(self, buf, X, grads):
        """BP1 and BP3 (BLAS) and BP4 + BP2 (kernel) from layer L down; sums over the batch, no 1/m."""
        params, kp, L, parallel = self.model.params, self.keep_prob, self.model.L, self._parallel
        for l in range(L, 0, -1):
            A_prev = X if l == 1 else buf.A_drop.get(l - 1, buf.A[l - 1])
            np.matmul(buf.dZ[l], A_prev.T, out=grads[f"W{l}"])  # BP1 (Σ over the batch)
            if l == 1:
                break
            dA = np.matmul(params[f"W{l}"].T, buf.dZ[l], out=buf.dA[l - 1])  # BP3
            kind, slope = self._kinds[l - 2]
            U = buf.U.get(l - 1)
            if kind < 0:  # a hidden softmax: NumPy's methods
                if U is not None:
                    dA *= kp[l - 2] > U
                    np.divide(dA, kp[l - 2], out=dA)
                self.model.activations[l - 2].backward(dA, buf.Z[l - 1], buf.A[l - 1], out=buf.dZ[l - 1])
                np.sum(buf.dZ[l - 1], axis=1, out=grads[f"b{l - 1}"][:, 0])  # BP2
                continue
            kernel = K.bp4_parallel if parallel and dA.size >= PARALLEL_MIN else K.bp4
            kernel(
                dA,
                buf.Z[l - 1],
                buf.A[l - 1],
                kind,
                slope,
                _NO_U if U is None else U,
                1.0 if U is None else kp[l - 2],
                buf.dZ[l - 1],
                grads[f"b{l - 1}"],
            )  # mask, BP4, BP2

    # ------------------------------------------------------------------------------------- evaluation
    def eval_sums(self, X, Y, sample_weight=None):
        """(loss sum, weight sum, count, number right) on (X, Y): forward without dropout, no gradient."""
        model, L = self.model, self.model.L
        sums = np.zeros(N_SCALARS, model.dtype)
        m = X.shape[1]
        if m == 0:
            return sums
        params, A = model.params, X
        for l in range(1, L):
            Z = np.matmul(params[f"W{l}"], A)
            kind, slope = self._kinds[l - 1]
            A = Z if kind == K.ACT["linear"] else np.empty_like(Z)
            if kind < 0:
                Z += params[f"b{l}"]
                model.activations[l - 1].forward(Z, out=A)
            else:
                (K.bias_act_parallel if self.parallel and _threads() > 1 and Z.size >= PARALLEL_MIN else K.bias_act)(
                    Z, params[f"b{l}"], A, kind, slope, _NO_U, 1.0, A
                )
        w = self._no_w if sample_weight is None else np.ascontiguousarray(sample_weight, dtype=model.dtype)
        Z = np.matmul(params[f"W{L}"], A)
        if self._head is not None:
            out = np.empty(2)
            K.head(
                Z,
                params[f"b{L}"],
                np.empty_like(Z),
                np.ascontiguousarray(Y.T),
                w,
                self._head,
                np.empty_like(Z),
                np.empty((Z.shape[0], 1), model.dtype),
                out,
            )
            loss_sum, right = out
        else:
            AL = model.activations[-1].forward(Z + params[f"b{L}"])
            losses = model.head.per_example(AL, Y)
            loss_sum = losses.sum() if sample_weight is None else np.dot(w, losses)
            right = model.head.n_correct(AL, Y)
        sums[:] = loss_sum, m if sample_weight is None else w.sum(), m, right
        return sums

    # ------------------------------------------------------------------------------------- update
    def _fused(self, theta, optimizer, opt_state, n_W):
        """(OPT code, moments vW, vb, sW, sb) when the fused kernels run ``optimizer`` on the Trainer's two
        groups, else None (a user optimizer, or a state kept per layer)."""
        code = _optimizer_code(optimizer)
        moments = [opt_state.get(k, _empty(theta)) for k in ("vdW", "vdb", "sdW", "sdb")]
        if code is None or any(a.size not in (0, size) for a, size in zip(moments, (n_W, theta.size - n_W) * 2)):
            return None
        return code, moments

    def update(self, theta, grads, *, n_W, w_sum, count, l2, clip_norm, optimizer, opt_state, lr) -> None:
        """The base class's update (1/Σw, L2, clipping, the optimizer) in one fused kernel for the
        built-in optimizers on the Trainer's two groups; anything else goes to the base class."""
        fused = self._fused(theta, optimizer, opt_state, n_W)
        if fused is None:
            return super().update(
                theta,
                grads,
                n_W=n_W,
                w_sum=w_sum,
                count=count,
                l2=l2,
                clip_norm=clip_norm,
                optimizer=optimizer,
                opt_state=opt_state,
                lr=lr,
            )
        code, moments = fused
        opt_state["t"] += 1
        t, lr = opt_state["t"], float(lr)
        beta1, beta2, eps, decay = _constants(optimizer, lr)
        parallel = self.parallel and theta.size >= UPDATE_PARALLEL_MIN and _threads() > 1
        kernel = K.update_parallel if parallel else K.update
        kernel(
            theta,
            grads,
            *moments,
            n_W,
            float(w_sum),
            float(l2) / count if l2 else 0.0,
            float(clip_norm or 0.0),
            code,
            lr,
            beta1,
            beta2,
            eps,
            decay,
            1.0 - beta1**t,
            1.0 - beta2**t,
        )

    # ------------------------------------------------------------------------------------- many steps
    def can_step(self, theta, optimizer, opt_state) -> bool:
        """Whether :meth:`steps` gives this fit's numbers: no dropout, hidden activations the kernels
        compile (not softmax), the loss's canonical output activation, a built-in optimizer on the
        Trainer's two groups, and SciPy (numba's ``np.dot`` calls BLAS through SciPy's cython_blas).
        With ``parallel`` set the per-batch path runs, whose kernels have threaded twins (the steps' are
        serial)."""
        return (
            _HAS_SCIPY
            and not self.parallel
            and self.keep_prob is None
            and self._head is not None
            and all(kind >= 0 for kind, _ in self._kinds[:-1])
            and self._fused(theta, optimizer, opt_state, param_layout(self.model.layer_dims)["b1"][0]) is not None
        )

    def steps(self, theta, grads, idx, starts, lr, *, n_W, l2, clip_norm, optimizer, opt_state, stats) -> int:
        """Many training steps in one compiled call (:func:`.numba_kernels.train_batches`).

        Batch b is the columns ``idx[starts[b] : starts[b+1]]`` (idx: an int array, the epoch's
        permutation or ``arange(m)``); each step is :meth:`batch_sums` then :meth:`update` with learning
        rate ``lr`` (one value for every batch of the call) on the flat parameters ``theta`` (n,), with
        ``grads`` (n,) the gradient scratch. Fills ``stats`` (B, 5) float64 with each batch's loss sum,
        weight sum, count, number right and Σ‖W‖² (0 without L2), advances ``opt_state["t"]`` by the
        updates made and returns how many batches ran: a batch whose cost J is not finite ends the call
        without its update, as the Trainer's divergence check does. Only when :meth:`can_step` is True.
        """
        model = self.model
        code, moments = self._fused(theta, optimizer, opt_state, n_W)
        beta1, beta2, eps, decay = _constants(optimizer, float(lr))
        m_max = int(np.max(np.diff(starts)))
        size = K.train_batches_workspace(model.layer_dims, m_max)
        if self._ws is None or self._ws.size < size:
            self._ws = np.empty(size, model.dtype)
        if self._step_args is None:
            dims = np.asarray(model.layer_dims, np.int64)
            kinds = np.array([k for k, _ in self._kinds[:-1]], np.int64)
            slopes = np.array([s for _, s in self._kinds[:-1]], np.float64)
            w = self._no_w if self._w is None else self._w
            self._step_args = (self._Xt, self._Yt, w, dims, kinds, slopes, self._head)
        self._last = None  # no batch's caches are kept
        done = K.train_batches(
            theta,
            grads,
            *moments,
            *self._step_args[:3],
            idx,
            starts,
            *self._step_args[3:],
            self._ws,
            n_W,
            float(l2),
            float(clip_norm or 0.0),
            code,
            float(lr),
            beta1,
            beta2,
            eps,
            decay,
            opt_state["t"],
            stats,
        )
        finite = done if math.isfinite(_cost(stats[done - 1], l2)) else done - 1
        opt_state["t"] += finite
        return done


def _cost(row, l2) -> float:
    """J of one batch from its stats row, as Trainer.step computes it."""
    loss_sum, w_sum, count, _, ss = row.tolist()
    J = loss_sum / w_sum if w_sum > 0 else 0.0
    return J + l2 / (2 * count) * ss if l2 else J


def _optimizer_code(optimizer):
    """The kernels' OPT code of a built-in optimizer, or None."""
    name = _OPTIMIZERS.get(type(optimizer))
    if name == "sklearn_sgd" and optimizer.nesterov:
        name = "sklearn_sgd_nesterov"
    return None if name is None else K.OPT[name]


def _constants(optimizer, lr):
    """(β1, β2, ε, decay) for the kernels: β1 is also momentum's and RMSprop's β and scikit-learn SGD's μ;
    decay is AdamW's 1 − α λ on the weights (1 otherwise)."""
    beta1 = float(getattr(optimizer, "beta1", getattr(optimizer, "beta", getattr(optimizer, "momentum", 0.0))))
    beta2 = float(getattr(optimizer, "beta2", 0.0))
    decay = 1.0 - lr * optimizer.weight_decay if type(optimizer) is AdamW else 1.0
    return beta1, beta2, float(getattr(optimizer, "epsilon", 0.0)), decay


def _empty(theta):
    return np.empty(0, theta.dtype)
