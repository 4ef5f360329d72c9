"""scikit-learn estimators on vecprop's core: :class:`DNNClassifier` and :class:`DNNRegressor`.

They take scikit-learn's ``MLPClassifier`` / ``MLPRegressor`` parameters (same names, defaults and
meanings) and train a :class:`vecprop.Network` through its public ``fit``; there is no
backpropagation here. All imports in this package are absolute (``from sklearn...`` is scikit-learn,
``from vecprop.sklearn...`` this package).

Modules: ``_params`` (the parameter table, declared once, and its resolution), ``_stopping``
(scikit-learn's convergence rule, a stopping rule on the Trainer's loop), ``_persist`` (model files
through :mod:`vecprop.io`), ``_base`` (fit, partial_fit, scikit-learn's initial weights and order of
draws, L-BFGS), ``_distributed`` (what ``fit(comm=...)`` makes global over MPI), ``classifier``,
``regressor``.

Same model as scikit-learn
--------------------------
- Initial weights: scikit-learn's draws from ``check_random_state(random_state)``, layer by layer,
  coef then intercept, both ~ U(±√(f/(fan_in + fan_out))) with f = 2 for logistic, 6 otherwise.
- Early stopping: scikit-learn's ``train_test_split`` from the same RandomState (after the weights),
  stratified on the binarized y for single-output classification.
- Shuffling: scikit-learn's per-epoch ``shuffle(sample_idx, random_state=...)``; each epoch's batches
  are consecutive slices of that order, handed to ``Network.fit`` unshuffled.
- ``solver="sgd"``: vecprop's ``sklearn_sgd`` (u = μu − α dW; W += u, Nesterov's look-ahead when
  ``nesterovs_momentum``), ``learning_rate`` "constant"/"invscaling"/"adaptive" as scikit-learn's.
- ``solver="adam"``: vecprop's ``sklearn_adam`` (ε added to √s, α_t = α√(1 − β2^t)/(1 − β1^t)).
- ``solver="lbfgs"``: SciPy's L-BFGS-B on vecprop's flat parameter vector with the package's own cost
  and gradient (:mod:`vecprop.lbfgs`), ``max_iter``, ``max_fun``, ``tol`` as scikit-learn's.
- ``alpha`` → the course's λ: J += λ/(2m)·Σ‖W[l]‖² per mini-batch of m examples, which is
  scikit-learn's ``0.5·alpha·Σ‖W‖²/n_batch`` exactly. With sample weights scikit-learn divides by
  the batch's weight sum; here λ = alpha·m/Σw over the training set (exact for one full batch).
- vecprop's other solvers "gd", "momentum", "nesterov", "rmsprop", "adamw" keep the course's
  conventions (α = learning_rate_init; momentum/nesterov β = momentum, rmsprop β = beta_2, adamw
  beta_1/beta_2/epsilon with ``alpha`` as its decoupled weight decay).
"""

from __future__ import annotations

from vecprop.io import register_estimator
from vecprop.schedules import MLPLearningRate
from vecprop.sklearn.classifier import DNNClassifier
from vecprop.sklearn.regressor import DNNRegressor

__all__ = ["DNNClassifier", "DNNRegressor", "MLPLearningRate"]

for _cls in (DNNClassifier, DNNRegressor):  # so that vecprop.io.load builds their files
    register_estimator(_cls.__name__, _cls)
