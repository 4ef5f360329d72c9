"""The playground's JSON API without HTTP: sessions that build, inspect, check and train a Network.

Every number the page shows comes from here, and everything here comes from vecprop's public API:
``Network(...)`` and its ``forward``/``cost``/``backward``/``caches``/``params``/``fit``/``predict``,
``gradient_check`` and ``gradcheck.numeric_gradient``, the built-in datasets and ``Standardizer``, and
``Network.save``. A request is a plain dict (decoded JSON) and so is every answer; bad input raises
:class:`PlaygroundError` (a ValueError) whose message says what to change. See docs/playground.md.
"""

from __future__ import annotations

import contextlib
import math
import os
import queue
import secrets
import tempfile
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, replace

import numpy as np

from .. import Network, gradient_check, one_hot
from ..activations import ACTIVATIONS
from ..datasets import Standardizer, load_data_file, load_dataset
from ..gradcheck import numeric_gradient, relative_difference
from ..initializers import INITIALIZERS
from ..losses import LOSSES
from ..optimizers import OPTIMIZERS

__all__ = ["Config", "Playground", "PlaygroundError", "Session", "LIMITS", "DATASETS"]

DATASETS = ("flower", "moons", "circles", "xor")  # the 2-D built-ins; "csv" is the learner's own
LIMITS = {
    "hidden_layers": 6,  # hidden layers at most
    "units": 128,  # units per hidden layer at most
    "params": 20_000,  # parameters in all at most (the page draws every one)
    "examples": 5_000,  # examples in a dataset at most
    "classes": 10,  # classes in a CSV at most
    "csv_bytes": 2_000_000,  # size of an uploaded CSV at most
    "gradcheck_params": 3_000,  # finite differences cost two forward passes per parameter
    "gradcheck_examples": 512,  # ... on a mini-batch of at most this many examples
    "numbers_shown": 250_000,  # matrix entries one mini-batch's step-through sends the page at most
    "epochs": 20_000,  # play pauses by itself after this many epochs
    "sessions": 16,  # open sessions (tabs) at most; the least recently used is closed
}
UNWATCHED = 10.0  # seconds a playing session trains with no event stream open before it pauses
GRID = 64  # the decision boundary is the network's output on a GRID × GRID lattice


class PlaygroundError(ValueError):
    """Bad input from the page or the API; the message says what to change."""


# ------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class Config:
    """What the learner builds; every field has a control on the page."""

    dataset: str = "flower"  # flower, moons, circles, xor, or csv (then `csv` holds the text)
    n_samples: int = 400  # m of a built-in dataset
    seed: int = 0  # data, split, initial weights, dropout, shuffling
    hidden: tuple = (3,)  # n_1 ... n_{L-1}
    activations: tuple = ("tanh", "sigmoid")  # g for layers 1..L (the output's included)
    loss: str = "binary_cross_entropy"  # binary_cross_entropy, categorical_cross_entropy or mse
    initializer: str = "xavier"  # random (×0.01), he, xavier, glorot_uniform
    learning_rate: float = 1.0  # α
    optimizer: str = "gd"  # gd, momentum, nesterov, rmsprop, adam, adamw
    batch_size: int = 32  # 0: batch gradient descent over all training examples
    l2: float = 0.0  # λ
    keep_prob: float = 1.0  # dropout keep probability of the hidden layers
    validation_fraction: float = 0.2  # held out for the validation curve (0: none)
    standardize: bool = True  # (X − mean) / std, fitted on the training split
    csv: str = ""  # the learner's CSV text: x1,x2,label with a header row
    csv_name: str = "data.csv"  # its file name, for the exported Python code


def _need(ok, message):
    if not ok:
        raise PlaygroundError(message)


def _int(d, key, default, low, high):
    value = d.get(key, default)
    _need(
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high,
        f"{key} must be an integer from {low} to {high}, got {value!r}",
    )
    return value


def _float(d, key, default, low, high, *, open_low=False):
    value = d.get(key, default)
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (low < value if open_low else low <= value) and value <= high
    _need(ok, f"{key} must be a number in {'(' if open_low else '['}{low}, {high}], got {value!r}")
    return float(value)


def _name(d, key, default, known, what):
    value = d.get(key, default)
    _need(
        isinstance(value, str) and value in known,
        f"unknown {what} {value!r}; expected one of: {', '.join(sorted(known))}",
    )
    return value


def parse_config(d) -> Config:
    """A :class:`Config` from the page's JSON, every field checked (PlaygroundError says the fix)."""
    _need(isinstance(d, dict), 'the request body must be a JSON object of settings, e.g. {"hidden": [3]}')
    unknown = sorted(set(d) - set(Config.__dataclass_fields__))
    _need(not unknown, f"unknown setting(s) {unknown}; expected some of: {', '.join(Config.__dataclass_fields__)}")
    base = Config()
    dataset = _name(d, "dataset", base.dataset, (*DATASETS, "csv"), "dataset")
    hidden = d.get("hidden", list(base.hidden))
    _need(
        isinstance(hidden, (list, tuple)) and len(hidden) <= LIMITS["hidden_layers"],
        f"hidden must be a list of at most {LIMITS['hidden_layers']} layer sizes, e.g. [3], got {hidden!r}",
    )
    for l, n in enumerate(hidden, start=1):
        _need(
            isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= LIMITS["units"],
            f"layer {l} size n_{l} must be an integer from 1 to {LIMITS['units']}, got {n!r}",
        )
    activations = d.get("activations", list(base.activations))
    if isinstance(activations, str):
        activations = [activations] * len(hidden) + [base.activations[-1]]
    _need(
        isinstance(activations, (list, tuple)) and len(activations) == len(hidden) + 1,
        f"activations must list one name per layer 1..L = {len(hidden) + 1} (the output's included), "
        f"got {activations!r}",
    )
    for l, g in enumerate(activations, start=1):
        _need(
            isinstance(g, str) and g in ACTIVATIONS,
            f"unknown activation {g!r} for layer {l}; expected one of: {', '.join(sorted(ACTIVATIONS))}",
        )
    csv = d.get("csv", "")
    _need(
        isinstance(csv, str) and len(csv) <= LIMITS["csv_bytes"],
        f"csv must be the text of a CSV file of at most {LIMITS['csv_bytes']} bytes",
    )
    _need(dataset != "csv" or csv.strip(), "dataset 'csv' needs the file's text in 'csv' (choose a file first)")
    csv_name = d.get("csv_name", base.csv_name)
    _need(isinstance(csv_name, str) and 0 < len(csv_name) <= 200, "csv_name must be a short file name")
    standardize = d.get("standardize", base.standardize)
    _need(isinstance(standardize, bool), f"standardize must be true or false, got {standardize!r}")
    return Config(
        dataset=dataset,
        n_samples=_int(d, "n_samples", base.n_samples, 10, LIMITS["examples"]),
        seed=_int(d, "seed", base.seed, 0, 2**32 - 1),
        hidden=tuple(hidden),
        activations=tuple(activations),
        loss=_name(d, "loss", base.loss, LOSSES, "loss"),
        initializer=_name(d, "initializer", base.initializer, INITIALIZERS, "initializer"),
        learning_rate=_float(d, "learning_rate", base.learning_rate, 0, 100, open_low=True),
        optimizer=_name(d, "optimizer", base.optimizer, OPTIMIZERS, "optimizer"),
        batch_size=_int(d, "batch_size", base.batch_size, 0, LIMITS["examples"]),
        l2=_float(d, "l2", base.l2, 0, 1000),
        keep_prob=_float(d, "keep_prob", base.keep_prob, 0, 1, open_low=True),
        validation_fraction=_float(d, "validation_fraction", base.validation_fraction, 0, 0.5),
        standardize=standardize,
        csv=csv if dataset == "csv" else "",
        csv_name=os.path.basename(csv_name) or base.csv_name,
    )


def options() -> dict:
    """The choices the page offers (registries' names), the defaults and the limits."""
    return {
        "datasets": [*DATASETS, "csv"],
        "activations": sorted(ACTIVATIONS),
        "losses": sorted(LOSSES),
        "initializers": sorted(INITIALIZERS),
        "optimizers": sorted(OPTIMIZERS),
        "defaults": {
            **asdict(replace(Config(), csv="")),
            "hidden": list(Config.hidden),
            "activations": list(Config.activations),
        },
        "limits": dict(LIMITS),
    }


# ------------------------------------------------------------------------------------- data
def _load(config: Config):
    """The Dataset the config names: a 2-D built-in, or the learner's CSV (x1, x2, label)."""
    if config.dataset != "csv":
        return load_dataset(config.dataset, seed=config.seed, n_samples=config.n_samples)
    with tempfile.TemporaryDirectory(prefix="vecprop-playground-") as tmp:
        path = os.path.join(tmp, "upload.csv")
        with open(path, "w", encoding="utf-8") as f:
            f.write(config.csv)
        try:
            ds = load_data_file(path, task="classification")
        except ValueError as exc:  # DataFileError: "upload.csv:3:2: ..." — say the learner's name instead
            raise PlaygroundError(str(exc).replace(path, config.csv_name).splitlines()[0]) from None
    _need(
        ds.n_features == 2,
        f"{config.csv_name}: the playground draws 2-D data, so the CSV needs exactly two "
        f"feature columns and a label column last; it has {ds.n_features} feature columns",
    )
    _need(
        ds.m <= LIMITS["examples"], f"{config.csv_name}: {ds.m} rows; the playground takes at most {LIMITS['examples']}"
    )
    _need(
        ds.n_classes <= LIMITS["classes"],
        f"{config.csv_name}: {ds.n_classes} classes; the playground takes at most {LIMITS['classes']}",
    )
    return ds


def _n_outputs(loss: str, n_classes: int) -> int:
    """n_L: one sigmoid unit for two classes with binary cross-entropy, else one unit per class."""
    if loss == "binary_cross_entropy":
        _need(
            n_classes == 2,
            f"binary_cross_entropy is for two classes and the data has {n_classes}; "
            "choose categorical_cross_entropy with a softmax output",
        )
        return 1
    return 1 if (loss == "mse" and n_classes == 2) else n_classes


def _targets(y, n_L: int, n_classes: int) -> np.ndarray:
    """Y of shape (n_L, m): 0/1 in one row, or one-hot columns."""
    return y.reshape(1, -1).astype(np.float64) if n_L == 1 else one_hot(y, n_classes)


def _matrix(a) -> dict:
    """An array for JSON: its shape and its rows (None where not finite)."""
    a = np.asarray(a, dtype=np.float64)
    a2 = a.reshape(a.shape[0], -1) if a.ndim else a.reshape(1, 1)
    rows = a2.tolist()
    if not np.isfinite(a2).all():
        rows = [[v if math.isfinite(v) else None for v in row] for row in rows]
    return {"shape": list(a.shape), "values": rows}


def _finite(x):
    return float(x) if x is not None and math.isfinite(x) else None


# ------------------------------------------------------------------------------------- session
class Session:
    """One learner's network on one dataset: inspection, gradient check, training, export.

    A lock guards the network: the training worker holds it for one epoch at a time, and inspection
    works on a copy taken under it, so what the page shows never mixes two states of the weights.
    """

    def __init__(self, config: Config):
        self.config = config
        self.id = secrets.token_urlsafe(9)
        self.lock = threading.RLock()
        self.last_used = time.monotonic()
        ds = _load(config)
        self.dataset = ds
        if config.validation_fraction > 0:
            train, val = ds.split(config.validation_fraction, seed=config.seed)
        else:
            train, val = ds, None
        self.train_set, self.val_set = train, val
        self.scaler = Standardizer.fit(train.X) if config.standardize else None
        self.n_classes = ds.n_classes
        n_L = _n_outputs(config.loss, ds.n_classes)
        self.layer_dims = [2, *config.hidden, n_L]
        n_params = sum(n * p + n for p, n in zip(self.layer_dims[:-1], self.layer_dims[1:]))
        _need(
            n_params <= LIMITS["params"],
            f"the network {self.layer_dims} has {n_params} parameters; the "
            f"playground draws every one and takes at most {LIMITS['params']} (make the layers smaller)",
        )
        self.X_train, self.Y_train = self._xy(train, n_L)
        self.X_val, self.Y_val = self._xy(val, n_L) if val is not None else (None, None)
        m = self.X_train.shape[1]
        self.batch_size = config.batch_size if 0 < config.batch_size < m else m
        self.n_batches = math.ceil(m / self.batch_size)
        lo, hi = ds.X.min(axis=1), ds.X.max(axis=1)
        pad = 0.08 * np.maximum(hi - lo, 1e-9)
        self.bounds = (lo - pad, hi + pad)
        self._listeners = []
        self._thread = None
        self._stop = threading.Event()
        self._new_network()

    def _xy(self, ds, n_L):
        X = self.scaler.transform(ds.X) if self.scaler is not None else ds.X
        return np.ascontiguousarray(X), _targets(ds.y, n_L, self.n_classes)

    def _new_network(self):
        """The network as built: the same seed gives the same initial weights (reset starts here)."""
        c = self.config
        self.net = Network(self.layer_dims, list(c.activations), c.loss, initializer=c.initializer, seed=c.seed)
        self.updates = self.epochs = self.steps = 0
        self.batch_index = 0
        self.points = [self._point()]
        self.running = False
        self.message = ""

    @property
    def is_classifier(self) -> bool:
        return self.net.activations[-1].name in ("sigmoid", "softmax")

    @property
    def keep_prob(self):
        return self.config.keep_prob if self.config.keep_prob < 1 and self.net.L > 1 else None

    # --------------------------------------------------------------------------------- views
    def describe(self) -> dict:
        """The session as built: config, layer sizes, the data's points, the table, the first state."""
        with self.lock:
            ds, n_val = self.dataset, 0 if self.val_set is None else self.val_set.m
            return {
                "session": self.id,
                "config": {**asdict(self.config), "csv": ""},
                "layer_dims": self.layer_dims,
                "L": self.net.L,
                "n_params": self.net.n_params,
                "activations": [g.name for g in self.net.activations],
                "loss": self.net.loss.name,
                "classes": list(ds.target_names),
                "m": ds.m,
                "m_train": self.train_set.m,
                "m_val": n_val,
                "batch_size": self.batch_size,
                "n_batches": self.n_batches,
                "train_points": {"x": self.train_set.X.tolist(), "y": self.train_set.y.tolist()},
                "val_points": None
                if self.val_set is None
                else {"x": self.val_set.X.tolist(), "y": self.val_set.y.tolist()},
                "table": self.table(),
                "progress": self._progress(0),
            }

    def table(self) -> list:
        """The seed's Variable/Dimensions table for this network and batch size m, read off the arrays of
        a real forward and backward pass on the first mini-batch."""
        _, _, Xb, _, _, _, layers = self._pass(0)
        rows = [{"variable": "A[0] = X", "shape": list(Xb.shape), "note": f"input, m = {Xb.shape[1]} examples"}]
        for layer in layers:
            l, (n_l, n_prev) = layer["l"], layer["W"].shape
            rows += [
                {"variable": f"W[{l}]", "shape": list(layer["W"].shape), "note": f"{n_l * n_prev} weights"},
                {"variable": f"b[{l}]", "shape": list(layer["b"].shape), "note": f"{n_l} bias" + "es" * (n_l > 1)},
                {"variable": f"Z[{l}]", "shape": list(layer["Z"].shape), "note": "eq. (2)"},
                {"variable": f"A[{l}]", "shape": list(layer["A"].shape), "note": f"eq. (1), g = {layer['g']}"},
                {"variable": f"dZ[{l}]", "shape": list(layer["dZ"].shape), "note": "BP4"},
                {"variable": f"dW[{l}]", "shape": list(layer["dW"].shape), "note": "BP1"},
                {"variable": f"db[{l}]", "shape": list(layer["db"].shape), "note": "BP2"},
            ]
            if layer["dA_prev"] is not None:
                rows.append({"variable": f"dA[{l - 1}]", "shape": list(layer["dA_prev"].shape), "note": "BP3"})
        return rows

    def _batch(self, k: int):
        cols = slice(k * self.batch_size, min((k + 1) * self.batch_size, self.X_train.shape[1]))
        return self.X_train[:, cols], self.Y_train[:, cols], cols

    def _batch_arg(self, batch):
        k = self.batch_index if batch is None else batch
        _need(
            isinstance(k, int) and not isinstance(k, bool) and 0 <= k < self.n_batches,
            f"batch must be an integer from 0 to {self.n_batches - 1} (there are {self.n_batches} "
            f"mini-batches of {self.batch_size}), got {k!r}",
        )
        return k

    def _pass(self, batch):
        """Forward, cost and backward of mini-batch ``batch`` on a copy of the network (whose Generator
        draws any dropout masks, so training's is untouched): k, cols, Xb, Yb, AL, J, per-layer arrays."""
        with self.lock:
            k = self._batch_arg(batch)
            net = self.net.copy()
        Xb, Yb, cols = self._batch(k)
        AL = net.forward(Xb, keep_prob=self.keep_prob)
        J = net.cost(AL, Yb, l2=self.config.l2)
        grads = net.backward(Yb, l2=self.config.l2)
        layers = []
        for l in range(1, net.L + 1):
            cache = net.caches[l]
            layers.append(
                {
                    "l": l,
                    "g": net.activations[l - 1].name,
                    "W": net.params[f"W{l}"],
                    "b": net.params[f"b{l}"],
                    "A_prev": cache.A_prev,
                    "Z": cache.Z,
                    "A": cache.A,
                    "D": cache.D,
                    "dZ": grads[f"dZ{l}"],
                    "dW": grads[f"dW{l}"],
                    "db": grads[f"db{l}"],
                    "dA_prev": grads.get(f"dA{l - 1}"),
                }
            )
        return k, cols, Xb, Yb, AL, J, layers

    def inspect(self, batch=None) -> dict:
        """One mini-batch: eqs. (1)(2) for l = 1..L, the cost (3), then BP4, BP1, BP2, BP3 for l = L..1,
        every matrix with its values (see :meth:`_pass`)."""
        k, cols, Xb, Yb, AL, J, layers = self._pass(batch)
        numbers = sum(a.size for layer in layers for a in layer.values() if isinstance(a, np.ndarray))
        _need(
            numbers <= LIMITS["numbers_shown"],
            f"mini-batch {k} of m = {Xb.shape[1]} examples through "
            f"{self.layer_dims} would show {numbers} numbers, over the page's {LIMITS['numbers_shown']}; "
            "choose a smaller batch size (or smaller layers) to step through it",
        )
        shown = [
            {key: (_matrix(v) if isinstance(v, np.ndarray) else v) for key, v in layer.items()} for layer in layers
        ]
        net = self.net
        return {
            "batch": k,
            "n_batches": self.n_batches,
            "columns": [cols.start, cols.stop],
            "m": Xb.shape[1],
            "X": _matrix(Xb),
            "Y": _matrix(Yb),
            "AL": _matrix(AL),
            "cost": _finite(J),
            "loss": net.loss.name,
            "fused_output": net.activations[-1].name == net.loss.canonical_activation,
            "l2": self.config.l2,
            "keep_prob": self.keep_prob,
            "learning_rate": self.config.learning_rate,
            "optimizer": self.config.optimizer,
            "layers": shown,
        }

    def gradcheck(self, batch=None, epsilon: float = 1e-7) -> dict:
        """``vecprop.gradient_check`` on one mini-batch, with each parameter's backprop and
        finite-difference gradients in full (dropout is off, as the course prescribes)."""
        _need(
            isinstance(epsilon, (int, float)) and not isinstance(epsilon, bool) and 1e-10 <= epsilon <= 1e-2,
            f"epsilon must be a number from 1e-10 to 1e-2, got {epsilon!r}",
        )
        with self.lock:
            k = self._batch_arg(batch)
            net = self.net.copy()
        _need(
            net.n_params <= LIMITS["gradcheck_params"],
            f"the gradient check takes two forward passes per "
            f"parameter, so the playground runs it for at most {LIMITS['gradcheck_params']} parameters "
            f"(this network has {net.n_params}); use `vecprop gradcheck` for larger ones",
        )
        Xb, Yb, _ = self._batch(k)
        _need(
            Xb.shape[1] <= LIMITS["gradcheck_examples"],
            f"the gradient check in the playground takes "
            f"mini-batches of at most {LIMITS['gradcheck_examples']} examples (this one has {Xb.shape[1]}); "
            "choose a smaller batch size",
        )
        l2 = self.config.l2
        result = gradient_check(net, Xb, Yb, epsilon, l2=l2)
        net.forward(Xb)
        grads = net.backward(Yb, l2=l2)
        numeric = numeric_gradient(lambda: net.compute_cost(Xb, Yb, l2=l2), net.params, epsilon)
        params = []
        for name, check in result.parameters.items():
            g, g_hat = grads["d" + name], numeric["d" + name]
            params.append(
                {
                    "name": name,
                    "difference": _finite(check.difference),
                    "worst_index": list(check.worst_index),
                    "analytic_at_worst": _finite(check.analytic),
                    "numeric_at_worst": _finite(check.numeric),
                    "backprop": _matrix(g),
                    "numeric": _matrix(g_hat),
                    "difference_shown": _finite(relative_difference(g, g_hat)),
                }
            )
        return {
            "batch": k,
            "m": Xb.shape[1],
            "epsilon": epsilon,
            "threshold": result.threshold,
            "difference": _finite(result.difference),
            "passed": bool(result.passed),
            "parameters": params,
        }

    def boundary(self) -> dict:
        """The network's output on a GRID × GRID lattice over the data (in the data's own units):
        ``predicted`` class per cell and ``output`` (A[L] for one unit, else the largest A[L] entry)."""
        with self.lock:
            lo, hi = self.bounds
            gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], GRID), np.linspace(lo[1], hi[1], GRID))
            P = np.vstack([gx.ravel(), gy.ravel()])  # (2, GRID²): row-major lattice
            if self.scaler is not None:
                P = self.scaler.transform(P)
            AL = self.net.predict_output(P)  # (n_L, GRID²)
        if AL.shape[0] == 1:
            predicted, output = (AL[0] > 0.5).astype(int), AL[0]
        else:
            predicted, output = AL.argmax(axis=0), AL.max(axis=0)
        output = np.where(np.isfinite(output), output, 0.5)
        return {
            "x": [float(lo[0]), float(hi[0])],
            "y": [float(lo[1]), float(hi[1])],
            "n": GRID,
            "predicted": predicted.tolist(),
            "output": np.round(output, 4).tolist(),
        }

    def _point(self) -> dict:
        """Cost (with its L2 term) and accuracy on the training and validation sets now."""
        net, l2 = self.net, self.config.l2
        p = {
            "i": len(getattr(self, "points", [])),
            "epoch": self.updates / self.n_batches,
            "updates": self.updates,
            "loss": _finite(net.compute_cost(self.X_train, self.Y_train, l2=l2)),
        }
        if self.is_classifier:
            p["accuracy"] = net.accuracy(self.X_train, self.Y_train)
        if self.X_val is not None:
            p["val_loss"] = _finite(net.compute_cost(self.X_val, self.Y_val, l2=l2))
            if self.is_classifier:
                p["val_accuracy"] = net.accuracy(self.X_val, self.Y_val)
        return p

    def _progress(self, since: int) -> dict:
        return {
            "points": self.points[since:],
            "boundary": self.boundary(),
            "running": self.running,
            "updates": self.updates,
            "epochs": self.epochs,
            "steps": self.steps,
            "batch": self.batch_index,
            "message": self.message,
        }

    # --------------------------------------------------------------------------------- training
    def _fit(self, X, Y, batch_size):
        c = self.config
        try:
            self.net.fit(
                X,
                Y,
                epochs=1,
                learning_rate=c.learning_rate,
                optimizer=c.optimizer,
                batch_size=batch_size,
                l2=c.l2,
                keep_prob=self.keep_prob or 1.0,
                verbose=0,
            )
        except ValueError as exc:  # DivergenceError: the network keeps its last finite parameters
            raise PlaygroundError(str(exc).splitlines()[0]) from None

    def _step(self):
        """One gradient-descent update on the current mini-batch (the one the page inspects)."""
        Xb, Yb, _ = self._batch(self.batch_index)
        self._fit(Xb, Yb, None)
        self.updates += 1
        self.steps += 1
        self.batch_index = (self.batch_index + 1) % self.n_batches
        self.points.append(self._point())

    def _epoch(self):
        """One epoch of ``Network.fit``: every mini-batch once, reshuffled by the network's Generator."""
        self._fit(self.X_train, self.Y_train, self.batch_size if self.n_batches > 1 else None)
        self.updates += self.n_batches
        self.epochs += 1
        self.points.append(self._point())

    def train(self, action: str, speed: float = 0.0) -> dict:
        """step | epoch | play | pause | reset; returns the progress (points since the last answer)."""
        _need(
            action in ("step", "epoch", "play", "pause", "reset"),
            f"unknown action {action!r}; expected one of: step, epoch, play, pause, reset",
        )
        _need(
            isinstance(speed, (int, float)) and not isinstance(speed, bool) and 0 <= speed <= 1000,
            f"speed must be epochs per second from 0 (as fast as possible) to 1000, got {speed!r}",
        )
        if action in ("pause", "reset"):
            self.pause()
        if action == "play":
            return self.play(speed)
        with self.lock:
            since = len(self.points)
            if action in ("step", "epoch"):
                _need(not self.running, f"training is running; pause it before one {action}")
                self.message = ""
                self._step() if action == "step" else self._epoch()
            elif action == "reset":
                self._new_network()
                since = 0
            progress = self._progress(since)
            self._publish("reset" if action == "reset" else "progress", progress)
            return progress

    def play(self, speed: float = 0.0) -> dict:
        """Train epoch after epoch on a worker thread (at most ``speed`` epochs per second, 0: no limit),
        publishing progress to the event stream about ten times a second, until :meth:`pause`."""
        with self.lock:
            if not self.running:
                self.running, self.message = True, ""
                self._stop.clear()
                self._thread = threading.Thread(
                    target=self._run, args=(speed,), daemon=True, name=f"vecprop-playground-{self.id}"
                )
                self._thread.start()
            return self._progress(len(self.points))

    def pause(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    def _run(self, speed):
        period = 1.0 / speed if speed else 0.0
        published, last = len(self.points), 0.0
        watched = time.monotonic()
        while not self._stop.is_set():
            start = time.monotonic()
            with self.lock:
                try:
                    self._epoch()
                    if self.epochs >= LIMITS["epochs"]:
                        self.message = f"paused after {LIMITS['epochs']} epochs"
                        self._stop.set()
                    if self._listeners:
                        watched = start
                    elif start - watched > UNWATCHED:  # the tab was closed: stop spending the CPU
                        self.message = f"paused: no page has been watching for {UNWATCHED:g} s"
                        self._stop.set()
                except PlaygroundError as exc:
                    self.message = str(exc)
                    self._publish("error", {"message": self.message})
                    self._stop.set()
                if start - last >= 0.1 or self._stop.is_set():
                    self.running = not self._stop.is_set()
                    self._publish("progress", self._progress(published))
                    published, last = len(self.points), start
            self._stop.wait(max(0.0, period - (time.monotonic() - start)))
        with self.lock:
            self.running = False
            self._publish("progress", self._progress(published))

    # --------------------------------------------------------------------------------- events
    def subscribe(self):
        """A queue that receives ``(event, data)`` for every progress, reset and error from now on."""
        q = queue.Queue(maxsize=256)
        with self.lock:
            self._listeners.append(q)
        return q

    def unsubscribe(self, q) -> None:
        with self.lock:
            if q in self._listeners:
                self._listeners.remove(q)

    def _publish(self, event: str, data: dict) -> None:
        for q in list(self._listeners):
            with contextlib.suppress(queue.Full):  # a stalled tab misses updates rather than stalling training
                q.put_nowait((event, data))

    def close(self) -> None:
        self.pause()
        self._publish("closed", {"message": "this session was closed (too many open tabs); build again"})

    # --------------------------------------------------------------------------------- export
    def model_file(self) -> bytes:
        """The network as a vecprop model file (safetensors), with what ``vecprop evaluate/predict`` need."""
        with self.lock:
            net = self.net.copy()
        ds = self.dataset
        net.metadata.update(
            {
                "task": "classification",
                "dataset": ds.name,
                "target_names": list(ds.target_names),
                "feature_names": list(ds.feature_names),
                "target": None,
            }
        )
        if self.scaler is not None:
            net.metadata["standardizer"] = self.scaler.to_dict()
        with tempfile.TemporaryDirectory(prefix="vecprop-playground-") as tmp:
            path = os.path.join(tmp, "playground.safetensors")
            try:
                net.save(path)
            except ImportError as exc:
                raise PlaygroundError(
                    f"saving a model file needs safetensors ({exc}); pip install 'vecprop[io]'"
                ) from None
            with open(path, "rb") as f:
                return f.read()

    def python_code(self) -> str:
        """A script that rebuilds this network and trains it for the epochs trained here."""
        c = self.config
        if c.dataset == "csv":
            load = [f'ds = vecprop.datasets.load_data_file({c.csv_name!r}, task="classification")  # your CSV']
        else:
            load = [f"ds = vecprop.load_dataset({c.dataset!r}, seed={c.seed}, n_samples={c.n_samples})"]
        sets = ["train", "val"] if self.val_set is not None else ["train"]
        if self.val_set is not None:
            load.append(f"train, val = ds.split({c.validation_fraction!r}, seed={c.seed})")
        else:
            load.append("train = ds")
        if self.scaler is not None:
            load.append("scaler = Standardizer.fit(train.X)   # (X - mean) / std of the training set")
            load += [f"X_{s} = scaler.transform({s}.X)   # (2, m)" for s in sets]
        else:
            load += [f"X_{s} = {s}.X   # (2, m)" for s in sets]
        n_L = self.layer_dims[-1]
        if n_L == 1:
            load += [f"Y_{s} = {s}.y.reshape(1, -1).astype(float)   # (1, m), 0/1" for s in sets]
        else:
            load += [f"Y_{s} = vecprop.one_hot({s}.y, {self.n_classes})   # ({n_L}, m), one-hot" for s in sets]
        batch = self.batch_size if self.n_batches > 1 else None
        val = "validation_data=(X_val, Y_val), " if self.val_set is not None else ""
        steps = (
            f"\n# (the playground also took {self.steps} single mini-batch step(s), not replayed here)"
            if self.steps
            else ""
        )
        lines = "\n".join(load)
        imports = (
            "import vecprop\n"
            + ("import vecprop.datasets\n" if c.dataset == "csv" else "")
            + ("from vecprop.datasets import Standardizer\n" if self.scaler is not None else "")
        )
        epochs = self.epochs or 100
        untrained = "   # not trained on the page yet: 100 to start" if not self.epochs else ""
        return f'''"""Rebuild the network made in the vecprop playground, and train it.

Network {self.layer_dims}, g = {", ".join(c.activations)}; {c.loss}; {c.optimizer}, learning rate {c.learning_rate:g}.
"""
{imports}
{lines}

net = vecprop.Network({self.layer_dims}, {list(c.activations)}, {c.loss!r},
                      initializer={c.initializer!r}, seed={c.seed})
net.summary(m={self.batch_size})   # the seed's Variable/Dimensions table
history = net.fit(X_train, Y_train, epochs={epochs}, learning_rate={c.learning_rate!r},
                  optimizer={c.optimizer!r}, batch_size={batch!r}, l2={c.l2!r}, keep_prob={self.keep_prob or 1.0!r},
                  {val}verbose=0){untrained}{steps}
print(f"train cost {{history.loss[-1]:.4f}}")
net.save("playground.safetensors")
'''


# ------------------------------------------------------------------------------------- sessions
class Playground:
    """The open sessions, by id; the least recently used is closed beyond ``LIMITS['sessions']``."""

    def __init__(self):
        self._sessions = OrderedDict()
        self._lock = threading.Lock()

    def create(self, body) -> Session:
        session = Session(parse_config(body))
        with self._lock:
            self._sessions[session.id] = session
            while len(self._sessions) > LIMITS["sessions"]:
                _, old = self._sessions.popitem(last=False)
                old.close()
        return session

    def get(self, session_id: str) -> Session:
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                raise PlaygroundError(
                    f"no session {session_id!r} (the server restarted or it was closed); build the network again"
                )
            self._sessions.move_to_end(session_id)
            return session

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), OrderedDict()
        for s in sessions:
            s.close()
