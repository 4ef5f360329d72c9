"""Network: a deep fully-connected network's parameters, caches, forward/backward, predict and summary.

The math lives in :mod:`vecprop.propagation`; this class holds the state (params, the last forward's
caches, the Generator) and validates what users pass in, once, at the boundary.
"""

from __future__ import annotations

import copy as _copy

import numpy as np

from . import lbfgs, propagation, training
from .activations import get_activation
from .checks import check_l2, check_sample_weight, finite_array
from .engines import xp_propagation as xpp
from .head import OutputHead
from .initializers import default_initializer, initialize
from .losses import get_loss
from .memory import check_network, predict_chunk
from .modelfile import save_network

__all__ = ["Network"]

_OUTPUT_LOSS = {"sigmoid": "binary_cross_entropy", "softmax": "categorical_cross_entropy"}
_DTYPES = {"float32": np.float32, "float64": np.float64}
_DISPLAY_OPTIONS = ("verbose", "print_every")  # fit options a continued fit does not inherit


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

    def __init__(self, layer_dims, activations="relu", loss=None, *, initializer=None, seed=None, dtype=np.float64):
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
        check_network(self.layer_dims, self.dtype)  # MemoryLimitError before allocating the parameters
        # every parameter is a view into one flat vector [W1..WL, b1..bL] (propagation.param_layout), so
        # the trainer can update, copy and clip them all with one call each
        self._theta = np.empty(self.n_params, self.dtype)
        self._params = _Params(propagation.param_views(self._theta, self.layer_dims), self.dtype, self.layer_dims)
        for key, value in initialize(self.layer_dims, initializer, self.rng, self.dtype).items():
            self._params[key][...] = value
        self.caches = {}
        self.metadata = {}
        self._last = None  # (AL, Y-independent id) of the last forward, for cost()
        self._training = None  # trainer state (optimizer, schedule, epoch), set by fit

    # ----------------------------------------------------------------------------- parameters
    @property
    def params(self) -> dict:
        return self._params

    @params.setter
    def params(self, params):
        missing = [k for k in self._param_shapes() if k not in params]
        if missing:
            raise ValueError(f"params is missing {', '.join(missing)}; expected keys W1, b1, ..., W{self.L}, b{self.L}")
        new = {
            key: _check_param(key, xpp.to_host(params[key]), shape, self.dtype, self.layer_dims)  # copies:
            for key, shape in self._param_shapes().items()
        }  # params may be views of theta
        where = xpp.target(self._theta)  # the parameters stay in their namespace and device
        if where[0] is not None or self._theta.dtype != self.dtype:  # dtype changed (gradient_check's copy)
            self._theta = np.empty(self.n_params, self.dtype)
        self._params = _Params(propagation.param_views(self._theta, self.layer_dims), self.dtype, self.layer_dims)
        for key, value in new.items():
            self._params[key][...] = value
        self._last = None
        if where[0] is not None:
            self.to(*where)

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
        if xpp.is_foreign(theta):  # params were made by to(); re-linked as below
            self._params = xpp.relink(theta, self._params, self.layer_dims)
            return theta
        for key, (start, _) in propagation.param_layout(self.layer_dims).items():
            v = self._params.get(key)
            if not (
                isinstance(v, np.ndarray)
                and v.base is theta
                and v.ctypes.data == theta.ctypes.data + start * theta.itemsize
            ):
                self.params = dict(self._params)  # validates, copies in, re-links
                break
        return self._theta

    def to(self, like, device=None) -> Network:
        """Move the parameters (and the optimizer's moments) to the namespace and device of ``like``: an array
        (torch/CuPy/array-api-strict/NumPy) or a namespace module (``numpy``, ``torch``, ...) with ``device``.
        ``params`` stay views of ``theta``; returns the network. Needs ``pip install "vecprop[array]"``."""
        xp, device = xpp.target(like, device)
        if (xp, device) == xpp.target(self._theta):
            return self
        self._theta = xpp.move(self._theta, xp, device)
        self._params = xpp.param_views(self._theta, self.layer_dims)
        state = None if self._training is None else self._training.opt_state
        for key, value in (state or {}).items():
            if not isinstance(value, (int, float)):
                state[key] = xpp.move(value, xp, device)
        self.caches, self._last = {}, None
        return self

    def _input(self, a, name, lead: bool = False):
        """``a`` validated in the parameters' namespace; with ``lead`` (X, A[L]) the parameters first move
        to ``a``'s namespace and device — everything follows X."""
        if lead and (xpp.is_foreign(a) or xpp.is_foreign(self._theta)):
            where = xpp.target(a) if xpp.is_foreign(a) else (None, None)
            if where != xpp.target(self._theta):
                self.to(*where)
        if not xpp.is_foreign(self._theta) and not xpp.is_foreign(a):
            return _finite_array(a, name, self.dtype)
        return xpp.finite_array(a, name, self.dtype, self._theta)

    def _math(self, a):
        """The seed's functions for ``a``: propagation (NumPy) or its Array API twin."""
        return xpp if xpp.is_foreign(a) else propagation

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
        X = self._input(X, "X", lead=True)
        n_0 = self.layer_dims[0]
        if X.ndim != 2:
            raise ValueError(
                f"X must be 2-D of shape (n_x, m) = ({n_0}, m) — columns are examples; got shape {X.shape}"
            )
        if X.shape[0] != n_0:
            hint = "; pass X.T" if X.shape[1] == n_0 else ""
            raise ValueError(
                f"X has shape {X.shape} but the network expects (n_x, m) = ({n_0}, m) — columns are examples{hint}"
            )
        if X.shape[1] == 0:
            raise ValueError("X has no examples (m = 0)")
        return X

    def check_Y(self, Y, m: int) -> np.ndarray:
        """Y as an (n_L, m) array matching A[L]; ValueError with the fix otherwise."""
        Y = self._input(Y, "Y")
        n_L = self.layer_dims[-1]
        if Y.ndim == 1 and n_L == 1 and Y.shape[0] == m:
            Y = xpp.reshape(Y, (1, m))
        if tuple(Y.shape) != (n_L, m):
            hint = "; pass Y.T" if Y.shape == (m, n_L) else ""
            one_hot = (
                " (for categorical_cross_entropy give one-hot columns, e.g. vecprop.one_hot(y, n_classes))"
                if self.loss.name == "categorical_cross_entropy" and Y.ndim == 1
                else ""
            )
            raise ValueError(f"Y has shape {Y.shape} but A[L] has shape (n_L, m) = ({n_L}, {m}){hint}{one_hot}")
        self.loss.check_targets(xpp.to_host(Y))  # a host copy for another namespace (Y is small)
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
        AL, self.caches = self._math(X).forward(X, self._params, self.activations, keep_prob=keep_prob, rng=self.rng)
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
        sample_weight = xpp.check_sample_weight(sample_weight, AL.shape[1], self.dtype, self._theta)
        return self._math(AL).backward(
            AL,
            Y,
            self.caches,
            self._params,
            self.activations,
            self.loss,
            keep_prob=keep_prob,
            sample_weight=sample_weight,
            l2=_check_l2(l2),
            need_dA0=need_dA0,
        )

    def cost(self, AL, Y, *, sample_weight=None, l2: float = 0.0) -> float:
        """Eq. (3), J = (1/m) Σ L(y(i), A[L](i)) (+ λ/(2m) Σ‖W‖² when l2 > 0).

        When AL is the output of the last :meth:`forward`, J is computed from the cached logits Z[L]
        and stays finite for any |Z|.
        """
        ZL = None
        if self._last is not None and AL is self._last[0]:
            ZL = self.head.cost_logits(self.caches[self.L].Z)
        else:
            AL = self._input(AL, "AL", lead=True)
        Y = self.check_Y(Y, AL.shape[1])
        sample_weight = xpp.check_sample_weight(sample_weight, AL.shape[1], self.dtype, self._theta)
        return self._math(AL).cost(
            AL, Y, self.loss, ZL=ZL, sample_weight=sample_weight, params=self._params, l2=_check_l2(l2)
        )

    def compute_cost(self, X, Y, *, sample_weight=None, l2: float = 0.0) -> float:
        """J on (X, Y): a forward pass without dropout, then :meth:`cost`."""
        return self.cost(self.forward(X), Y, sample_weight=sample_weight, l2=l2)

    # ----------------------------------------------------------------------------- use
    def predict_output(self, X) -> np.ndarray:
        """A[L] for X (no dropout, caches untouched); shape (n_L, m)."""
        X = self.check_X(X)
        if xpp.is_foreign(X):  # on X's device, in one piece
            return xpp.forward(X, self._params, self.activations)[0]
        step = predict_chunk(self.layer_dims, X.shape[1], self.dtype)  # bounded memory for a large m
        if step >= X.shape[1]:
            return propagation.forward(X, self._params, self.activations)[0]
        return np.hstack(
            [
                propagation.forward(X[:, i : i + step], self._params, self.activations)[0]
                for i in range(0, X.shape[1], step)
            ]
        )

    def predict(self, X) -> np.ndarray:
        """Predictions for X of shape (n_0, m).

        Returns
        -------
        softmax output: class indices of shape (1, m); sigmoid output: 0/1 of shape (n_L, m) (A > 0.5);
        anything else: A[L] itself, (n_L, m).
        """
        return xpp.predict(self.head, self.predict_output(X))

    def accuracy(self, X, Y) -> float:
        """Share of examples predicted right: argmax agreement for softmax, all n_L bits for sigmoid."""
        X = self.check_X(X)
        Y = self.check_Y(Y, X.shape[1])
        if not self.head.is_classifier:
            raise ValueError("accuracy is for classifiers (sigmoid or softmax output); use cost() for regression")
        return xpp.n_correct(self.head, self.predict_output(X), Y) / X.shape[1]

    def fit(self, X, Y, **kwargs):
        """Train by (mini-batch) gradient descent; see :func:`vecprop.training.fit` for every option.

        Continuing a trained network (a second ``fit``, or a model file saved with its training state)
        reuses the last fit's configuration — optimizer, learning rate, batch size, schedule, L2,
        dropout, clipping, validation and stopping rules — for every option not passed here, so
        ``vecprop.load(checkpoint).fit(X, Y, epochs=5)`` continues the same run. ``reset=True`` (or
        :meth:`reset_training`) starts afresh with :func:`~vecprop.training.fit`'s defaults.

        ``optimizer="lbfgs"`` trains full batch with SciPy's L-BFGS instead (``epochs`` iterations, also
        ``l2``, ``sample_weight``, ``tol``, ``max_fun``, ``engine``); see :func:`vecprop.lbfgs.fit_lbfgs`.
        """
        if kwargs.get("optimizer") == "lbfgs":
            return lbfgs.fit_lbfgs(self, X, Y, **kwargs)
        if self._training is not None and not kwargs.get("reset", False):
            kwargs = {**self.last_fit_config(), **kwargs}
        return training.fit(self, X, Y, **kwargs)

    def last_fit_config(self) -> dict:
        """The options of the last fit (from ``metadata["training"]``) that a continued fit reuses.

        Display options (``verbose``, ``print_every``) are left out; ``{}`` if there is none.
        """
        saved = self.metadata.get("training") if isinstance(self.metadata, dict) else None
        if not isinstance(saved, dict):
            return {}
        config = {k: v for k, v in saved.items() if k not in _DISPLAY_OPTIONS}
        weights = config.get("class_weight")
        if isinstance(weights, dict):  # JSON made the class indices strings
            config["class_weight"] = {int(k) if str(k).isdigit() else k: v for k, v in weights.items()}
        return config

    def summary(self, m=None, *, file=None) -> str:
        """The seed's "Variable / Dimensions" table for this architecture, returned as a string.

        The string shows as the table itself in a REPL (no quotes, no ``\\n``), so ``net.summary()``
        displays it once; ``print(net.summary())`` does the same in a script.

        Parameters
        ----------
        m : int, optional — examples per (mini)batch; shown as "m" when not given
        file : text stream, optional — also write the table there (e.g. ``sys.stdout``)
        """
        rows = self._summary_rows(m)
        width = max(len(r[0]) for r in rows)
        dwidth = max(len(r[1]) for r in rows)
        lines = [
            f"Network {self.layer_dims}  loss = {self.loss.name}  dtype = {self.dtype.name}",
            f"{'Variable':<{width}}  {'Dimensions':<{dwidth}}  Note",
        ]
        lines += [f"{name:<{width}}  {dims:<{dwidth}}  {note}".rstrip() for name, dims, note in rows]
        lines.append(f"Total parameters: {self.n_params}")
        text = _Text("\n".join(lines))
        if file is not None:
            print(text, file=file)
        return text

    def _summary_rows(self, m=None) -> list:
        """(Variable, Dimensions, Note) rows of the seed's table, for :meth:`summary` and Jupyter."""
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
        return rows

    def _repr_html_(self):
        """Jupyter: the seed's Variable/Dimensions table (``repr`` stays the one-line text form)."""
        from . import _html

        caption = (
            f"Network {self.layer_dims}: loss = {self.loss.name}, dtype = {self.dtype.name}, {self.n_params} parameters"
        )
        return _html.table(["Variable", "Dimensions", "Note"], self._summary_rows(), caption)

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
    def from_config(cls, config: dict) -> Network:
        """A new Network from :meth:`get_config`'s dict (fresh parameters from the initializer)."""
        return cls(
            config["layer_dims"],
            config["activations"],
            config["loss"],
            initializer=config.get("initializer"),
            seed=config.get("seed"),
            dtype=config.get("dtype", "float64"),
        )

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
        net = self if not xpp.is_foreign(self._theta) else self.copy().to(np)  # the same file from any device
        return save_network(net, path, include_training_state=include_training_state)

    def copy(self) -> Network:
        """A deep copy (parameters, Generator state, training state)."""
        return _copy.deepcopy(self)

    def __repr__(self):
        acts = [g.name for g in self.activations]
        return (
            f"Network(layer_dims={self.layer_dims}, activations={acts}, loss='{self.loss.name}', "
            f"dtype={self.dtype.name})"
        )


# --------------------------------------------------------------------------------- helpers
class _Text(str):
    """A string that a REPL shows as itself (a table), not as its quoted repr."""

    def __repr__(self):
        return str(self)


class _Params(dict):
    """``net.params``: the views W1, b1, ... of the flat parameter vector.

    Assigning one entry (``net.params["W1"] = A``) checks A's shape, type and values and copies it into
    the network's own array, so the views stay linked and ``forward`` sees the new values.
    """

    def __init__(self, views, dtype, layer_dims):
        super().__init__(views)
        self._dtype, self._layer_dims = dtype, layer_dims

    def __setitem__(self, key, value):
        if key not in self:
            raise ValueError(f"params has no entry {key!r}; its keys are {', '.join(self)}")
        target = dict.__getitem__(self, key)
        target[...] = _check_param(key, value, target.shape, self._dtype, self._layer_dims)

    def __delitem__(self, key):
        raise ValueError(f"params entries cannot be deleted (tried {key!r}); assign new values instead")

    def __reduce__(self):  # copy/deepcopy/pickle without going through __setitem__
        return (_Params, (dict(self), self._dtype, self._layer_dims))


def _check_param(key, value, shape, dtype, layer_dims) -> np.ndarray:
    """value as an array of ``shape`` and the network's dtype; ValueError naming the fix otherwise."""
    if isinstance(value, np.ndarray) and not (
        np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)
    ):
        raise ValueError(f"params['{key}'] has dtype {value.dtype}; give real numbers of shape {shape}")
    try:
        array = np.array(value, dtype=dtype)
    except (TypeError, ValueError):
        raise ValueError(
            f"params['{key}'] must be an array of real numbers of shape {shape}, got {type(value).__name__}"
        ) from None
    if array.shape != shape:
        hint = f"; did you mean params['{key}'].T?" if array.shape == shape[::-1] and len(shape) == 2 else ""
        raise ValueError(
            f"params['{key}'] has shape {array.shape} but layer_dims {layer_dims} needs {shape} "
            f"(W[l] is (n_l, n_{{l-1}}), b[l] is (n_l, 1)){hint}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"params['{key}'] contains NaN or inf")
    return array


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
        raise ValueError(
            f"got {len(activations)} activations for {L} layers; give one name for the hidden "
            f"layers, {L - 1} (hidden layers) or {L} (every layer, output included)"
        )
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
        raise ValueError(
            f"loss '{loss.name}' needs an output activation in {list(loss.valid_activations)} "
            f"(outputs in (0, 1)), got '{output.name}'"
        )
    return [*hidden, output], loss


# the boundary checks, shared with the trainer (kept under their old names)
_finite_array = finite_array
_check_weights = check_sample_weight
_check_l2 = check_l2
