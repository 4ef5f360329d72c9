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

__all__ = [
    "Network",
    "gradient_check",
    "one_hot",
    "get_activation",
    "register_activation",
    "get_loss",
    "register_loss",
    "load",
    "ModelFileError",
    "MemoryLimitError",
    "DataFileError",
    "load_dataset",
    "DNNClassifier",
    "DNNRegressor",
    "course",
    "__version__",
    "to_onnx",
    "register_skl2onnx",
    "Predictor",
    "load_network",
]

# name -> (module, attribute): imported when first touched
_LAZY = {
    "ModelFileError": ("io", "ModelFileError"),
    "MemoryLimitError": ("memory", "MemoryLimitError"),
    "DataFileError": ("datasets", "DataFileError"),
    "load_dataset": ("datasets", "load_dataset"),
    "DNNClassifier": ("sklearn", "DNNClassifier"),
    "DNNRegressor": ("sklearn", "DNNRegressor"),
    "History": ("training", "History"),
    "to_onnx": ("onnx_export", "to_onnx"),
    "register_skl2onnx": ("onnx_export", "register_skl2onnx"),
    "Predictor": ("predictor", "Predictor"),
}
# optional dependency -> the extra that installs it, for the message when one is missing
_EXTRAS = {
    "sklearn": "sklearn",
    "safetensors": "io",
    "matplotlib": "cli",
    "tqdm": "cli",
    "mnist1d": "cli",
    "onnx": "onnx",
}


def load(path):
    """The model in a vecprop model file: a Network, a Predictor (a file of ``vecprop train``) or an
    estimator (DNNClassifier, DNNRegressor), validated before anything is built; see :func:`vecprop.io.load`.

    Raises ModelFileError (a ValueError) for a bad file, ImportError naming the extra for an estimator
    file without scikit-learn.
    """
    from . import io

    try:
        return io.load(path)
    except io.UnregisteredEstimatorError:
        try:
            importlib.import_module(".sklearn", __name__)  # registers the estimator classes with io
        except ModuleNotFoundError as exc:
            raise ImportError(
                f"{path} holds a vecprop estimator; loading it needs {exc.name}: pip install 'vecprop[sklearn]'"
            ) from None
        return io.load(path)


def load_network(path):
    """The bare Network inside any vecprop model file (a Predictor's or an estimator's network too)."""
    model = load(path)
    return getattr(model, "network", None) or getattr(model, "network_", None) or model


def __getattr__(name):
    if name in _LAZY:
        module, attr = _LAZY[name]
        try:
            return getattr(importlib.import_module(f".{module}", __name__), attr)
        except ModuleNotFoundError as exc:
            missing = (exc.name or "").split(".")[0]
            if missing not in _EXTRAS:
                raise
            raise ImportError(
                f'vecprop.{name} needs {missing}, which is not installed: pip install "vecprop[{_EXTRAS[missing]}]"'
            ) from None
    if name in {
        "course",
        "training",
        "optimizers",
        "schedules",
        "io",
        "datasets",
        "plots",
        "estimators",
        "callbacks",
        "propagation",
        "cli",
        "onnx_export",
        "engines",
        "stopping",
        "reducers",
        "head",
        "sklearn",
        "predictor",
    }:
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
