"""The reference engine: :mod:`vecprop.propagation` as the seed writes it, allocating every array.

Slow and plain on purpose: every other engine must agree with it within 1e-12 (float64).
"""

from __future__ import annotations

import numpy as np

from .. import propagation
from .base import CORRECT, COUNT, LOSS_SUM, N_SCALARS, WEIGHT_SUM, Engine

__all__ = ["ReferenceEngine"]


class ReferenceEngine(Engine):
    """Forward, cost and BP1–BP4 from :mod:`vecprop.propagation`; sums = the seed's means × Σw."""

    name = "reference"

    def _columns(self, cols):
        X, Y, w = self.X[:, cols], self.Y[:, cols], self.sample_weight
        return X, Y, None if w is None else w[cols]

    def batch_sums(self, cols, out):
        model, n = self.model, self.model.n_params
        X, Y, w = self._columns(cols)
        m_b = X.shape[1]
        out[:] = 0
        if m_b == 0:
            return
        AL, caches = propagation.forward(X, model.params, model.activations, keep_prob=self.keep_prob, rng=model.rng)
        self.caches = caches
        w_sum = float(m_b) if w is None else float(w.sum())
        J = propagation.cost(AL, Y, model.loss, ZL=model.head.cost_logits(caches[model.L].Z), sample_weight=w)
        grads = propagation.backward(
            AL,
            Y,
            caches,
            model.params,
            model.activations,
            model.loss,
            keep_prob=self.keep_prob,
            sample_weight=w,
            need_dA0=False,
        )
        for key, view in propagation.param_views(out[:n], model.layer_dims).items():
            np.multiply(grads["d" + key], w_sum, out=view)  # (1/Σw) Σ_i … times Σw
        out[n + LOSS_SUM] = J * w_sum
        out[n + WEIGHT_SUM] = w_sum
        out[n + COUNT] = m_b
        out[n + CORRECT] = model.head.n_correct(AL, Y)

    def eval_sums(self, X, Y, sample_weight=None):
        model = self.model
        sums = np.zeros(N_SCALARS, model.dtype)
        m = X.shape[1]
        if m == 0:
            return sums
        AL, caches = propagation.forward(X, model.params, model.activations)
        w_sum = float(m) if sample_weight is None else float(np.sum(sample_weight))
        J = propagation.cost(
            AL, Y, model.loss, ZL=model.head.cost_logits(caches[model.L].Z), sample_weight=sample_weight
        )  # Σ w L / Σ w
        sums[:] = J * w_sum, w_sum, m, model.head.n_correct(AL, Y)
        return sums
