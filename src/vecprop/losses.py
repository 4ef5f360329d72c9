"""Losses L(y, a) per example, the cost J of eq. (3), and the gradient that starts backpropagation.

Every loss has the same three methods:

- ``per_example(AL, Y, ZL=None) -> (m,)``: L(y(i), A[L](i)), summed over the n_L output units;
  given the logits ZL of the loss's canonical output activation it is computed from them
  (log-sigmoid / log-sum-exp), so it stays finite for any |Z|.
- ``dAL(AL, Y) -> (n_L, m)``: ∂L/∂A[L] per example (no 1/m: that enters in BP1 and BP2), for any
  output activation; BP4 then gives dZ[L].
- ``dZL(AL, Y) -> (n_L, m)``: the fused ∂L/∂Z[L] = A[L] − Y, valid for the canonical pair only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .registry import Registry

__all__ = [
    "Loss",
    "BinaryCrossEntropy",
    "CategoricalCrossEntropy",
    "MSE",
    "Poisson",
    "LOSSES",
    "get_loss",
    "register_loss",
]


@dataclass(frozen=True)
class Loss:
    """Base class; see the module docstring for the contract."""

    name = "loss"
    canonical_activation = None  # output g for which dZ[L] = A[L] − Y
    valid_activations: ClassVar[tuple] = ()  # outputs whose range the loss accepts; () means any

    def per_example(self, AL: np.ndarray, Y: np.ndarray, ZL: np.ndarray | None = None) -> np.ndarray:
        raise NotImplementedError

    def dAL(self, AL: np.ndarray, Y: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def dZL(self, AL: np.ndarray, Y: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Fused output gradient for the canonical pair: dZ[L] = A[L] − Y, shape (n_L, m) (into ``out``)."""
        return np.subtract(AL, Y, out=out)

    def check_targets(self, Y: np.ndarray) -> None:
        """Raise ValueError if Y holds values this loss cannot take."""

    def get_config(self) -> str:
        return self.name


def _log_clip(A):
    """log A with A kept inside (0, 1] so a saturated probability gives a large finite loss."""
    return np.log(np.maximum(A, np.finfo(A.dtype).tiny))


@dataclass(frozen=True)
class BinaryCrossEntropy(Loss):
    """L = −Σ_k [Y_k log A_k + (1 − Y_k) log(1 − A_k)], for sigmoid outputs (also multi-label)."""

    name = "binary_cross_entropy"
    canonical_activation = "sigmoid"
    valid_activations = ("sigmoid", "softmax")

    def per_example(self, AL, Y, ZL=None):
        if ZL is not None:
            # −[y log σ(z) + (1−y) log(1−σ(z))] = max(z, 0) − y z + log(1 + e^−|z|)
            L = np.maximum(ZL, 0) - Y * ZL + np.log1p(np.exp(-np.abs(ZL)))
        else:
            L = -(Y * _log_clip(AL) + (1 - Y) * _log_clip(1 - AL))
        return L.sum(axis=0)

    def dAL(self, AL, Y):
        tiny = np.finfo(AL.dtype).tiny
        return -(Y / np.maximum(AL, tiny) - (1 - Y) / np.maximum(1 - AL, tiny))

    def check_targets(self, Y):
        if Y.size and (Y.min() < 0 or Y.max() > 1):
            raise ValueError(
                "binary_cross_entropy needs targets Y in [0, 1]; encode labels as 0/1 "
                "(or use loss='mse' for real-valued targets)"
            )


@dataclass(frozen=True)
class CategoricalCrossEntropy(Loss):
    """L = −Σ_k Y_k log A_k, for softmax outputs and one-hot (or probability) columns Y."""

    name = "categorical_cross_entropy"
    canonical_activation = "softmax"
    valid_activations = ("softmax", "sigmoid")

    def per_example(self, AL, Y, ZL=None):
        if ZL is not None:
            # log softmax(z)_k = z_k − logsumexp(z), with the max shifted out first
            shifted = ZL - ZL.max(axis=0, keepdims=True)
            log_A = shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
        else:
            log_A = _log_clip(AL)
        return -(Y * log_A).sum(axis=0)

    def dAL(self, AL, Y):
        return -Y / np.maximum(AL, np.finfo(AL.dtype).tiny)

    def dZL(self, AL, Y, out=None):
        # ∂L/∂Z = A·ΣY − Y, which is A − Y for columns of Y that sum to one (one-hot)
        dZ = np.multiply(AL, Y.sum(axis=0, keepdims=True), out=out)
        dZ -= Y
        return dZ

    def check_targets(self, Y):
        if Y.size and Y.min() < 0:
            raise ValueError(
                "categorical_cross_entropy needs non-negative targets: one-hot columns Y of shape (n_classes, m)"
            )


@dataclass(frozen=True)
class MSE(Loss):
    """L = ½ Σ_k (A_k − Y_k)², for linear outputs (regression); dA[L] = A[L] − Y."""

    name = "mse"
    canonical_activation = "linear"

    def per_example(self, AL, Y, ZL=None):
        diff = AL - Y
        return 0.5 * (diff * diff).sum(axis=0)

    def dAL(self, AL, Y):
        return AL - Y


@dataclass(frozen=True)
class Poisson(Loss):
    """Half the Poisson deviance, L = Σ_k [Y_k log(Y_k / A_k) − Y_k + A_k] (0 log 0 = 0), for counts Y >= 0.

    Its canonical output is ``exp`` (A = e^Z, the log link), for which dZ[L] = A[L] − Y and the loss
    from the logits is Σ_k [Y_k log Y_k − Y_k Z_k − Y_k + e^{Z_k}]. scikit-learn's ``MLPRegressor(loss="poisson")``.
    """

    name = "poisson"
    canonical_activation = "exp"
    valid_activations = ("exp",)

    def per_example(self, AL, Y, ZL=None):
        y_log_y = Y * np.log(np.where(Y > 0, Y, 1))  # xlogy(Y, Y): 0 where Y = 0
        log_A = ZL if ZL is not None else np.log(np.maximum(AL, np.finfo(AL.dtype).tiny))
        return (y_log_y - Y * log_A - Y + AL).sum(axis=0)

    def dAL(self, AL, Y):
        return 1 - Y / np.maximum(AL, np.finfo(AL.dtype).tiny)

    def check_targets(self, Y):
        if Y.size and Y.min() < 0:
            raise ValueError(
                "poisson needs non-negative targets Y (counts or rates); use loss='mse' for "
                "targets that can be negative"
            )


_REGISTRY: Registry[Loss] = Registry("loss", Loss, classes=(BinaryCrossEntropy, CategoricalCrossEntropy, MSE, Poisson))
LOSSES: dict[str, type[Loss]] = _REGISTRY.classes  # name -> factory


def register_loss(loss: Loss, *, overwrite: bool = False) -> Loss:
    """Add a Loss instance (a subclass implementing ``per_example`` and ``dAL``) to the registry."""
    if not isinstance(loss, Loss):
        raise ValueError("register_loss needs a vecprop.losses.Loss instance")
    _REGISTRY.add(loss.name, lambda: loss, overwrite=overwrite)
    return loss


def get_loss(spec) -> Loss:
    """Turn a name or a Loss into a Loss; an unknown name raises ValueError listing the known ones."""
    if isinstance(spec, Loss):
        return spec
    return _REGISTRY.create(spec)
