"""Activations g(Z) and their derivatives g'(Z), one small frozen object each, in a registry.

Each activation maps Z[l] of shape (n_l, m) to A[l] = g(Z[l]) (eq. 1) and supplies the backward step
BP4, ``dZ = dA * g'(Z)``. Elementwise activations only define ``derivative``; softmax, whose Jacobian is
not diagonal, overrides ``backward``. Users add their own with :func:`register_activation`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import numpy as np

from .registry import Registry

__all__ = [
    "Activation",
    "Sigmoid",
    "Tanh",
    "ReLU",
    "LeakyReLU",
    "Linear",
    "Exp",
    "Softmax",
    "Elementwise",
    "ACTIVATIONS",
    "get_activation",
    "register_activation",
]


@dataclass(frozen=True)
class Activation:
    """Base class: ``forward(Z) -> A`` (eq. 1) and ``backward(dA, Z, A) -> dZ`` (BP4)."""

    name = "activation"

    def forward(self, Z: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """A = g(Z); Z and A have shape (n_l, m). ``out``, if given, receives A (no allocation)."""
        raise NotImplementedError

    def derivative(self, Z: np.ndarray, A: np.ndarray) -> np.ndarray:
        """g'(Z) elementwise, shape (n_l, m); takes both the pre-activation Z and the cached A = g(Z)."""
        raise NotImplementedError

    def backward(self, dA: np.ndarray, Z: np.ndarray, A: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """BP4: dZ = dA * g'(Z), all of shape (n_l, m). ``out`` (not aliasing dA) receives dZ."""
        return np.multiply(dA, self.derivative(Z, A), out=out)

    def get_config(self) -> dict | str:
        """The JSON-able spec that :func:`get_activation` turns back into this object."""
        params = asdict(self)
        return {"name": self.name, **params} if params else self.name


@dataclass(frozen=True)
class Sigmoid(Activation):
    """g(Z) = 1 / (1 + e^-Z), g'(Z) = A (1 - A); computed without overflow for any |Z|."""

    name = "sigmoid"

    def forward(self, Z, out=None):
        # σ(Z) = exp(−log(1 + e^−Z)); logaddexp never overflows and keeps tiny σ's relative precision
        A = np.negative(Z, out=out)
        np.logaddexp(0, A, out=A)
        np.negative(A, out=A)
        return np.exp(A, out=A)

    def derivative(self, Z, A):
        return A * (1.0 - A)

    def backward(self, dA, Z, A, out=None):
        dZ = np.subtract(1.0, A, out=out)  # 1 − A
        dZ *= A  # g'(Z) = A (1 − A)
        dZ *= dA  # BP4
        return dZ


@dataclass(frozen=True)
class Tanh(Activation):
    """g(Z) = tanh Z, g'(Z) = 1 - A²."""

    name = "tanh"

    def forward(self, Z, out=None):
        return np.tanh(Z, out=out)

    def derivative(self, Z, A):
        return 1.0 - A * A

    def backward(self, dA, Z, A, out=None):
        dZ = np.multiply(A, A, out=out)
        np.subtract(1.0, dZ, out=dZ)  # g'(Z) = 1 − A²
        dZ *= dA  # BP4
        return dZ


@dataclass(frozen=True)
class ReLU(Activation):
    """g(Z) = max(0, Z), g'(Z) = 1 where Z > 0 else 0."""

    name = "relu"

    def forward(self, Z, out=None):
        return np.maximum(Z, 0, out=out)

    def derivative(self, Z, A):
        return (Z > 0).astype(Z.dtype)

    def backward(self, dA, Z, A, out=None):
        dZ = np.greater(Z, 0, out=np.empty_like(dA) if out is None else out)
        dZ *= dA  # BP4: dA * g'(Z), g'(Z) = 1 where Z > 0, else 0
        return dZ


@dataclass(frozen=True)
class LeakyReLU(Activation):
    """g(Z) = Z where Z > 0 else slope·Z, g'(Z) = 1 or slope."""

    slope: float = 0.01  # the usual leak; the course's choice too

    name = "leaky_relu"

    def __post_init__(self):
        if not (np.isfinite(self.slope) and 0 <= self.slope < 1):
            raise ValueError(f"leaky_relu slope must be in [0, 1), got {self.slope!r}")

    def forward(self, Z, out=None):
        A = np.multiply(Z, self.slope, out=out)  # slope·Z, then max(Z, slope·Z) as slope < 1
        return np.maximum(Z, A, out=A)

    def derivative(self, Z, A):
        return np.where(Z > 0, 1, self.slope).astype(Z.dtype)

    def backward(self, dA, Z, A, out=None):
        dZ = np.greater(Z, 0, out=np.empty_like(dA) if out is None else out)
        np.maximum(dZ, self.slope, out=dZ)  # g'(Z): 1 where Z > 0, else slope (exactly)
        dZ *= dA  # BP4
        return dZ


@dataclass(frozen=True)
class Linear(Activation):
    """g(Z) = Z, g'(Z) = 1 (the identity, for regression outputs)."""

    name = "linear"

    def forward(self, Z, out=None):
        return Z

    def derivative(self, Z, A):
        return np.ones_like(Z)

    def backward(self, dA, Z, A, out=None):
        return dA


@dataclass(frozen=True)
class Exp(Activation):
    """g(Z) = e^Z, g'(Z) = e^Z = A (a log link: positive outputs for Poisson regression).

    Z is capped at log(the dtype's largest number), so A stays finite (that largest number) for any Z.
    """

    name = "exp"

    def forward(self, Z, out=None):
        cap = np.log(np.finfo(Z.dtype).max) * (1 - 1e-6)  # just below overflow in float32 and float64
        A = np.minimum(Z, Z.dtype.type(cap), out=out)
        return np.exp(A, out=A)

    def derivative(self, Z, A):
        return A


@dataclass(frozen=True)
class Softmax(Activation):
    """g(Z)_k = e^{Z_k} / Σ_j e^{Z_j} over each column (the n_L units of one example).

    Its Jacobian is not diagonal, so BP4 becomes ``dZ = A * (dA - Σ_k A_k dA_k)`` per column.
    """

    name = "softmax"

    def forward(self, Z, out=None):
        e = np.subtract(Z, Z.max(axis=0, keepdims=True), out=out)  # shift: exponents <= 0, no overflow
        np.exp(e, out=e)
        e /= e.sum(axis=0, keepdims=True)
        return e

    def derivative(self, Z, A):
        raise ValueError("softmax has no elementwise g'(Z); use backward(dA, Z, A), its Jacobian product")

    def backward(self, dA, Z, A, out=None):
        dZ = np.multiply(A, dA, out=out)
        np.subtract(dA, dZ.sum(axis=0, keepdims=True), out=dZ)  # dA − Σ_k A_k dA_k
        dZ *= A
        return dZ


@dataclass(frozen=True)
class Elementwise(Activation):
    """A user's activation from two functions: ``g(Z) -> A`` and ``g_prime(Z) -> g'(Z)``."""

    label: str = "custom"  # registry name
    g: Callable[[np.ndarray], np.ndarray] = None  # forward rule, eq. (1)
    g_prime: Callable[[np.ndarray], np.ndarray] = None  # its derivative, used by BP4

    @property
    def name(self):  # noqa: D401 - registry name
        return self.label

    def forward(self, Z, out=None):
        if out is None:
            return self.g(Z)
        out[...] = self.g(Z)
        return out

    def derivative(self, Z, A):
        return self.g_prime(Z)

    def get_config(self):
        return self.label


_REGISTRY: Registry[Activation] = Registry(
    "activation", Activation, classes=(Sigmoid, Tanh, ReLU, LeakyReLU, Linear, Exp, Softmax)
)
ACTIVATIONS: dict[str, Callable[..., Activation]] = _REGISTRY.classes  # name -> factory


def register_activation(name: str, g: Callable, g_prime: Callable, *, overwrite: bool = False) -> Activation:
    """Add an elementwise activation to the registry.

    Parameters
    ----------
    name : str
        The name networks will use, e.g. ``"swish"``.
    g : callable
        ``g(Z) -> A``, elementwise, Z of shape (n_l, m).
    g_prime : callable
        ``g_prime(Z) -> g'(Z)``, elementwise, of the same shape. Note it takes Z, not A.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        If the name is taken (pass ``overwrite=True`` to replace it) or g/g_prime are not callable.
    """
    if not (callable(g) and callable(g_prime)):
        raise ValueError("register_activation needs two callables: g(Z) -> A and g_prime(Z) -> g'(Z)")
    activation = Elementwise(label=name, g=g, g_prime=g_prime)
    _REGISTRY.add(name, lambda: activation, overwrite=overwrite)
    return activation


def get_activation(spec) -> Activation:
    """Turn a name, a ``{"name": ..., **params}`` dict or an Activation into an Activation.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones) or bad parameters.
    """
    if isinstance(spec, Activation):
        return spec
    params = {}
    if isinstance(spec, dict):
        params = {k: v for k, v in spec.items() if k != "name"}
        spec = spec.get("name")
    return _REGISTRY.create(spec, params)
