"""The fit loop: mini-batches, optimizers, schedules, L2, dropout, weights, validation, early stopping.

Each step is the seed's: forward (eqs. 1–2), the cost (eq. 3), BP1–BP4 backward, then the optimizer's
update (for ``gd``, W −= α dW and b −= α db). Calling :func:`fit` again on the same network CONTINUES:
optimizer state (t, v, s), the schedule's position and the Generator carry on, so ``fit(E)`` twice gives
bit for bit the parameters of ``fit(2E)``. ``net.reset_training()`` starts afresh.
"""
from __future__ import annotations

import contextlib
import math
import signal
import threading
import time
from dataclasses import dataclass, field, fields

import numpy as np

from . import propagation
from .callbacks import Callback, PrintCost, ProgressBar
from .optimizers import SCRATCH_PREFIX, get_optimizer, state_for_saving, state_from_saved
from .schedules import get_schedule

__all__ = ["fit", "FitConfig", "History", "TrainerState", "DivergenceError", "mini_batches",
           "class_weights", "train_validation_split"]


class DivergenceError(FloatingPointError, ValueError):
    """The cost became NaN or infinite; the network keeps its last finite parameters."""


@dataclass(frozen=True)
class FitConfig:
    """Every training hyperparameter, as :func:`fit` received it (kept with saved models)."""

    epochs: int = 100                  # passes over the training set
    learning_rate: float = 0.01        # α (α0 for a schedule)
    optimizer: object = "gd"           # gd, momentum, nesterov, rmsprop, adam, adamw, or a spec/object
    batch_size: int | None = None      # None: the seed's batch gradient descent over all m examples
    shuffle: bool = True               # reshuffle the columns every epoch (mini-batches only)
    schedule: object = None            # learning-rate schedule; None keeps α constant
    l2: float = 0.0                    # λ of the course's L2 regularization
    keep_prob: object = 1.0            # inverted dropout: keep probability, one float or one per hidden layer
    clip_norm: float | None = None     # clip the gradient's global norm to this value
    class_weight: object = None        # "balanced" or {class: weight}
    validation_fraction: float = 0.0   # share of examples held out (stratified for classifiers)
    validation_seed: int | None = None # seed of that split; default the network's seed (or 0)
    early_stopping: bool = False       # stop when `monitor` has not improved for `patience` epochs
    monitor: str = "val_loss"          # val_loss, val_accuracy, loss or accuracy
    patience: int = 10                 # epochs without improvement before stopping
    min_delta: float = 0.0             # smallest change that counts as an improvement
    restore_best: bool | None = None   # restore the best epoch's weights at the end; default: early_stopping
    verbose: int = 1                   # 0 silent; 1 a progress bar on a terminal
    print_every: int | None = None     # the course's "print the cost every N" (epochs)

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
    best_epoch: int | None = None      # epoch whose weights were restored, if any
    stop_reason: str = ""              # "epochs", "early_stopping", "interrupted", "callback", "diverged"

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
        rows += [("stop_reason", self.stop_reason or "-")] + ([("best_epoch", self.best_epoch)]
                                                                if self.best_epoch is not None else [])
        text = _html.table(["after the last epoch", "value"], rows, f"History: {len(self.loss)} epochs")
        if not self.loss:
            return text
        try:
            from .plots import _png_bytes
            image = _html.png(_png_bytes(self.plot()), "cost per epoch")
        except ImportError:                            # no matplotlib: the table alone
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
        info = {"optimizer": self.optimizer.get_config(), "optimizer_scalars": scalars,
                "schedule": self.schedule.get_config(), "schedule_state": self.sched_state,
                "epoch": self.epoch, "rng_state": _jsonable(net.rng.bit_generator.state)}
        return arrays, info

    @classmethod
    def from_saved(cls, net, arrays, info):
        optimizer = get_optimizer(info["optimizer"])
        saved = state_from_saved(optimizer, net.params, arrays, info["optimizer_scalars"])  # checks keys, shapes
        opt_state = optimizer.init(_groups(net._flat_params(), net.layer_dims))
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


def class_weights(Y: np.ndarray, class_weight) -> np.ndarray:
    """Per-example weights (m,) from ``"balanced"`` (m / (n_classes · count_c)) or a {class: weight} dict.

    Classes are the argmax of one-hot columns, or the 0/1 value of a single sigmoid output.
    """
    if Y.shape[0] == 1:
        labels = (Y[0] > 0.5).astype(np.int64)
        n_classes = 2
    else:
        labels = Y.argmax(axis=0)
        n_classes = Y.shape[0]
    if isinstance(class_weight, str):
        if class_weight != "balanced":
            raise ValueError(f"class_weight must be 'balanced' or a dict {{class: weight}}, got {class_weight!r}")
        counts = np.bincount(labels, minlength=n_classes)
        table = np.where(counts > 0, labels.size / (np.count_nonzero(counts) * np.maximum(counts, 1)), 0.0)
    elif isinstance(class_weight, dict):
        table = np.ones(n_classes)
        for c, w in class_weight.items():
            if not (isinstance(c, (int, np.integer)) and 0 <= c < n_classes):
                raise ValueError(f"class_weight key {c!r} is not a class index in 0..{n_classes - 1}")
            if not (np.isfinite(w) and w >= 0):
                raise ValueError(f"class_weight[{c}] = {w!r} must be a finite number >= 0")
            table[c] = w
    else:
        raise ValueError(f"class_weight must be 'balanced' or a dict {{class: weight}}, got {class_weight!r}")
    return table[labels]


def train_validation_split(Y: np.ndarray, fraction: float, seed, stratify: bool):
    """Column indices (train, validation): a random ``fraction`` held out, stratified by class if asked."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation_fraction must be in [0, 1), got {fraction!r}")
    m = Y.shape[1]
    rng = np.random.default_rng(seed)
    if stratify:
        labels = (Y[0] > 0.5).astype(np.int64) if Y.shape[0] == 1 else Y.argmax(axis=0)
        val = []
        for c in np.unique(labels):
            idx = rng.permutation(np.flatnonzero(labels == c))
            val.append(idx[: int(round(fraction * idx.size))])
        val = np.sort(np.concatenate(val))
    else:
        val = np.sort(rng.permutation(m)[: int(round(fraction * m))])
    if val.size == 0 or val.size == m:
        raise ValueError(f"validation_fraction={fraction} of {m} examples leaves an empty training or "
                         "validation set; use more data or another fraction")
    train = np.setdiff1d(np.arange(m), val)
    return train, val


# ------------------------------------------------------------------------------------- the loop
class _Trainer:
    """The state of one fit call, handed to callbacks."""

    def __init__(self, net, config, epochs, history, state):
        self.net, self.config, self.epochs, self.history = net, config, epochs, history
        self.state = state              # the TrainerState being stepped (optimizer, schedule, epoch)
        self.stop_training = False
        self.last_epoch = None


def fit(net, X, Y, *, epochs: int = 100, learning_rate: float = 0.01, optimizer="gd", batch_size=None,
        shuffle: bool = True, schedule=None, l2: float = 0.0, keep_prob=1.0, clip_norm=None,
        sample_weight=None, class_weight=None, validation_data=None, validation_fraction: float = 0.0,
        validation_seed=None, early_stopping: bool = False, monitor: str = "val_loss", patience: int = 10,
        min_delta: float = 0.0, restore_best=None, callbacks=(), verbose: int = 1, print_every=None,
        reset: bool = False) -> History:
    """Train ``net`` by (mini-batch) gradient descent; continues where the last fit stopped.

    Parameters
    ----------
    net : Network
    X : array of shape (n_0, m) — columns are examples
    Y : array of shape (n_L, m) — 0/1 rows (sigmoid), one-hot columns (softmax) or targets (linear)
    epochs, learning_rate, optimizer, batch_size, shuffle, schedule, l2, keep_prob, clip_norm,
    class_weight, validation_fraction, validation_seed, early_stopping, monitor, patience, min_delta,
    restore_best, verbose, print_every : see :class:`FitConfig`
    sample_weight : array of shape (m,), optional — per-example weights of the cost and of dZ
    validation_data : (X_val (n_0, m_v), Y_val (n_L, m_v)), optional
    callbacks : iterable of :class:`vecprop.callbacks.Callback`
    reset : bool — forget the optimizer state and epoch count first (same as ``net.reset_training()``)

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
    config = FitConfig(epochs=epochs, learning_rate=learning_rate, optimizer=optimizer, batch_size=batch_size,
                       shuffle=shuffle, schedule=schedule, l2=l2, keep_prob=keep_prob, clip_norm=clip_norm,
                       class_weight=class_weight, validation_fraction=validation_fraction,
                       validation_seed=validation_seed, early_stopping=early_stopping, monitor=monitor,
                       patience=patience, min_delta=min_delta, restore_best=restore_best, verbose=verbose,
                       print_every=print_every)
    _check_config(config, net)
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[1])
    from .network import _check_weights  # the boundary check shared with Network.backward
    w = _check_weights(sample_weight, X.shape[1], net.dtype)
    if class_weight is not None:
        cw = class_weights(Y, class_weight).astype(net.dtype)
        w = cw if w is None else w * cw
    is_classifier = net.activations[-1].name in ("sigmoid", "softmax")
    if monitor.endswith("accuracy") and not is_classifier:
        raise ValueError(f"monitor={monitor!r} needs a classifier (sigmoid or softmax output); "
                         "use 'loss' or 'val_loss'")

    if validation_data is not None:
        if not (isinstance(validation_data, (tuple, list)) and len(validation_data) == 2):
            raise ValueError("validation_data must be a pair (X_val, Y_val) with X_val of shape (n_x, m_val)")
        X_val = net.check_X(validation_data[0])
        Y_val = net.check_Y(validation_data[1], X_val.shape[1])
    elif validation_fraction or (early_stopping and monitor.startswith("val_")):
        fraction = validation_fraction or 0.1            # scikit-learn's default when early stopping
        seed = validation_seed if validation_seed is not None else (net.seed or 0)
        train, val = train_validation_split(Y, fraction, seed, stratify=is_classifier)
        X, X_val, Y, Y_val = X[:, train], X[:, val], Y[:, train], Y[:, val]
        w = None if w is None else w[train]
    else:
        X_val = Y_val = None
    if monitor.startswith("val_") and X_val is None and (restore_best or early_stopping):
        monitor = monitor[4:]

    cbs = list(callbacks)
    for cb in cbs:
        if not isinstance(cb, Callback):
            raise ValueError(f"callbacks must be vecprop.callbacks.Callback objects, got {type(cb).__name__}")
    if verbose:
        cbs.append(ProgressBar())
    if print_every:
        cbs.append(PrintCost(print_every))

    if reset:
        net.reset_training()
    state = _trainer_state(net, config)
    kp = propagation.keep_probs(keep_prob, net.L)
    kp = kp if any(p < 1 for p in kp) else None
    restore = early_stopping if restore_best is None else bool(restore_best)
    history = History()
    trainer = _Trainer(net, config, epochs, history, state)
    quiet_nan = any(getattr(cb, "stop_quietly", False) for cb in cbs)

    theta = net._flat_params()                                # every W[l], b[l] as views of one vector
    params, groups = net.params, _groups(theta, net.layer_dims)
    last_good = theta.copy()                                  # the last finite parameters
    best = theta.copy() if restore else None
    best_value, best_epoch, wait = math.inf, None, 0
    sign = -1.0 if monitor.endswith("accuracy") else 1.0     # minimize sign·value
    m = X.shape[1]
    if shuffle and batch_size is not None and batch_size < m:
        # Each shuffled batch gathers whole columns; with columns contiguous (Fortran order, as X_rows.T
        # already is) that is a straight copy. A row-major X is copied once into that layout.
        X, Y = np.asfortranarray(X), np.asfortranarray(Y)
    interrupted = _SigintFlag()
    workspaces = {}                          # batch size -> (preallocated Workspace, its gradient's two groups)
    canonical = net.activations[-1].name == net.loss.canonical_activation
    softmax = net.activations[-1].name == "softmax"
    error = None

    for cb in cbs:
        cb.on_train_begin(trainer)
    # overflow on the way to a NaN cost is reported once, as a DivergenceError, not as warnings
    with interrupted, np.errstate(over="ignore", invalid="ignore"), _blas_threads(net.layer_dims, batch_size or m):
        for _ in range(epochs):
            epoch = state.epoch
            trainer.last_epoch = epoch if _ == epochs - 1 else None
            t0 = time.perf_counter()
            lr = state.schedule.learning_rate(state.sched_state, epoch)
            np.copyto(last_good, theta)
            perm, batches = mini_batches(m, batch_size, net.rng, shuffle)
            loss_sum, correct = 0.0, 0
            for b, cols in enumerate(batches):
                n_b = cols.stop - cols.start
                if n_b not in workspaces:
                    new = propagation.Workspace(net.layer_dims, n_b, net.dtype, kp,
                                                batch=None if perm is None else (X, Y, w), l2=bool(l2))
                    workspaces[n_b] = new, _groups(new.grads, net.layer_dims, "d")
                ws, grad_groups = workspaces[n_b]
                if perm is None:
                    Xb, Yb, wb = X[:, cols], Y[:, cols], None if w is None else w[cols]
                else:                                         # copy this batch's columns into the workspace
                    Xb, Yb, wb = ws.gather(X, Y, w, perm[cols])
                AL = net._forward(Xb, kp, ws)
                ZL = net.caches[net.L].Z if canonical else None
                J = propagation.cost(AL, Yb, net.loss, ZL=ZL, sample_weight=wb, params=params, l2=l2)
                if not math.isfinite(J):
                    error = (epoch, b)
                    break
                propagation.backward(AL, Yb, net.caches, params, net.activations, net.loss,
                                     keep_prob=kp, sample_weight=wb, l2=l2, need_dA0=False, ws=ws)
                if clip_norm:
                    _clip_global_norm(ws.grads, clip_norm)
                state.optimizer.update(groups, grad_groups, state.opt_state, lr)
                loss_sum += J * n_b
                if is_classifier:
                    correct += _n_correct(AL, Yb, softmax, ws)
                for cb in cbs:
                    cb.on_batch_end(trainer, b, {"loss": J, "size": n_b})
                if interrupted.flag or trainer.stop_training:
                    break
            if error is not None:
                break
            if not np.isfinite(theta).all():
                error = (epoch, len(batches) - 1)
                break
            if (interrupted.flag or trainer.stop_training) and b < len(batches) - 1:
                history.stop_reason = "interrupted" if interrupted.flag else "callback"
                break                                   # a partial epoch is not recorded
            logs = {"loss": loss_sum / m}
            if is_classifier:
                logs["accuracy"] = correct / m
            if X_val is not None:
                logs["val_loss"], logs["val_accuracy"] = _evaluate(net, X_val, Y_val, is_classifier)
            logs["learning_rate"] = lr
            state.epoch += 1
            logs["seconds"] = time.perf_counter() - t0
            history.append(epoch, logs)
            monitored = logs.get(monitor, logs["loss"])
            state.schedule.step(state.sched_state, epoch, logs.get("val_loss", logs["loss"]))
            if sign * monitored < best_value - min_delta:
                best_value, best_epoch, wait = sign * monitored, epoch, 0
                if best is not None:
                    np.copyto(best, theta)
            else:
                wait += 1
            for cb in cbs:
                cb.on_epoch_end(trainer, epoch, logs)
            if early_stopping and wait >= patience:
                history.stop_reason = "early_stopping"
                break
            if interrupted.flag:
                history.stop_reason = "interrupted"
                break
            if trainer.stop_training:
                history.stop_reason = "callback"
                break
        else:
            history.stop_reason = "epochs"

    if error is not None:
        np.copyto(theta, last_good)                     # the last finite parameters
        history.stop_reason = "diverged"
    if restore and best_epoch is not None:
        np.copyto(theta, best)
        history.best_epoch = best_epoch
    net.metadata["training"] = config.to_json()
    for cb in cbs:
        cb.on_train_end(trainer, {"stop_reason": history.stop_reason})
    if error is not None and not quiet_nan:
        epoch, b = error
        raise DivergenceError(f"the cost became NaN or infinite at epoch {epoch}, batch {b} (learning rate "
                              f"{lr:g}); try a smaller learning_rate, clip_norm, or standardized inputs. The "
                              "network keeps its last finite parameters")
    return history


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
    net._training = TrainerState(optimizer, optimizer.init(_groups(net._flat_params(), net.layer_dims)), schedule,
                                 schedule.init(config.learning_rate), epoch)
    return net._training


def _check_config(c: FitConfig, net) -> None:
    def need(ok, msg):
        if not ok:
            raise ValueError(msg)
    need(isinstance(c.epochs, (int, np.integer)) and c.epochs >= 1, f"epochs must be an integer >= 1, got {c.epochs!r}")
    need(np.isfinite(c.learning_rate) and c.learning_rate > 0,
         f"learning_rate must be a positive number, got {c.learning_rate!r}")
    need(c.batch_size is None or (isinstance(c.batch_size, (int, np.integer)) and c.batch_size >= 1),
         f"batch_size must be None (all examples) or an integer >= 1, got {c.batch_size!r}")
    need(np.isfinite(c.l2) and c.l2 >= 0, f"l2 (λ) must be a number >= 0, got {c.l2!r}")
    need(c.clip_norm is None or (np.isfinite(c.clip_norm) and c.clip_norm > 0),
         f"clip_norm must be None or a positive number, got {c.clip_norm!r}")
    need(0 <= c.validation_fraction < 1, f"validation_fraction must be in [0, 1), got {c.validation_fraction!r}")
    need(c.monitor in ("val_loss", "val_accuracy", "loss", "accuracy"),
         f"monitor must be one of val_loss, val_accuracy, loss, accuracy; got {c.monitor!r}")
    need(isinstance(c.patience, (int, np.integer)) and c.patience >= 1, f"patience must be an integer >= 1, got {c.patience!r}")
    need(c.print_every is None or (isinstance(c.print_every, (int, np.integer)) and c.print_every >= 1),
         f"print_every must be None or an integer >= 1, got {c.print_every!r}")
    propagation.keep_probs(c.keep_prob, net.L)


def _groups(flat, layer_dims, prefix: str = "") -> dict:
    """The two parameter groups of a flat vector laid out as propagation.param_layout: all weights, all biases.

    ``{"W": flat[:n_W], "b": flat[n_W:]}`` (keys ``"dW"``, ``"db"`` with prefix "d"): what the optimizer
    updates, one call per group, in place of the 2L arrays W[l], b[l].
    """
    n_W = propagation.param_layout(layer_dims)["b1"][0]      # the biases start where the weights end
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
        prefix, group = key[:-1], key[-1]                  # "vdW" -> "vd", "W"
        offset = layout[group + "1"][0]                    # where the group starts in the flat layout
        for name, (start, (rows, cols)) in layout.items():
            if name[0] == group:
                views[prefix + name] = value[start - offset:start - offset + rows * cols].reshape(rows, cols)
    return views


def _clip_global_norm(grads, clip_norm):
    """Scale the flat gradient (every dW, db) by clip_norm / ‖g‖ when its global norm ‖g‖ exceeds clip_norm."""
    norm = math.sqrt(float(np.vdot(grads, grads)))
    if norm > clip_norm:
        grads *= clip_norm / norm


def _n_correct(AL, Y, softmax: bool, ws=None) -> int:
    """Examples classified right: argmax agreement (softmax) or every 0/1 output right (sigmoid)."""
    if softmax:
        if ws is None:
            return int(np.count_nonzero(AL.argmax(axis=0) == Y.argmax(axis=0)))
        AL.argmax(axis=0, out=ws.pred)
        Y.argmax(axis=0, out=ws.label)
        return int(np.count_nonzero(np.equal(ws.pred, ws.label, out=ws.hit)))
    return int(((AL > 0.5) == (Y > 0.5)).all(axis=0).sum())


def _evaluate(net, X, Y, is_classifier):
    """Validation loss (from logits, no dropout) and accuracy, leaving the training caches alone."""
    AL, caches = propagation.forward(X, net.params, net.activations)
    ZL = caches[net.L].Z if net.activations[-1].name == net.loss.canonical_activation else None
    J = propagation.cost(AL, Y, net.loss, ZL=ZL)
    softmax = net.activations[-1].name == "softmax"
    return J, (_n_correct(AL, Y, softmax) / Y.shape[1] if is_classifier else None)


def _blas_threads(layer_dims, batch: int):
    """One BLAS thread while the products are small (n_l·n_{l-1}·batch < 4e6): a second thread only
    adds synchronization there, and on a busy machine it can cost 10×. Needs threadpoolctl (optional)."""
    largest = max(n * p for p, n in zip(layer_dims[:-1], layer_dims[1:])) * batch
    if largest >= 4e6:
        return contextlib.nullcontext()
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1, user_api="blas")


class _SigintFlag:
    """While active, Ctrl-C sets ``flag`` instead of raising, so training stops after the current batch."""

    def __init__(self):
        self.flag = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.flag:            # a second Ctrl-C interrupts at once
            raise KeyboardInterrupt
        self.flag = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
        return False
