"""DNNRegressor: scikit-learn's ``MLPRegressor`` on vecprop's core."""

from __future__ import annotations

from sklearn.base import RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from vecprop.activations import get_activation
from vecprop.sklearn import _array_api as aa
from vecprop.sklearn._base import BaseDNN, validate_data
from vecprop.sklearn._distributed import check_n_features, local, reducer_for
from vecprop.sklearn._params import activation_name

__all__ = ["DNNRegressor"]


class DNNRegressor(RegressorMixin, BaseDNN):
    """A deep fully-connected regressor: scikit-learn's ``MLPRegressor`` on vecprop's core.

    Same parameters as :class:`DNNClassifier` without ``class_weight``, plus scikit-learn's ``loss``:
    "squared_error" (default; a linear output, or ``output_activation`` may name another vecprop
    activation, e.g. "sigmoid" for targets in (0, 1)) or "poisson" (an exp output and half the Poisson
    deviance, for targets y >= 0). ``loss_`` is on scikit-learn's scale,
    ½·mean over samples and outputs; the gradient, as scikit-learn's, is that of ½·Σ over outputs.
    Single- and multi-output targets.
    """

    def __init__(
        self,
        loss="squared_error",
        hidden_layer_sizes=(100,),
        activation="relu",
        *,
        solver="adam",
        alpha=0.0001,
        batch_size="auto",
        learning_rate="constant",
        learning_rate_init=0.001,
        power_t=0.5,
        max_iter=200,
        shuffle=True,
        random_state=None,
        tol=1e-4,
        verbose=False,
        warm_start=False,
        momentum=0.9,
        nesterovs_momentum=True,
        early_stopping=False,
        validation_fraction=0.1,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-8,
        n_iter_no_change=10,
        max_fun=15000,
        keep_prob=1.0,
        output_activation=None,
        initializer=None,
        engine="auto",
    ):
        self._set_params_from({k: v for k, v in locals().items() if k not in ("self", "__class__")})

    _score_function = staticmethod(r2_score)

    def fit(self, X, y, sample_weight=None, comm=None):
        """Train on rows X (n_samples, n_features) and targets y (n_samples,) or (n_samples, n_outputs).

        ``comm`` (an mpi4py communicator, or "mpi" for ``COMM_WORLD``): data-parallel training, every rank
        passing its own rows; ``batch_size`` is the global batch and every rank ends with the same
        estimator (docs/distributed.md).

        Returns self. Raises ValueError for bad parameters or data (over MPI a RankError on every rank,
        naming the rank; ``solver="lbfgs"`` is refused), and
        :class:`vecprop.training.DivergenceError` (a ValueError) if the loss becomes NaN/inf.
        """
        reducer = reducer_for(self, comm)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, reducer=reducer)

    @available_if(BaseDNN._check_solver)
    def partial_fit(self, X, y, sample_weight=None, comm=None):
        """One epoch over (X, y), continuing the optimizer state (not available with ``solver="lbfgs"``);
        ``comm``: one epoch over every rank's rows (see :meth:`fit`)."""
        reducer = reducer_for(self, comm)
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, reducer=reducer)

    def _check_extra_params(self):
        out = activation_name(self.output_activation)
        if out is not None:
            try:
                get_activation(out)
            except (ValueError, TypeError) as exc:
                raise ValueError(f"DNNRegressor: output_activation {out!r} is not known ({exc})") from None
            if out == "softmax":
                raise ValueError("DNNRegressor: softmax outputs are for classification; use DNNClassifier")
            if self.loss == "poisson" and get_activation(out).name != "exp":
                raise ValueError(
                    f"DNNRegressor: loss='poisson' needs the exp output (a log link); leave "
                    f"output_activation None, got {self.output_activation!r}"
                )

    def _validate_input(self, X, y, incremental, reset, where=None, reducer=None):
        X, Y = local(reducer, self._checked, X, y, reset, where)
        if reducer is not None:
            check_n_features(reducer, type(self).__name__, X)
        return X, Y, Y

    def _checked(self, X, y, reset, where=None):
        """(X (n_samples, n_features), Y (n_samples, n_outputs)) validated, Y in X's dtype."""
        X, y = validate_data(
            self,
            X,
            y,
            accept_sparse=["csr", "csc"],
            multi_output=True,
            y_numeric=True,
            dtype=aa.float_dtypes(where),
            reset=reset,
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        y = aa.to_host(y)  # the targets are prepared on the host, then moved to X's device by the network
        Y = (y.reshape(-1, 1) if y.ndim == 1 else y).astype(aa.host_dtype(X))
        if self.loss == "poisson" and Y.size and Y.min() < 0:
            raise ValueError(
                f"DNNRegressor: loss='poisson' needs targets y >= 0 (counts or rates); got a minimum of {Y.min():g}"
            )
        return X, Y

    def _output(self, Y):
        out = activation_name(self.output_activation)
        if self.loss == "poisson":
            return "exp", "poisson"
        return ("linear" if out is None else out), "mse"

    def _mean_outputs(self, Y) -> int:
        """scikit-learn's squared error averages over the k outputs (its Poisson deviance sums them)."""
        return Y.shape[1] if self.loss == "squared_error" else 1

    def _decode(self, P, Z):
        return P[:, 0] if P.shape[1] == 1 else P

    def predict(self, X):
        """Predictions for rows X (n_samples, n_features): (n_samples,) or (n_samples, n_outputs)."""
        P, _ = self._forward(X, "predict")
        return self._decode(P, None)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.positive_only = self.loss == "poisson"  # Poisson targets are counts, y >= 0
        # an exp output from a near-zero start learns scikit-learn's generic shifted targets slowly (R² < 0.5
        # after the default 200 adam epochs, for MLPRegressor(loss="poisson") too)
        tags.regressor_tags.poor_score = self.loss == "poisson"
        return tags
