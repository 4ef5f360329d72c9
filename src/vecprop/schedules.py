"""Learning-rate schedules alpha(epoch) with explicit, JSON-able state.

Each schedule is a frozen dataclass of hyperparameters; what changes during training lives in a
plain dict of floats, ints and None that ``json.dumps`` writes and ``json.loads`` restores::

    sched = get_schedule("inverse_time", decay_rate=1.0)
    state = sched.init(learning_rate0)
    for epoch in range(num_epochs):
        alpha = sched.learning_rate(state, epoch)   # the rate used during this 0-based epoch
        ...                                         # one epoch of updates with alpha
        sched.step(state, epoch, monitored)         # loss or val_loss of the epoch just ended

Closed-form schedules (constant, inverse_time, exponential, step, cosine, invscaling) depend
only on ``epoch`` and ``state["learning_rate0"]``; their ``step`` does nothing. Plateau
schedules (reduce_on_plateau, adaptive) keep the current rate in ``state["learning_rate"]`` and
change it in ``step`` from the monitored value, which they try to minimize; their class
attribute ``monitors`` is True so the training loop knows to pass one.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass
from typing import Any, ClassVar

from .registry import Registry, check_int, check_real

__all__ = [
    "SCHEDULES",
    "Adaptive",
    "Constant",
    "Cosine",
    "Exponential",
    "InverseTime",
    "InvScaling",
    "ReduceOnPlateau",
    "Schedule",
    "Step",
    "get_schedule",
    "register_schedule",
]


class Schedule:
    """Base class of the schedules; subclasses are frozen dataclasses.

    A subclass sets ``name`` (its registry key), validates its fields in ``_validate`` and
    implements ``_rate``; plateau schedules also set ``monitors = True`` and override ``init``
    and ``step``.
    """

    name: ClassVar[str] = ""
    monitors: ClassVar[bool] = False  # True if step() needs the monitored value

    def __post_init__(self) -> None:
        self._validate()

    def _validate(self) -> None:
        """Check and normalize the hyperparameters (subclasses with fields override)."""

    def _set(self, name: str, value: Any) -> None:
        """Store a normalized hyperparameter on the frozen instance."""
        object.__setattr__(self, name, value)

    def _real(
        self, name: str, low: float, high: float = math.inf, low_open: bool = False, high_open: bool = True
    ) -> None:
        """Validate the real field ``name`` against an interval and store it as a float."""
        self._set(
            name, check_real(f"schedule '{self.name}'", name, getattr(self, name), low, high, low_open, high_open)
        )

    def _int(self, name: str, minimum: int) -> None:
        """Validate the integer field ``name`` against a minimum and store it as an int."""
        self._set(name, check_int(f"schedule '{self.name}'", name, getattr(self, name), minimum))

    def init(self, learning_rate0: float) -> dict[str, Any]:
        """Return the schedule state for the initial learning rate.

        Parameters
        ----------
        learning_rate0 : float
            alpha_0, the rate at epoch 0; finite and > 0.

        Returns
        -------
        state : dict
            ``{"learning_rate0": alpha_0}`` (plateau schedules add their counters); only
            floats, ints and None, so ``json.loads(json.dumps(state))`` restores it.

        Raises
        ------
        ValueError
            If ``learning_rate0`` is not a finite number > 0.
        """
        learning_rate0 = check_real(
            f"schedule '{self.name}'", "learning_rate", learning_rate0, 0.0, math.inf, True, True
        )
        return {"learning_rate0": learning_rate0}

    def learning_rate(self, state: dict[str, Any], epoch: int) -> float:
        """Return the learning rate to use during the 0-based ``epoch``.

        Parameters
        ----------
        state : dict
            As returned by ``init`` (and advanced by ``step``).
        epoch : int
            0 for the first epoch.

        Returns
        -------
        float

        Raises
        ------
        ValueError
            If ``epoch`` is not an integer >= 0.
        """
        epoch = check_int(f"schedule '{self.name}'", "epoch", epoch, 0)
        return float(self._rate(state, epoch))

    def _rate(self, state: dict[str, Any], epoch: int) -> float:
        """The rate during ``epoch`` (validated)."""
        raise NotImplementedError

    def step(self, state: dict[str, Any], epoch: int, monitored: float | None) -> None:
        """Advance ``state`` after ``epoch`` ended; closed-form schedules ignore this.

        Parameters
        ----------
        state : dict
            Mutated in place.
        epoch : int
            The 0-based epoch that just ended.
        monitored : float or None
            The value to minimize (training loss or val_loss) at the end of ``epoch``;
            required when ``monitors`` is True.

        Returns
        -------
        None
        """

    def get_config(self) -> dict[str, Any]:
        """Return ``{"name": ..., **hyperparameters}``, JSON-able; ``get_schedule`` accepts it."""
        return {"name": self.name, **dataclasses.asdict(self)}


@dataclass(frozen=True)
class Constant(Schedule):
    """alpha = alpha_0 at every epoch."""

    name: ClassVar[str] = "constant"

    def _rate(self, state, epoch):
        """alpha_0."""
        return state["learning_rate0"]


@dataclass(frozen=True)
class InverseTime(Schedule):
    """The course's learning-rate decay, ``alpha = alpha_0 / (1 + decay_rate * k)``.

    ``k = epoch / time_interval``, or ``floor(epoch / time_interval)`` when ``staircase``.
    The defaults give the course's ``update_lr``: ``alpha_0 / (1 + decay_rate * epoch)``;
    ``staircase=True, time_interval=1000`` gives its ``schedule_lr_decay``:
    ``alpha_0 / (1 + decay_rate * floor(epoch / time_interval))``. (Keras's
    ``InverseTimeDecay`` with ``decay_steps = time_interval``, counted in epochs.)
    """

    decay_rate: float = 1.0  # the course's decay_rate; 0 keeps alpha constant
    staircase: bool = False  # decay in whole steps of time_interval epochs
    time_interval: int = 1  # epochs per unit of decay (the course's staircase uses 1000)

    name: ClassVar[str] = "inverse_time"

    def _validate(self):
        """decay_rate >= 0, time_interval >= 1, staircase a bool."""
        self._real("decay_rate", 0.0)
        self._int("time_interval", 1)
        if not isinstance(self.staircase, bool):
            raise ValueError(f"schedule '{self.name}': staircase must be True or False, got {self.staircase!r}")

    def _rate(self, state, epoch):
        """alpha_0 / (1 + decay_rate k)."""
        if self.staircase:
            k = epoch // self.time_interval  # floor(epoch / time_interval)
        else:
            k = epoch / self.time_interval
        return state["learning_rate0"] / (1.0 + self.decay_rate * k)


@dataclass(frozen=True)
class Exponential(Schedule):
    """``alpha = alpha_0 * gamma**epoch`` (PyTorch ``ExponentialLR``)."""

    gamma: float = 0.95  # factor applied every epoch

    name: ClassVar[str] = "exponential"

    def _validate(self):
        """0 < gamma <= 1."""
        self._real("gamma", 0.0, 1.0, low_open=True, high_open=False)

    def _rate(self, state, epoch):
        """alpha_0 gamma^epoch."""
        return state["learning_rate0"] * self.gamma**epoch


@dataclass(frozen=True)
class Step(Schedule):
    """``alpha = alpha_0 * gamma**floor(epoch / step_size)`` (PyTorch ``StepLR``)."""

    step_size: int = 10  # epochs between reductions
    gamma: float = 0.1  # factor applied every step_size epochs

    name: ClassVar[str] = "step"

    def _validate(self):
        """step_size >= 1, 0 < gamma <= 1."""
        self._int("step_size", 1)
        self._real("gamma", 0.0, 1.0, low_open=True, high_open=False)

    def _rate(self, state, epoch):
        """alpha_0 gamma^floor(epoch / step_size)."""
        return state["learning_rate0"] * self.gamma ** (epoch // self.step_size)


@dataclass(frozen=True)
class Cosine(Schedule):
    """Cosine annealing from alpha_0 to eta_min over T_max epochs, then eta_min.

    ``alpha = eta_min + (alpha_0 - eta_min) (1 + cos(pi min(epoch, T_max) / T_max)) / 2``
    (PyTorch ``CosineAnnealingLR``'s closed form, held at eta_min after T_max, no restarts).
    """

    T_max: int = 100  # epochs to go from alpha_0 down to eta_min
    eta_min: float = 0.0  # the final learning rate

    name: ClassVar[str] = "cosine"

    def _validate(self):
        """T_max >= 1, eta_min >= 0."""
        self._int("T_max", 1)
        self._real("eta_min", 0.0)

    def init(self, learning_rate0):
        """As ``Schedule.init``; also raises ValueError if eta_min > learning_rate0."""
        state = super().init(learning_rate0)
        if self.eta_min > state["learning_rate0"]:
            raise ValueError(
                f"schedule '{self.name}': eta_min={self.eta_min!r} is above the "
                f"initial learning rate {state['learning_rate0']!r}; "
                "cosine annealing decreases the rate, so lower eta_min"
            )
        return state

    def _rate(self, state, epoch):
        """eta_min + (alpha_0 - eta_min)(1 + cos(pi min(epoch, T_max)/T_max))/2."""
        progress = min(epoch, self.T_max) / self.T_max
        return self.eta_min + (state["learning_rate0"] - self.eta_min) * (1.0 + math.cos(math.pi * progress)) / 2.0


@dataclass(frozen=True)
class InvScaling(Schedule):
    """scikit-learn's ``learning_rate="invscaling"``: ``alpha = alpha_0 / (epoch + 1)**power_t``.

    scikit-learn's ``MLPClassifier`` counts ``t`` in samples seen; here ``t = epoch + 1``.
    """

    power_t: float = 0.5  # exponent of the inverse scaling (scikit-learn's default)

    name: ClassVar[str] = "invscaling"

    def _validate(self):
        """power_t >= 0."""
        self._real("power_t", 0.0)

    def _rate(self, state, epoch):
        """alpha_0 / (epoch + 1)^power_t."""
        return state["learning_rate0"] / (epoch + 1) ** self.power_t


def _require_monitored(name: str, monitored: Any) -> float:
    """Return ``monitored`` as a float, or raise ValueError if it is missing."""
    if monitored is None or isinstance(monitored, bool) or not isinstance(monitored, numbers.Real):
        raise ValueError(
            f"schedule '{name}' needs the monitored value (loss or val_loss) "
            f"at the end of every epoch, got {monitored!r}"
        )
    return float(monitored)


@dataclass(frozen=True)
class ReduceOnPlateau(Schedule):
    """Multiply the rate by ``factor`` when the monitored value stops decreasing.

    After each epoch: an epoch *improves* if ``monitored < best - min_delta`` (absolute
    threshold, as Keras; the first finite value always improves; NaN and inf never do). An
    improvement sets ``best`` and clears the count of bad epochs. During the ``cooldown``
    epochs right after a reduction bad epochs are not counted (PyTorch's order). After
    ``patience`` consecutive bad epochs (Keras's count; PyTorch reduces one epoch later) the
    rate becomes ``max(rate * factor, min_lr)`` if it is above ``min_lr``.

    State: ``learning_rate0``, ``learning_rate`` (current), ``best`` (None until the first
    finite value), ``wait`` (bad epochs counted), ``cooldown_counter`` (epochs of cooldown left),
    ``num_reductions``.
    """

    factor: float = 0.1  # multiplies the rate at each reduction
    patience: int = 10  # consecutive epochs without improvement before a reduction
    min_delta: float = 1e-4  # a decrease smaller than this is not an improvement
    cooldown: int = 0  # epochs after a reduction in which bad epochs are not counted
    min_lr: float = 0.0  # the rate never goes below this

    name: ClassVar[str] = "reduce_on_plateau"
    monitors: ClassVar[bool] = True

    def _validate(self):
        """0 < factor < 1, patience >= 0, min_delta >= 0, cooldown >= 0, min_lr >= 0."""
        self._real("factor", 0.0, 1.0, low_open=True, high_open=True)
        self._int("patience", 0)
        self._real("min_delta", 0.0)
        self._int("cooldown", 0)
        self._real("min_lr", 0.0)

    def init(self, learning_rate0):
        """As ``Schedule.init``, plus the plateau counters."""
        state = super().init(learning_rate0)
        state.update(learning_rate=state["learning_rate0"], best=None, wait=0, cooldown_counter=0, num_reductions=0)
        return state

    def _rate(self, state, epoch):
        """The current rate."""
        return state["learning_rate"]

    def step(self, state, epoch, monitored):
        """Count the epoch as an improvement or not; reduce the rate after ``patience``."""
        value = _require_monitored(self.name, monitored)
        best = state["best"]
        if math.isfinite(value) and (best is None or value < best - self.min_delta):
            state["best"] = value
            state["wait"] = 0
        else:
            state["wait"] += 1
        if state["cooldown_counter"] > 0:
            state["cooldown_counter"] -= 1
            state["wait"] = 0
        if state["wait"] >= self.patience and state["wait"] > 0:
            old = state["learning_rate"]
            if old > self.min_lr:
                state["learning_rate"] = max(old * self.factor, self.min_lr)
                state["num_reductions"] += 1
            state["cooldown_counter"] = self.cooldown
            state["wait"] = 0


@dataclass(frozen=True)
class Adaptive(Schedule):
    """scikit-learn MLP's ``learning_rate="adaptive"``: divide the rate by 5 on a plateau.

    After each epoch the epoch is *bad* if ``monitored > best - tol`` (NaN is bad), else the
    bad count resets; then ``best = min(best, monitored)`` (any decrease updates ``best``, as
    scikit-learn does). After 2 consecutive bad epochs the rate is divided by 5 and the count
    resets. Unlike scikit-learn, training is not stopped when the rate falls below 1e-6
    (stopping is the training loop's job), and the 2 is fixed rather than ``n_iter_no_change``.

    State: ``learning_rate0``, ``learning_rate``, ``best``, ``wait``, ``num_reductions``.
    """

    tol: float = 1e-4  # a decrease smaller than this counts as no improvement

    name: ClassVar[str] = "adaptive"
    monitors: ClassVar[bool] = True
    patience: ClassVar[int] = 2  # consecutive bad epochs before a reduction
    divisor: ClassVar[float] = 5.0  # the rate is divided by this at each reduction

    def _validate(self):
        """tol >= 0."""
        self._real("tol", 0.0)

    def init(self, learning_rate0):
        """As ``Schedule.init``, plus the plateau counters."""
        state = super().init(learning_rate0)
        state.update(learning_rate=state["learning_rate0"], best=None, wait=0, num_reductions=0)
        return state

    def _rate(self, state, epoch):
        """The current rate."""
        return state["learning_rate"]

    def step(self, state, epoch, monitored):
        """Count bad epochs against ``best - tol``; divide the rate by 5 after 2 in a row."""
        value = _require_monitored(self.name, monitored)
        best = state["best"]
        if best is not None and not value <= best - self.tol:
            state["wait"] += 1
        else:
            state["wait"] = 0
        if math.isfinite(value) and (best is None or value < best):
            state["best"] = value
        if state["wait"] >= self.patience:
            state["learning_rate"] = state["learning_rate"] / self.divisor
            state["num_reductions"] += 1
            state["wait"] = 0


_SKLEARN_RATES = ("constant", "invscaling", "adaptive")


@dataclass(frozen=True)
class MLPLearningRate(Schedule):
    """scikit-learn MLP's ``learning_rate`` rules, stepped by the estimator at the end of each epoch.

    ``constant``: α = α0. ``invscaling``: after each epoch α = α0 / (t + 1)^power_t, t the number of
    samples seen so far (scikit-learn's ``t_``). ``adaptive``: each time the loss stalls (the
    estimator's convergence rule fires) α is divided by 5, and training stops once α is already at or
    below ``min_learning_rate``. State: ``learning_rate0``, ``learning_rate`` (current), JSON-able.

    The estimators hand it to the trainer; it is registered as ``sklearn_mlp`` so that a network saved
    mid-training with it loads and resumes like any other.
    """

    policy: str = "constant"  # constant, invscaling or adaptive (scikit-learn's learning_rate)
    power_t: float = 0.5  # exponent of invscaling
    min_learning_rate: float = 1e-6  # adaptive stops instead of dividing at or below this rate

    name: ClassVar[str] = "sklearn_mlp"

    def _validate(self):
        """policy one of the three; power_t >= 0; min_learning_rate >= 0."""
        if self.policy not in _SKLEARN_RATES:
            raise ValueError(
                f"schedule '{self.name}': policy must be one of {', '.join(_SKLEARN_RATES)}, got {self.policy!r}"
            )
        self._real("power_t", 0.0)
        self._real("min_learning_rate", 0.0)

    def init(self, learning_rate0):
        """As ``Schedule.init``, plus the current rate."""
        state = super().init(learning_rate0)
        state["learning_rate"] = state["learning_rate0"]
        return state

    def _rate(self, state, epoch):
        """The current rate."""
        return state["learning_rate"]

    def samples_seen(self, state, t: int) -> None:
        """invscaling: α = α0 / (t + 1)^power_t after an epoch that brought the count to t."""
        if self.policy == "invscaling":
            state["learning_rate"] = state["learning_rate0"] / (t + 1) ** self.power_t

    def stalled(self, state) -> bool:
        """The loss stalled: divide α by 5 (adaptive) and return False, or return True to stop."""
        if self.policy != "adaptive" or state["learning_rate"] <= self.min_learning_rate:
            return True
        state["learning_rate"] /= 5.0
        return False


_REGISTRY: Registry[Schedule] = Registry(
    "schedule",
    Schedule,
    "constant",
    (Constant, InverseTime, Exponential, Step, Cosine, InvScaling, ReduceOnPlateau, Adaptive, MLPLearningRate),
    "None, a name, a Schedule or a dict",
)
SCHEDULES: dict[str, type[Schedule]] = _REGISTRY.classes


def register_schedule(name: str, cls: type[Schedule]) -> type[Schedule]:
    """Add a schedule class to ``SCHEDULES`` so ``get_schedule(name)`` builds it.

    Parameters
    ----------
    name : str
        Key that ``get_schedule`` looks up; the same as ``cls.name``, so that a saved
        ``get_config()`` builds the class again.
    cls : type
        A frozen-dataclass subclass of Schedule implementing ``_rate`` (and ``init`` and
        ``step`` if it monitors a value).

    Returns
    -------
    type
        The class passed in, so that the call can be used inline.

    Raises
    ------
    ValueError
        If ``cls`` is no dataclass subclass of Schedule, its ``name`` attribute differs from
        ``name``, or another class already holds ``name``.
    """
    return _REGISTRY.register(name, cls)


def get_schedule(spec: Any = None, **overrides: Any) -> Schedule:
    """Return the schedule that ``spec`` names.

    Parameters
    ----------
    spec : str, Schedule, dict or None
        None or ``"constant"`` for a constant rate; a registry name (case-insensitive); a
        Schedule instance; or a dict ``{"name": "step", "step_size": 30}`` as ``get_config``
        returns.
    **overrides
        Hyperparameters replacing those that ``spec`` gives.

    Returns
    -------
    Schedule
        The instance itself when ``spec`` is a Schedule and there are no overrides.

    Raises
    ------
    ValueError
        If the name is not registered or a hyperparameter is unknown (the message lists the
        valid ones), or a hyperparameter is out of range (the message gives the range).
    TypeError
        If ``spec`` is not None, a str, a Schedule or a dict.
    """
    return _REGISTRY.get(spec, **overrides)
