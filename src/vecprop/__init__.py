"""vecprop: deep fully-connected networks with vectorized forward and backward propagation,
written in the notation of the deeplearning.ai course (columns are examples; W[l] is (n_l, n_{l-1})).

The core (Network, propagation, activations, losses, initializers, optimizers, gradcheck) needs only
NumPy. Model files, estimators, datasets, plots and the command line load their optional dependencies
on first use, so ``import vecprop`` never fails because one is missing.
"""
from __future__ import annotations

import importlib

import numpy as np

from .activations import get_activation, register_activation
from .gradcheck import gradient_check
from .losses import get_loss, register_loss
from .network import Network

__version__ = "0.1.0"

__all__ = ["Network", "gradient_check", "one_hot", "get_activation", "register_activation", "get_loss",
           "register_loss", "load", "ModelFileError", "DataFileError", "load_dataset", "DNNClassifier", "DNNRegressor", "course", "__version__"]

# name -> (module, attribute): imported when first touched
_LAZY = {
    "load": ("io", "load"),
    "ModelFileError": ("io", "ModelFileError"),
    "DataFileError": ("datasets", "DataFileError"),
    "load_dataset": ("datasets", "load_dataset"),
    "DNNClassifier": ("estimators", "DNNClassifier"),
    "DNNRegressor": ("estimators", "DNNRegressor"),
    "History": ("training", "History"),
}


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(f".{module}", __name__), attr)
    if name in {"course", "training", "optimizers", "schedules", "io", "datasets", "plots", "estimators",
                "callbacks", "propagation", "cli", "engines", "stopping", "reducers", "head"}:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'vecprop' has no attribute {name!r}")


def one_hot(y, n_classes: int | None = None, dtype=np.float64) -> np.ndarray:
    """One-hot columns for integer labels: y of shape (m,) -> Y of shape (n_classes, m).

    Raises ValueError for labels that are negative, not integers, or not below n_classes.
    """
    y = np.asarray(y).ravel()
    if y.size and (not np.issubdtype(y.dtype, np.number) or np.any(y != np.round(y)) or y.min() < 0):
        raise ValueError("one_hot needs integer class indices 0..n_classes-1; encode string labels first")
    y = y.astype(np.int64)
    n_classes = int(y.max()) + 1 if n_classes is None else int(n_classes)
    if y.size and y.max() >= n_classes:
        raise ValueError(f"label {int(y.max())} is not below n_classes = {n_classes}")
    Y = np.zeros((n_classes, y.size), dtype=dtype)
    Y[y, np.arange(y.size)] = 1
    return Y
