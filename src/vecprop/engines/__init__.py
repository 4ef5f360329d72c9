"""Engines: who computes a batch's gradient sums for the Trainer (the engine seam).

``get_engine(spec)`` turns a name (``"numpy"``, ``"reference"``, ``"auto"``; ``"numba"`` and ``"xp"``
once registered), an :class:`Engine` subclass or an instance into what the Trainer uses;
``register_engine(name, cls)`` adds one. See :class:`vecprop.engines.base.Engine` for the contract.
"""

from __future__ import annotations

import importlib

import numpy as np

from ..registry import Registry
from .base import N_SCALARS, Engine, clip_global_norm
from .numpy_engine import NumpyEngine
from .reference import ReferenceEngine
from .xp_engine import XPEngine

__all__ = [
    "Engine",
    "N_SCALARS",
    "ENGINES",
    "get_engine",
    "register_engine",
    "available_engines",
    "ReferenceEngine",
    "NumpyEngine",
    "XPEngine",
    "clip_global_norm",
]

_REGISTRY: Registry[Engine] = Registry("engine", Engine, classes=(ReferenceEngine, NumpyEngine, XPEngine))
ENGINES: dict[str, type[Engine]] = _REGISTRY.classes
AUTO_ORDER = ("numba", "numpy")  # "auto": the first registered engine that supports the model
# engines of optional extras, imported (and registered) on first use: name -> (module, class, extra)
_OPTIONAL = {"numba": ("numba_engine", "NumbaEngine", "fast")}
_UNAVAILABLE: set = set()  # optional engines whose library did not import (not tried again)


def _load_optional(name: str) -> bool:
    """Register the optional engine ``name`` if its library imports; whether ``name`` is registered."""
    if name not in ENGINES and name in _OPTIONAL and name not in _UNAVAILABLE:
        module, cls, _ = _OPTIONAL[name]
        try:
            _REGISTRY.add(name, getattr(importlib.import_module(f".{module}", __name__), cls))
        except ImportError:
            _UNAVAILABLE.add(name)
    return name in ENGINES


def register_engine(name: str, cls: type[Engine], *, overwrite: bool = False) -> type[Engine]:
    """Make ``cls`` (an Engine subclass) available as ``engine=name``; returns ``cls``."""
    if not (isinstance(cls, type) and issubclass(cls, Engine)):
        raise ValueError(f"register_engine needs an Engine subclass, got {cls!r}")
    return _REGISTRY.add(name, cls, overwrite=overwrite or ENGINES.get(name) is cls)


def available_engines() -> list[str]:
    """The registered engine names (with the optional ones whose library imports), sorted."""
    for name in _OPTIONAL:
        _load_optional(name)
    return sorted(ENGINES)


def get_engine(spec, model=None, keep_prob=None) -> Engine | type[Engine]:
    """The Engine for ``spec``: a registered name, "auto"/None (the fastest that supports ``model``),
    an Engine subclass, or an Engine instance (returned as is).

    With ``model`` given, returns an instance built for it (``keep_prob``: per layer 1..L or None);
    without, the class. Raises ValueError for an unknown name or one that cannot train ``model``.
    """
    if isinstance(spec, Engine):
        return spec
    foreign = model is not None and not isinstance(model.theta, np.ndarray)  # torch, cupy, ... parameters
    if foreign and (spec is None or spec == "auto"):
        cls = XPEngine
    elif spec is None or spec == "auto":
        for name in AUTO_ORDER:
            _load_optional(name)
        cls = next(ENGINES[n] for n in AUTO_ORDER if n in ENGINES and (model is None or ENGINES[n].supports(model)))
    elif isinstance(spec, type) and issubclass(spec, Engine):
        cls = spec
    elif isinstance(spec, str) and spec in _OPTIONAL and not _load_optional(spec):
        raise ValueError(
            f"engine {spec!r} needs {spec}, which does not import here; "
            f"pip install 'vecprop[{_OPTIONAL[spec][2]}]' or use engine='numpy'"
        )
    elif isinstance(spec, str) and _load_optional(spec):
        cls = ENGINES[spec]
    else:
        raise ValueError(
            f"unknown engine {spec!r}; expected one of {', '.join(available_engines())}, 'auto', "
            "an Engine subclass or instance"
        )
    if model is None:
        return cls
    if foreign and not cls.array_api:
        raise ValueError(
            f"engine {cls.name!r} computes on NumPy arrays but the parameters are "
            f"{type(model.theta).__module__} arrays; use engine='xp' (or 'auto'), or net.to(numpy)"
        )
    if not cls.supports(model):
        raise ValueError(
            f"engine {cls.name!r} cannot train this network (e.g. a custom activation); use engine='numpy'"
        )
    return cls(model, keep_prob)
