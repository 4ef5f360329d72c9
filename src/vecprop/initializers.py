"""Initial W[l] (n_l, n_{l-1}) from an explicit numpy Generator; b[l] (n_l, 1) starts at zero.

- ``random``: the course's ``randn × 0.01`` (week 3/4 assignments);
- ``he``: ``randn × sqrt(2 / n_{l-1})`` (He et al. 2015), for the ReLU family;
- ``xavier``: ``randn × sqrt(1 / n_{l-1})``, the course's Xavier, for tanh/sigmoid;
- ``glorot_uniform``: ``U(±sqrt(6 / (n_{l-1} + n_l)))``, Keras's default.
"""

from __future__ import annotations

import numpy as np

from .registry import Registry

__all__ = ["INITIALIZERS", "initialize", "default_initializer"]


def _random(rng, n_l, n_prev):
    return rng.standard_normal((n_l, n_prev)) * 0.01


def _he(rng, n_l, n_prev):
    return rng.standard_normal((n_l, n_prev)) * np.sqrt(2.0 / n_prev)


def _xavier(rng, n_l, n_prev):
    return rng.standard_normal((n_l, n_prev)) * np.sqrt(1.0 / n_prev)


def _glorot_uniform(rng, n_l, n_prev):
    limit = np.sqrt(6.0 / (n_prev + n_l))
    return rng.uniform(-limit, limit, size=(n_l, n_prev))


# name -> initializer(rng, n_l, n_prev) -> W[l]; the base is what an initializer returns
_REGISTRY: Registry[np.ndarray] = Registry(
    "initializer",
    np.ndarray,
    classes={"random": _random, "he": _he, "xavier": _xavier, "glorot_uniform": _glorot_uniform},
)
INITIALIZERS = _REGISTRY.classes


def default_initializer(hidden_activation: str) -> str:
    """He for the ReLU family, Xavier otherwise."""
    return "he" if hidden_activation in ("relu", "leaky_relu") else "xavier"


def initialize(layer_dims, initializer, rng: np.random.Generator, dtype=np.float64) -> dict:
    """Parameters ``{"W1": (n_1, n_0), "b1": (n_1, 1), ...}`` for ``layer_dims = [n_0, ..., n_L]``.

    ``initializer`` is a name from INITIALIZERS, or a list of names, one per layer 1..L.

    Raises
    ------
    ValueError
        For an unknown initializer name (the message lists the known ones).
    """
    L = len(layer_dims) - 1
    names = [initializer] * L if isinstance(initializer, str) else list(initializer)
    if len(names) != L:
        raise ValueError(f"got {len(names)} initializers for {L} layers; give one name or one per layer")
    params = {}
    for l in range(1, L + 1):
        name = names[l - 1]
        init = _REGISTRY.lookup(name)
        params[f"W{l}"] = init(rng, layer_dims[l], layer_dims[l - 1]).astype(dtype)
        params[f"b{l}"] = np.zeros((layer_dims[l], 1), dtype=dtype)
    return params
