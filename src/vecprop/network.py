"""Network: a deep fully-connected network's parameters, caches, forward/backward, predict and summary.

The math lives in :mod:`vecprop.propagation`; this class holds the state (params, the last forward's
caches, the Generator) and validates what users pass in, once, at the boundary.
"""
from __future__ import annotations

import copy as _copy

import numpy as np

from . import propagation, training
from .activations import get_activation
from .checks import check_l2, check_sample_weight, finite_array
from .head import OutputHead
from .initializers import default_initializer, initialize
from .losses import get_loss
from .modelfile import save_network

__all__ = ["Network"]

_OUTPUT_LOSS = {"sigmoid": "binary_cross_entropy", "softmax": "categorical_cross_entropy"}
_DTYPES = {"float32": np.float32, "float64": np.float64}


def _as_dtype(dtype):
    try:
        dt = np.dtype(dtype)
    except TypeError:
        dt = None
    if dt is None or dt.name not in _DTYPES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    return dt


class Network:
    """A deep fully-connected network in the seed's notation.

    Parameters
    ----------
    layer_dims : list of int ``[n_0, n_1, ..., n_L]``
        n_0 input features, n_L output units; L = len(layer_dims) − 1 layers with parameters.
    activations : str or list of str/Activation, default "relu"
        One name for every hidden layer (the output's g then follows from the loss: sigmoid for
        binary_cross_entropy, softmax for categorical_cross_entropy, linear for mse), a list of L − 1
        (hidden layers), or a list of L (every layer, output included).
    loss : str or Loss, optional
        binary_cross_entropy, categorical_cross_entropy or mse. By default it follows the output
        activation (sigmoid → binary, softmax → categorical, otherwise mse), or binary_cross_entropy.
    initializer : str or list of str, optional
        random (the course's ×0.01), he, xavier or glorot_uniform; default He for the ReLU family
        and Xavier otherwise.
    seed : int or numpy.random.Generator, optional
        All randomness (initialization, dropout masks, shuffling) comes from this Generator.
    dtype : float64 (default) or float32 — for parameters, caches and gradients alike.

    Attributes
    ----------
    params : dict ``{"W1": (n_1, n_0), "b1": (n_1, 1), ...}`` (assignable; shapes are checked and the
        values copied into the network's own arrays, which keep their identity through training)
    caches : dict l -> LayerCache(A_prev, Z, A, D) from the last :meth:`forward`
    L, layer_dims, activations (list of Activation, layers 1..L), loss, dtype, rng, metadata
    """

    def __init__(self, layer_dims, activations="relu", loss=None, *, initializer=None, seed=None,
                 dtype=np.float64):
        if not _is_seq(layer_dims) or len(layer_dims) < 2:
            raise ValueError(f"layer_dims must list at least two sizes [n_0, ..., n_L], got {layer_dims!r}")
        for l, n in enumerate(layer_dims):
            if not isinstance(n, (int, np.integer)) or n < 1:
                raise ValueError(f"layer_dims[{l}] = {n!r}: every layer size must be a positive integer")
        self.layer_dims = [int(n) for n in layer_dims]
        self.L = len(self.layer_dims) - 1
        self.dtype = _as_dtype(dtype)
        self.activations, self.loss = _resolve(activations, loss, self.L)
        if initializer is None:
            hidden = self.activations[0].name if self.L > 1 else self.activations[-1].name
            initializer = default_initializer(hidden)
        self.initializer = initializer
        self.seed = seed if isinstance(seed, (int, np.integer)) or seed is None else None
        self.rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        # every parameter is a view into one flat vector [W1..WL, b1..bL] (propagation.param_layout), so
        # the trainer can update, copy and clip them all with one call each
        self._theta = np.empty(self.n_params, self.dtype)
        self._params = propagation.param_views(self._theta, self.layer_dims)
        for key, value in initialize(self.layer_dims, initializer, self.rng, self.dtype).items():
            self._params[key][...] = value
        self.caches = {}
        self.metadata = {}
        self._last = None               # (AL, Y-independent id) of the last forward, for cost()
        self._training = None           # trainer state (optimizer, schedule, epoch), set by fit

    # ----------------------------------------------------------------------------- parameters
    @property
    def params(self) -> dict:
        return self._params

    @params.setter
    def params(self, params):
        missing = [k for k in self._param_shapes() if k not in params]
        if missing:
            raise ValueError(f"params is missing {', '.join(missing)}; expected keys W1, b1, ..., W{self.L}, b{self.L}")
        new = {}
        for key, shape in self._param_shapes().items():
            value = np.asarray(params[key])
            if value.shape != shape:
                raise ValueError(f"params['{key}'] has shape {value.shape} but layer_dims {self.layer_dims} "
                                 f"needs {shape}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"params['{key}'] contains NaN or inf")
            new[key] = np.array(value, dtype=self.dtype)      # a copy: params may be views of self._theta
        if self._theta.dtype != self.dtype:           # the dtype was changed (gradient_check's float64 copy)
            self._theta = np.empty(self.n_params, self.dtype)
        self._params = propagation.param_views(self._theta, self.layer_dims)
        for key, value in new.items():
            self._params[key][...] = value
        self._last = None

    @property
    def head(self) -> OutputHead:
        """The output head: the output activation g_L with the loss (cost, dZ[L], decoding to classes)."""
        return OutputHead(self.activations[-1], self.loss)

    @property
    def theta(self) -> np.ndarray:
        """Every parameter as one flat vector ``[W1, ..., WL, b1, ..., bL]`` (propagation.param_layout);
        ``params`` are views of it, so writing into theta changes them (what the trainer updates)."""
        return self._flat_params()

    def _flat_params(self) -> np.ndarray:
        """The flat vector that ``params`` are views of, re-linking them first if they no longer are
        (after ``params["W1"] = array``, or a deep copy, which copies views as separate arrays)."""
        theta = self._theta
        for key, (start, _) in propagation.param_layout(self.layer_dims).items():
            v = self._params.get(key)
            if not (isinstance(v, np.ndarray) and v.base is theta
                    and v.ctypes.data == theta.ctypes.data + start * theta.itemsize):
                self.params = dict(self._params)      # validates, copies in, re-links
                break
        return self._theta

    def _param_shapes(self) -> dict:
        shapes = {}
        for l in range(1, self.L + 1):
            shapes[f"W{l}"] = (self.layer_dims[l], self.layer_dims[l - 1])
            shapes[f"b{l}"] = (self.layer_dims[l], 1)
        return shapes

    @property
    def n_params(self) -> int:
        return sum(n * p + n for p, n in zip(self.layer_dims[:-1], self.layer_dims[1:]))

    # ----------------------------------------------------------------------------- checks
    def check_X(self, X) -> np.ndarray:
        """X as an (n_0, m) array of the network's dtype; ValueError with the fix otherwise."""
        X = _finite_array(X, "X", self.dtype)
        n_0 = self.layer_dims[0]
        if X.ndim != 2:
            raise ValueError(f"X must be 2-D of shape (n_x, m) = ({n_0}, m) — columns are examples; got shape {X.shape}")
        if X.shape[0] != n_0:
            hint = "; pass X.T" if X.shape[1] == n_0 else ""
            raise ValueError(f"X has shape {X.shape} but the network expects (n_x, m) = ({n_0}, m) — "
                             f"columns are examples{hint}")
        if X.shape[1] == 0:
            raise ValueError("X has no examples (m = 0)")
        return X

    def check_Y(self, Y, m: int) -> np.ndarray:
        """Y as an (n_L, m) array matching A[L]; ValueError with the fix otherwise."""
        Y = _finite_array(Y, "Y", self.dtype)
        n_L = self.layer_dims[-1]
        if Y.ndim == 1 and n_L == 1 and Y.shape[0] == m:
            Y = Y.reshape(1, m)
        if Y.shape != (n_L, m):
            hint = "; pass Y.T" if Y.shape == (m, n_L) else ""
            one_hot = (" (for categorical_cross_entropy give one-hot columns, e.g. vecprop.one_hot(y, n_classes))"
                       if self.loss.name == "categorical_cross_entropy" and Y.ndim == 1 else "")
            raise ValueError(f"Y has shape {Y.shape} but A[L] has shape (n_L, m) = ({n_L}, {m}){hint}{one_hot}")
        self.loss.check_targets(Y)
        return Y

    # ----------------------------------------------------------------------------- the math
    def forward(self, X, *, keep_prob=None) -> np.ndarray:
        """Eqs. (1)(2) through layers 1..L; keeps ``self.caches`` for :meth:`backward`.

        Parameters
        ----------
        X : array of shape (n_0, m)
        keep_prob : float or list over hidden layers, optional — inverted dropout (training only)

        Returns
        -------
        AL : ndarray of shape (n_L, m)
        """
        X = self.check_X(X)
        return self._forward(X, propagation.keep_probs(keep_prob, self.L) if keep_prob is not None else None)

    def _forward(self, X, keep_prob=None):
        """Forward on validated X; keep_prob already per layer."""
        AL, self.caches = propagation.forward(X, self._params, self.activations, keep_prob=keep_prob, rng=self.rng)
        self._last = (AL, keep_prob)
        return AL

    def backward(self, Y, *, sample_weight=None, l2: float = 0.0, need_dA0: bool = True) -> dict:
        """BP1–BP4 from layer L down, for the last :meth:`forward`.

        Parameters
        ----------
        Y : array of shape (n_L, m)
        sample_weight : array of shape (m,), optional
        l2 : float — λ of the course's L2 regularization

        Returns
        -------
        grads : dict ``"dW{l}"``, ``"db{l}"``, ``"dZ{l}"`` for l = 1..L and ``"dA{l}"`` for l = 0..L−1
        """
        if self._last is None:
            raise ValueError("backward needs a forward pass first: call net.forward(X) with the same examples")
        AL, keep_prob = self._last
        Y = self.check_Y(Y, AL.shape[1])
        sample_weight = _check_weights(sample_weight, AL.shape[1], self.dtype)
        return propagation.backward(AL, Y, self.caches, self._params, self.activations, self.loss,
                                    keep_prob=keep_prob, sample_weight=sample_weight, l2=_check_l2(l2),
                                    need_dA0=need_dA0)

    def cost(self, AL, Y, *, sample_weight=None, l2: float = 0.0) -> float:
        """Eq. (3), J = (1/m) Σ L(y(i), A[L](i)) (+ λ/(2m) Σ‖W‖² when l2 > 0).

        When AL is the output of the last :meth:`forward`, J is computed from the cached logits Z[L]
        and stays finite for any |Z|.
        """
        ZL = None
        if self._last is not None and AL is self._last[0]:
            ZL = self.head.cost_logits(self.caches[self.L].Z)
        else:
            AL = _finite_array(AL, "AL", self.dtype)
        Y = self.check_Y(Y, AL.shape[1])
        sample_weight = _check_weights(sample_weight, AL.shape[1], self.dtype)
        return propagation.cost(AL, Y, self.loss, ZL=ZL, sample_weight=sample_weight, params=self._params,
                                l2=_check_l2(l2))

    def compute_cost(self, X, Y, *, sample_weight=None, l2: float = 0.0) -> float:
        """J on (X, Y): a forward pass without dropout, then :meth:`cost`."""
        return self.cost(self.forward(X), Y, sample_weight=sample_weight, l2=l2)

    # ----------------------------------------------------------------------------- use
    def predict_output(self, X) -> np.ndarray:
        """A[L] for X (no dropout, caches untouched); shape (n_L, m)."""
        X = self.check_X(X)
        AL, _ = propagation.forward(X, self._params, self.activations)
        return AL

    def predict(self, X) -> np.ndarray:
        """Predictions for X of shape (n_0, m).

        Returns
        -------
        softmax output: class indices of shape (1, m); sigmoid output: 0/1 of shape (n_L, m) (A > 0.5);
        anything else: A[L] itself, (n_L, m).
        """
        return self.head.predict(self.predict_output(X))

    def accuracy(self, X, Y) -> float:
        """Share of examples predicted right: argmax agreement for softmax, all n_L bits for sigmoid."""
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[1])
        if not self.head.is_classifier:
            raise ValueError("accuracy is for classifiers (sigmoid or softmax output); use cost() for regression")
        return self.head.n_correct(self.predict_output(X), Y) / X.shape[1]

    def fit(self, X, Y, **kwargs):
        """Train by (mini-batch) gradient descent; see :func:`vecprop.training.fit` for every option."""
        return training.fit(self, X, Y, **kwargs)

    def summary(self, m=None, *, file=None) -> str:
        """The seed's "Variable / Dimensions" table for this architecture, printed and returned.

        Parameters
        ----------
        m : int, optional — examples per (mini)batch; shown as "m" when not given
        """
        mm = "m" if m is None else str(int(m))
        rows = [("A[0] = X", f"({self.layer_dims[0]}, {mm})", "")]
        for l in range(1, self.L + 1):
            n_l, n_prev = self.layer_dims[l], self.layer_dims[l - 1]
            g = self.activations[l - 1].name
            rows += [
                (f"W[{l}]", f"({n_l}, {n_prev})", f"{n_l * n_prev} weights"),
                (f"b[{l}]", f"({n_l}, 1)", f"{n_l} bias" + ("es" if n_l > 1 else "")),
                (f"Z[{l}]", f"({n_l}, {mm})", "eq. (2)"),
                (f"A[{l}]", f"({n_l}, {mm})", f"eq. (1), g = {g}"),
                (f"dZ[{l}]", f"({n_l}, {mm})", "BP4"),
                (f"dW[{l}]", f"({n_l}, {n_prev})", "BP1"),
                (f"db[{l}]", f"({n_l}, 1)", "BP2"),
                (f"dA[{l - 1}]", f"({n_prev}, {mm})", "BP3"),
            ]
        width = max(len(r[0]) for r in rows)
        dwidth = max(len(r[1]) for r in rows)
        lines = [f"Network {self.layer_dims}  loss = {self.loss.name}  dtype = {self.dtype.name}",
                 f"{'Variable':<{width}}  {'Dimensions':<{dwidth}}  Note"]
        lines += [f"{name:<{width}}  {dims:<{dwidth}}  {note}".rstrip() for name, dims, note in rows]
        lines.append(f"Total parameters: {self.n_params}")
        text = "\n".join(lines)
        print(text, file=file)
        return text

    # ----------------------------------------------------------------------------- persistence
    def get_config(self) -> dict:
        """The JSON-able architecture: layer_dims, activations, loss, initializer, dtype, seed."""
        return {
            "layer_dims": list(self.layer_dims),
            "activations": [g.get_config() for g in self.activations],
            "loss": self.loss.get_config(),
            "initializer": self.initializer,
            "dtype": self.dtype.name,
            "seed": None if self.seed is None else int(self.seed),
        }

    @classmethod
    def from_config(cls, config: dict) -> "Network":
        """A new Network from :meth:`get_config`'s dict (fresh parameters from the initializer)."""
        return cls(config["layer_dims"], config["activations"], config["loss"],
                   initializer=config.get("initializer"), seed=config.get("seed"),
                   dtype=config.get("dtype", "float64"))

    def training_state(self):
        """``(arrays, info)`` needed to resume training bit for bit, or None if never trained."""
        if self._training is None:
            return None
        return self._training.to_saved(self)

    def restore_training_state(self, arrays: dict, info: dict) -> None:
        """Inverse of :meth:`training_state` (used when loading a checkpoint)."""
        self._training = training.TrainerState.from_saved(self, arrays, info)

    def reset_training(self) -> None:
        """Forget optimizer state, schedule position and epoch count: the next fit starts afresh."""
        self._training = None

    def save(self, path, *, include_training_state: bool = True):
        """Write the network to a safetensors model file (atomically); see :func:`vecprop.io.save_network`."""
        return save_network(self, path, include_training_state=include_training_state)

    def copy(self) -> "Network":
        """A deep copy (parameters, Generator state, training state)."""
        return _copy.deepcopy(self)

    def __repr__(self):
        acts = [g.name for g in self.activations]
        return f"Network(layer_dims={self.layer_dims}, activations={acts}, loss='{self.loss.name}', dtype={self.dtype.name})"


# --------------------------------------------------------------------------------- helpers
def _is_seq(x) -> bool:
    return isinstance(x, (list, tuple)) or (isinstance(x, np.ndarray) and x.ndim == 1)


def _resolve(activations, loss, L):
    """Activation objects for layers 1..L and the Loss, with the output chosen from the loss if needed."""
    if isinstance(activations, (str, dict)) or not _is_seq(activations):
        hidden, output = [activations] * (L - 1), None
    elif len(activations) == L:
        hidden, output = list(activations[:-1]), activations[-1]
    elif len(activations) == L - 1:
        hidden, output = list(activations), None
    else:
        raise ValueError(f"got {len(activations)} activations for {L} layers; give one name for the hidden "
                         f"layers, {L - 1} (hidden layers) or {L} (every layer, output included)")
    hidden = [get_activation(a) for a in hidden]
    if output is None:
        loss = get_loss(loss if loss is not None else "binary_cross_entropy")
        output = get_activation(loss.canonical_activation)
    else:
        output = get_activation(output)
        if loss is None:
            loss = _OUTPUT_LOSS.get(output.name, "mse")
        loss = get_loss(loss)
    if loss.valid_activations and output.name not in loss.valid_activations:
        raise ValueError(f"loss '{loss.name}' needs an output activation in {list(loss.valid_activations)} "
                         f"(outputs in (0, 1)), got '{output.name}'")
    return [*hidden, output], loss


# the boundary checks, shared with the trainer (kept under their old names)
_finite_array = finite_array
_check_weights = check_sample_weight
_check_l2 = check_l2
