"""scikit-learn's per-epoch bookkeeping and stopping rule for the estimators, as a vecprop callback."""
from __future__ import annotations

import numpy as np

from vecprop.callbacks import Callback
from vecprop.schedules import MLPLearningRate

__all__ = ["Progress", "SklearnMonitor"]


class Progress:
    """The fitted bookkeeping one fit call advances (committed to the estimator when it succeeds)."""

    def __init__(self, est, first_pass: bool, params):
        keep = {} if first_pass else est.__dict__
        self.n_iter, self.t = 0, keep.get("t_", 0)
        self.no_improvement = keep.get("_no_improvement_count", 0)
        self.loss, self.loss_curve = keep.get("loss_"), list(keep.get("loss_curve_") or [])
        self.validation_scores = keep.get("validation_scores_")
        self.validation_scores = None if self.validation_scores is None else list(self.validation_scores)
        self.best_validation_score = keep.get("best_validation_score_")
        self.validation_loss_curve = keep.get("validation_loss_curve_")
        self.validation_loss_curve = None if self.validation_loss_curve is None else list(self.validation_loss_curve)
        self.best_loss = keep.get("best_loss_", np.inf)
        if est.early_stopping and self.validation_scores is None:     # first pass, or early_stopping switched on
            self.best_loss, self.validation_scores, self.best_validation_score = None, [], -np.inf
            self.validation_loss_curve = []
        elif not est.early_stopping and first_pass:
            self.best_loss, self.validation_scores, self.best_validation_score = np.inf, None, None
            self.validation_loss_curve = None
        if self.best_loss is None and not est.early_stopping:
            self.best_loss = np.inf
        self.converged = False
        # scikit-learn restores the best validation epoch's weights, the initial ones if none improved
        saved = keep.get("_best_params")
        self.best_params = saved if saved is not None else {k: v.copy() for k, v in params.items()}


class SklearnMonitor(Callback):
    """scikit-learn's per-epoch bookkeeping and stopping rule.

    Per epoch: loss_ on scikit-learn's scale; the validation score when early stopping (keeping a
    copy of the best parameters); the no-improvement count against ``tol``; the learning-rate rule;
    and ``trainer.stop_training`` when the count exceeds ``n_iter_no_change``.
    """

    def __init__(self, est, progress, n_samples, validation, l2, mean_outputs):
        self.est, self.progress, self.n_samples = est, progress, n_samples
        self.validation = validation          # (X_val (n_x, m_v), labels or targets (m_v, ...), weights) or None
        self.l2 = l2
        self.mean_outputs = mean_outputs      # k > 1 squared-error outputs: scikit-learn averages over them
        self._loss_sum = 0.0
        self._sq = 0.0

    def _sum_sq(self, net):
        return sum(float(np.vdot(W, W)) for k, W in net.params.items() if k[0] == "W") if self.l2 else 0.0

    def on_train_begin(self, trainer):
        self._sq = self._sum_sq(trainer.net)

    def on_batch_end(self, trainer, batch, logs):
        if self.mean_outputs > 1:
            # J = Σ_k ½(a−y)² averaged + λ/(2m)Σ‖W‖²; scikit-learn reports the data term averaged over k
            n_b = logs["size"]
            penalty = self.l2 / (2 * n_b) * self._sq     # the penalty at the weights the cost saw
            self._loss_sum += ((logs["loss"] - penalty) / self.mean_outputs + penalty) * n_b
            self._sq = self._sum_sq(trainer.net)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.mean_outputs > 1:
            loss = self._loss_sum / self.n_samples
            self._loss_sum = 0.0
        else:
            loss = logs["loss"]
        if self.validation is not None and logs.get("val_loss") is not None \
                and self.progress.validation_loss_curve is not None:
            self.progress.validation_loss_curve.append(logs["val_loss"])
        state = getattr(trainer, "state", None) or trainer.net._training   # the TrainerState being stepped
        if self.end_epoch(trainer.net, loss, state):
            trainer.stop_training = True

    def end_epoch(self, net, loss, state) -> bool:
        """scikit-learn's end of an epoch (also after a diverged one, with loss NaN); True to stop."""
        est, p = self.est, self.progress
        p.n_iter += 1
        p.t += self.n_samples
        p.loss = loss
        p.loss_curve.append(loss)
        if est.verbose:
            print(f"Iteration {p.n_iter}, loss = {loss:.8f}")
        if self.validation is not None:
            X_val, y_val, w_val, _ = self.validation
            score = est._validation_score(net, X_val, y_val, w_val)
            p.validation_scores.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < p.best_validation_score + est.tol:
                p.no_improvement += 1
            else:
                p.no_improvement = 0
            if score > p.best_validation_score:
                p.best_validation_score = score
                p.best_params = {k: v.copy() for k, v in net.params.items()}
        else:
            if loss > p.best_loss - est.tol:
                p.no_improvement += 1
            else:
                p.no_improvement = 0
            if loss < p.best_loss:
                p.best_loss = loss
        schedule = state.schedule if state is not None else None
        if isinstance(schedule, MLPLearningRate):
            schedule.samples_seen(state.sched_state, p.t)
        if p.no_improvement > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            msg = (f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                   "consecutive epochs.")
            if isinstance(schedule, MLPLearningRate) and not schedule.stalled(state.sched_state):
                p.no_improvement = 0
                if est.verbose:
                    print(f"{msg} Setting learning rate to {state.sched_state['learning_rate']:f}")
            else:
                if est.verbose:
                    print(f"{msg} Stopping.")
                p.converged = True
                return True
        return False
