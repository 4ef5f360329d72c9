"""The estimators' parameter table, declared once (like scikit-learn's ``_parameter_constraints``),
and its resolution into what :class:`vecprop.Network` and its ``fit`` take (a :class:`Plan`)."""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from vecprop.activations import get_activation
from vecprop.initializers import INITIALIZERS
from vecprop.optimizers import get_optimizer
from vecprop.schedules import _SKLEARN_RATES, MLPLearningRate, get_schedule

__all__ = [
    "PARAMETERS",
    "Param",
    "Plan",
    "SOLVERS",
    "check_params",
    "resolve",
    "activation_name",
    "activation_label",
    "is_int",
    "is_real",
]

SOLVERS = ("lbfgs", "sgd", "adam", "gd", "momentum", "nesterov", "rmsprop", "adamw")
_ACTIVATION_ALIASES = {"identity": "linear", "logistic": "sigmoid"}  # scikit-learn name -> vecprop name
_SKLEARN_NAMES = {"linear": "identity", "sigmoid": "logistic"}  # for out_activation_


def is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and not math.isnan(x)


def _is_bool(x) -> bool:
    return isinstance(x, (bool, np.bool_))


def _interval(low, high, closed="left"):
    """A real in [low, high) by default (closed: "left", "right", "both", "neither")."""

    def ok(v):
        return (
            is_real(v)
            and (v >= low if closed in ("left", "both") else v > low)
            and (v <= high if closed in ("right", "both") else v < high)
        )

    left = "[" if closed in ("left", "both") else "("
    right = "]" if closed in ("right", "both") else ")"
    return ok, f"a number in {left}{low:g}, {'inf' if math.isinf(high) else f'{high:g}'}{right}"


@dataclass(frozen=True)
class Param:
    """One estimator parameter: its default, its check (None: checked while resolving) and its doc."""

    default: Any
    check: Callable[[Any], bool] | None
    expected: str  # what the error message says the value must be
    doc: str


def _p(default, check_expected, doc):
    check, expected = check_expected if check_expected else (None, "")
    return Param(default, check, expected, doc)


_BOOL = (_is_bool, "True or False")
_POS_INT = (lambda v: is_int(v) and v >= 1, "an integer >= 1")

# name -> Param, in scikit-learn's order; the estimators' __init__ signatures repeat these defaults
# (scikit-learn reads parameters from the signature) and a test checks that they agree.
PARAMETERS: dict[str, Param] = {
    "loss": _p(
        "squared_error",
        ((lambda v: v in ("squared_error", "poisson")), "'squared_error' or 'poisson'"),
        "regressor only: squared error (linear output) or half Poisson deviance (exp output)",
    ),
    "hidden_layer_sizes": _p((100,), None, "n_1 .. n_{L-1}: an int or a sequence of positive ints"),
    "activation": _p(
        "relu",
        None,
        "hidden g: identity/linear, logistic/sigmoid, tanh, relu, any vecprop activation, or one per hidden layer",
    ),
    "solver": _p(
        "adam",
        ((lambda v: isinstance(v, str) and v in SOLVERS), "one of " + ", ".join(SOLVERS)),
        "lbfgs, sgd, adam (scikit-learn's) or vecprop's gd, momentum, nesterov, rmsprop, adamw",
    ),
    "alpha": _p(0.0001, _interval(0, math.inf), "L2 strength: alpha/(2 Σw)·Σ‖W‖² per batch"),
    "batch_size": _p(
        "auto",
        ((lambda v: v == "auto" or (is_int(v) and v >= 1)), "'auto' (min(200, n_samples)) or an integer >= 1"),
        "mini-batch size",
    ),
    "learning_rate": _p("constant", None, "constant, invscaling, adaptive, or a vecprop schedule name/spec"),
    "learning_rate_init": _p(0.001, _interval(0, math.inf, "neither"), "α0"),
    "power_t": _p(0.5, _interval(0, math.inf), "invscaling's exponent"),
    "max_iter": _p(200, (_POS_INT[0], "an integer >= 1 (epochs, or L-BFGS iterations)"), "epochs"),
    "shuffle": _p(True, _BOOL, "reshuffle the samples every epoch (scikit-learn's RandomState draws)"),
    "random_state": _p(
        None,
        (
            (lambda v: v is None or is_int(v) or isinstance(v, np.random.RandomState)),
            "None, an integer or a numpy.random.RandomState",
        ),
        "seeds the initial weights, the early-stopping split and the shuffles",
    ),
    "tol": _p(1e-4, _interval(0, math.inf), "improvement below which an epoch counts as no improvement"),
    "verbose": _p(
        False, ((lambda v: _is_bool(v) or is_int(v)), "True/False or an integer"), "print the loss per epoch"
    ),
    "warm_start": _p(False, _BOOL, "continue from the fitted weights"),
    "momentum": _p(0.9, _interval(0, 1, "both"), "sgd's momentum μ"),
    "nesterovs_momentum": _p(True, _BOOL, "Nesterov's look-ahead for sgd"),
    "early_stopping": _p(False, _BOOL, "stop on a held-out validation score"),
    "validation_fraction": _p(0.1, _interval(0, 1), "held-out share for early stopping"),
    "beta_1": _p(0.9, _interval(0, 1), "adam's β1"),
    "beta_2": _p(0.999, _interval(0, 1), "adam's β2"),
    "epsilon": _p(1e-8, _interval(0, math.inf, "neither"), "adam's ε (added to √s, as in scikit-learn)"),
    "n_iter_no_change": _p(
        10,
        ((lambda v: (is_int(v) and v >= 1) or v == np.inf), "an integer >= 1 or np.inf"),
        "epochs without improvement before stopping",
    ),
    "max_fun": _p(15000, (_POS_INT[0], "an integer >= 1 (L-BFGS function evaluations)"), "lbfgs only"),
    "keep_prob": _p(1.0, None, "vecprop: inverted dropout, probability of KEEPING a hidden unit"),
    "class_weight": _p(None, None, "vecprop, classifier only: None, 'balanced' or {label: weight}"),
    "output_activation": _p(None, None, "vecprop: the output g (default from the task)"),
    "initializer": _p(None, None, "vecprop: None (scikit-learn's draws) or vecprop initializer name(s)"),
    "engine": _p("auto", None, "vecprop: who computes the training steps (auto, numba, numpy, reference)"),
}


def activation_name(spec):
    """scikit-learn's identity/logistic become vecprop's linear/sigmoid; other specs pass through."""
    return _ACTIVATION_ALIASES.get(spec, spec) if isinstance(spec, str) else spec


def activation_label(g) -> str:
    return _SKLEARN_NAMES.get(g.name, g.name)


def check_params(est) -> None:
    """Every parameter with a declared check; ValueError names the parameter, the rule and the value."""
    name = type(est).__name__
    for param, spec in PARAMETERS.items():
        if spec.check is None or param not in est.__dict__:
            continue
        value = getattr(est, param)
        if not spec.check(value):
            hint = (
                " (momentum = 1 never forgets a gradient; vecprop's momentum needs β < 1)"
                if param == "momentum" and value == 1 and est.solver in ("momentum", "nesterov")
                else ""
            )
            raise ValueError(f"{name}: {param} must be {spec.expected}{hint}, got {value!r}")
    if est.solver in ("momentum", "nesterov") and est.momentum == 1:
        raise ValueError(
            f"{name}: momentum must be a number in [0, 1) (momentum = 1 never forgets a "
            f"gradient; vecprop's momentum needs β < 1), got {est.momentum!r}"
        )
    if est.early_stopping and est.validation_fraction == 0:
        raise ValueError(f"{name}: early_stopping=True needs validation_fraction in (0, 1), got 0")


@dataclass(frozen=True)
class Plan:
    """Every estimator parameter resolved to what :class:`vecprop.Network` and ``fit`` take."""

    hidden: tuple  # n_1 .. n_{L-1}
    activations: tuple  # vecprop specs for the hidden layers
    optimizer: Any  # an Optimizer, or None for lbfgs
    learning_rate: float  # α handed to fit
    schedule: Any  # None, an MLPLearningRate, or a vecprop schedule spec
    l2_on: bool  # alpha enters the cost as λ (False for adamw: decoupled decay)
    keep_prob: Any  # dropout keep probability, float or per hidden layer
    initializer: Any  # None (scikit-learn's draws) or vecprop initializer name(s)
    init_factor: float  # scikit-learn's Glorot factor: 2 for logistic hidden layers, else 6


def _hidden(est, name):
    hidden = est.hidden_layer_sizes
    hidden = [hidden] if is_int(hidden) or not hasattr(hidden, "__iter__") else list(hidden)
    if not all(is_int(n) and n >= 1 for n in hidden):
        raise ValueError(
            f"{name}: hidden_layer_sizes must be a positive integer or a sequence of them, e.g. "
            f"(100,) or (64, 32), got {est.hidden_layer_sizes!r}"
        )
    return tuple(int(n) for n in hidden)


def _activations(est, name, hidden):
    act = est.activation
    if isinstance(act, (list, tuple)):
        if len(act) != len(hidden):
            raise ValueError(
                f"{name}: activation lists {len(act)} names for {len(hidden)} hidden layers "
                f"(hidden_layer_sizes={est.hidden_layer_sizes!r}); give one name, or one "
                "per hidden layer"
            )
        acts = tuple(activation_name(a) for a in act)
    else:
        acts = (activation_name(act),) * len(hidden)
    for a in acts if acts else (activation_name(act),):
        try:
            get_activation(a)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"{name}: activation {a!r} is not known ({exc}); scikit-learn's identity, "
                "logistic, tanh and relu work too"
            ) from None
        if isinstance(a, str) and a == "softmax":
            raise ValueError(f"{name}: softmax is an output activation, not a hidden one")
    return acts


def _optimizer(est):
    """The optimizer for the solver (scikit-learn's own rules for sgd and adam) and its α."""
    solver = est.solver
    if solver == "lbfgs":
        return None
    if solver == "adam":
        spec = {"name": "sklearn_adam", "beta1": est.beta_1, "beta2": est.beta_2, "epsilon": est.epsilon}
    elif solver == "sgd":
        spec = {"name": "sklearn_sgd", "momentum": est.momentum, "nesterov": bool(est.nesterovs_momentum)}
    elif solver in ("momentum", "nesterov"):
        spec = {"name": solver, "beta": est.momentum}
    elif solver == "rmsprop":
        spec = {"name": "rmsprop", "beta": est.beta_2, "epsilon": est.epsilon}
    elif solver == "adamw":
        spec = {
            "name": "adamw",
            "beta1": est.beta_1,
            "beta2": est.beta_2,
            "epsilon": est.epsilon,
            "weight_decay": est.alpha,
        }
    else:
        spec = {"name": "gd"}
    return get_optimizer(spec)


def _schedule(est, name):
    rate = est.learning_rate
    if isinstance(rate, str) and rate in _SKLEARN_RATES:
        if est.solver in ("adam", "lbfgs") or rate == "constant":
            return None  # scikit-learn's adam ignores learning_rate
        return MLPLearningRate(policy=rate, power_t=est.power_t, min_learning_rate=1e-6)
    try:
        return get_schedule(rate)
    except (ValueError, TypeError) as exc:
        raise ValueError(
            f"{name}: learning_rate must be 'constant', 'invscaling', 'adaptive' or a "
            f"vecprop schedule name or spec; {exc}"
        ) from None


def _keep_prob(est, name, hidden):
    kp = est.keep_prob
    if np.ndim(kp) == 0:
        if not (is_real(kp) and 0 < kp <= 1):
            raise ValueError(
                f"{name}: keep_prob must be in (0, 1] (the probability of KEEPING a unit; 1 "
                f"disables dropout), got {kp!r}"
            )
        return kp
    if len(kp) != len(hidden):
        raise ValueError(
            f"{name}: keep_prob lists {len(kp)} values for {len(hidden)} hidden layers; "
            "give one float or one per hidden layer"
        )
    if not all(is_real(p) and 0 < p <= 1 for p in kp):
        raise ValueError(f"{name}: keep_prob must be values in (0, 1] (probabilities of KEEPING a unit), got {kp!r}")
    return [float(p) for p in kp]


def _initializer(est, name, hidden):
    init = est.initializer
    if init is None:
        return None
    names = [init] if isinstance(init, str) else list(init) if isinstance(init, (list, tuple)) else [init]
    if isinstance(init, (list, tuple)) and len(names) != len(hidden) + 1:
        raise ValueError(
            f"{name}: initializer lists {len(names)} names for {len(hidden) + 1} layers; give "
            "one name or one per layer (hidden layers and the output)"
        )
    for n in names:
        if n not in INITIALIZERS:
            raise ValueError(f"{name}: unknown initializer {n!r}; expected one of: {', '.join(sorted(INITIALIZERS))}")
    return list(init) if isinstance(init, (list, tuple)) else init


def resolve(est) -> Plan:
    """Check every parameter once and resolve it for the core; ValueError names the fix."""
    name = type(est).__name__
    check_params(est)
    hidden = _hidden(est, name)
    acts = _activations(est, name, hidden)
    if est.solver == "lbfgs" and np.any(np.asarray(est.keep_prob) != 1):
        raise ValueError(
            f"{name}: solver='lbfgs' minimizes one deterministic cost; dropout (keep_prob < 1) "
            "needs a stochastic solver such as 'adam'"
        )
    # scikit-learn's factor follows its (single) activation; for a per-layer list: 2 only if all are logistic
    logistic = all(a == "sigmoid" for a in acts) if acts else activation_name(est.activation) == "sigmoid"
    return Plan(
        hidden=hidden,
        activations=acts,
        optimizer=_optimizer(est),
        learning_rate=float(est.learning_rate_init),
        schedule=_schedule(est, name),
        l2_on=est.solver != "adamw",
        keep_prob=_keep_prob(est, name, hidden),
        initializer=_initializer(est, name, hidden),
        init_factor=2.0 if logistic else 6.0,
    )
