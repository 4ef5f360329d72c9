"""The engine seam: what the Trainer asks of every engine (see docs/architecture.md and /SEAM.md).

An engine computes, for a batch of columns, the *sums over its examples* of every gradient into one flat
buffer, together with four scalars (loss sum, weight sum, number of examples, number classified right).
The Trainer reduces that buffer over processes and calls :meth:`Engine.update`, which divides by the
global weight sum (BP1–BP2's 1/m), adds the L2 term, clips and runs the optimizer.

Engines never import the model, the trainer, files or estimators: they see a duck-typed ``model`` with
``layer_dims``, ``L``, ``activations``, ``loss``, ``dtype``, ``rng``, ``params`` and ``theta``.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np

__all__ = ["Engine", "N_SCALARS", "LOSS_SUM", "WEIGHT_SUM", "COUNT", "CORRECT", "batch_size_of", "clip_global_norm"]

N_SCALARS = 4  # after the n gradient entries: loss sum, weight sum, count, correct
LOSS_SUM, WEIGHT_SUM, COUNT, CORRECT = range(N_SCALARS)


def batch_size_of(cols, m: int) -> int:
    """How many columns ``cols`` (a slice of range(m) or an int array of indices) selects."""
    if isinstance(cols, slice):
        return len(range(*cols.indices(m)))
    return len(cols)


class Engine:
    """Base class of every engine: registry name, data binding, the default NumPy update.

    Parameters
    ----------
    model : the network (duck-typed, see the module docstring)
    keep_prob : tuple of L keep probabilities for layers 1..L, or None (no dropout)
    """

    name = "base"
    array_api = False  # True: computes on the parameters' own namespace (torch, cupy, ...)

    def __init__(self, model, keep_prob=None):
        self.model = model
        self.keep_prob = None if keep_prob is None or all(p >= 1.0 for p in keep_prob) else tuple(keep_prob)
        self.X = self.Y = self.sample_weight = None
        self.caches = {}  # the last batch's LayerCaches (for inspection), when kept
        self._groups = None  # (theta, grads, scratch, param groups, grad groups) for update

    @classmethod
    def supports(cls, model) -> bool:
        """Whether this engine can train ``model`` (a compiled engine says False for custom activations)."""
        return True

    def bind(self, X, Y, sample_weight=None) -> None:
        """The training data of this fit: X (n_0, m), Y (n_L, m), sample_weight (m,) or None, validated."""
        self.X, self.Y, self.sample_weight = X, Y, sample_weight

    @property
    def m(self) -> int:
        return 0 if self.X is None else self.X.shape[1]

    def session(self, batch_size: int):
        """A context manager the Trainer holds open for a whole fit (the NumPy engine's BLAS thread
        policy); the default does nothing."""
        return contextlib.nullcontext()

    # The few array operations of the Trainer and the stopping rules, so an engine on another array library
    # (engines/xp_engine.py) can keep them on its device; these defaults are NumPy's.
    def zeros(self, size: int):
        """The step's buffer: ``size`` zeros of the model's dtype."""
        return np.zeros(size, self.model.dtype)

    def scalars(self, tail) -> tuple:
        """The four reduced scalars ``buf[n:]`` as Python floats (a device engine: one transfer)."""
        return tail.tolist()

    def sum_of_squares(self, weights) -> float:
        """Σ_l ‖W[l]‖²_F of the L2 term, a Python float."""
        return sum(float(np.vdot(W, W)) for W in weights)

    def copy_params(self, theta):
        """A copy of the flat parameters (last finite / best weights)."""
        return theta.copy()

    def copy_into(self, dst, src) -> None:
        """``dst[...] = src`` for two flat parameter vectors."""
        np.copyto(dst, src)

    def all_finite(self, theta) -> bool:
        """Whether every parameter is finite (asked once per epoch)."""
        return bool(np.isfinite(theta).all())

    def batch_sums(self, cols, out: np.ndarray) -> None:
        """Σ_i w_i ∂L_i/∂θ into ``out[:n]`` and the four scalars into ``out[n:]`` (see the module docstring)."""
        raise NotImplementedError

    def eval_sums(self, X, Y, sample_weight=None) -> np.ndarray:
        """(loss sum, weight sum, count, correct) on (X, Y) without dropout and without gradients."""
        raise NotImplementedError

    def update(self, theta, grads, *, n_W, w_sum, count, l2, clip_norm, optimizer, opt_state, lr) -> None:
        """One optimizer step from the reduced gradient sums ``grads`` (changed in place).

        grads /= Σw (BP1–BP2's 1/m; zeros when Σw = 0); dW += (λ/m) W (L2); the global norm clipped
        to ``clip_norm``; then ``optimizer.update`` on the two groups all-W / all-b of ``theta``.
        """
        if w_sum > 0:
            np.divide(grads, w_sum, out=grads)  # BP1–BP2's 1/m (Σw = m when unweighted)
        else:
            grads[...] = 0
        groups = self._update_groups(theta, grads, n_W)
        if l2:
            scratch = groups[2]
            np.multiply(theta[:n_W], l2 / count, out=scratch)  # ∂/∂W of λ/(2m) ‖W‖²
            grads[:n_W] += scratch
        if clip_norm:
            clip_global_norm(grads, clip_norm)
        optimizer.update(groups[3], groups[4], opt_state, lr)

    # Optional: many training steps in one call, for an engine whose per-call cost dominates small batches.
    def can_step(self, theta, optimizer, opt_state) -> bool:
        """Whether :meth:`steps` can run this fit's steps with the same numbers (the base: never)."""
        return False

    def steps(self, theta, grads, idx, starts, lr, *, n_W, l2, clip_norm, optimizer, opt_state, stats) -> int:
        """Run the batches ``idx[starts[b] : starts[b+1]]`` in order, each one :meth:`batch_sums` and
        :meth:`update` of the flat parameters ``theta`` (learning rate ``lr``, ``grads`` (n,) the gradient
        scratch), in one call.

        Fills ``stats`` (B, 5) float64 with each batch's loss sum, weight sum, count, number right and
        Σ_l ‖W[l]‖² before its update (0 without L2), advances ``opt_state["t"]`` by the updates made, and
        returns the number of batches run; it stops after a batch whose cost is not finite, without that
        batch's update. The Trainer calls it only where :meth:`can_step` is True (one process, nothing
        acting between batches; see ``Trainer._can_step``).
        """
        raise NotImplementedError(f"engine {self.name!r} has no many-batch steps; check can_step first")

    def _update_groups(self, theta, grads, n_W):
        g = self._groups
        if g is None or g[0] is not theta or g[1] is not grads:
            g = (
                theta,
                grads,
                np.empty(n_W, theta.dtype),
                {"W": theta[:n_W], "b": theta[n_W:]},
                {"dW": grads[:n_W], "db": grads[n_W:]},
            )
            self._groups = g
        return g


def clip_global_norm(grads: np.ndarray, clip_norm: float) -> None:
    """Scale the flat gradient (every dW, db) by clip_norm / ‖g‖ when its global norm ‖g‖ exceeds clip_norm."""
    norm = math.sqrt(float(np.vdot(grads, grads)))
    if norm > clip_norm:
        grads *= clip_norm / norm
