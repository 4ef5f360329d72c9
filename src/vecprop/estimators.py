"""scikit-learn estimators on vecprop's core: :class:`DNNClassifier` and :class:`DNNRegressor`.

They take scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` parameters (same names, defaults and
meanings) and train a :class:`vecprop.Network` with :func:`vecprop.training.fit`; there is no
backpropagation here. This module is the ONLY place where rows become columns: scikit-learn's
``X`` of shape (n_samples, n_features) enters the network as ``X.T``, the course's (n_x, m), and
outputs ``A[L]`` of shape (n_L, m) leave as ``A[L].T``, (n_samples, n_outputs).

Mapping onto the core
---------------------
- ``solver="adam"`` → vecprop ``adam`` (beta1=beta_1, beta2=beta_2, epsilon); α = learning_rate_init.
  scikit-learn adds ε to √s, vecprop (the course) to √ŝ (bias-corrected): ε is effectively rescaled
  by √(1 − β2^t), which only matters while √s is as small as ε.
- ``solver="sgd"`` → vecprop ``nesterov`` (``nesterovs_momentum=True``) or ``momentum`` with
  β = momentum, and α = learning_rate_init / (1 − momentum); plain ``gd`` when momentum = 0.
  scikit-learn's velocity is u = μu − lr·dW, W += u; the course's is v = βv + (1 − β)dW,
  W −= αv. With u = −αv these are the same recursion exactly when lr = α(1 − β), so the rescaled α
  makes scikit-learn's ``learning_rate_init`` mean what it means there (identical steps at a
  constant rate; with invscaling/adaptive the course form applies the current α to the whole
  velocity, scikit-learn only to the newest gradient).
- ``solver`` "gd", "momentum", "nesterov", "rmsprop", "adamw": vecprop's optimizers in the course's
  convention, α = learning_rate_init; momentum/nesterov use β = momentum, rmsprop β = beta_2,
  adamw beta_1/beta_2/epsilon with ``alpha`` as its decoupled weight decay (and no L2 in the cost).
- ``alpha`` → the course's λ: J += λ/(2m)·Σ‖W[l]‖² per mini-batch of m examples, which is
  scikit-learn's ``0.5·alpha·Σ‖W‖²/n_batch`` exactly. With sample weights scikit-learn divides by
  the batch's weight sum; here λ = alpha·m/Σw over the training set (exact for one full batch).
- ``learning_rate`` "constant"/"invscaling"/"adaptive" → scikit-learn's rules (rate/(t+1)^power_t
  with t the samples seen; ÷5 when the loss stalls, stop below 1e-6), for every solver except
  "adam", which ignores them as in scikit-learn. Any other vecprop schedule name or spec dict
  ("cosine", {"name": "step", "step_size": 30}, ...) is passed to :func:`vecprop.schedules.get_schedule`.
- Convergence is scikit-learn's: stop when the training loss (or, with ``early_stopping``, the
  validation score) has not improved by ``tol`` for more than ``n_iter_no_change`` epochs;
  ``ConvergenceWarning`` when ``max_iter`` ends the fit first.
"""
from __future__ import annotations

import math
import numbers
import warnings
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.metrics import accuracy_score, r2_score
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d

from . import propagation
from .activations import get_activation
from .callbacks import Callback
from .initializers import INITIALIZERS
from .network import Network
from .optimizers import get_optimizer
from .schedules import _SKLEARN_RATES, MLPLearningRate, get_schedule
from .training import DivergenceError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)

__all__ = ["DNNClassifier", "DNNRegressor", "MLPLearningRate"]

_SOLVERS = ("adam", "sgd", "gd", "momentum", "nesterov", "rmsprop", "adamw")
_ACTIVATION_ALIASES = {"identity": "linear", "logistic": "sigmoid"}  # scikit-learn name -> vecprop name
_SKLEARN_NAMES = {"linear": "identity", "sigmoid": "logistic"}       # for out_activation_
_ESTIMATOR_FILE_VERSION = 1


# ------------------------------------------------------------------------------ the plan
@dataclass(frozen=True)
class _Plan:
    """Every estimator parameter resolved to what :func:`vecprop.training.fit` takes."""

    hidden: tuple                    # n_1 .. n_{L-1}
    activations: tuple               # vecprop specs for the hidden layers
    optimizer: Any                   # get_optimizer spec
    learning_rate: float             # α handed to fit (rescaled for solver="sgd")
    schedule: Any                    # None, an MLPLearningRate, or a vecprop schedule spec
    l2_on: bool                      # alpha enters the cost as λ (False for adamw: decoupled decay)
    keep_prob: Any                   # dropout keep probability, float or per hidden layer
    initializer: Any                 # vecprop initializer name(s)


def _sample_weight(sample_weight, X):
    """scikit-learn's check: shape (n_samples,), finite, non-negative; a copy in X's dtype."""
    try:
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype, ensure_non_negative=True)
    except TypeError:  # pragma: no cover - scikit-learn < 1.4 names it only_non_negative
        w = _check_sample_weight(sample_weight, X, dtype=X.dtype, only_non_negative=True)
    return np.array(w, dtype=X.dtype, copy=True)


def _is_int(x) -> bool:
    return isinstance(x, numbers.Integral) and not isinstance(x, (bool, np.bool_))


def _is_real(x) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_)) and not math.isnan(x)


def _is_bool(x) -> bool:
    return isinstance(x, (bool, np.bool_))


def _activation_name(spec):
    """scikit-learn's identity/logistic become vecprop's linear/sigmoid; other specs pass through."""
    return _ACTIVATION_ALIASES.get(spec, spec) if isinstance(spec, str) else spec


def _activation_label(g) -> str:
    return _SKLEARN_NAMES.get(g.name, g.name)


# ------------------------------------------------------------------------------ convergence monitor
class _Progress:
    """The fitted bookkeeping one fit call advances (committed to the estimator when it succeeds)."""

    def __init__(self, est, first_pass: bool):
        if first_pass:
            self.n_iter, self.t, self.no_improvement = 0, 0, 0
            self.loss, self.loss_curve = None, []
            if est.early_stopping:
                self.best_loss, self.validation_scores, self.best_validation_score = None, [], -np.inf
                self.validation_loss_curve = []
            else:
                self.best_loss, self.validation_scores, self.best_validation_score = np.inf, None, None
                self.validation_loss_curve = None
        else:
            self.n_iter, self.t = 0, est.t_
            self.no_improvement = est._no_improvement_count
            self.loss, self.loss_curve = est.loss_, list(est.loss_curve_)
            self.best_loss = est.best_loss_
            self.validation_scores = None if est.validation_scores_ is None else list(est.validation_scores_)
            self.best_validation_score = est.best_validation_score_
            self.validation_loss_curve = (None if est.validation_loss_curve_ is None
                                          else list(est.validation_loss_curve_))
            if est.early_stopping and self.validation_scores is None:  # early_stopping switched on
                self.best_loss, self.validation_scores, self.best_validation_score = None, [], -np.inf
                self.validation_loss_curve = []
        self.converged = False
        self.best_params = None


class _SklearnMonitor(Callback):
    """scikit-learn's per-epoch bookkeeping and stopping rule, as a vecprop callback.

    Per epoch: loss_ on scikit-learn's scale; the validation score when early stopping (keeping a
    copy of the best parameters); the no-improvement count against ``tol``; the learning-rate rule;
    and ``trainer.stop_training`` when the count exceeds ``n_iter_no_change``.
    """

    def __init__(self, est, progress, n_samples, validation, l2, mean_outputs, rate_scale):
        self.est, self.progress, self.n_samples = est, progress, n_samples
        self.rate_scale = rate_scale          # scikit-learn's rate per unit of the core's α (1 − momentum for sgd)
        self.validation = validation          # (X_val (n_x, m_v), labels or targets (m_v, ...), weights) or None
        self.l2 = l2
        self.mean_outputs = mean_outputs      # k > 1 regression outputs: scikit-learn averages over them
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
        est, p = self.est, self.progress
        if self.mean_outputs > 1:
            loss = self._loss_sum / self.n_samples
            self._loss_sum = 0.0
        else:
            loss = logs["loss"]
        p.n_iter += 1
        p.t += self.n_samples
        p.loss = loss
        p.loss_curve.append(loss)
        if est.verbose:
            print(f"Iteration {p.n_iter}, loss = {loss:.8f}")
        if self.validation is not None:
            if logs.get("val_loss") is not None and p.validation_loss_curve is not None:
                p.validation_loss_curve.append(logs["val_loss"])
            X_val, y_val, w_val, _ = self.validation
            score = est._validation_score(trainer.net, X_val, y_val, w_val)
            p.validation_scores.append(score)
            if est.verbose:
                print(f"Validation score: {score:f}")
            if score < p.best_validation_score + est.tol:
                p.no_improvement += 1
            else:
                p.no_improvement = 0
            if score > p.best_validation_score:
                p.best_validation_score = score
                p.best_params = {k: v.copy() for k, v in trainer.net.params.items()}
        else:
            if loss > p.best_loss - est.tol:
                p.no_improvement += 1
            else:
                p.no_improvement = 0
            if loss < p.best_loss:
                p.best_loss = loss
        state = getattr(trainer, "state", None) or trainer.net._training   # the TrainerState being stepped
        schedule = state.schedule
        if isinstance(schedule, MLPLearningRate):
            schedule.samples_seen(state.sched_state, p.t)
        if p.no_improvement > est.n_iter_no_change:
            what = "Validation score" if self.validation is not None else "Training loss"
            msg = (f"{what} did not improve more than tol={est.tol:f} for {est.n_iter_no_change} "
                   "consecutive epochs.")
            if isinstance(schedule, MLPLearningRate) and not schedule.stalled(state.sched_state):
                p.no_improvement = 0
                if est.verbose:
                    rate = state.sched_state["learning_rate"] * self.rate_scale
                    print(f"{msg} Setting learning rate to {rate:f}")
            else:
                if est.verbose:
                    print(f"{msg} Stopping.")
                p.converged = True
                trainer.stop_training = True


# ------------------------------------------------------------------------------ the shared base
class _BaseDNN(BaseEstimator):
    """What DNNClassifier and DNNRegressor share: parameters, fit, partial_fit, persistence."""

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 keep_prob=1.0, output_activation=None, initializer=None, engine="auto"):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.solver = solver
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.learning_rate_init = learning_rate_init
        self.power_t = power_t
        self.max_iter = max_iter
        self.shuffle = shuffle
        self.random_state = random_state
        self.tol = tol
        self.verbose = verbose
        self.warm_start = warm_start
        self.momentum = momentum
        self.nesterovs_momentum = nesterovs_momentum
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.beta_1 = beta_1
        self.beta_2 = beta_2
        self.epsilon = epsilon
        self.n_iter_no_change = n_iter_no_change
        self.max_fun = max_fun
        self.keep_prob = keep_prob
        self.output_activation = output_activation
        self.initializer = initializer
        self.engine = engine

    # -------------------------------------------------------------------------- validation
    def _plan(self) -> _Plan:
        """Check every parameter once and resolve it for the core; ValueError names the fix."""
        name = type(self).__name__

        def bad(param, expected):
            raise ValueError(f"{name}: {param} must be {expected}, got {getattr(self, param)!r}")

        hidden = self.hidden_layer_sizes
        hidden = [hidden] if _is_int(hidden) or not hasattr(hidden, "__iter__") else list(hidden)
        if not all(_is_int(n) and n >= 1 for n in hidden):
            bad("hidden_layer_sizes", "a positive integer or a sequence of them, e.g. (100,) or (64, 32)")
        hidden = tuple(int(n) for n in hidden)

        act = self.activation
        if isinstance(act, (list, tuple)):
            if len(act) != len(hidden):
                raise ValueError(f"{name}: activation lists {len(act)} names for {len(hidden)} hidden layers "
                                 f"(hidden_layer_sizes={self.hidden_layer_sizes!r}); give one name, or one "
                                 "per hidden layer")
            acts = tuple(_activation_name(a) for a in act)
        else:
            acts = (_activation_name(act),) * len(hidden)
        for a in acts:
            try:
                get_activation(a)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{name}: activation {a!r} is not known ({exc}); scikit-learn's identity, "
                                 "logistic, tanh and relu work too") from None
            if isinstance(a, str) and a == "softmax":
                raise ValueError(f"{name}: softmax is an output activation, not a hidden one")

        solver = self.solver
        if solver == "lbfgs":
            raise ValueError(f"{name}: solver='lbfgs' (scikit-learn's full-batch quasi-Newton method) is not "
                             "available: vecprop trains by back-propagated gradient steps only. Use "
                             "solver='adam' (the default); for full-batch training pass batch_size=n_samples")
        if solver not in _SOLVERS:
            raise ValueError(f"{name}: unknown solver {solver!r}; expected one of: {', '.join(_SOLVERS)}")

        for param, low, high, lo_open, hi_open in (
                ("alpha", 0.0, math.inf, False, True), ("learning_rate_init", 0.0, math.inf, True, True),
                ("power_t", 0.0, math.inf, False, True), ("tol", 0.0, math.inf, False, True),
                ("momentum", 0.0, 1.0, False, True), ("beta_1", 0.0, 1.0, False, True),
                ("beta_2", 0.0, 1.0, False, True), ("epsilon", 0.0, math.inf, True, True)):
            v = getattr(self, param)
            ok = _is_real(v) and (v > low if lo_open else v >= low) and (v < high if hi_open else v <= high)
            if not ok:
                interval = f"{'(' if lo_open else '['}{low:g}, {'inf' if math.isinf(high) else f'{high:g}'}" \
                           f"{')' if hi_open else ']'}"
                hint = (" (momentum = 1 never forgets a gradient; vecprop's momentum needs β < 1)"
                        if param == "momentum" and v == 1 else "")
                bad(param, f"a number in {interval}{hint}")
        if not (_is_int(self.max_iter) and self.max_iter >= 1):
            bad("max_iter", "an integer >= 1 (epochs)")
        if not (_is_int(self.max_fun) and self.max_fun >= 1):
            bad("max_fun", "an integer >= 1 (only used by scikit-learn's lbfgs)")
        if not ((_is_int(self.n_iter_no_change) and self.n_iter_no_change >= 1) or self.n_iter_no_change == np.inf):
            bad("n_iter_no_change", "an integer >= 1 or np.inf")
        if not (self.batch_size == "auto" or (_is_int(self.batch_size) and self.batch_size >= 1)):
            bad("batch_size", "'auto' (min(200, n_samples)) or an integer >= 1")
        for param in ("shuffle", "warm_start", "nesterovs_momentum", "early_stopping"):
            if not _is_bool(getattr(self, param)):
                bad(param, "True or False")
        if not (_is_bool(self.verbose) or _is_int(self.verbose)):
            bad("verbose", "True/False or an integer")
        if not (_is_real(self.validation_fraction) and 0 <= self.validation_fraction < 1):
            bad("validation_fraction", "a number in [0, 1)")
        if self.early_stopping and self.validation_fraction == 0:
            raise ValueError(f"{name}: early_stopping=True needs validation_fraction in (0, 1), got 0")
        if not (self.random_state is None or _is_int(self.random_state)
                or isinstance(self.random_state, np.random.RandomState)):
            bad("random_state", "None, an integer or a numpy.random.RandomState")

        # the optimizer (see the module docstring for the mapping)
        lr = float(self.learning_rate_init)
        if solver == "adam":
            optimizer = {"name": "adam", "beta1": self.beta_1, "beta2": self.beta_2, "epsilon": self.epsilon}
        elif solver == "sgd":
            if self.momentum == 0:
                optimizer = {"name": "gd"}
            else:
                optimizer = {"name": "nesterov" if self.nesterovs_momentum else "momentum", "beta": self.momentum}
                lr = lr / (1.0 - self.momentum)      # scikit-learn's lr = α(1 − β), see the docstring
        elif solver in ("momentum", "nesterov"):
            optimizer = {"name": solver, "beta": self.momentum}
        elif solver == "rmsprop":
            optimizer = {"name": "rmsprop", "beta": self.beta_2, "epsilon": self.epsilon}
        elif solver == "adamw":
            optimizer = {"name": "adamw", "beta1": self.beta_1, "beta2": self.beta_2, "epsilon": self.epsilon,
                         "weight_decay": self.alpha}
        else:
            optimizer = {"name": "gd"}
        optimizer = get_optimizer(optimizer)

        # the learning-rate schedule
        rate = self.learning_rate
        if isinstance(rate, str) and rate in _SKLEARN_RATES:
            if solver == "adam" or rate == "constant":
                schedule = None                       # scikit-learn's adam ignores learning_rate
            else:
                schedule = MLPLearningRate(policy=rate, power_t=self.power_t,
                                           min_learning_rate=1e-6 * lr / self.learning_rate_init)
        else:
            try:
                schedule = get_schedule(rate)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"{name}: learning_rate must be 'constant', 'invscaling', 'adaptive' or a "
                                 f"vecprop schedule name or spec; {exc}") from None

        kp = self.keep_prob
        if np.ndim(kp) == 0:
            if not (_is_real(kp) and 0 < kp <= 1):
                bad("keep_prob", "in (0, 1] (the probability of KEEPING a unit; 1 disables dropout)")
        else:
            if len(kp) != len(hidden):
                raise ValueError(f"{name}: keep_prob lists {len(kp)} values for {len(hidden)} hidden layers; "
                                 "give one float or one per hidden layer")
            if not all(_is_real(p) and 0 < p <= 1 for p in kp):
                bad("keep_prob", "values in (0, 1] (probabilities of KEEPING a unit)")
            kp = [float(p) for p in kp]

        init = "glorot_uniform" if self.initializer is None else self.initializer
        names = [init] if isinstance(init, str) else list(init) if isinstance(init, (list, tuple)) else [init]
        if isinstance(init, (list, tuple)) and len(names) != len(hidden) + 1:
            raise ValueError(f"{name}: initializer lists {len(names)} names for {len(hidden) + 1} layers; give "
                             "one name or one per layer (hidden layers and the output)")
        for n in names:
            if n not in INITIALIZERS:
                raise ValueError(f"{name}: unknown initializer {n!r}; expected one of: "
                                 f"{', '.join(sorted(INITIALIZERS))}")
        self._check_extra_params()
        return _Plan(hidden=hidden, activations=acts, optimizer=optimizer, learning_rate=lr,
                     schedule=schedule, l2_on=solver != "adamw", keep_prob=kp,
                     initializer=list(init) if isinstance(init, (list, tuple)) else init)

    def _check_extra_params(self) -> None:
        """Subclass hook: check the parameters only one estimator has."""

    # -------------------------------------------------------------------------- training
    def _fit(self, X, y, sample_weight=None, incremental=False):
        plan = self._plan()
        name = type(self).__name__
        if incremental and self.early_stopping:
            raise ValueError(f"{name}: partial_fit does not support early_stopping=True (as in scikit-learn); "
                             "set early_stopping=False or call fit")
        first_pass = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, Y, y_labels = self._validate_input(X, y, incremental, reset=first_pass)
        X = X.toarray() if hasattr(X, "toarray") else X   # the core is dense: sparse input is densified
        n_samples = X.shape[0]
        if sample_weight is not None:
            sample_weight = _sample_weight(sample_weight, X)
        sample_weight = self._apply_class_weight(sample_weight, y_labels, X.dtype, incremental)

        out_activation, loss = self._output(Y)
        layer_dims = [X.shape[1], *plan.hidden, Y.shape[1]]
        dtype = X.dtype
        if first_pass:
            rs = self.random_state
            seed = (int(rs) if _is_int(rs) else
                    int(rs.randint(np.iinfo(np.int32).max)) if isinstance(rs, np.random.RandomState) else None)
            net = Network(layer_dims, [*plan.activations, out_activation], loss, initializer=plan.initializer,
                          seed=seed, dtype=dtype)
        else:
            net = self.network_
            wanted = [get_activation(a).name for a in (*plan.activations, out_activation)]
            if net.layer_dims != layer_dims or [g.name for g in net.activations] != wanted:
                raise ValueError(f"{name}: warm_start/partial_fit continue the fitted network "
                                 f"{net.layer_dims} ({[g.name for g in net.activations]}) but the parameters "
                                 f"and data now describe {layer_dims} ({wanted}); set warm_start=False to start "
                                 "afresh")
            dtype = net.dtype
            X, Y = X.astype(dtype, copy=False), Y.astype(dtype, copy=False)
            if sample_weight is not None:
                sample_weight = sample_weight.astype(dtype, copy=False)

        # weight 0 means the row is absent: drop it (batches then match a fit without those rows)
        if sample_weight is not None:
            keep = sample_weight > 0
            if not keep.any():
                raise ValueError(f"{name}: sample weights must contain at least one non-zero number "
                                 "(after class_weight)")
            if not keep.all():
                X, Y, y_labels, sample_weight = X[keep], Y[keep], y_labels[keep], sample_weight[keep]

        validation = None
        if self.early_stopping:
            X, Y, sample_weight, validation = self._split_validation(X, Y, y_labels, sample_weight)
        m = X.shape[0]
        if self.batch_size == "auto":
            batch_size = min(200, m)
        else:
            if self.batch_size > m:
                warnings.warn("Got `batch_size` less than 1 or larger than sample size. It is going to be clipped")
            batch_size = int(np.clip(self.batch_size, 1, m))
        alpha = float(self.alpha) if plan.l2_on else 0.0
        # scikit-learn's penalty is alpha/(2 Σw)·Σ‖W‖² where the core's is λ/(2m)·Σ‖W‖²: λ = alpha·m/Σw
        l2 = alpha if sample_weight is None else alpha * m / float(sample_weight.sum())
        if sample_weight is not None and np.all(sample_weight == sample_weight[0]):
            sample_weight = None                      # uniform weights: the unweighted fit, bit for bit

        progress = _Progress(self, first_pass)
        mean_outputs = Y.shape[1] if not isinstance(self, ClassifierMixin) else 1
        monitor = _SklearnMonitor(self, progress, m, validation, l2, mean_outputs,
                                  rate_scale=self.learning_rate_init / plan.learning_rate)
        val_data = None if validation is None else (validation[0], validation[3])
        try:
            history = net.fit(X.T, Y.T, epochs=1 if incremental else int(self.max_iter),
                              learning_rate=plan.learning_rate, optimizer=plan.optimizer,
                              batch_size=None if batch_size >= m else batch_size, shuffle=bool(self.shuffle),
                              schedule=plan.schedule, l2=l2, keep_prob=plan.keep_prob,
                              sample_weight=sample_weight, validation_data=val_data, callbacks=[monitor],
                              verbose=0, reset=not incremental, engine=self.engine)
        except DivergenceError as exc:
            if not first_pass:
                self._commit(net, progress)     # the network moved: keep its record in step with it
            raise DivergenceError(
                f"{name}.fit diverged: {exc}. Standardize X (e.g. Pipeline(StandardScaler(), {name}())) or "
                f"lower learning_rate_init (now {self.learning_rate_init:g}); the estimator keeps its last "
                "finite weights") from exc
        if validation is not None and progress.best_params is not None:
            for k, v in progress.best_params.items():      # early stopping restores the best weights
                np.copyto(net.params[k], v)
        if history.stop_reason == "interrupted":
            warnings.warn("Training interrupted by user.")
        elif not incremental and not progress.converged and progress.n_iter == self.max_iter:
            warnings.warn(f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                          "optimization hasn't converged yet.", ConvergenceWarning)
        self._commit(net, progress)
        return self

    def _commit(self, net, p):
        self.network_ = net
        self.n_layers_ = net.L + 1
        self.n_outputs_ = net.layer_dims[-1]
        self.out_activation_ = _activation_label(net.activations[-1])
        self.n_iter_, self.t_ = p.n_iter, p.t
        self.loss_, self.loss_curve_, self.best_loss_ = p.loss, p.loss_curve, p.best_loss
        self.validation_scores_, self.best_validation_score_ = p.validation_scores, p.best_validation_score
        self.validation_loss_curve_ = p.validation_loss_curve
        self._no_improvement_count = p.no_improvement

    def _split_validation(self, X, Y, y_labels, sample_weight):
        """scikit-learn's hold-out for early stopping: stratified for single-output classification."""
        stratify = y_labels if isinstance(self, ClassifierMixin) and Y.shape[1] == 1 else None
        rs = check_random_state(self.random_state)
        idx = np.arange(X.shape[0])
        train, val = train_test_split(idx, random_state=rs, test_size=self.validation_fraction, stratify=stratify)
        if val.size < 2:
            raise ValueError("The validation set is too small. Increase 'validation_fraction' or the size of "
                             "your dataset.")
        w_val = None if sample_weight is None else sample_weight[val]
        w_train = None if sample_weight is None else sample_weight[train]
        validation = (X[val].T, y_labels[val], w_val, Y[val].T)   # columns for the core
        return X[train], Y[train], w_train, validation

    def _validation_score(self, net, X_val, y_val, w_val) -> float:
        """accuracy (classifier) or R² (regressor) of the current weights on the hold-out."""
        AL, caches = propagation.forward(X_val, net.params, net.activations)
        if not np.isfinite(AL).all():
            return np.nan
        y_pred = self._decode(AL.T, caches[net.L].Z.T)
        return float(self._score_function(y_val, y_pred, sample_weight=w_val))

    def _apply_class_weight(self, sample_weight, y_labels, dtype, incremental):
        return sample_weight

    # -------------------------------------------------------------------------- prediction
    def _forward(self, X):
        """A[L].T and Z[L].T for rows X: shapes (n_samples, n_L)."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False)
        X = X.toarray() if hasattr(X, "toarray") else X
        net = self.network_
        AL, caches = propagation.forward(np.asarray(X, dtype=net.dtype).T, net.params, net.activations)
        return AL.T, caches[net.L].Z.T

    def hidden_activations(self, X, layer=None):
        """A[l] for rows X, in scikit-learn's row layout.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        layer : int, optional
            l in 1..L (L the output layer); default the last hidden layer, L − 1 (or L without hidden
            layers). Layer 0 is X itself.

        Returns
        -------
        ndarray of shape (n_samples, n_l) — the transpose of the network's A[l], which is (n_l, m)
        """
        check_is_fitted(self)
        L = self.network_.L
        layer = max(L - 1, 1) if layer is None else layer
        if not (_is_int(layer) and 1 <= layer <= L):
            raise ValueError(f"layer must be an integer in 1..{L} (1..L−1 hidden, {L} the output), got {layer!r}")
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=(np.float64, np.float32), reset=False)
        X = X.toarray() if hasattr(X, "toarray") else X
        net = self.network_
        _, caches = propagation.forward(np.asarray(X, dtype=net.dtype).T, net.params, net.activations)
        return caches[layer].A.T

    # -------------------------------------------------------------------------- fitted attributes
    @property
    def coefs_(self):
        """[W[1].T, ..., W[L].T]: scikit-learn's (n_in, n_out) layout, views of the network's W."""
        net = self._fitted_network()
        return [net.params[f"W{l}"].T for l in range(1, net.L + 1)]

    @coefs_.setter
    def coefs_(self, coefs):
        self._set_weights(coefs, "W", lambda c: np.asarray(c).T)

    @property
    def intercepts_(self):
        """[b[1][:, 0], ..., b[L][:, 0]]: shape (n_out,) each, views of the network's b."""
        net = self._fitted_network()
        return [net.params[f"b{l}"][:, 0] for l in range(1, net.L + 1)]

    @intercepts_.setter
    def intercepts_(self, intercepts):
        self._set_weights(intercepts, "b", lambda c: np.asarray(c).reshape(-1, 1))

    @property
    def params_(self):
        """The network's parameters in the seed's column layout: {"W1": (n_1, n_0), "b1": (n_1, 1), ...}."""
        return dict(self._fitted_network().params)

    def _fitted_network(self):
        try:
            return self.__dict__["network_"]
        except KeyError:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet; call fit first") from None

    def _set_weights(self, values, key, to_column):
        net = self._fitted_network()
        values = list(values)
        if len(values) != net.L:
            raise ValueError(f"expected {net.L} arrays (one per layer), got {len(values)}")
        new = dict(net.params)
        for l, v in enumerate(values, start=1):
            new[f"{key}{l}"] = to_column(v)
        net.params = new                              # the setter checks shapes and finiteness

    def __sklearn_is_fitted__(self):
        return "network_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True                 # accepted and densified for the core
        return tags

    # -------------------------------------------------------------------------- persistence
    def save(self, path, *, include_training_state: bool = True) -> None:
        """Write the fitted estimator to a safe vecprop model file (safetensors + JSON), atomically.

        ``vecprop.load(path)`` (or ``type(self).load(path)``) gives it back with identical predictions;
        with the training state (optimizer moments, schedule, random generator) ``partial_fit``
        continues bit for bit. Nothing in the file is pickled or executed on loading.
        """
        check_is_fitted(self)
        from .io import STATE_PREFIX, write_model_file
        net = self.network_
        tensors = {k: np.asarray(v) for k, v in net.params.items()}
        info = None
        state = net.training_state() if include_training_state else None
        sklearn_schedule = None
        if state is not None:
            arrays, info = state
            tensors.update({STATE_PREFIX + k: np.asarray(v) for k, v in arrays.items()})
            if info["schedule"].get("name") == MLPLearningRate.name:
                # not a registered schedule: stored here, with a constant stand-in in the training state
                sklearn_schedule = {"config": info["schedule"], "state": info["schedule_state"]}
                info = {**info, "schedule": {"name": "constant"},
                        "schedule_state": {"learning_rate0": info["schedule_state"]["learning_rate0"]}}
        fitted = {
            "n_features_in_": int(self.n_features_in_),
            "feature_names_in_": (None if not hasattr(self, "feature_names_in_")
                                  else [str(f) for f in self.feature_names_in_]),
            "n_iter_": int(self.n_iter_), "t_": int(self.t_), "loss_": self.loss_,
            "loss_curve_": list(self.loss_curve_), "best_loss_": self.best_loss_,
            "validation_scores_": self.validation_scores_, "best_validation_score_": self.best_validation_score_,
            "validation_loss_curve_": self.validation_loss_curve_,
            "_no_improvement_count": int(self._no_improvement_count),
            **self._fitted_extra(),
        }
        metadata = {
            "estimator": type(self).__name__,
            "estimator_format": _ESTIMATOR_FILE_VERSION,
            "estimator_params": _to_json(self.get_params(deep=False)),
            "fitted": _to_json(fitted),
            "config": net.get_config(),
            "metadata": _to_json(dict(net.metadata or {})),
            "training_state": info,
            "sklearn_schedule": sklearn_schedule,
        }
        write_model_file(path, tensors, metadata)

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`; ValueError if it holds another kind of model."""
        from .io import load
        obj = load(path)
        if not isinstance(obj, cls):
            raise ValueError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}; use vecprop.load")
        return obj

    @classmethod
    def _from_model_file(cls, tensors, metadata):
        """Rebuild an estimator from :func:`vecprop.io.read_model_file`'s output (used by vecprop.load)."""
        from .io import STATE_PREFIX, ModelFileError
        try:
            version = metadata.get("estimator_format", 1)
            if not isinstance(version, int) or version > _ESTIMATOR_FILE_VERSION:
                raise ModelFileError(f"estimator file format {version!r} is newer than this vecprop reads "
                                     f"({_ESTIMATOR_FILE_VERSION}); upgrade vecprop")
            est = cls(**_from_json(metadata["estimator_params"]))
            net = Network.from_config(metadata["config"])
            net.params = {k: v for k, v in tensors.items() if not k.startswith(STATE_PREFIX)}
            net.metadata = _from_json(metadata.get("metadata") or {})
            info = metadata.get("training_state")
            if info is not None:
                arrays = {k[len(STATE_PREFIX):]: v for k, v in tensors.items() if k.startswith(STATE_PREFIX)}
                net.restore_training_state(arrays, info)
                saved = metadata.get("sklearn_schedule")
                if saved is not None:
                    config = {k: v for k, v in saved["config"].items() if k != "name"}
                    net._training.schedule = MLPLearningRate(**config)
                    net._training.sched_state = dict(saved["state"])
            fitted = _from_json(metadata["fitted"])
            est.network_ = net
            est.n_layers_ = net.L + 1
            est.n_outputs_ = net.layer_dims[-1]
            est.out_activation_ = _activation_label(net.activations[-1])
            est.n_features_in_ = fitted["n_features_in_"]
            if fitted.get("feature_names_in_") is not None:
                est.feature_names_in_ = np.asarray(fitted["feature_names_in_"], dtype=object)
            for key in ("n_iter_", "t_", "loss_", "loss_curve_", "best_loss_", "validation_scores_",
                        "best_validation_score_", "validation_loss_curve_", "_no_improvement_count"):
                setattr(est, key, fitted[key])
            est._restore_extra(fitted)
        except ModelFileError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"invalid {cls.__name__} model file: {exc!r}") from None
        return est

    def _fitted_extra(self) -> dict:
        return {}

    def _restore_extra(self, fitted) -> None:
        pass


# ------------------------------------------------------------------------------ JSON for params
def _to_json(obj):
    """Parameters and fitted values as JSON: tuples, non-string dict keys and inf survive the trip."""
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, numbers.Integral):
        return int(obj)
    if isinstance(obj, numbers.Real):
        f = float(obj)
        return f if math.isfinite(f) else {"__float__": repr(f)}
    if obj is None or isinstance(obj, str):
        return obj
    if isinstance(obj, np.ndarray):
        return {"__array__": _to_json(obj.tolist()), "dtype": obj.dtype.str if obj.dtype.kind != "O" else "O"}
    if isinstance(obj, tuple):
        return {"__tuple__": [_to_json(v) for v in obj]}
    if isinstance(obj, list):
        return [_to_json(v) for v in obj]
    if isinstance(obj, dict):
        if all(isinstance(k, str) and not k.startswith("__") for k in obj):
            return {k: _to_json(v) for k, v in obj.items()}
        return {"__items__": [[_to_json(k), _to_json(v)] for k, v in obj.items()]}
    if isinstance(obj, (np.random.RandomState, np.random.Generator)):
        return None                                   # a generator object is not stored; refit to reseed
    if hasattr(obj, "get_config"):
        return _to_json(obj.get_config())
    raise TypeError(f"cannot store {type(obj).__name__} {obj!r} in a model file")


def _from_json(obj):
    if isinstance(obj, list):
        return [_from_json(v) for v in obj]
    if isinstance(obj, dict):
        if "__float__" in obj:
            return float(obj["__float__"])
        if "__tuple__" in obj:
            return tuple(_from_json(v) for v in obj["__tuple__"])
        if "__items__" in obj:
            return {_hashable(_from_json(k)): _from_json(v) for k, v in obj["__items__"]}
        if "__array__" in obj:
            return np.asarray(_from_json(obj["__array__"]), dtype=object if obj["dtype"] == "O" else obj["dtype"])
        return {k: _from_json(v) for k, v in obj.items()}
    return obj


def _hashable(k):
    return tuple(k) if isinstance(k, list) else k


# ------------------------------------------------------------------------------ classifier
class DNNClassifier(ClassifierMixin, _BaseDNN):
    """A deep fully-connected classifier: scikit-learn's ``MLPClassifier`` on vecprop's core.

    ``from vecprop import DNNClassifier as MLPClassifier`` runs existing code unchanged: every
    ``MLPClassifier`` parameter has its name, default and meaning (``solver="lbfgs"`` aside, which
    raises; see the module docstring for how each maps onto the core). Binary targets train one
    sigmoid unit, multiclass targets a softmax layer, multilabel indicator targets one sigmoid per
    label, all with cross-entropy.

    Parameters beyond scikit-learn's
    --------------------------------
    solver : also "gd", "momentum", "nesterov", "rmsprop", "adamw" (vecprop's optimizers).
    activation : also any vecprop activation name ("leaky_relu", registered ones), or a list with
        one name per hidden layer.
    learning_rate : also any vecprop schedule name or spec dict.
    keep_prob : float or list, default 1.0 — inverted dropout: probability of KEEPING a hidden unit.
    class_weight : None, "balanced" or {label: weight} — multiplies sample_weight per class.
    output_activation : None (sigmoid/softmax as above), or "softmax" for two classes (two units).
    initializer : None (Glorot uniform, scikit-learn's scheme; biases start at 0) or a vecprop
        initializer name ("he", "xavier", "random"), or one per layer.
    engine : "auto" (numba when installed, else numpy), "numba", "numpy" or "reference" — who
        computes the training steps (the numbers agree to rounding).

    Attributes
    ----------
    classes_, n_features_in_, feature_names_in_, n_outputs_, n_layers_, out_activation_,
    coefs_ (list of (n_in, n_out) arrays = W.T), intercepts_ (list of (n_out,)), loss_, loss_curve_,
    best_loss_, validation_scores_, best_validation_score_, n_iter_, t_ : as in scikit-learn.
    params_ : {"W1": (n_1, n_0), "b1": (n_1, 1), ...} in the course's column layout.
    validation_loss_curve_ : list or None — the held-out cross-entropy per epoch (early stopping).
    network_ : vecprop.Network — the trained network itself.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 keep_prob=1.0, class_weight=None, output_activation=None, initializer=None, engine="auto"):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
                         alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
                         shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
                         warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
                         max_fun=max_fun, keep_prob=keep_prob, output_activation=output_activation,
                         initializer=initializer, engine=engine)
        self.class_weight = class_weight

    _score_function = staticmethod(accuracy_score)

    def fit(self, X, y, sample_weight=None):
        """Train on rows X (n_samples, n_features) and labels y (n_samples,) or indicators (n_samples, n_labels).

        Returns self. Raises ValueError for bad parameters or data, and
        :class:`vecprop.training.DivergenceError` (a ValueError) if the loss becomes NaN/inf.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y), continuing the optimizer state; ``classes`` is required on the first call."""
        first = not hasattr(self, "classes_") or not hasattr(self, "network_")
        if first:
            if classes is None and not type_of_target(y).startswith("multilabel"):
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if type_of_target(y).startswith("multilabel") else classes)
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(unique_labels(classes), self.classes_):
            raise ValueError(f"`classes={classes!r}` is not the same as on the first call to partial_fit, "
                             f"{self.classes_!r}")
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _check_extra_params(self):
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise ValueError(f"DNNClassifier: class_weight must be None, 'balanced' or a dict {{label: weight}}, "
                             f"got {cw!r}")
        if isinstance(cw, dict) and not all(_is_real(w) and w >= 0 for w in cw.values()):
            raise ValueError(f"DNNClassifier: class_weight values must be numbers >= 0, got {cw!r}")
        if self.output_activation not in (None, "softmax", "sigmoid", "logistic"):
            raise ValueError(f"DNNClassifier: output_activation must be None, 'sigmoid' or 'softmax', "
                             f"got {self.output_activation!r}")

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y)
            self.classes_ = self._label_binarizer.classes_
        else:
            classes = unique_labels(y)
            if self.warm_start and not incremental:
                if set(classes) != set(self.classes_):
                    raise ValueError("warm_start can only be used where `y` has the same classes as in the "
                                     f"previous call to fit. Previously got {self.classes_}, `y` has {classes}")
            elif len(np.setdiff1d(classes, self.classes_, assume_unique=True)):
                raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {self.classes_}. "
                                 f"'y' has {classes}.")
        Y = self._label_binarizer.transform(y).astype(X.dtype)
        if self._two_unit_softmax():
            Y = np.hstack([1 - Y, Y])
        return X, Y, y

    def _two_unit_softmax(self) -> bool:
        return self.output_activation == "softmax" and self._label_binarizer.y_type_ == "binary"

    def _output(self, Y):
        kind = self._label_binarizer.y_type_
        out = _activation_name(self.output_activation)
        if kind == "multiclass":
            if out not in (None, "softmax"):
                raise ValueError("DNNClassifier: multiclass targets need a softmax output; leave output_activation "
                                 "None")
            return "softmax", "categorical_cross_entropy"
        if kind.startswith("multilabel") and out == "softmax":
            raise ValueError("DNNClassifier: multilabel targets need sigmoid outputs (one per label); leave "
                             "output_activation None")
        if out == "softmax":
            return "softmax", "categorical_cross_entropy"
        return "sigmoid", "binary_cross_entropy"

    def _apply_class_weight(self, sample_weight, y_labels, dtype, incremental):
        cw = self.class_weight
        if cw is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError("DNNClassifier: class_weight is not supported for multilabel targets; pass "
                             "sample_weight instead")
        if cw == "balanced" and incremental:
            raise ValueError("class_weight 'balanced' is not supported for partial_fit: the class frequencies of "
                             "one batch are not those of the data. Compute them once with "
                             "sklearn.utils.class_weight.compute_class_weight('balanced', classes=classes, y=y) "
                             "and pass class_weight as a dict")
        classes = self.classes_
        if cw == "balanced":
            present, counts = np.unique(y_labels, return_inverse=False, return_counts=True)
            table = dict(zip(present.tolist(), (len(y_labels) / (len(present) * counts)).tolist()))
        else:
            unknown = [k for k in cw if k not in set(classes.tolist())]
            if unknown:
                raise ValueError(f"DNNClassifier: class_weight names labels {unknown} that are not among the "
                                 f"classes {classes.tolist()}")
            table = cw
        w = np.array([table.get(label, 1.0) for label in y_labels.tolist()], dtype=dtype)
        return w if sample_weight is None else sample_weight * w

    def _decode(self, P, Z):
        """Labels from output rows P = A[L].T (n_samples, n_L)."""
        if self._two_unit_softmax():
            return self.classes_[P.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(P.ravel() if P.shape[1] == 1 else P)

    def predict(self, X):
        """Labels for rows X (n_samples, n_features): shape (n_samples,), or (n_samples, n_labels) multilabel."""
        P, Z = self._forward(X)
        return self._decode(P, Z)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes) in the order of classes_ (binary: [P(0), P(1)])."""
        P, Z = self._forward(X)
        if self.n_outputs_ == 1:
            g = self.network_.activations[-1]
            return np.hstack([g.forward(-Z), P])       # σ(−z) = 1 − σ(z), without the rounding of 1 − p
        return P

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`."""
        proba = self.predict_proba(X)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def _fitted_extra(self):
        lb = self._label_binarizer
        return {"classes_": self.classes_, "y_type_": lb.y_type_}

    def _restore_extra(self, fitted):
        lb = LabelBinarizer()
        lb.classes_ = np.asarray(fitted["classes_"])
        lb.y_type_ = fitted["y_type_"]
        lb.sparse_input_ = False
        self._label_binarizer = lb
        self.classes_ = lb.classes_

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


# ------------------------------------------------------------------------------ regressor
class DNNRegressor(RegressorMixin, _BaseDNN):
    """A deep fully-connected regressor: scikit-learn's ``MLPRegressor`` on vecprop's core.

    Same parameters as :class:`DNNClassifier` without ``class_weight``; the output layer is linear
    (``output_activation`` may name another vecprop activation, e.g. "sigmoid" for targets in (0, 1))
    and the loss is the squared error. ``loss_`` is on scikit-learn's scale,
    ½·mean over samples and outputs; the gradient, as scikit-learn's, is that of ½·Σ over outputs.
    Single- and multi-output targets.
    """

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam", alpha=0.0001,
                 batch_size="auto", learning_rate="constant", learning_rate_init=0.001, power_t=0.5,
                 max_iter=200, shuffle=True, random_state=None, tol=1e-4, verbose=False, warm_start=False,
                 momentum=0.9, nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 keep_prob=1.0, output_activation=None, initializer=None, engine="auto"):
        super().__init__(hidden_layer_sizes=hidden_layer_sizes, activation=activation, solver=solver,
                         alpha=alpha, batch_size=batch_size, learning_rate=learning_rate,
                         learning_rate_init=learning_rate_init, power_t=power_t, max_iter=max_iter,
                         shuffle=shuffle, random_state=random_state, tol=tol, verbose=verbose,
                         warm_start=warm_start, momentum=momentum, nesterovs_momentum=nesterovs_momentum,
                         early_stopping=early_stopping, validation_fraction=validation_fraction,
                         beta_1=beta_1, beta_2=beta_2, epsilon=epsilon, n_iter_no_change=n_iter_no_change,
                         max_fun=max_fun, keep_prob=keep_prob, output_activation=output_activation,
                         initializer=initializer, engine=engine)

    _score_function = staticmethod(r2_score)

    def fit(self, X, y, sample_weight=None):
        """Train on rows X (n_samples, n_features) and targets y (n_samples,) or (n_samples, n_outputs).

        Returns self. Raises ValueError for bad parameters or data, and
        :class:`vecprop.training.DivergenceError` (a ValueError) if the loss becomes NaN/inf.
        """
        return self._fit(X, y, sample_weight=sample_weight, incremental=False)

    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y), continuing the optimizer state (and the random generator)."""
        return self._fit(X, y, sample_weight=sample_weight, incremental=True)

    def _check_extra_params(self):
        out = _activation_name(self.output_activation)
        if out is not None:
            try:
                get_activation(out)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"DNNRegressor: output_activation {out!r} is not known ({exc})") from None
            if out == "softmax":
                raise ValueError("DNNRegressor: softmax outputs are for classification; use DNNClassifier")

    def _validate_input(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc"], multi_output=True, y_numeric=True,
                             dtype=(np.float64, np.float32), reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(X.dtype)
        return X, Y, Y

    def _output(self, Y):
        out = _activation_name(self.output_activation)
        return ("linear" if out is None else out), "mse"

    def _decode(self, P, Z):
        return P.ravel() if P.shape[1] == 1 else P

    def predict(self, X):
        """Predictions for rows X (n_samples, n_features): (n_samples,) or (n_samples, n_outputs)."""
        P, _ = self._forward(X)
        return self._decode(P, None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
