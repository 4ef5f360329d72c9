"""The fit loop: mini-batches, optimizers, schedules, L2, dropout, weights, validation, early stopping.

Each step is the seed's: forward (eqs. 1–2), the cost (eq. 3), BP1–BP4 backward, then the optimizer's
update (for ``gd``, W −= α dW and b −= α db). Calling :func:`fit` again on the same network CONTINUES:
optimizer state (t, v, s), the schedule's position and the Generator carry on, so ``fit(E)`` twice gives
bit for bit the parameters of ``fit(2E)``. ``net.reset_training()`` starts afresh.
"""

from __future__ import annotations

import contextlib
import inspect
import math
import time
from dataclasses import dataclass, field, fields

import numpy as np

from . import propagation
from .callbacks import Callback, PrintCost, ProgressBar
from .distributed import get_reducer, local_batches, rank_stream, start_fit
from .engines import N_SCALARS, clip_global_norm, get_engine
from .engines import xp_propagation as xpp
from .engines.base import batch_size_of
from .head import class_weights, target_labels
from .memory import check_fit
from .optimizers import SCRATCH_PREFIX, get_optimizer, state_for_saving, state_from_saved
from .reducers import LocalReducer
from .schedules import get_schedule
from .stopping import CallbackStop, EarlyStopping, Interrupt, StoppingRule

__all__ = [
    "fit",
    "Trainer",
    "FitConfig",
    "History",
    "TrainerState",
    "DivergenceError",
    "mini_batches",
    "class_weights",
    "train_validation_split",
]


STEPS_FLOP = 2e9  # work of one engine.steps call (tens of ms here, well under a second): Ctrl-C stays responsive


class DivergenceError(FloatingPointError, ValueError):
    """The cost became NaN or infinite; the network keeps its last finite parameters."""


def _is_int(v, low=1) -> bool:
    return isinstance(v, (int, np.integer)) and v >= low


def _hp(default, doc: str, check=None, message: str = ""):
    """One hyperparameter, declared once: default, doc, and ``check(value, net) -> bool`` with the message
    (formatted with ``value``) of the ValueError it raises otherwise."""
    return field(default=default, metadata={"doc": doc, "check": check, "message": message})


@dataclass(frozen=True)
class FitConfig:
    """Every training hyperparameter, declared once (default, check, doc); kept with saved models.

    :func:`fit` and ``Network.fit`` take exactly these names as keyword arguments; :meth:`check`
    validates them against a network; ``FitConfig.doc()`` lists them.
    """

    epochs: int = _hp(
        100, "passes over the training set", lambda v, net: _is_int(v), "epochs must be an integer >= 1, got {value!r}"
    )
    learning_rate: float = _hp(
        0.01,
        "α (α0 for a schedule)",
        lambda v, net: np.isfinite(v) and v > 0,
        "learning_rate must be a positive number, got {value!r}",
    )
    optimizer: object = _hp("gd", "gd, momentum, nesterov, rmsprop, adam, adamw, or a spec/object")
    batch_size: int | None = _hp(
        None,
        "None: the seed's batch gradient descent over all m examples",
        lambda v, net: v is None or _is_int(v),
        "batch_size must be None (all examples) or an integer >= 1, got {value!r}",
    )
    shuffle: bool = _hp(True, "reshuffle the columns every epoch (mini-batches only)")
    schedule: object = _hp(None, "learning-rate schedule; None keeps α constant")
    l2: float = _hp(
        0.0,
        "λ of the course's L2 regularization",
        lambda v, net: np.isfinite(v) and v >= 0,
        "l2 (λ) must be a number >= 0, got {value!r}",
    )
    keep_prob: object = _hp(
        1.0,
        "inverted dropout: keep probability, one float or one per hidden layer",
        lambda v, net: propagation.keep_probs(v, net.L) is not None,
    )
    clip_norm: float | None = _hp(
        None,
        "clip the gradient's global norm to this value",
        lambda v, net: v is None or (np.isfinite(v) and v > 0),
        "clip_norm must be None or a positive number, got {value!r}",
    )
    class_weight: object = _hp(None, '"balanced" or {class: weight}')
    validation_fraction: float = _hp(
        0.0,
        "share of examples held out (stratified for classifiers)",
        lambda v, net: 0 <= v < 1,
        "validation_fraction must be in [0, 1), got {value!r}",
    )
    validation_seed: int | None = _hp(None, "seed of that split; default the network's seed (or 0)")
    early_stopping: bool = _hp(False, "stop when `monitor` has not improved for `patience` epochs")
    monitor: str = _hp(
        "val_loss",
        "val_loss, val_accuracy, loss or accuracy",
        lambda v, net: v in ("val_loss", "val_accuracy", "loss", "accuracy"),
        "monitor must be one of val_loss, val_accuracy, loss, accuracy; got {value!r}",
    )
    patience: int = _hp(
        10,
        "epochs without improvement before stopping",
        lambda v, net: _is_int(v),
        "patience must be an integer >= 1, got {value!r}",
    )
    min_delta: float = _hp(0.0, "smallest change that counts as an improvement")
    restore_best: bool | None = _hp(None, "restore the best epoch's weights at the end; default: early_stopping")
    verbose: int = _hp(1, "0 silent; 1 a progress bar on a terminal")
    print_every: int | None = _hp(
        None,
        'the course\'s "print the cost every N" (epochs)',
        lambda v, net: v is None or _is_int(v),
        "print_every must be None or an integer >= 1, got {value!r}",
    )

    def check(self, net) -> None:
        """Raise ValueError (the message says what to change) for the first invalid hyperparameter."""
        for f in fields(self):
            check, value = f.metadata["check"], getattr(self, f.name)
            if check is not None and not check(value, net):
                raise ValueError(f.metadata["message"].format(value=value))

    @classmethod
    def doc(cls) -> str:
        """One line per hyperparameter: name, default, meaning."""
        return "\n".join(f"{f.name} = {f.default!r}: {f.metadata['doc']}" for f in fields(cls))

    def to_json(self) -> dict:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        for k in ("optimizer", "schedule"):
            if hasattr(d[k], "get_config"):
                d[k] = d[k].get_config()
        return d


@dataclass
class History:
    """Per-epoch record of a fit: ``loss`` and ``val_loss`` lists and ``metrics`` by name.

    ``metrics`` holds ``accuracy`` and ``val_accuracy`` (classifiers), ``learning_rate`` and
    ``seconds``. ``epochs`` are the networks's epoch numbers (they continue across fits).
    """

    loss: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    metrics: dict = field(default_factory=dict)
    epochs: list = field(default_factory=list)
    best_epoch: int | None = None  # epoch whose weights were restored, if any
    stop_reason: str = ""  # "epochs", "early_stopping", "interrupted", "callback", "diverged"

    def append(self, epoch: int, logs: dict) -> None:
        self.epochs.append(epoch)
        self.loss.append(logs["loss"])
        if logs.get("val_loss") is not None:
            self.val_loss.append(logs["val_loss"])
        for k, v in logs.items():
            if k not in ("loss", "val_loss") and v is not None:
                self.metrics.setdefault(k, []).append(v)

    def __getitem__(self, key):
        return {"loss": self.loss, "val_loss": self.val_loss}.get(key) or self.metrics[key]

    def plot(self, *, title: str = "Cost per epoch"):
        """The cost per epoch (training, and validation when held out) as a matplotlib Figure.

        It shows inline in Jupyter; ``fig.savefig(path)`` writes it. Needs matplotlib.
        """
        from .plots import costs

        return costs(self, title=title)

    def _last(self) -> list:
        """(name, last value) for loss, val_loss and every metric recorded."""
        series = {"loss": self.loss, "val_loss": self.val_loss, **self.metrics}
        return [(k, v[-1]) for k, v in series.items() if v]

    def __repr__(self):
        span = f"epochs {self.epochs[0]}-{self.epochs[-1]}" if self.epochs else "no epochs"
        last = "".join(f", {k}={v:.6g}" for k, v in self._last())
        return f"History({span}{last}, stop_reason={self.stop_reason!r})"

    def _repr_html_(self):
        """Jupyter: the last epoch's numbers and, with matplotlib, the cost curves."""
        from . import _html

        rows = [(k, f"{v:.6g}") for k, v in self._last()]
        rows += [("stop_reason", self.stop_reason or "-")] + (
            [("best_epoch", self.best_epoch)] if self.best_epoch is not None else []
        )
        text = _html.table(["after the last epoch", "value"], rows, f"History: {len(self.loss)} epochs")
        if not self.loss:
            return text
        try:
            from .plots import _png_bytes

            image = _html.png(_png_bytes(self.plot()), "cost per epoch")
        except ImportError:  # no matplotlib: the table alone
            return text
        return f"<div style='display:flex;gap:1em;align-items:flex-start'>{image}{text}</div>"


class TrainerState:
    """What continues from one fit to the next: optimizer and its state, schedule and its state, epoch."""

    def __init__(self, optimizer, opt_state, schedule, sched_state, epoch=0):
        self.optimizer, self.opt_state = optimizer, opt_state
        self.schedule, self.sched_state = schedule, sched_state
        self.epoch = epoch

    def to_saved(self, net):
        _, scalars = state_for_saving(self.opt_state)
        arrays = {k: v.copy() for k, v in _layer_state_views(self.opt_state, net.layer_dims).items()}
        info = {
            "optimizer": self.optimizer.get_config(),
            "optimizer_scalars": scalars,
            "schedule": self.schedule.get_config(),
            "schedule_state": self.sched_state,
            "epoch": self.epoch,
            "rng_state": _jsonable(net.rng.bit_generator.state),
        }
        return arrays, info

    @classmethod
    def from_saved(cls, net, arrays, info):
        optimizer = get_optimizer(info["optimizer"])
        saved = state_from_saved(optimizer, net.params, arrays, info["optimizer_scalars"])  # checks keys, shapes
        opt_state = optimizer.init(_groups(net.theta, net.layer_dims))
        for k, view in _layer_state_views(opt_state, net.layer_dims).items():
            np.copyto(view, saved[k])
        opt_state["t"] = saved["t"]
        schedule = get_schedule(info["schedule"])
        net.rng.bit_generator.state = info["rng_state"]
        return cls(optimizer, opt_state, schedule, dict(info["schedule_state"]), int(info["epoch"]))


def _jsonable(obj):
    if isinstance(obj, dict):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


# ------------------------------------------------------------------------------------- data
def mini_batches(m: int, batch_size: int | None, rng: np.random.Generator | None, shuffle: bool = True):
    """The course's mini-batch partition: a permutation of the m columns (from ``rng``) cut into
    consecutive batches of ``batch_size``, the last one smaller. Returns (permutation, list of slices)."""
    if batch_size is None or batch_size >= m:
        return None, [slice(0, m)]
    perm = rng.permutation(m) if shuffle else None
    return perm, [slice(k, min(k + batch_size, m)) for k in range(0, m, batch_size)]


def train_validation_split(Y: np.ndarray, fraction: float, seed, stratify: bool):
    """Column indices (train, validation): a random ``fraction`` held out, stratified by class if asked."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
    m = Y.shape[1]
    rng = np.random.default_rng(seed)
    if stratify:
        labels = target_labels(Y)
        val = []
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val.append(idx[: int(round(fraction * idx.size))])
        val = np.sort(np.concatenate(val))
    else:
        val = np.sort(rng.permutation(m)[: int(round(fraction * m))])
    if val.size == 0 or val.size == m:
        raise ValueError(
            f"validation_fraction={fraction} of {m} examples leaves an empty training or "
            "validation set; use more data or another fraction"
        )
    train = np.setdiff1d(np.arange(m), val)
    return train, val


# ------------------------------------------------------------------------------------- the loop
class Trainer:
    """One fit: the loop over epochs and mini-batches around an engine, a reducer and stopping rules.

    Each step is the seed's: forward, cost, backward (the engine's sums over the batch), reduce (over
    processes), update (1/m, L2, clipping, the optimizer). Callbacks receive the Trainer: ``net``,
    ``config``, ``epochs``, ``history``, ``state`` (the TrainerState being stepped), ``stop_training``,
    ``last_epoch``, ``engine``, ``reducer``, ``theta``.

    Parameters
    ----------
    net : the model (a Network, or anything with the attributes engines read; see vecprop.engines)
    config : FitConfig
    engine : "auto", a registered engine name, an Engine subclass or instance
    reduce : a Reducer (vecprop.reducers), default LocalReducer() — one process
    callbacks : list of Callback
    stopping : list of StoppingRule, asked in order after every batch and epoch
    state : TrainerState — optimizer, schedule and epoch, continued from the last fit
    """

    def __init__(self, net, config, *, engine=None, reduce=None, callbacks=(), stopping=(), state=None):
        self.net, self.config, self.epochs = net, config, config.epochs
        self.reducer = LocalReducer() if reduce is None else reduce
        self.callbacks, self.stopping = list(callbacks), list(stopping)
        self.state = state
        self.history = History()
        self.stop_training = False
        self.last_epoch = None
        self.m_global = self.shuffle_seed = None  # set by a distributed fit (vecprop.distributed)
        kp = propagation.keep_probs(config.keep_prob, net.L)
        self.engine = get_engine(engine, net, kp if any(p < 1 for p in kp) else None)
        self.theta = net.theta  # every W[l], b[l] as views of one vector
        self.n = net.n_params
        self.n_W = propagation.param_layout(net.layer_dims)["b1"][0]  # the biases start where weights end
        self.buffer = self.engine.zeros(self.n + N_SCALARS)
        self._W = [v for k, v in net.params.items() if k[0] == "W"]
        # only the rules that can stop mid-epoch are asked after every batch; over MPI none is: a stop waits
        # for the epoch's end, where the ranks agree on it (one rank cannot leave the others alone)
        self._batch_rules = [
            r for r in self.stopping if type(r).batch_reason is not StoppingRule.batch_reason and self.reducer.size == 1
        ]

    def step(self, cols, lr: float):
        """One training step on the columns ``cols``; returns (J, examples, correct) of the batch.

        J is NaN/inf when the step diverged; the parameters are then left as they were.
        """
        buf, n, config = self.buffer, self.n, self.config
        self.engine.batch_sums(cols, buf)  # forward, cost, backward: sums over this batch
        self.reducer(buf)  # the identity in one process; MPI: Allreduce(SUM)
        loss_sum, w_sum, count, correct = self.engine.scalars(buf[n:])
        J = loss_sum / w_sum if w_sum > 0 else 0.0  # eq. (3)
        if config.l2:
            J += config.l2 / (2 * count) * self.engine.sum_of_squares(self._W)
        if math.isfinite(J):
            self.engine.update(
                self.theta,
                buf[:n],
                n_W=self.n_W,
                w_sum=w_sum,
                count=count,
                l2=config.l2,
                clip_norm=config.clip_norm,
                optimizer=self.state.optimizer,
                opt_state=self.state.opt_state,
                lr=lr,
            )
        return J, count, correct

    def run(self, X, Y, sample_weight=None, validation=None) -> History:
        """Train on (X (n_0, m), Y (n_L, m), sample_weight); ``validation``: (X_val, Y_val) or None."""
        config, history = self.config, self.history
        self.engine.bind(X, Y, sample_weight)
        interrupt = next((r for r in self.stopping if isinstance(r, Interrupt)), contextlib.nullcontext())
        last_good = self.engine.copy_params(self.theta)  # the last finite parameters
        error = None
        for obj in (*self.stopping, *self.callbacks):
            obj.on_train_begin(self)
        # overflow on the way to a NaN cost is reported once, as a DivergenceError, not as warnings
        with (
            interrupt,
            np.errstate(over="ignore", invalid="ignore"),
            self.engine.session(config.batch_size or X.shape[1]),
        ):
            one_epoch = self._epoch_on_device if self._sums_on_device() else self._epoch
            for i in range(self.epochs):
                self.last_epoch = self.state.epoch if i == self.epochs - 1 else None
                self.engine.copy_into(last_good, self.theta)
                error, reason = one_epoch(X.shape[1], validation)
                if error is not None or reason:
                    history.stop_reason = "diverged" if error is not None else reason
                    break
            else:
                history.stop_reason = "epochs"
        if error is not None:
            self.engine.copy_into(self.theta, last_good)
        for rule in self.stopping:
            rule.on_train_end(self)
        self.net.metadata["training"] = config.to_json()
        for cb in self.callbacks:
            cb.on_train_end(self, {"stop_reason": history.stop_reason})
        if error is not None and not any(getattr(cb, "stop_quietly", False) for cb in self.callbacks):
            epoch, b, lr = error
            raise DivergenceError(
                f"the cost became NaN or infinite at epoch {epoch}, batch {b} (learning rate "
                f"{lr:g}); try a smaller learning_rate, clip_norm, or standardized inputs. The "
                "network keeps its last finite parameters"
            )
        return history

    def _epoch(self, m, validation):
        """One pass over the batches; returns (error or None, stop reason or None)."""
        state = self.state
        epoch, t0 = state.epoch, time.perf_counter()
        lr = state.schedule.learning_rate(state.sched_state, epoch)
        perm, batches = self._batches(m)
        loss_sum = count = correct = 0.0
        stepped = self._stepped(perm, batches, lr) if self._can_step() else None  # many batches per engine call
        for b, cols in enumerate(batches):
            J, n_b, c = self.step(cols if perm is None else perm[cols], lr) if stepped is None else next(stepped)
            if not math.isfinite(J):
                return (epoch, b, lr), None
            loss_sum, count, correct = loss_sum + J * n_b, count + n_b, correct + c
            for cb in self.callbacks:
                cb.on_batch_end(self, b, {"loss": J, "size": int(n_b)})
            reason = None
            for rule in self._batch_rules:
                reason = rule.batch_reason(self)
                if reason:
                    break
            if reason:
                if b < len(batches) - 1:
                    return None, reason  # a partial epoch is not recorded
                break
        if not self.engine.all_finite(self.theta):
            return (epoch, len(batches) - 1, lr), None
        return self._finish_epoch(epoch, t0, lr, loss_sum / count, correct / count, validation)

    def _finish_epoch(self, epoch, t0, lr, loss, accuracy, validation):
        """Record a finished epoch (history, schedule, stopping rules, callbacks); returns (None, stop reason)."""
        state = self.state
        logs = self._logs(loss, accuracy, lr, validation)
        state.epoch += 1
        logs["seconds"] = float(self.reducer.sum(np.array([time.perf_counter() - t0]))[0]) / self.reducer.size
        self.history.append(epoch, logs)
        state.schedule.step(state.sched_state, epoch, logs.get("val_loss", logs["loss"]))
        for rule in self.stopping:
            rule.observe(self, epoch, logs)
        for cb in self.callbacks:
            cb.on_epoch_end(self, epoch, logs)
        if self.reducer.size > 1:
            self._agree_on_stops()
        return None, next(filter(None, (r.epoch_reason(self, epoch, logs) for r in self.stopping)), None)

    def _can_step(self) -> bool:
        """Whether the engine's many-batch ``steps`` gives this fit's numbers: its own conditions
        (``engine.can_step``), one process, and nothing that acts between batches (a callback's
        ``on_batch_end``, a stopping rule's ``batch_reason`` other than Ctrl-C's and CallbackStop's)."""
        return (
            type(self.reducer) is LocalReducer  # a subclass may act on every batch
            and all(type(cb).on_batch_end is Callback.on_batch_end for cb in self.callbacks)
            and all(type(r) in (Interrupt, CallbackStop) for r in self._batch_rules)
            and self.engine.can_step(self.theta, self.state.optimizer, self.state.opt_state)
        )

    def _stepped(self, perm, batches, lr):
        """(J, examples, correct) of each batch, as :meth:`step` returns them, from ``engine.steps`` run
        on chunks of about ``STEPS_FLOP`` floating-point operations (so Ctrl-C is noticed within about a
        second: :class:`Interrupt` is asked after the chunk's first batch is reported)."""
        dims, config = self.net.layer_dims, self.config
        flop = 6 * batches[0].stop * sum(p * n for p, n in zip(dims[:-1], dims[1:]))  # eq. (2), BP1, BP3
        chunk = max(1, int(STEPS_FLOP // max(flop, 1)))
        idx = np.arange(batches[-1].stop) if perm is None else perm
        starts = np.array([cols.start for cols in batches] + [batches[-1].stop], np.intp)
        stats = np.empty((min(chunk, len(batches)), 5))
        for b0 in range(0, len(batches), chunk):
            b1 = min(b0 + chunk, len(batches))
            done = self.engine.steps(
                self.theta,
                self.buffer[: self.n],
                idx,
                starts[b0 : b1 + 1],
                lr,
                n_W=self.n_W,
                l2=config.l2,
                clip_norm=config.clip_norm,
                optimizer=self.state.optimizer,
                opt_state=self.state.opt_state,
                stats=stats[: b1 - b0],
            )
            for loss_sum, w_sum, count, correct, ss in stats[:done].tolist():
                J = loss_sum / w_sum if w_sum > 0 else 0.0  # eq. (3), as step computes it
                if config.l2:
                    J += config.l2 / (2 * count) * ss
                yield J, count, correct

    def _sums_on_device(self) -> bool:
        """Whether epochs keep the per-batch sums on the device (:meth:`_epoch_on_device`): an Array API
        engine whose host reads wait for a device (not a CPU), in one process, without clip_norm (its norm
        is read on the host) and without a callback that reads each batch's cost (``on_batch_end``)."""
        return (
            getattr(self.engine, "array_api", False)
            and hasattr(self.engine, "step_on_device")
            and self.engine.host_reads_wait()
            and self.reducer.size == 1
            and not self.config.clip_norm
            and all(type(cb).on_batch_end is Callback.on_batch_end for cb in self.callbacks)
        )

    def _epoch_on_device(self, m, validation):
        """:meth:`_epoch` with no transfer to the host per batch (issue #14).

        Each batch's cost, count and hits add up on the device (``engine.step_on_device``) and reach the
        host once, at the epoch's end, where a non-finite cost or parameter is found: the error names the
        first non-finite batch as :meth:`_epoch` does. Until then the batches after it still run (on NaN);
        the parameters go back to the epoch's start as after any divergence, and so, here, does the
        optimizer state (the Generator has drawn those batches' dropout masks).
        """
        state, engine = self.state, self.engine
        epoch, t0 = state.epoch, time.perf_counter()
        lr = state.schedule.learning_rate(state.sched_state, epoch)
        perm, batches = self._batches(m)
        start = {k: engine.copy_params(v) if hasattr(v, "shape") else v for k, v in state.opt_state.items()}
        totals, count, reason = engine.epoch_totals(), 0, None
        for b, cols in enumerate(batches):
            cols = cols if perm is None else perm[cols]
            n_b = batch_size_of(cols, m)
            engine.batch_sums(cols, self.buffer)  # forward, cost, backward: sums over this batch
            engine.step_on_device(
                self.buffer,
                totals,
                b,
                n_W=self.n_W,
                count=n_b,
                l2=self.config.l2,
                optimizer=state.optimizer,
                opt_state=state.opt_state,
                lr=lr,
            )
            count += n_b
            reason = next(filter(None, (rule.batch_reason(self) for rule in self._batch_rules)), None)
            if reason:
                break
        loss_sum, correct, first_bad = engine.scalars(totals)  # the epoch's one transfer
        if not (math.isfinite(loss_sum) and engine.all_finite(self.theta)):
            state.opt_state.update(start)
            return (epoch, int(first_bad) if math.isfinite(first_bad) else b, lr), None
        if reason and b < len(batches) - 1:
            return None, reason  # a partial epoch is not recorded
        return self._finish_epoch(epoch, t0, lr, loss_sum / count, correct / count, validation)

    def _batches(self, m):
        """This epoch's (permutation or None, slices): the course's mini-batches of this process's m
        columns, or over MPI this rank's part of the global batches (vecprop.distributed.batch_plan)."""
        c = self.config
        if self.reducer.size == 1:
            return mini_batches(m, c.batch_size, self.net.rng, c.shuffle)
        return local_batches(
            self.reducer, m, self.m_global, c.batch_size, c.shuffle, self.shuffle_seed, self.state.epoch
        )

    def _agree_on_stops(self):
        """A callback's stop_training or Ctrl-C on any rank stops every rank (one small allreduce)."""
        interrupt = next((r for r in self.stopping if isinstance(r, Interrupt)), None)
        flags = self.reducer.sum(np.array([self.stop_training, bool(interrupt and interrupt.flag)], np.int64))
        self.stop_training = bool(flags[0])
        if interrupt is not None:
            interrupt.flag = bool(flags[1])

    def _logs(self, loss, accuracy, lr, validation) -> dict:
        classifier = self.net.head.is_classifier
        logs = {"loss": loss}
        if classifier:
            logs["accuracy"] = accuracy
        if validation is not None:
            sums = self.reducer.sum(self.engine.eval_sums(*validation))
            logs["val_loss"] = float(sums[0] / sums[1])
            logs["val_accuracy"] = float(sums[3] / sums[2]) if classifier else None
        logs["learning_rate"] = lr
        return logs


def fit(
    net,
    X,
    Y,
    *,
    sample_weight=None,
    validation_data=None,
    callbacks=(),
    reset: bool = False,
    engine=None,
    reduce=None,
    stopping=(),
    comm=None,
    **hyperparameters,
) -> History:
    """Train ``net`` by (mini-batch) gradient descent; continues where the last fit stopped.

    Parameters
    ----------
    net : Network
    X : array of shape (n_0, m) — columns are examples
    Y : array of shape (n_L, m) — 0/1 rows (sigmoid), one-hot columns (softmax) or targets (linear)
    **hyperparameters : every field of :class:`FitConfig` (declared there once, with its default and
        check): epochs, learning_rate, optimizer, batch_size, shuffle, schedule, l2, keep_prob, clip_norm,
        class_weight, validation_fraction, validation_seed, early_stopping, monitor, patience, min_delta,
        restore_best, verbose, print_every
    sample_weight : array of shape (m,), optional — per-example weights of the cost and of dZ
    validation_data : (X_val (n_0, m_v), Y_val (n_L, m_v)), optional
    callbacks : iterable of :class:`vecprop.callbacks.Callback`
    reset : bool — forget the optimizer state and epoch count first (same as ``net.reset_training()``)
    engine : "auto" (default: the fastest engine that supports the network), "numpy", "reference", or a
        :class:`vecprop.engines.Engine` — who computes each batch's gradients (see vecprop.engines)
    reduce : a :class:`vecprop.reducers.Reducer` summing each batch over processes; default one process
    stopping : iterable of extra :class:`vecprop.stopping.StoppingRule` objects
    comm : None, "mpi" or an mpi4py communicator — data-parallel training: each rank passes its own shard
        of the columns, ``batch_size`` is the global batch (see docs/distributed.md)

    Returns
    -------
    History — per-epoch ``loss``, ``val_loss`` and ``metrics``

    Raises
    ------
    ValueError
        For bad data or options (the message says what to change).
    DivergenceError
        When the cost becomes NaN/inf; the network keeps its last finite parameters (the best epoch's
        when restore_best is on).

    Ctrl-C (SIGINT) stops training after the current batch and returns the History.
    """
    unknown = sorted(set(hyperparameters) - {f.name for f in fields(FitConfig)})
    if unknown:
        raise TypeError(
            f"fit() got an unexpected keyword argument {unknown[0]!r}; the hyperparameters are "
            f"{', '.join(f.name for f in fields(FitConfig))}"
        )
    config = FitConfig(**hyperparameters)
    config.check(net)
    if comm is not None:
        if reduce is not None:
            raise ValueError("give comm (an MPI communicator) or reduce (a Reducer), not both")
        return _fit_distributed(
            net,
            config,
            get_reducer(comm),
            X,
            Y,
            sample_weight,
            validation_data,
            dict(callbacks=callbacks, reset=reset, engine=engine, stopping=stopping),
        )
    X, Y, w, validation = _fit_data(net, config, X, Y, sample_weight, validation_data)
    if reset:
        net.reset_training()
    trainer = Trainer(
        net,
        config,
        engine=engine,
        reduce=reduce,
        callbacks=_callbacks(config, callbacks),
        stopping=[*_stopping_rules(config, validation is not None), *stopping],
        state=_trainer_state(net, config),
    )
    try:
        return trainer.run(X, Y, w, validation)
    finally:
        net.caches, net._last = trainer.engine.caches, None


def _fit_distributed(net, config, reducer, X, Y, sample_weight, validation_data, options) -> History:
    """fit on every rank of ``reducer``, each with its own shard (X, Y, sample_weight, validation_data).

    Each rank checks its shard and the ranks agree on the outcome (a RankError on every rank names a bad
    one); then vecprop.distributed.start_fit checks that every rank runs the same network and options
    and broadcasts the root's parameters. Callbacks marked ``root_only`` run on rank 0 alone. A failure
    on one rank during training aborts every rank (MPI_Abort) rather than leaving them waiting.
    """
    X, Y = reducer.agree(_checked_shard, net, X, Y, sample_weight)  # so that all reach _fit_data's class count
    X, Y, w, validation = reducer.agree(_fit_data, net, config, X, Y, sample_weight, validation_data, reducer)
    seed = start_fit(
        reducer,
        net,
        config.to_json(),
        {"sample_weight": sample_weight is not None, "validation": validation is not None},
    )
    if options["reset"]:
        net.reset_training()
    if any(p < 1 for p in propagation.keep_probs(config.keep_prob, net.L)):
        net.rng = rank_stream(reducer, net.rng)  # dropout masks: the shared stream jumped ahead rank times
    callbacks = [cb for cb in _callbacks(config, options["callbacks"]) if reducer.is_root or not cb.root_only]
    trainer = Trainer(
        net,
        config,
        engine=options["engine"],
        reduce=reducer,
        callbacks=callbacks,
        stopping=[*_stopping_rules(config, validation is not None), *options["stopping"]],
        state=_trainer_state(net, config),
    )
    trainer.m_global = int(reducer.sum(np.array([X.shape[1]]))[0])
    trainer.shuffle_seed = seed
    try:
        with reducer.guard(passing=(DivergenceError,)):
            return trainer.run(X, Y, w, validation)
    finally:
        net.caches, net._last = trainer.engine.caches, None


def _checked_shard(net, X, Y, sample_weight):
    """(X, Y) checked, and the sample weights too: every local check that precedes a collective."""
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[1])
    xpp.check_sample_weight(sample_weight, X.shape[1], net.dtype, net.theta)
    return X, Y


def _fit_data(net, config, X, Y, sample_weight, validation_data, reduce=None):
    """The checked training arrays (X, Y, weights) and the validation pair (or None), split if asked;
    ``reduce`` sums the class counts of ``class_weight="balanced"`` over every rank's shard."""
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[1])
    check_fit(net.layer_dims, config.batch_size, X.shape[1], net.dtype)  # MemoryLimitError before any buffer
    w = xpp.check_sample_weight(sample_weight, X.shape[1], net.dtype, net.theta)  # in X's namespace
    if config.class_weight is not None:  # from a host copy of Y (the labels), moved to X's device
        cw = class_weights(xpp.to_host(Y), config.class_weight, reduce).astype(net.dtype)
        cw = xpp.move(cw, *xpp.target(X))
        w = cw if w is None else w * cw
    is_classifier = net.head.is_classifier
    if config.monitor.endswith("accuracy") and not is_classifier:
        raise ValueError(
            f"monitor={config.monitor!r} needs a classifier (sigmoid or softmax output); use 'loss' or 'val_loss'"
        )
    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError("validation_data must be a pair (X_val, Y_val) with X_val of shape (n_x, m_val)")
        X_val = net.check_X(validation_data[0])
        return X, Y, w, (X_val, net.check_Y(validation_data[1], X_val.shape[1]))
    if config.validation_fraction or (config.early_stopping and config.monitor.startswith("val_")):
        fraction = config.validation_fraction or 0.1  # scikit-learn's default when early stopping
        seed = config.validation_seed if config.validation_seed is not None else (net.seed or 0)
        train, val = train_validation_split(xpp.to_host(Y), fraction, seed, stratify=is_classifier)
        cut = xpp.take_columns
        return cut(X, train), cut(Y, train), cut(w, train), (cut(X, val), cut(Y, val))
    return X, Y, w, None


def _callbacks(config, callbacks) -> list:
    cbs = list(callbacks)
    for cb in cbs:
        if not isinstance(cb, Callback):
            raise ValueError(f"callbacks must be vecprop.callbacks.Callback objects, got {type(cb).__name__}")
    if config.verbose:
        cbs.append(ProgressBar())
    if config.print_every:
        cbs.append(PrintCost(config.print_every))
    return cbs


def _stopping_rules(config, has_validation: bool) -> list:
    """Early stopping / restore best (when asked), then Ctrl-C, then a callback's stop_training."""
    rules = []
    restore = config.early_stopping if config.restore_best is None else bool(config.restore_best)
    if config.early_stopping or restore:
        monitor = config.monitor
        if monitor.startswith("val_") and not has_validation:
            monitor = monitor[4:]
        rules.append(
            EarlyStopping(monitor, config.patience, config.min_delta, restore_best=restore, stop=config.early_stopping)
        )
    return [*rules, Interrupt(), CallbackStop()]


def _trainer_state(net, config) -> TrainerState:
    """The network's continuing trainer state, or a new one if it has none or the optimizer changed."""
    optimizer = get_optimizer(config.optimizer)
    schedule = get_schedule(config.schedule)
    old = net._training
    if old is not None and old.optimizer.get_config() == optimizer.get_config():
        if old.schedule.get_config() != schedule.get_config():
            old.schedule, old.sched_state = schedule, schedule.init(config.learning_rate)
        elif old.sched_state.get("learning_rate0", config.learning_rate) != config.learning_rate:
            old.sched_state = schedule.init(config.learning_rate)
        return old
    epoch = 0 if old is None else old.epoch
    host = np.zeros(net.n_params, net.dtype)  # zeros_like on the host: moments move with the parameters
    net._training = TrainerState(
        optimizer, optimizer.init(_groups(host, net.layer_dims)), schedule, schedule.init(config.learning_rate), epoch
    )
    return net._training


def _groups(flat, layer_dims, prefix: str = "") -> dict:
    """The two parameter groups of a flat vector laid out as propagation.param_layout: all weights, all biases.

    ``{"W": flat[:n_W], "b": flat[n_W:]}`` (keys ``"dW"``, ``"db"`` with prefix "d"): what the optimizer
    updates, one call per group, in place of the 2L arrays W[l], b[l].
    """
    n_W = propagation.param_layout(layer_dims)["b1"][0]  # the biases start where the weights end
    return {prefix + "W": flat[:n_W], prefix + "b": flat[n_W:]}


def _layer_state_views(opt_state, layer_dims) -> dict:
    """Per-layer views ``{"vdW1": (n_1, n_0), "sdb2": (n_2, 1), ...}`` of a grouped optimizer state's arrays.

    The trainer keeps each moment as one array per group (``"vdW"`` over every W[l]); model files and
    users see the course's per-layer keys.
    """
    layout = propagation.param_layout(layer_dims)
    views = {}
    for key, value in opt_state.items():
        if key.startswith(SCRATCH_PREFIX) or not isinstance(value, np.ndarray) or key[-1:] not in "Wb":
            continue
        prefix, group = key[:-1], key[-1]  # "vdW" -> "vd", "W"
        offset = layout[group + "1"][0]  # where the group starts in the flat layout
        for name, (start, (rows, cols)) in layout.items():
            if name[0] == group:
                views[prefix + name] = value[start - offset : start - offset + rows * cols].reshape(rows, cols)
    return views


_clip_global_norm = clip_global_norm  # the old private name


def _fit_signature():
    """fit's signature with every FitConfig field spelled out, for help() and IDEs (declared once)."""
    sig = inspect.signature(fit)
    params = [p for p in sig.parameters.values() if p.kind is not p.VAR_KEYWORD]
    params += [inspect.Parameter(f.name, inspect.Parameter.KEYWORD_ONLY, default=f.default) for f in fields(FitConfig)]
    return sig.replace(parameters=params)


fit.__signature__ = _fit_signature()
