"""Callbacks: objects the trainer calls at the end of each batch and epoch.

A callback subclasses :class:`Callback` and overrides any of ``on_train_begin(trainer)``,
``on_batch_end(trainer, batch, logs)``, ``on_epoch_end(trainer, epoch, logs)`` and
``on_train_end(trainer, logs)``. ``trainer.net`` is the network, ``trainer.history`` the History so
far, and setting ``trainer.stop_training = True`` ends training after the current epoch (or batch).
``logs`` holds the epoch's numbers: ``loss``, ``val_loss``, ``accuracy``, ``val_accuracy``,
``learning_rate``, ``seconds``.
"""

from __future__ import annotations

import math
import sys

__all__ = ["Callback", "ProgressBar", "PrintCost", "Checkpoint", "StopOnNaN"]


class Callback:
    """Base class: every hook does nothing.

    In a distributed fit (``comm=...``) callbacks run on every rank, except those with
    ``root_only = True`` (printing, progress, saving), which run on rank 0 alone.
    """

    root_only = False

    def on_train_begin(self, trainer) -> None:
        pass

    def on_batch_end(self, trainer, batch: int, logs: dict) -> None:
        pass

    def on_epoch_end(self, trainer, epoch: int, logs: dict) -> None:
        pass

    def on_train_end(self, trainer, logs: dict) -> None:
        pass


def _fmt(logs, keys=("loss", "val_loss", "accuracy", "val_accuracy")):
    return "  ".join(f"{k} {logs[k]:.4f}" for k in keys if logs.get(k) is not None)


def _in_notebook() -> bool:
    """Whether this process is a Jupyter kernel (IPython is looked up, never imported)."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class ProgressBar(Callback):
    """A tqdm bar over the epochs showing loss and val_loss, in a terminal or a Jupyter notebook (where
    ``tqdm.auto`` draws a widget when ipywidgets is installed); silent otherwise, e.g. in a log file.

    Parameters
    ----------
    force : bool — show it even when not attached to a terminal
    """

    def __init__(self, force: bool = False):
        self.force = force
        self._bar = None

    def on_train_begin(self, trainer):
        if not (self.force or sys.stderr.isatty() or _in_notebook()):
            return
        try:
            from tqdm.auto import tqdm
        except ImportError:  # tqdm is optional: no bar, training goes on
            return
        self._bar = tqdm(total=trainer.epochs, desc="epochs", unit="epoch", leave=True, file=sys.stderr)

    def on_epoch_end(self, trainer, epoch, logs):
        if self._bar is not None:
            self._bar.set_postfix_str(_fmt(logs), refresh=False)
            self._bar.update(1)

    def on_train_end(self, trainer, logs):
        if self._bar is not None:
            self._bar.close()
            self._bar = None


class PrintCost(Callback):
    """The course's habit: print the cost every ``every`` epochs (iterations in batch gradient descent)."""

    root_only = True

    def __init__(self, every: int = 100, file=None):
        if int(every) < 1:
            raise ValueError(f"PrintCost needs every >= 1, got {every!r}")
        self.every = int(every)
        self.file = file

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.every == 0 or epoch == trainer.last_epoch:
            print(f"Cost after epoch {epoch}: {_fmt(logs)}", file=self.file or sys.stdout)


class Checkpoint(Callback):
    """Save the network to ``path`` (a safetensors model file, atomically) every ``every`` epochs.

    With ``save_best_only=True`` it saves only when the monitored value improves (losses are minimized,
    accuracies maximized). The file includes the
    optimizer and random state, so training resumed from it continues bit for bit.
    """

    root_only = True

    def __init__(self, path, every: int = 1, save_best_only: bool = False, monitor: str = "val_loss"):
        if int(every) < 1:
            raise ValueError(f"Checkpoint needs every >= 1, got {every!r}")
        self.path, self.every, self.save_best_only, self.monitor = path, int(every), save_best_only, monitor
        self._sign = -1.0 if monitor.endswith("accuracy") else 1.0  # accuracies are maximized
        self._best = math.inf

    def on_epoch_end(self, trainer, epoch, logs):
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                value = logs.get("loss")
            if value is None or not self._sign * value < self._best:
                return
            self._best = self._sign * value
        elif (epoch + 1) % self.every:
            return
        trainer.net.save(self.path)


class StopOnNaN(Callback):
    """End training quietly (no exception) as soon as a batch's cost is not finite.

    Without it the trainer raises :class:`vecprop.training.DivergenceError`; either way the parameters
    left are the last finite ones.
    """

    stop_quietly = True
