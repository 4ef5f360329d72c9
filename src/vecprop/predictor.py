"""Predictor: a trained Network with everything between a data file's rows and its answers.

A ``Network`` maps standardized columns X of shape (n_0, m) to A[L]. What ``vecprop train`` learns
besides — the feature names and their order, the input standardization, the task, the class labels,
the target's name and the run's configuration — lives in the network's ``metadata``, and a
``Predictor`` is the network read together with it. ``vecprop.load`` returns one for every file that
``vecprop train`` wrote (files from before the Predictor existed included), so that in Python::

    model = vecprop.load("runs/model.safetensors")
    model.predict(rows)          # the labels (or values) `vecprop predict` prints, rows (m, n_features)
    model.predict_proba(rows)    # the probabilities it prints, (m, n_classes)

A bare ``Network`` file (``net.save``) stays a bare Network; estimator files stay estimators.
"""

from __future__ import annotations

import json

import numpy as np

from .datasets import TASKS, Standardizer
from .network import Network, _Text

__all__ = ["Predictor", "describes"]

_KEYS = ("task", "feature_names")  # metadata that makes a network file a Predictor's


def describes(metadata) -> bool:
    """Whether a network's metadata is a Predictor's (what ``vecprop train`` writes)."""
    return isinstance(metadata, dict) and all(k in metadata for k in _KEYS)


class Predictor:
    """A Network plus its input standardization, feature names, task and class labels.

    Parameters
    ----------
    network : Network — trained on standardized columns X of shape (n_0, m)
    feature_names : list of str — the n_0 input columns, in the network's order
    task : "classification" or "regression"
    classes : list of str, optional — class labels, ``classes[k]`` is class index k (classification)
    standardizer : Standardizer, optional — applied to the rows before the network
    target : str or int, optional — the target column it was trained on
    run_config : dict, optional — the training run's effective configuration (``vecprop train``'s options)

    Raises
    ------
    ValueError
        If the pieces disagree (feature or class counts against the network's layer sizes).
    """

    def __init__(self, network, *, feature_names, task, classes=None, standardizer=None, target=None, run_config=None):
        if not isinstance(network, Network):
            raise ValueError(f"network must be a vecprop.Network, got {type(network).__name__}")
        n_0, n_L = network.layer_dims[0], network.layer_dims[-1]
        feature_names = [str(f) for f in feature_names]
        if len(feature_names) != n_0:
            raise ValueError(f"{len(feature_names)} feature names for a network with n_0 = {n_0} inputs")
        if task not in TASKS:
            raise ValueError(f"task must be one of {', '.join(TASKS)}, got {task!r}")
        if task == "classification":
            classes = [str(c) for c in (classes or [])]
            g = network.activations[-1].name
            expected = 2 if (g == "sigmoid" and n_L == 1) else n_L if g == "softmax" else None
            if expected is None or len(classes) != expected:
                raise ValueError(
                    f"a classifier needs a softmax output with one unit per class or one sigmoid "
                    f"unit for two classes; got {n_L} {g} unit(s) for {len(classes)} classes"
                )
        if standardizer is not None and standardizer.n_features != n_0:
            raise ValueError(f"the standardizer has {standardizer.n_features} features, the network {n_0}")
        self.network = network
        self.feature_names = feature_names
        self.task = task
        self.classes = classes if task == "classification" else None
        self.standardizer = standardizer
        self.target = target
        self.run_config = dict(run_config or {})
        self._write_metadata()  # so a checkpoint of the network alone is this Predictor's file too

    # ----------------------------------------------------------------------------- files
    @classmethod
    def from_network(cls, network) -> Predictor:
        """The Predictor whose pieces are in ``network.metadata`` (see :func:`describes`)."""
        meta = network.metadata
        stats = meta.get("standardizer")
        return cls(
            network,
            feature_names=meta["feature_names"],
            task=meta["task"],
            classes=meta.get("target_names"),
            target=meta.get("target"),
            standardizer=None if stats is None else Standardizer.from_dict(stats),
            run_config=meta.get("run_config"),
        )

    def _write_metadata(self) -> None:
        meta = self.network.metadata
        meta.update({"task": self.task, "feature_names": list(self.feature_names), "target": self.target})
        meta["target_names"] = list(self.classes) if self.classes is not None else meta.get("target_names")
        if self.standardizer is not None:
            meta["standardizer"] = self.standardizer.to_dict()
        if self.run_config:
            meta["run_config"] = self.run_config

    def save(self, path, *, include_training_state: bool = True) -> None:
        """Write the model file (atomically): the network, its training state and every piece above."""
        self._write_metadata()
        self.network.save(path, include_training_state=include_training_state)

    # ----------------------------------------------------------------------------- data
    def network_input(self, rows) -> np.ndarray:
        """The network's input X of shape (n_0, m) for ``rows``: standardized, in the network's dtype.

        ``rows`` is an array of shape (m, n_features) in :attr:`feature_names`' order, or a mapping /
        pandas DataFrame with those columns (in any order; other columns are ignored).
        """
        X = self._rows(rows).T  # (n_0, m)
        if self.standardizer is not None:
            X = self.standardizer.transform(X)
        return self.network.check_X(X)

    def _rows(self, rows) -> np.ndarray:
        if hasattr(rows, "columns") or isinstance(rows, dict):
            missing = [f for f in self.feature_names if f not in rows]
            if missing:
                raise ValueError(
                    f"rows lack the feature column(s) {', '.join(missing)}; the model needs: "
                    f"{', '.join(self.feature_names)}"
                )
            rows = np.column_stack([np.asarray(rows[f], dtype=np.float64) for f in self.feature_names])
        try:
            A = np.asarray(rows, dtype=np.float64)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"rows must be numbers of shape (m, {len(self.feature_names)}): {exc}") from None
        n = len(self.feature_names)
        if A.ndim != 2 or A.shape[1] != n:
            hint = (
                "; for one example pass rows.reshape(1, -1)"
                if A.ndim == 1 and A.size == n
                else "; rows are examples here (the data file's layout): pass X.T"
                if A.ndim == 2 and A.shape[0] == n
                else ""
            )
            raise ValueError(
                f"rows have shape {A.shape} but the model expects (m, {n}): one row per example, "
                f"columns {', '.join(self.feature_names)}{hint}"
            )
        return A

    def network_target(self, y) -> np.ndarray:
        """Y of shape (n_L, m) for targets ``y``: class labels (m,) or values (m,) / (m, n_y)."""
        if self.task == "regression":
            Y = np.asarray(y, dtype=np.float64)
            return Y.reshape(1, -1) if Y.ndim == 1 else Y.T
        return targets(self.class_indices(y), len(self.classes), self.task)

    def class_indices(self, y) -> np.ndarray:
        """Class labels (m,) as indices into :attr:`classes` (int64); ValueError for an unknown label."""
        labels, codes = np.unique(np.asarray(y).astype(str), return_inverse=True)
        index = {c: k for k, c in enumerate(self.classes)}
        unknown = [str(v) for v in labels if v not in index]
        if unknown:
            raise ValueError(f"labels {unknown} were not seen in training (known: {self.classes})")
        return np.array([index[v] for v in labels], dtype=np.int64)[codes.ravel()]

    # ----------------------------------------------------------------------------- answers
    def predict_proba(self, rows) -> np.ndarray:
        """Class probabilities of shape (m, n_classes), columns in :attr:`classes`' order."""
        if self.task != "classification":
            raise ValueError("predict_proba is for classifiers; this model is a regressor: use predict")
        AL = self.network.predict_output(self.network_input(rows))  # (n_L, m)
        return (np.vstack([1 - AL, AL]) if AL.shape[0] == 1 else AL).T

    def predict(self, rows) -> np.ndarray:
        """Class labels (m,) — ints when every label is an integer, else strings — or, for a regressor,
        the values: shape (m,) for one target, (m, n_y) for several."""
        if self.task == "classification":
            return self.label_array()[self.predict_proba(rows).argmax(axis=1)]
        AL = self.network.predict_output(self.network_input(rows))
        return AL[0] if AL.shape[0] == 1 else AL.T

    def label_array(self) -> np.ndarray:
        """:attr:`classes` as an array: int64 when every label is an integer literal, else str."""
        try:
            ints = np.array([int(c) for c in self.classes], dtype=np.int64)
        except ValueError:
            return np.array(self.classes)
        return ints if [str(v) for v in ints] == self.classes else np.array(self.classes)

    def score(self, rows, y) -> float:
        """Accuracy for a classifier, R² for a regressor (scikit-learn's ``score``)."""
        pred = self.predict(rows)
        if self.task == "classification":
            return float((pred.astype(str) == np.asarray(y).astype(str)).mean())
        Y = np.asarray(y, dtype=np.float64).reshape(pred.shape)
        return float(1 - ((Y - pred) ** 2).sum() / ((Y - Y.mean(axis=0)) ** 2).sum())

    def fit(self, rows, y, **options):
        """Continue training on more rows: the saved standardization and labels, and the saved training
        configuration for every option not given (see :meth:`Network.fit`). Returns the History."""
        X, Y = self.network_input(rows), self.network_target(y)
        return self.network.fit(X, Y, **{**self.network.last_fit_config(), **options})

    # ----------------------------------------------------------------------------- display
    def summary(self, m=None) -> str:
        """The network's table, then the inputs, outputs and the run's configuration (as TOML)."""
        lines = [
            self.network.summary(m=m),
            f"Inputs: {len(self.feature_names)} features ({', '.join(self.feature_names)}), "
            + (
                "standardized with the training set's mean and standard deviation"
                if self.standardizer is not None
                else "not standardized"
            ),
        ]
        target = "" if self.target is None else f", target {self.target!r}"
        if self.task == "classification":
            lines.append(f"Task: classification{target}, {len(self.classes)} classes: {', '.join(self.classes)}")
        else:
            lines.append(f"Task: regression{target}, {self.network.layer_dims[-1]} output(s)")
        if self.run_config:
            lines += ["", "# the run's configuration; a valid `vecprop train --config` file", to_toml(self.run_config)]
        return _Text("\n".join(lines))

    def __repr__(self):
        what = f"{len(self.classes)} classes" if self.classes is not None else "regression"
        return f"Predictor({self.network!r}, {len(self.feature_names)} features, {what})"


def targets(y, n_classes, task) -> np.ndarray:
    """Y in the network's layout from a Dataset's y: (1, m) 0/1 for two classes, one-hot (K, m) for K > 2,
    or (n_y, m) values for regression."""
    if task == "regression":
        return np.atleast_2d(np.asarray(y, dtype=np.float64))
    y = np.asarray(y, dtype=np.int64)
    if n_classes == 2:
        return y.astype(np.float64).reshape(1, -1)
    Y = np.zeros((n_classes, y.size))
    Y[y, np.arange(y.size)] = 1
    return Y


def to_toml(config: dict) -> str:
    """A flat dict of str/int/float/bool/list/dict values as TOML ``key = value`` lines (None is left out)."""
    return "\n".join(f"{key} = {_toml_value(value)}" for key, value in config.items() if value is not None)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a JSON string is a TOML basic string
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{ "
            + ", ".join(f"{json.dumps(str(k))} = {_toml_value(v)}" for k, v in value.items() if v is not None)
            + " }"
        )
    raise ValueError(f"cannot write {value!r} ({type(value).__name__}) as TOML")
