"""Estimator model files through :mod:`vecprop.io`: the JSON codec for parameters and fitted values,
and the two directions, estimator -> (tensors, metadata) -> estimator. Nothing is pickled."""

from __future__ import annotations

import math
import numbers

import numpy as np

from vecprop.engines.xp_propagation import is_foreign
from vecprop.io import STATE_PREFIX, ModelFileError, write_model_file
from vecprop.network import Network
from vecprop.schedules import MLPLearningRate
from vecprop.sklearn._params import activation_label

__all__ = ["ESTIMATOR_FILE_VERSION", "save_estimator", "estimator_from_model_file", "to_json", "from_json"]

ESTIMATOR_FILE_VERSION = 1
_FITTED = (
    "n_iter_",
    "t_",
    "loss_",
    "loss_curve_",
    "best_loss_",
    "validation_scores_",
    "best_validation_score_",
    "validation_loss_curve_",
    "_no_improvement_count",
)


def to_json(obj):
    """Parameters and fitted values as JSON: tuples, non-string dict keys and inf survive the trip."""
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        f = float(obj)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, np.ndarray):
        return {"__array__": to_json(obj.tolist()), "dtype": obj.dtype.str if obj.dtype.kind != "O" else "O"}
    if isinstance(obj, tuple):
        return {"__tuple__": [to_json(v) for v in obj]}
    if isinstance(obj, list):
        return [to_json(v) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: to_json(v) for k, v in obj.items()}
        return {"__items__": [[to_json(k), to_json(v)] for k, v in obj.items()]}
    if isinstance(obj, (np.random.RandomState, np.random.Generator)):
        return None  # a generator object is not stored; refit to reseed
    if hasattr(obj, "get_config"):
        return to_json(obj.get_config())
    raise TypeError(f"cannot store {type(obj).__name__} {obj!r} in a model file")


def from_json(obj):
    if isinstance(obj, list):
        return [from_json(v) for v in obj]
    if isinstance(obj, dict):
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(from_json(v) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {_hashable(from_json(k)): from_json(v) for k, v in obj["__items__"]}
        if "__array__" in obj:
            return np.asarray(from_json(obj["__array__"]), dtype=object if obj["dtype"] == "O" else obj["dtype"])
        return {k: from_json(v) for k, v in obj.items()}
    return obj


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


def save_estimator(est, path, *, include_training_state: bool = True) -> None:
    """Write a fitted estimator: the network's tensors (and training state) and the JSON metadata."""
    net = est.network_
    if is_foreign(net.params["W1"]):  # fitted under array_api_dispatch: a host copy, the same file
        net = net.copy().to(np)
    tensors = {k: np.asarray(v) for k, v in net.params.items()}
    info = None
    state = net.training_state() if include_training_state else None
    if state is not None:
        arrays, info = state
        tensors.update({STATE_PREFIX + k: np.asarray(v) for k, v in arrays.items()})
    fitted = {
        "n_features_in_": int(est.n_features_in_),
        "feature_names_in_": (
            None if not hasattr(est, "feature_names_in_") else [str(f) for f in est.feature_names_in_]
        ),
        **{key: getattr(est, key, None) for key in _FITTED},
        **est._fitted_extra(),
    }
    fitted["_no_improvement_count"] = int(fitted["_no_improvement_count"] or 0)
    metadata = {
        "estimator": type(est).__name__,
        "estimator_format": ESTIMATOR_FILE_VERSION,
        "estimator_params": to_json(est.get_params(deep=False)),
        "fitted": to_json(fitted),
        "config": net.get_config(),
        "metadata": to_json(dict(net.metadata or {})),
        "training_state": info,
    }
    write_model_file(path, tensors, metadata)


def estimator_from_model_file(cls, tensors, metadata):
    """Rebuild an estimator from :func:`vecprop.io.read_model_file`'s output (used by vecprop.load)."""
    try:
        version = metadata.get("estimator_format", 1)
        if not isinstance(version, int) or version > ESTIMATOR_FILE_VERSION:
            raise ModelFileError(
                f"estimator file format {version!r} is newer than this vecprop reads "
                f"({ESTIMATOR_FILE_VERSION}); upgrade vecprop"
            )
        est = cls(**from_json(metadata["estimator_params"]))
        net = Network.from_config(metadata["config"])
        net.params = {k: v for k, v in tensors.items() if not k.startswith(STATE_PREFIX)}
        net.metadata = from_json(metadata.get("metadata") or {})
        info = metadata.get("training_state")
        if info is not None:
            arrays = {k[len(STATE_PREFIX) :]: v for k, v in tensors.items() if k.startswith(STATE_PREFIX)}
            saved = metadata.get("sklearn_schedule")  # files written before MLPLearningRate was registered
            net.restore_training_state(arrays, info)
            if saved is not None:
                config = {k: v for k, v in saved["config"].items() if k != "name"}
                net._training.schedule = MLPLearningRate(**config)
                net._training.sched_state = dict(saved["state"])
        fitted = from_json(metadata["fitted"])
        est.network_ = net
        est.n_layers_ = net.L + 1
        est.n_outputs_ = net.layer_dims[-1]
        est.out_activation_ = activation_label(net.activations[-1])
        est.n_features_in_ = fitted["n_features_in_"]
        if fitted.get("feature_names_in_") is not None:
            est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
        for key in _FITTED:
            setattr(est, key, fitted[key])
        est._restore_extra(fitted)
    except ModelFileError:
        raise
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFileError(f"invalid {cls.__name__} model file: {exc!r}") from None
    return est
