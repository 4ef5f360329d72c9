"""Stopping rules: objects the Trainer asks, after every batch and every epoch, whether to stop.

A rule subclasses :class:`StoppingRule` and overrides any of

- ``on_train_begin(trainer)``;
- ``observe(trainer, epoch, logs)`` — after an epoch is recorded, BEFORE the callbacks see it (track a
  best value, keep the best parameters);
- ``epoch_reason(trainer, epoch, logs) -> str | None`` — after the callbacks: a stop reason
  (``history.stop_reason``) or None to go on;
- ``batch_reason(trainer) -> str | None`` — after every batch: stop in the middle of an epoch (that
  partial epoch is not recorded);
- ``on_train_end(trainer)`` — e.g. restore the best parameters.

The Trainer asks its rules in order and stops at the first reason. Built in: :class:`EarlyStopping`
(Keras-style monitor/patience/min_delta/restore best), :class:`NoImprovement` (scikit-learn's
``tol``/``n_iter_no_change`` rule, with its adaptive learning rate), :class:`Interrupt` (Ctrl-C) and
:class:`CallbackStop` (a callback set ``trainer.stop_training``). Divergence (a NaN/inf cost) is the
Trainer's own check after every step: it restores the last finite parameters and raises
:class:`vecprop.training.DivergenceError`.
"""

from __future__ import annotations

import math
import signal
import threading

__all__ = ["StoppingRule", "EarlyStopping", "NoImprovement", "Interrupt", "CallbackStop"]


class StoppingRule:
    """Base class: never stops."""

    def on_train_begin(self, trainer) -> None:
        pass

    def observe(self, trainer, epoch: int, logs: dict) -> None:
        pass

    def epoch_reason(self, trainer, epoch: int, logs: dict) -> str | None:
        return None

    def batch_reason(self, trainer) -> str | None:
        return None

    def on_train_end(self, trainer) -> None:
        pass


class EarlyStopping(StoppingRule):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience`` epochs.

    Parameters
    ----------
    monitor : "val_loss", "val_accuracy", "loss" or "accuracy" (accuracy is maximized, losses minimized);
        a missing key falls back to ``loss``
    patience : int — epochs without improvement before stopping
    min_delta : float — smallest change that counts as an improvement
    restore_best : bool — at the end, put back the parameters of the best epoch (``history.best_epoch``)
    stop : bool — False only tracks the best epoch (restore without early stopping)
    """

    def __init__(self, monitor="val_loss", patience=10, min_delta=0.0, restore_best=True, stop=True):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.restore_best, self.stop = restore_best, stop
        self.sign = -1.0 if monitor.endswith("accuracy") else 1.0  # minimize sign·value
        self.best_value, self.best_epoch, self.wait, self.best = math.inf, None, 0, None

    def on_train_begin(self, trainer):
        self.best_value, self.best_epoch, self.wait = math.inf, None, 0
        self.best = trainer.engine.copy_params(trainer.theta) if self.restore_best else None

    def observe(self, trainer, epoch, logs):
        value = self.sign * logs.get(self.monitor, logs["loss"])
        if value < self.best_value - self.min_delta:
            self.best_value, self.best_epoch, self.wait = value, epoch, 0
            if self.best is not None:
                trainer.engine.copy_into(self.best, trainer.theta)
        else:
            self.wait += 1

    def epoch_reason(self, trainer, epoch, logs):
        return "early_stopping" if self.stop and self.wait >= self.patience else None

    def on_train_end(self, trainer):
        if self.best is not None and self.best_epoch is not None:
            trainer.engine.copy_into(trainer.theta, self.best)
            trainer.history.best_epoch = self.best_epoch


class NoImprovement(StoppingRule):
    """scikit-learn's MLP rule: stop when the epoch's value has not improved by more than ``tol`` for more
    than ``n_iter_no_change`` consecutive epochs — unless an adaptive learning rate can still be divided.

    The value is maximized: ``score(trainer, logs)`` (scikit-learn's validation accuracy or R² when it
    stops early), or −``loss`` (its training loss otherwise). An epoch counts as no improvement when its
    value is below ``best + tol``; ``best`` is the largest value so far.

    Parameters
    ----------
    tol, n_iter_no_change : as scikit-learn's MLPClassifier/MLPRegressor
    score : callable ``(trainer, logs) -> float`` to MAXIMIZE, or None to MINIMIZE the training ``loss``
    reduce_rate : callable ``(trainer) -> bool``, optional — called on a plateau; returns True when it
        lowered the learning rate (scikit-learn's ``learning_rate="adaptive"``), which resets the count
        instead of stopping
    restore_best : bool — keep the parameters of the best value and put them back at the end, also after
        a divergence or Ctrl-C (scikit-learn's early stopping; the starting parameters if none improved)
    best, no_improvement, best_theta : the state to continue from (a warm start): the best value, the
        count, and the parameters at that best (``restore_best`` only)
    """

    def __init__(
        self,
        tol=1e-4,
        n_iter_no_change=10,
        score=None,
        reduce_rate=None,
        *,
        restore_best=False,
        best=-math.inf,
        no_improvement=0,
        best_theta=None,
    ):
        self.tol, self.n_iter_no_change = tol, n_iter_no_change
        self.score, self.reduce_rate, self.restore_best = score, reduce_rate, restore_best
        self.best, self.no_improvement, self.converged = best, no_improvement, False
        self.best_theta, self.best_epoch = best_theta, None

    def on_train_begin(self, trainer):
        self.converged = False
        if self.restore_best:
            start = trainer.theta if self.best_theta is None else self.best_theta
            self.best_theta = trainer.engine.copy_params(start)  # a copy: a given best stays as it was

    def value(self, trainer, logs) -> float:
        """The epoch's value to maximize: ``score(trainer, logs)``, or −loss."""
        return self.score(trainer, logs) if self.score is not None else -logs["loss"]

    def observe(self, trainer, epoch, logs):
        value = self.value(trainer, logs)
        self.no_improvement = self.no_improvement + 1 if value < self.best + self.tol else 0
        if value > self.best:
            self.best, self.best_epoch = value, epoch
            if self.restore_best:
                trainer.engine.copy_into(self.best_theta, trainer.theta)

    def epoch_reason(self, trainer, epoch, logs):
        if self.no_improvement <= self.n_iter_no_change:
            return None
        if self.reduce_rate is not None and self.reduce_rate(trainer):
            self.no_improvement = 0
            return None
        self.converged = True
        return "converged"

    def on_train_end(self, trainer):
        if self.restore_best:
            trainer.engine.copy_into(trainer.theta, self.best_theta)
            if self.best_epoch is not None:
                trainer.history.best_epoch = self.best_epoch


class CallbackStop(StoppingRule):
    """Stop when a callback has set ``trainer.stop_training`` (after the current batch or epoch)."""

    def batch_reason(self, trainer):
        return "callback" if trainer.stop_training else None

    def epoch_reason(self, trainer, epoch, logs):
        return "callback" if trainer.stop_training else None


class Interrupt(StoppingRule):
    """Ctrl-C (SIGINT) stops training after the current batch; a second Ctrl-C interrupts at once.

    The handler is installed by the Trainer (``with rule:``) only on the main thread.
    """

    def __init__(self):
        self.flag = False
        self._previous = None

    def _handler(self, signum, frame):
        if self.flag:
            raise KeyboardInterrupt
        self.flag = True

    def __enter__(self):
        self.flag = False
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handler)
        return self

    def __exit__(self, *exc):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)
            self._previous = None
        return False

    def batch_reason(self, trainer):
        return "interrupted" if self.flag else None

    def epoch_reason(self, trainer, epoch, logs):
        return "interrupted" if self.flag else None
