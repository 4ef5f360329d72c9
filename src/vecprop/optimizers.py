"""Parameter update rules: gd, momentum, nesterov, rmsprop, adam, adamw.

Each optimizer is a frozen dataclass of hyperparameters with an ``init``/``update`` pair and
explicit state, in the course's notation::

    opt = get_optimizer("adam", beta1=0.9)
    state = opt.init(params)                          # {"t": 0, "vdW1": 0, "sdW1": 0, ...}
    opt.update(params, grads, state, learning_rate)   # params and state change in place

State keys
----------
``"t"``
    Number of updates done so far (an ``int``); ``update`` increments it first, so Adam's bias
    correction uses t = 1 on the first step.
``"vd<key>"``, ``"sd<key>"``
    First moment / velocity ``v`` and second moment ``s`` of the gradient ``grads["d<key>"]``
    of ``params["<key>"]`` (``"vdW1"``, ``"sdb2"``, ...). Same shape and dtype as the parameter.
``"_<anything>"``
    Scratch buffers (``"_tmpW1"``) preallocated by ``init`` so that ``update`` allocates no
    arrays. They carry no information between steps and are never saved:
    ``state_for_saving`` drops every key that starts with ``"_"`` and ``state_from_saved``
    rebuilds them.

The model does not own the optimizer; the training loop holds ``opt`` and ``state``.

Keys are whatever ``params`` uses. Called directly (as :mod:`vecprop.course` does) they are the
per-layer ``"W1"``, ``"b1"``, ...; :func:`vecprop.training.fit` passes two groups instead,
``{"W": every W[l] as one flat vector, "b": every b[l]}`` (views of the network's parameters), so
its state holds ``"vdW"``, ``"sdb"``, ... and one update is one ``_step`` per group. A rule that
treats weights and biases differently (AdamW's decay) tests ``key.startswith("W")`` and works both
ways. Model files store the state per layer (``"vdW1"``) either way.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .registry import Registry, check_real

__all__ = [
    "OPTIMIZERS",
    "SCRATCH_PREFIX",
    "GD",
    "Adam",
    "AdamW",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSprop",
    "SklearnAdam",
    "SklearnSGD",
    "get_optimizer",
    "register_optimizer",
    "state_for_saving",
    "state_from_saved",
]

SCRATCH_PREFIX = "_"  # state keys starting with this are scratch buffers, never saved


class Optimizer:
    """Base class of the update rules; subclasses are frozen dataclasses.

    A subclass sets ``name`` (its registry key) and ``moments`` (which of ``"v"``, ``"s"`` it
    keeps per parameter), declares its hyperparameters as dataclass fields with ``_ranges``
    giving each one's valid interval, and implements ``_step``.
    """

    name: ClassVar[str] = ""
    moments: ClassVar[tuple[str, ...]] = ()
    # field name -> (low, high, low_open, high_open)
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {}

    def __post_init__(self) -> None:
        for field in dataclasses.fields(self):
            if field.name not in self._ranges:
                continue  # a user optimizer may validate its own extra fields
            low, high, low_open, high_open = self._ranges[field.name]
            value = check_real(
                f"optimizer '{self.name}'", field.name, getattr(self, field.name), low, high, low_open, high_open
            )
            # Python floats keep float32 arithmetic in float32 (NEP 50 weak scalars).
            object.__setattr__(self, field.name, value)

    def init(self, params: dict[str, np.ndarray]) -> dict[str, Any]:
        """Build the optimizer state for ``params``.

        Parameters
        ----------
        params : dict of str to ndarray
            ``"W1"`` of shape (n_1, n_0), ``"b1"`` of shape (n_1, 1), ...

        Returns
        -------
        state : dict
            ``"t"``: 0; for each parameter key ``k`` and each moment ``m`` of this optimizer,
            ``m + "d" + k`` (``"vdW1"``) zeros of the parameter's shape and dtype; and a scratch
            buffer ``"_tmp" + k`` of the same shape and dtype.
        """
        state: dict[str, Any] = {"t": 0}
        for key, value in params.items():
            for moment in self.moments:
                state[f"{moment}d{key}"] = np.zeros_like(value)
        for key, value in params.items():
            state[f"{SCRATCH_PREFIX}tmp{key}"] = np.empty_like(value)
        return state

    def update(
        self, params: dict[str, np.ndarray], grads: dict[str, np.ndarray], state: dict[str, Any], learning_rate: float
    ) -> None:
        """Apply one update to ``params`` and ``state``, in place.

        Parameters
        ----------
        params : dict of str to ndarray
            ``"W1"`` of shape (n_1, n_0), ``"b1"`` of shape (n_1, 1), ...; overwritten in place
            (the arrays keep their identity and dtype).
        grads : dict of str to ndarray
            ``"dW1"``, ``"db1"``, ... of the same shapes as the parameters.
        state : dict
            As returned by ``init`` for these params; updated in place, ``"t"`` incremented.
        learning_rate : float
            The step size alpha for this update.

        Returns
        -------
        None
        """
        state["t"] += 1
        alpha = float(learning_rate)
        t = state["t"]
        for key, W in params.items():
            self._step(key, W, grads["d" + key], state, state[f"{SCRATCH_PREFIX}tmp{key}"], alpha, t)

    def _step(
        self, key: str, W: np.ndarray, dW: np.ndarray, state: dict[str, Any], tmp: np.ndarray, alpha: float, t: int
    ) -> None:
        """Update one parameter array ``W`` (named ``key``) in place using scratch ``tmp``."""
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """Return ``{"name": ..., **hyperparameters}``, JSON-able; ``get_optimizer`` accepts it."""
        return {"name": self.name, **dataclasses.asdict(self)}


# In every rule below W stands for any parameter (W[l] or b[l]) and dW for its gradient.


@dataclass(frozen=True)
class GD(Optimizer):
    """Plain gradient descent: ``W = W - alpha * dW``."""

    name: ClassVar[str] = "gd"
    moments: ClassVar[tuple[str, ...]] = ()
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {}

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """W = W - alpha dW."""
        np.multiply(dW, alpha, out=tmp)
        W -= tmp  # W = W - alpha dW


@dataclass(frozen=True)
class Momentum(Optimizer):
    """Gradient descent with momentum, the course's exponentially weighted form.

    ``v = beta v + (1 - beta) dW``; ``W = W - alpha v``; ``v`` starts at 0 (no bias correction).
    """

    beta: float = 0.9  # weight of the previous velocity; 0 gives plain gd

    name: ClassVar[str] = "momentum"
    moments: ClassVar[tuple[str, ...]] = ("v",)
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {"beta": (0.0, 1.0, False, True)}

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """Momentum step."""
        v = state["vd" + key]
        np.multiply(dW, 1.0 - self.beta, out=tmp)
        v *= self.beta
        v += tmp  # v = beta v + (1 - beta) dW
        np.multiply(v, alpha, out=tmp)
        W -= tmp  # W = W - alpha v


@dataclass(frozen=True)
class Nesterov(Momentum):
    """Nesterov momentum in the course's (1 - beta)-scaled convention.

    ``v = beta v + (1 - beta) dW``; ``W = W - alpha (beta v + (1 - beta) dW)`` with the new ``v``.

    The look-ahead form: the step taken is the velocity the *next* momentum update would have
    if the gradient stayed ``dW``, so the update "looks ahead" along the velocity. This is the
    reformulation used by PyTorch's ``SGD(nesterov=True)`` and Keras's
    ``SGD(nesterov=True)`` (Sutskever et al., 2013), rescaled by ``(1 - beta)`` as the course
    scales momentum (PyTorch with ``dampening = 1 - beta``, whose step
    ``dW + beta v`` becomes ``(1 - beta) dW + beta v``).
    """

    name: ClassVar[str] = "nesterov"  # beta, moments and ranges as Momentum's

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """Nesterov step."""
        v = state["vd" + key]
        np.multiply(dW, 1.0 - self.beta, out=tmp)
        v *= self.beta
        v += tmp  # v = beta v + (1 - beta) dW
        tmp *= alpha
        W -= tmp  # W = W - alpha (1 - beta) dW ...
        np.multiply(v, alpha * self.beta, out=tmp)
        W -= tmp  # ... - alpha beta v


@dataclass(frozen=True)
class RMSprop(Optimizer):
    """RMSprop: ``s = beta s + (1 - beta) dW**2``; ``W = W - alpha dW / (sqrt(s) + epsilon)``."""

    beta: float = 0.9  # decay of the running mean of squared gradients
    epsilon: float = 1e-8  # keeps the division finite where s is 0

    name: ClassVar[str] = "rmsprop"
    moments: ClassVar[tuple[str, ...]] = ("s",)
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {
        "beta": (0.0, 1.0, False, True),
        "epsilon": (0.0, math.inf, True, True),
    }

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """RMSprop step."""
        s = state["sd" + key]
        np.multiply(dW, dW, out=tmp)
        tmp *= 1.0 - self.beta
        s *= self.beta
        s += tmp  # s = beta s + (1 - beta) dW^2
        np.sqrt(s, out=tmp)
        tmp += self.epsilon  # sqrt(s) + epsilon
        np.divide(dW, tmp, out=tmp)
        tmp *= alpha
        W -= tmp  # W = W - alpha dW / (sqrt(s) + epsilon)


@dataclass(frozen=True)
class Adam(Optimizer):
    """Adam with bias correction, as in the course.

    ``t = t + 1``;
    ``v = beta1 v + (1 - beta1) dW``; ``s = beta2 s + (1 - beta2) dW**2``;
    ``v_c = v / (1 - beta1**t)``; ``s_c = s / (1 - beta2**t)``;
    ``W = W - alpha v_c / (sqrt(s_c) + epsilon)``.
    """

    beta1: float = 0.9  # decay of the first moment (momentum) v
    beta2: float = 0.999  # decay of the second moment (RMSprop) s
    epsilon: float = 1e-8  # added to sqrt(s_c) to keep the division finite

    name: ClassVar[str] = "adam"
    moments: ClassVar[tuple[str, ...]] = ("v", "s")
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {
        "beta1": (0.0, 1.0, False, True),
        "beta2": (0.0, 1.0, False, True),
        "epsilon": (0.0, math.inf, True, True),
    }

    def _moments(self, key, dW, state, tmp):
        """Advance and return (v, s): v = beta1 v + (1 - beta1) dW; s = beta2 s + (1 - beta2) dW^2."""
        v = state["vd" + key]
        s = state["sd" + key]
        np.multiply(dW, 1.0 - self.beta1, out=tmp)
        v *= self.beta1
        v += tmp  # v = beta1 v + (1 - beta1) dW
        np.multiply(dW, dW, out=tmp)
        tmp *= 1.0 - self.beta2
        s *= self.beta2
        s += tmp  # s = beta2 s + (1 - beta2) dW^2
        return v, s

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """Adam step."""
        v, s = self._moments(key, dW, state, tmp)
        np.divide(s, 1.0 - self.beta2**t, out=tmp)  # s_c
        np.sqrt(tmp, out=tmp)
        tmp += self.epsilon  # sqrt(s_c) + epsilon
        np.divide(v, tmp, out=tmp)
        tmp *= alpha / (1.0 - self.beta1**t)  # alpha v_c / (sqrt(s_c) + epsilon)
        W -= tmp


@dataclass(frozen=True)
class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), PyTorch ``AdamW``'s form.

    Before the Adam step, weights decay by their own value, not through the gradient:
    ``W = W - alpha weight_decay W`` (PyTorch's ``p.mul_(1 - lr * weight_decay)``), then the
    Adam update above. The decay applies to the weights ``W1 ... WL`` (keys starting with
    ``"W"``) only; biases ``b[l]`` are not decayed.
    """

    weight_decay: float = 0.01  # lambda: fraction of W removed per unit learning rate

    name: ClassVar[str] = "adamw"
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {
        **Adam._ranges,
        "weight_decay": (0.0, math.inf, False, True),
    }

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """Decoupled decay, then the Adam step."""
        if key.startswith("W"):
            W *= 1.0 - alpha * self.weight_decay  # W = W - alpha lambda W
        super()._step(key, W, dW, state, tmp, alpha, t)


@dataclass(frozen=True)
class SklearnSGD(Optimizer):
    """scikit-learn MLP's SGD, in its own (not the course's) momentum convention.

    ``u = momentum u - alpha dW`` (the velocity, no (1 - beta) factor); ``W = W + u``, or with
    ``nesterov`` ``W = W + (momentum u - alpha dW)`` using the new ``u``. Kept in the state as ``"vd<key>"``.
    The estimators use it for ``solver="sgd"`` so that they take scikit-learn's steps exactly.
    """

    momentum: float = 0.9  # weight of the previous velocity (1 is allowed, as in scikit-learn)
    nesterov: bool = True  # scikit-learn's nesterovs_momentum

    name: ClassVar[str] = "sklearn_sgd"
    moments: ClassVar[tuple[str, ...]] = ("v",)
    _ranges: ClassVar[dict[str, tuple[float, float, bool, bool]]] = {"momentum": (0.0, 1.0, False, False)}

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.nesterov, (bool, np.bool_)):
            raise ValueError(f"optimizer '{self.name}': nesterov must be True or False, got {self.nesterov!r}")
        object.__setattr__(self, "nesterov", bool(self.nesterov))

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """scikit-learn's SGDOptimizer step."""
        u = state["vd" + key]
        np.multiply(dW, alpha, out=tmp)
        u *= self.momentum
        u -= tmp  # u = momentum u - alpha dW
        if self.nesterov:
            W += self.momentum * u - tmp  # W = W + (momentum u - alpha dW), the new u
        else:
            W += u  # W = W + u


@dataclass(frozen=True)
class SklearnAdam(Adam):
    """scikit-learn MLP's Adam: ε added to √s (not to the bias-corrected √ŝ as in the course).

    ``v``, ``s`` as in :class:`Adam`; ``alpha_t = alpha sqrt(1 - beta2**t) / (1 - beta1**t)``;
    ``W = W - alpha_t v / (sqrt(s) + epsilon)``. The estimators use it for ``solver="adam"``.
    """

    name: ClassVar[str] = "sklearn_adam"  # beta1, beta2, epsilon and ranges as Adam's

    def _step(self, key, W, dW, state, tmp, alpha, t):
        """scikit-learn's AdamOptimizer step."""
        v, s = self._moments(key, dW, state, tmp)
        alpha_t = alpha * math.sqrt(1.0 - self.beta2**t) / (1.0 - self.beta1**t)
        np.sqrt(s, out=tmp)
        tmp += self.epsilon  # sqrt(s) + epsilon
        np.divide(v, tmp, out=tmp)
        tmp *= alpha_t
        W -= tmp  # W = W - alpha_t v / (sqrt(s) + epsilon)


_REGISTRY: Registry[Optimizer] = Registry(
    "optimizer",
    Optimizer,
    "gd",
    (GD, Momentum, Nesterov, RMSprop, Adam, AdamW, SklearnSGD, SklearnAdam),
    "a name, an Optimizer or a dict",
)
OPTIMIZERS: dict[str, type[Optimizer]] = _REGISTRY.classes


def register_optimizer(name: str, cls: type[Optimizer]) -> type[Optimizer]:
    """Add an optimizer class to ``OPTIMIZERS`` so ``get_optimizer(name)`` builds it.

    Parameters
    ----------
    name : str
        The registry key; must equal ``cls.name`` so that ``get_config`` round-trips.
    cls : subclass of Optimizer
        A frozen dataclass defining ``name``, ``moments``, ``_ranges`` and ``_step``.

    Returns
    -------
    cls : the class, unchanged.

    Raises
    ------
    ValueError
        If ``cls`` is not a dataclass subclass of Optimizer, ``cls.name != name``, or
        ``name`` is already registered.
    """
    return _REGISTRY.register(name, cls)


def get_optimizer(spec: Any = None, **overrides: Any) -> Optimizer:
    """Return the optimizer that ``spec`` names.

    Parameters
    ----------
    spec : str, Optimizer, dict or None
        A registry name (``"adam"``, case-insensitive), an Optimizer instance, or a dict
        ``{"name": "adam", "beta1": 0.9, ...}`` as ``get_config`` returns. None means ``"gd"``.
    **overrides
        Hyperparameters that replace those in ``spec``.

    Returns
    -------
    Optimizer

    Raises
    ------
    ValueError
        For an unknown name (listing the known ones), an unknown hyperparameter, or a
        hyperparameter outside its valid range (naming it and the range).
    TypeError
        If ``spec`` is none of the accepted types.
    """
    return _REGISTRY.get(spec, **overrides)


def state_for_saving(state: dict[str, Any]) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
    """Split an optimizer state into what a checkpoint must store.

    Parameters
    ----------
    state : dict
        As built by ``Optimizer.init`` and advanced by ``update``.

    Returns
    -------
    arrays : dict of str to ndarray
        Copies of the moment arrays (``"vdW1"``, ``"sdb1"``, ...), dtype unchanged.
    scalars : dict
        JSON-able scalars, ``{"t": int}``.

    Scratch entries (keys starting with ``"_"``) are left out.
    """
    arrays: dict[str, np.ndarray] = {}
    scalars: dict[str, Any] = {}
    for key, value in state.items():
        if key.startswith(SCRATCH_PREFIX):
            continue
        if isinstance(value, np.ndarray):
            arrays[key] = value.copy()
        else:
            scalars[key] = int(value) if isinstance(value, numbers.Integral) else value
    return arrays, scalars


def state_from_saved(
    opt: Optimizer, params: dict[str, np.ndarray], arrays: dict[str, np.ndarray], scalars: dict[str, Any]
) -> dict[str, Any]:
    """Rebuild the state that ``state_for_saving`` split, so training continues bit-identically.

    Parameters
    ----------
    opt : Optimizer (or any spec ``get_optimizer`` accepts)
        The optimizer the state was saved from.
    params : dict of str to ndarray
        The parameters the state belongs to (``"W1"`` of shape (n_1, n_0), ...).
    arrays, scalars : dict
        As returned by ``state_for_saving`` (possibly after a trip through a file).

    Returns
    -------
    state : dict
        A fresh ``opt.init(params)`` with the saved moments copied in (cast to each
        parameter's dtype) and the saved ``"t"``; scratch buffers rebuilt.

    Raises
    ------
    ValueError
        If the saved keys or shapes do not match what ``opt`` keeps for ``params``, or
        ``"t"`` is not a non-negative integer.
    """
    opt = get_optimizer(opt)
    state = opt.init(params)
    expected = sorted(k for k, v in state.items() if not k.startswith(SCRATCH_PREFIX) and isinstance(v, np.ndarray))
    missing = sorted(set(expected) - set(arrays))
    extra = sorted(set(arrays) - set(expected))
    if missing or extra:
        raise ValueError(
            f"saved optimizer state does not fit optimizer '{opt.name}' on these parameters: "
            f"missing {missing}, unexpected {extra}; was it saved from another optimizer "
            "or architecture?"
        )
    for key in expected:
        saved = np.asarray(arrays[key])
        if saved.shape != state[key].shape:
            raise ValueError(
                f"saved optimizer state {key!r} has shape {saved.shape} but the "
                f"parameter needs {state[key].shape}; was it saved from another "
                "architecture?"
            )
        np.copyto(state[key], saved, casting="same_kind")
    t = scalars.get("t")
    if isinstance(t, float) and t.is_integer():
        t = int(t)
    if not isinstance(t, numbers.Integral) or isinstance(t, bool) or t < 0:
        raise ValueError(f"saved optimizer state needs 't', a non-negative integer step count; got {t!r}")
    state["t"] = int(t)
    return state
