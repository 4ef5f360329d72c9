"""scikit-learn's end of an epoch as a stopping rule on the Trainer's loop, and the fitted record it keeps.

The rule is :class:`vecprop.stopping.NoImprovement` (``tol``/``n_iter_no_change``, the adaptive rate,
the best weights restored when stopping early) measured on scikit-learn's scale: the training loss with
squared error averaged over the outputs, or the validation accuracy/R² when ``early_stopping``.
"""

from __future__ import annotations

import numpy as np

from vecprop.callbacks import Callback
from vecprop.schedules import MLPLearningRate
from vecprop.stopping import NoImprovement

__all__ = ["Progress", "OutputMeanLoss", "SklearnStopping"]


class Progress:
    """The fitted bookkeeping one fit call advances (committed to the estimator when it succeeds)."""

    def __init__(self, est, first_pass: bool):
        keep = {} if first_pass else est.__dict__
        self.n_iter, self.t = 0, keep.get("t_", 0)
        self.no_improvement = keep.get("_no_improvement_count", 0)
        self.loss, self.loss_curve = keep.get("loss_"), list(keep.get("loss_curve_") or [])
        self.validation_scores = _list_or_none(keep.get("validation_scores_"))
        self.best_validation_score = keep.get("best_validation_score_")
        self.validation_loss_curve = _list_or_none(keep.get("validation_loss_curve_"))
        self.best_loss = keep.get("best_loss_", np.inf)
        if est.early_stopping and self.validation_scores is None:  # first pass, or early_stopping switched on
            self.best_loss, self.validation_scores, self.best_validation_score = None, [], -np.inf
            self.validation_loss_curve = []
        elif not est.early_stopping and first_pass:
            self.best_loss, self.validation_scores, self.best_validation_score = np.inf, None, None
            self.validation_loss_curve = None
        if self.best_loss is None and not est.early_stopping:
            self.best_loss = np.inf
        self.converged = False
        self.best_theta = keep.get("_best_params")  # the parameters at the best validation score so far


def _list_or_none(values):
    return None if values is None else list(values)


class OutputMeanLoss(Callback):
    """scikit-learn's loss with k > 1 squared-error outputs: the data term averaged over the outputs.

    The cost the engine reports is J = Σ_k ½(a − y)² averaged over the batch + λ/(2 m_b)·Σ‖W‖²; per batch
    this measures (J − penalty)/k + penalty with the penalty at the weights that batch's cost saw, and
    :meth:`epoch_loss` averages the epoch over its examples, as scikit-learn accumulates its loss.
    It only measures; :class:`SklearnStopping` reads it.
    """

    def __init__(self, k: int, l2: float):
        self.k, self.l2 = k, l2
        self._loss_sum = self._sq = 0.0

    def _sum_sq(self, trainer):
        if not self.l2:
            return 0.0
        weights = [W for k, W in trainer.net.params.items() if k[0] == "W"]
        if getattr(trainer.engine, "array_api", False):  # the weights are on a device: summed there
            return trainer.engine.sum_of_squares(weights)
        return sum(float(np.vdot(W, W)) for W in weights)

    def on_train_begin(self, trainer):
        self._loss_sum, self._sq = 0.0, self._sum_sq(trainer)

    def on_batch_end(self, trainer, batch, logs):
        n_b = logs["size"]
        penalty = self.l2 / (2 * n_b) * self._sq  # the penalty at the weights the cost saw
        self._loss_sum += ((logs["loss"] - penalty) / self.k + penalty) * n_b
        self._sq = self._sum_sq(trainer)

    def epoch_loss(self, n_samples: int) -> float:
        loss, self._loss_sum = self._loss_sum / n_samples, 0.0
        return loss


class SklearnStopping(NoImprovement):
    """scikit-learn's ``tol``/``n_iter_no_change`` rule on its own numbers, recording them in a Progress.

    After every epoch: ``n_iter_``, ``t_``, ``loss_`` (with k > 1 squared-error outputs from an
    :class:`OutputMeanLoss`), the validation score when early stopping; the count and the best value
    (NoImprovement's); the invscaling rate; the adaptive rate's division by 5 on a plateau. With early
    stopping the best score's weights are restored at the end, also after a divergence, which records
    its epoch as a NaN loss and score.

    Parameters
    ----------
    est : the estimator (tol, n_iter_no_change, verbose, _validation_score)
    progress : Progress
    n_samples : training examples per epoch
    validation : (X_val (n_x, m_v), labels or targets, weights, Y_val) or None
    output_mean : OutputMeanLoss (k > 1 squared-error outputs) or None (the cost is scikit-learn's loss)
    verbose : print scikit-learn's lines; default ``est.verbose`` (over MPI: on rank 0 only)
    """

    def __init__(self, est, progress, n_samples, validation, output_mean=None, verbose=None):
        early = validation is not None
        super().__init__(
            est.tol,
            est.n_iter_no_change,
            reduce_rate=self._reduce_rate,
            restore_best=early,
            best=progress.best_validation_score if early else -progress.best_loss,
            no_improvement=progress.no_improvement,
            best_theta=progress.best_theta if early else None,
        )
        self.est, self.progress, self.n_samples = est, progress, n_samples
        self.validation, self.output_mean = validation, output_mean
        self.verbose = bool(est.verbose) if verbose is None else verbose

    def value(self, trainer, logs) -> float:
        """Record the epoch as scikit-learn does; the value NoImprovement maximizes (score, or −loss)."""
        p, verbose = self.progress, self.verbose
        loss = logs["loss"] if self.output_mean is None else self.output_mean.epoch_loss(self.n_samples)
        p.n_iter += 1
        p.t += self.n_samples
        p.loss = loss
        p.loss_curve.append(loss)
        if verbose:
            print(f"Iteration {p.n_iter}, loss = {loss:.8f}")
        if self.validation is None:
            p.best_loss = min(p.best_loss, loss)
            return -loss
        X_val, y_val, w_val, _ = self.validation
        if logs.get("val_loss") is not None and p.validation_loss_curve is not None:
            p.validation_loss_curve.append(logs["val_loss"])
        score = self.est._validation_score(trainer.net, X_val, y_val, w_val, trainer.reducer)
        p.validation_scores.append(score)
        if verbose:
            print(f"Validation score: {score:f}")
        return score

    def observe(self, trainer, epoch, logs):
        super().observe(trainer, epoch, logs)
        p, state = self.progress, trainer.state
        p.no_improvement = self.no_improvement
        if self.validation is not None:
            p.best_validation_score = self.best
        if isinstance(state.schedule, MLPLearningRate):
            state.schedule.samples_seen(state.sched_state, p.t)

    def _message(self) -> str:
        what = "Validation score" if self.validation is not None else "Training loss"
        return f"{what} did not improve more than tol={self.tol:f} for {self.n_iter_no_change} consecutive epochs."

    def _reduce_rate(self, trainer) -> bool:
        """scikit-learn's adaptive rate: α /= 5 on a plateau (True), unless already at its minimum."""
        state = trainer.state
        if not isinstance(state.schedule, MLPLearningRate) or state.schedule.stalled(state.sched_state):
            return False
        if self.verbose:
            print(f"{self._message()} Setting learning rate to {state.sched_state['learning_rate']:f}")
        return True

    def epoch_reason(self, trainer, epoch, logs):
        reason = super().epoch_reason(trainer, epoch, logs)
        self.progress.no_improvement = self.no_improvement
        if reason:
            self.progress.converged = True
            if self.verbose:
                print(f"{self._message()} Stopping.")
        return reason

    def on_train_end(self, trainer):
        if trainer.history.stop_reason == "diverged" and self.validation is not None:
            p = self.progress  # scikit-learn records the diverged epoch's NaN loss and score
            p.n_iter += 1
            p.loss_curve.append(float("nan"))
            p.validation_scores.append(float("nan"))
        super().on_train_end(trainer)
        if self.restore_best:
            self.progress.best_theta = self.best_theta
