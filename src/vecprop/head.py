"""The output head: the output activation g_L together with the loss, as one object.

It owns everything that depends on that pair: which targets are valid, the cost from the logits when g_L is
the loss's canonical activation (finite for any |Z|), the fused output gradient dZ[L] = A[L] − Y (or ∂L/∂A[L]
then BP4 otherwise), decoding outputs to classes, the class of each target, the number classified right and
per-class weights. Network, the engines, the trainer and gradient_check all ask the head.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from .activations import Activation
from .losses import Loss

__all__ = ["OutputHead", "target_labels", "class_weights"]


def target_labels(Y: np.ndarray) -> np.ndarray:
    """The class index of every column of Y: the 0/1 value of a single output, else the argmax (one-hot)."""
    return (Y[0] > 0.5).astype(np.int64) if Y.shape[0] == 1 else Y.argmax(axis=0)


@dataclass(frozen=True)
class OutputHead:
    """g_L and the loss L; see the module docstring."""

    activation: Activation
    loss: Loss

    @cached_property
    def canonical(self) -> bool:
        """Whether dZ[L] = A[L] − Y (and the cost can be computed from the logits Z[L])."""
        return self.activation.name == self.loss.canonical_activation

    @property
    def is_classifier(self) -> bool:
        return self.activation.name in ("sigmoid", "softmax")

    def cost_logits(self, ZL):
        """Z[L] to compute the cost from (canonical pair), else None."""
        return ZL if self.canonical else None

    def per_example(self, AL, Y, ZL=None) -> np.ndarray:
        """L(y(i), A[L](i)) of shape (m,), from the logits when the pair is canonical and ZL is given."""
        return self.loss.per_example(AL, Y, self.cost_logits(ZL))

    def output_delta(self, AL, Y, ZL, w=None, out=None) -> np.ndarray:
        """dZ[L] (n_L, m) per example, each column times its weight w_i when ``w`` (m,) or (1, m) is given:
        the fused A[L] − Y for the canonical pair, else ∂L/∂A[L] then BP4 through g_L (into ``out``)."""
        if self.canonical:
            dZ = self.loss.dZL(AL, Y, out=out)
            if w is not None:
                dZ *= w
            return dZ
        dA = self.loss.dAL(AL, Y)
        if w is not None:
            dA *= w
        return self.activation.backward(dA, ZL, AL, out=out)

    def predict(self, AL) -> np.ndarray:
        """Outputs to predictions: softmax class indices (1, m); sigmoid 0/1 (n_L, m); otherwise A[L]."""
        if self.activation.name == "softmax":
            return AL.argmax(axis=0)[None, :]
        if self.activation.name == "sigmoid":
            return (AL > 0.5).astype(np.int64)
        return AL

    def n_correct(self, AL, Y) -> int:
        """Examples classified right: argmax agreement (softmax), every 0/1 output right (sigmoid); 0 otherwise."""
        if self.activation.name == "softmax":
            return int(np.count_nonzero(AL.argmax(axis=0) == Y.argmax(axis=0)))
        if self.activation.name == "sigmoid":
            return int(((AL > 0.5) == (Y > 0.5)).all(axis=0).sum())
        return 0


def class_weights(Y: np.ndarray, class_weight, reduce=None) -> np.ndarray:
    """Per-example weights (m,) from ``"balanced"`` (m / (n_classes · count_c)) or a {class: weight} dict.

    Classes are the argmax of one-hot columns, or the 0/1 value of a single sigmoid output. ``reduce``
    (a reducer, vecprop.reducers) sums the class counts over every process's shard.
    """
    labels = target_labels(Y)
    n_classes = 2 if Y.shape[0] == 1 else Y.shape[0]
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced' or a dict {{class: weight}}, got {class_weight!r}")
        counts = np.bincount(labels, minlength=n_classes)
        if reduce is not None:
            counts = reduce.sum(counts)  # over every shard (a distributed fit)
        table = np.where(counts > 0, counts.sum() / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        table = np.ones(n_classes)
        for c, w in class_weight.items():
            if not (isinstance(c, (int, np.integer)) and 0 <= c < n_classes):
                raise ValueError(f"class_weight key {c!r} is not a class index in 0..{n_classes - 1}")
            if not (np.isfinite(w) and w >= 0):
                raise ValueError(f"class_weight[{c}] = {w!r} must be a finite number >= 0")
            table[c] = w
    else:
        raise ValueError(f"class_weight must be 'balanced' or a dict {{class: weight}}, got {class_weight!r}")
    return table[labels]
