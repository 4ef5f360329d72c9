"""What DNNClassifier and DNNRegressor share: fit, partial_fit, scikit-learn's initial weights and
training order, L-BFGS, fitted attributes and persistence.

This module is the ONLY place where rows become columns: scikit-learn's ``X`` of shape
(n_samples, n_features) enters the network as ``X.T``, the course's (n_x, m), and outputs ``A[L]`` of
shape (n_L, m) leave as ``A[L].T``, (n_samples, n_outputs).
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted

from vecprop import propagation
from vecprop.activations import get_activation
from vecprop.engines import xp_propagation as xpp
from vecprop.lbfgs import minimize_lbfgs
from vecprop.memory import predict_chunk
from vecprop.network import Network
from vecprop.sklearn import _array_api as aa
from vecprop.sklearn._distributed import (
    global_count,
    global_score,
    global_weight_sum,
    local,
    uniform_weights,
)
from vecprop.sklearn._params import activation_label, is_int, resolve
from vecprop.sklearn._persist import estimator_from_model_file, save_estimator
from vecprop.sklearn._stopping import OutputMeanLoss, Progress, SklearnStopping
from vecprop.training import DivergenceError

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data
except ImportError:  # pragma: no cover - older scikit-learn

    def validate_data(estimator, *args, **kwargs):
        return estimator._validate_data(*args, **kwargs)


__all__ = ["BaseDNN", "validate_data", "NON_FINITE"]

NON_FINITE = (
    "Solver produced non-finite parameter weights. The input data may contain large values and need "
    "to be preprocessed."
)  # scikit-learn's words


def _sample_weight(sample_weight, X):
    """scikit-learn's check: shape (n_samples,), finite, non-negative; a host copy in X's dtype."""
    dtype = aa.host_dtype(X)
    like = X if not xpp.is_foreign(X) else np.empty((X.shape[0], 0), dtype)  # weights are checked on the host
    try:
        w = _check_sample_weight(aa.to_host(sample_weight), like, dtype=dtype, ensure_non_negative=True)
    except TypeError:  # pragma: no cover - scikit-learn < 1.4 names it only_non_negative
        w = _check_sample_weight(aa.to_host(sample_weight), like, dtype=dtype, only_non_negative=True)
    return np.array(w, dtype=dtype, copy=True)


def _some_weight(name, keep) -> None:
    """ValueError unless some row keeps a non-zero weight."""
    if not keep.any():
        raise ValueError(f"{name}: sample weights must contain at least one non-zero number (after class_weight)")


def sklearn_initial_params(layer_dims, factor, rs, dtype) -> dict:
    """scikit-learn's initial weights, drawn in its order from RandomState ``rs``: for each layer,
    coef ~ U(±√(factor/(fan_in + fan_out))) of shape (fan_in, fan_out), then the intercept from the same
    range; returned in the course's layout, W[l] = coef.T (n_l, n_{l-1}) and b[l] (n_l, 1)."""
    params = {}
    for l in range(1, len(layer_dims)):
        fan_in, fan_out = layer_dims[l - 1], layer_dims[l]
        bound = np.sqrt(factor / (fan_in + fan_out))
        coef = rs.uniform(-bound, bound, (fan_in, fan_out))
        intercept = rs.uniform(-bound, bound, fan_out)
        params[f"W{l}"] = coef.astype(dtype, copy=False).T
        params[f"b{l}"] = intercept.astype(dtype, copy=False).reshape(-1, 1)
    return params


class SklearnOrder:
    """The network's generator while an estimator trains: ``permutation(m)``, which the trainer calls once
    per shuffled epoch, returns scikit-learn's order (``sample_idx = shuffle(sample_idx, random_state=rs)``,
    composed epoch after epoch); every other draw (dropout masks) comes from the network's own Generator."""

    def __init__(self, rng, rs, m: int):
        self._rng, self._rs = rng, rs
        self._sample_idx = np.arange(m)

    def permutation(self, m):
        if m != self._sample_idx.size:
            raise ValueError(f"expected a permutation of {self._sample_idx.size} samples, got {m}")
        order = np.arange(m)  # sklearn.utils.shuffle's draws, without its per-call
        self._rs.shuffle(order)  # parameter validation (milliseconds an epoch)
        self._sample_idx = self._sample_idx[order]
        return self._sample_idx

    def __getattr__(self, name):
        return getattr(self._rng, name)


class BaseDNN(BaseEstimator):
    """Shared base of the estimators; see :class:`vecprop.sklearn.DNNClassifier` for the parameters."""

    def _set_params_from(self, params: dict) -> None:
        for key, value in params.items():
            setattr(self, key, value)

    def _check_solver(self) -> bool:
        """partial_fit exists for the stochastic solvers only (scikit-learn's ``available_if``)."""
        if self.solver == "lbfgs":
            raise AttributeError(
                f"partial_fit is only available for stochastic optimizers. {self.solver} is not stochastic."
            )
        return True

    def _check_extra_params(self) -> None:
        """Subclass hook: check the parameters only one estimator has."""

    # -------------------------------------------------------------------------- training
    def _fit(self, X, y, sample_weight=None, incremental=False, reducer=None):
        """fit/partial_fit; ``reducer`` (vecprop.sklearn._distributed.reducer_for) trains over MPI, each
        rank on its own rows: every step below that could fail on one rank fails on every rank."""
        plan = resolve(self)
        self._check_extra_params()
        name = type(self).__name__
        if incremental and self.early_stopping:
            raise ValueError(
                f"{name}: partial_fit does not support early_stopping=True (as in scikit-learn); "
                "set early_stopping=False or call fit"
            )
        has_weights = "network_" in self.__dict__ or "_coefs_set" in self.__dict__
        first_pass = not has_weights or (not self.warm_start and not incremental)
        # array_api_dispatch with X of another library: X stays on its device, y is encoded on the host
        where = aa.dispatch_target(X)
        X, Y, y_labels = self._validate_input(
            X, aa.to_host(y), incremental, reset=first_pass, where=where, reducer=reducer
        )
        X = X.toarray() if hasattr(X, "toarray") else X  # the core is dense: sparse input is densified
        if sample_weight is not None:
            sample_weight = local(reducer, _sample_weight, sample_weight, X)
        sample_weight = self._apply_class_weight(sample_weight, y_labels, Y.dtype, incremental, reducer=reducer)
        rs = check_random_state(self.random_state)  # scikit-learn's draws: weights, split, shuffles
        net = self._network(plan, X, Y, rs, first_pass)
        X, Y = aa.astype(X, net.dtype), Y.astype(net.dtype, copy=False)
        if sample_weight is not None:
            sample_weight = sample_weight.astype(net.dtype, copy=False)
            keep = sample_weight > 0  # weight 0: the row is absent (batches as without it)
            local(reducer, _some_weight, name, keep)
            if not keep.all():
                X, Y, y_labels, sample_weight = (
                    aa.take_rows(X, np.flatnonzero(keep)),
                    Y[keep],
                    y_labels[keep],
                    sample_weight[keep],
                )
        if self.solver == "lbfgs" and where is not None:  # SciPy's L-BFGS-B runs on the host
            progress = self._fit_lbfgs(net.to(np), aa.to_host(X), Y, sample_weight)
            net.to(*where)  # the fitted weights on X's device
        elif self.solver == "lbfgs":
            progress = self._fit_lbfgs(net, X, Y, sample_weight)
        else:
            progress = self._fit_stochastic(
                net, plan, X, Y, y_labels, sample_weight, rs, first_pass, incremental, reducer
            )
        self._commit(net, progress)
        return self

    def _network(self, plan, X, Y, rs, first_pass):
        """The network to train: new with scikit-learn's initial weights, or the fitted/assigned one."""
        name = type(self).__name__
        out_activation, loss = self._output(Y)
        layer_dims = [X.shape[1], *plan.hidden, Y.shape[1]]
        acts = [*plan.activations, out_activation]
        if first_pass:
            self.__dict__.pop("_coefs_set", None)
            self.__dict__.pop("_intercepts_set", None)
            self.__dict__.pop("_best_params", None)
            seed = int(self.random_state) if is_int(self.random_state) else None
            net = Network(
                layer_dims, acts, loss, initializer=plan.initializer or "glorot_uniform", seed=seed, dtype=Y.dtype
            )
            if plan.initializer is None:
                net.params = sklearn_initial_params(layer_dims, plan.init_factor, rs, Y.dtype)
            if seed is None and self.random_state is not None and np.any(np.asarray(plan.keep_prob) != 1):
                net.rng = np.random.default_rng(rs.randint(np.iinfo(np.int32).max))  # dropout masks
            return net
        if "network_" not in self.__dict__:  # coefs_/intercepts_ assigned before any fit
            net = Network(
                layer_dims,
                acts,
                loss,
                initializer="glorot_uniform",
                seed=int(self.random_state) if is_int(self.random_state) else None,
                dtype=Y.dtype,
            )
            self.network_ = net
        self._sync_weights()
        net = self.network_
        wanted = [get_activation(a).name for a in acts]
        if net.layer_dims != layer_dims or [g.name for g in net.activations] != wanted:
            raise ValueError(
                f"{name}: warm_start/partial_fit continue the fitted network {net.layer_dims} "
                f"({[g.name for g in net.activations]}) but the parameters and data now describe "
                f"{layer_dims} ({wanted}); set warm_start=False to start afresh"
            )
        return net

    def _fit_stochastic(self, net, plan, X, Y, y_labels, w, rs, first_pass, incremental, reducer=None):
        """scikit-learn's stochastic loop: its split, its per-epoch shuffles, vecprop's trainer for the steps.

        Over MPI (``reducer``) m, Σw, the batch size and the sample count ``t_`` are over every rank's rows,
        each rank holds out ``validation_fraction`` of its own rows, and each epoch's order is vecprop's
        distributed shuffle (scikit-learn's order is one process's)."""
        name = type(self).__name__
        validation = None
        if self.early_stopping:
            X, Y, w, validation = local(reducer, self._split_validation, X, Y, y_labels, w, rs)
        m = X.shape[0] if reducer is None else global_count(reducer, X.shape[0])  # every rank's rows
        if self.batch_size == "auto":
            batch_size = min(200, m)
        else:
            if self.batch_size > m:
                warnings.warn(
                    "Got `batch_size` less than 1 or larger than sample size. It is going to be clipped", stacklevel=4
                )
            batch_size = int(np.clip(self.batch_size, 1, m))
        alpha = float(self.alpha) if plan.l2_on else 0.0
        # scikit-learn's penalty is alpha/(2 Σw)·Σ‖W‖² where the core's is λ/(2m)·Σ‖W‖²: λ = alpha·m/Σw
        if reducer is None:
            l2 = alpha if w is None else alpha * m / float(w.sum())
            uniform = w is not None and np.all(w == w[0])
        else:
            l2 = alpha if w is None else alpha * m / global_weight_sum(reducer, w)
            uniform = uniform_weights(reducer, w)
        if uniform:
            w = None  # uniform weights: the unweighted fit, bit for bit
        progress = Progress(self, first_pass)
        k = self._mean_outputs(Y)
        output_mean = OutputMeanLoss(k, l2) if k > 1 else None  # scikit-learn's loss scale, measured
        verbose = bool(self.verbose) and (reducer is None or reducer.is_root)  # only rank 0 prints
        rule = SklearnStopping(self, progress, m, validation, output_mean, verbose=verbose)
        options = dict(
            learning_rate=plan.learning_rate,
            optimizer=plan.optimizer,
            batch_size=None if batch_size >= m else batch_size,
            schedule=plan.schedule,
            l2=l2,
            keep_prob=plan.keep_prob,
            stopping=[rule],
            verbose=0,
            callbacks=[] if output_mean is None else [output_mean],
            validation_data=None if validation is None else (validation[0], validation[3]),
        )
        net_rng = net.rng
        net.rng = SklearnOrder(net_rng, rs, X.shape[0])  # each epoch's order: scikit-learn's shuffle from rs
        history = None
        try:
            history = net.fit(
                X.T,
                Y.T,
                epochs=1 if incremental else int(self.max_iter),
                sample_weight=w,
                shuffle=bool(self.shuffle),
                reset=not incremental,
                engine=self.engine,
                comm=reducer,
                **options,
            )
            if history.stop_reason == "interrupted":
                warnings.warn("Training interrupted by user.", stacklevel=4)
        except DivergenceError as exc:
            if not self.early_stopping:  # with it, the rule recorded a NaN epoch and restored the best
                if not first_pass:
                    self._commit(net, progress)  # the network moved: keep its record in step with it
                raise DivergenceError(
                    f"{NON_FINITE} {name}: {exc}; e.g. Pipeline(StandardScaler(), "
                    f"{name}()), or lower learning_rate_init"
                ) from exc
        finally:
            net.rng = net_rng
        if validation is not None:
            self._best_params = progress.best_theta
        if (
            (history is None or history.stop_reason != "interrupted")
            and not incremental
            and not progress.converged
            and progress.n_iter == self.max_iter
        ):
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached and the "
                "optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return progress

    def _fit_lbfgs(self, net, X, Y, w):
        """scikit-learn's lbfgs: SciPy's L-BFGS-B on vecprop's cost and gradient (full batch)."""
        from sklearn.utils.optimize import _check_optimize_result

        m = X.shape[0]
        l2 = float(self.alpha) if w is None else float(self.alpha) * m / float(w.sum())
        k = self._mean_outputs(Y)
        sq = []

        def scale(J):
            """The cost on scikit-learn's scale (squared error averaged over k outputs)."""
            if k == 1:
                return J
            penalty = l2 / (2 * m) * sum(float(np.vdot(W, W)) for key, W in net.params.items() if key[0] == "W")
            return (J - penalty) / k + penalty

        def record(iteration, J):
            sq.append(J)
            if self.verbose:
                print(f"Iteration {iteration}, loss = {J:.8f}")

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # overflow on the way to inf
            result = minimize_lbfgs(
                net,
                np.ascontiguousarray(X.T),
                np.ascontiguousarray(Y.T),
                sample_weight=None if w is None else w,
                l2=l2,
                max_iter=self.max_iter,
                max_fun=self.max_fun,
                tol=self.tol,
                callback=record,
                engine=self.engine,
            )
        if not np.all(np.isfinite(result.x)):
            raise DivergenceError(NON_FINITE)
        progress = Progress(self, True)
        progress.n_iter = _check_optimize_result("lbfgs", result, self.max_iter)
        progress.loss = scale(float(result.fun))
        progress.loss_curve = [scale(J) for J in sq]
        progress.best_loss = min(progress.loss_curve, default=progress.loss)
        progress.validation_scores = progress.best_validation_score = progress.validation_loss_curve = None
        return progress

    def _mean_outputs(self, Y) -> int:
        """k when scikit-learn's loss averages over k outputs (squared error), else 1."""
        return 1

    def _commit(self, net, p):
        self.network_ = net
        self.n_layers_ = net.L + 1
        self.n_outputs_ = net.layer_dims[-1]
        self.out_activation_ = activation_label(net.activations[-1])
        self.n_iter_, self.t_ = p.n_iter, p.t
        self.loss_, self.loss_curve_, self.best_loss_ = p.loss, p.loss_curve, p.best_loss
        self.validation_scores_, self.best_validation_score_ = p.validation_scores, p.best_validation_score
        self.validation_loss_curve_ = p.validation_loss_curve
        self._no_improvement_count = p.no_improvement

    def _split_validation(self, X, Y, y_labels, sample_weight, rs):
        """scikit-learn's hold-out for early stopping, from its RandomState: stratified on the binarized y
        for single-output classification."""
        stratify = self._stratify(Y)
        idx = np.arange(X.shape[0])
        train, val = train_test_split(idx, random_state=rs, test_size=self.validation_fraction, stratify=stratify)
        if val.size < 2:
            raise ValueError(
                "The validation set is too small. Increase 'validation_fraction' or the size of your dataset."
            )
        w_val = None if sample_weight is None else sample_weight[val]
        w_train = None if sample_weight is None else sample_weight[train]
        validation = (aa.to_columns(aa.take_rows(X, val)), y_labels[val], w_val, np.ascontiguousarray(Y[val].T))
        return aa.take_rows(X, train), Y[train], w_train, validation

    def _stratify(self, Y):
        return None

    def _validation_score(self, net, X_val, y_val, w_val, reducer=None) -> float:
        """accuracy (classifier) or R² (regressor) of the current weights on the hold-out; NaN if not finite.

        Over MPI (``reducer`` of more than one rank) the score of every rank's hold-out together."""
        if xpp.is_foreign(X_val):  # on the device; A[L] and Z[L] (n_L, m_val) come back for the score
            AL, caches = xpp.forward(X_val, net.params, net.activations)
            AL, caches = aa.to_host(AL), {net.L: caches[net.L]._replace(Z=aa.to_host(caches[net.L].Z))}
        else:
            with np.errstate(over="ignore", invalid="ignore"):
                AL, caches = propagation.forward(X_val, net.params, net.activations)
        finite = bool(np.isfinite(AL).all())
        y_pred = self._decode(AL.T, caches[net.L].Z.T) if finite else None
        if getattr(reducer, "size", 1) > 1:
            return global_score(reducer, self._score_function, y_val, y_pred, w_val)
        if not finite:
            return float("nan")
        return float(self._score_function(y_val, y_pred, sample_weight=w_val))

    def _apply_class_weight(self, sample_weight, y_labels, dtype, incremental, reducer=None):
        return sample_weight

    # -------------------------------------------------------------------------- prediction
    def _forward(self, X, method="predict"):
        """A[L].T and Z[L].T for rows X: shapes (n_samples, n_L); in X's namespace under array_api_dispatch."""
        check_is_fitted(self)
        self._sync_weights()
        where = aa.dispatch_target(X)
        aa.check_same_place(X, self, method)
        dtype = aa.float_dtypes(where)
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=dtype, reset=False)
        X = X.toarray() if hasattr(X, "toarray") else X
        net = self.network_
        if where is not None:  # on X's device, in one piece
            AL, caches = xpp.forward(aa.astype(X, net.dtype).T, net.params, net.activations)
            return AL.T, caches[net.L].Z.T
        X = np.asarray(X, dtype=net.dtype).T
        step = predict_chunk(net.layer_dims, X.shape[1], net.dtype)  # bounded memory for many rows
        AL, ZL = [], []
        for start in range(0, X.shape[1], step):
            A, caches = propagation.forward(X[:, start : start + step], net.params, net.activations)
            AL.append(A.T)
            ZL.append(caches[net.L].Z.T)
        return np.vstack(AL), np.vstack(ZL)

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
        self._sync_weights()
        L = self.network_.L
        layer = max(L - 1, 1) if layer is None else layer
        if not (is_int(layer) and 1 <= layer <= L):
            raise ValueError(f"layer must be an integer in 1..{L} (1..L−1 hidden, {L} the output), got {layer!r}")
        where = aa.dispatch_target(X)
        aa.check_same_place(X, self, "hidden_activations")
        X = validate_data(self, X, accept_sparse=["csr", "csc"], dtype=aa.float_dtypes(where), reset=False)
        X = X.toarray() if hasattr(X, "toarray") else X
        net = self.network_
        if where is not None:
            _, caches = xpp.forward(aa.astype(X, net.dtype).T, net.params, net.activations)
        else:
            _, caches = propagation.forward(np.asarray(X, dtype=net.dtype).T, net.params, net.activations)
        return caches[layer].A.T

    # -------------------------------------------------------------------------- fitted attributes
    @property
    def coefs_(self):
        """[W[1].T, ..., W[L].T]: scikit-learn's (n_in, n_out) layout, views of the network's W.

        Assignable: on a fitted estimator the arrays are copied into the network at once (shapes checked);
        before fitting (as scikit-learn's test_fit does) the assigned list is kept, and may be changed in
        place, until partial_fit or a warm-started fit builds the network from it.
        """
        pending = self.__dict__.get("_coefs_set")
        if pending is not None:
            return pending
        net = self._fitted_network()
        return [net.params[f"W{l}"].T for l in range(1, net.L + 1)]

    @coefs_.setter
    def coefs_(self, coefs):
        self.__dict__["_coefs_set"] = coefs
        if "network_" in self.__dict__:
            self._sync_weights()  # fitted: written (and checked) at once

    @property
    def intercepts_(self):
        """[b[1][:, 0], ..., b[L][:, 0]]: shape (n_out,) each, views of the network's b (assignable)."""
        pending = self.__dict__.get("_intercepts_set")
        if pending is not None:
            return pending
        net = self._fitted_network()
        return [net.params[f"b{l}"][:, 0] for l in range(1, net.L + 1)]

    @intercepts_.setter
    def intercepts_(self, intercepts):
        self.__dict__["_intercepts_set"] = intercepts
        if "network_" in self.__dict__:
            self._sync_weights()

    @property
    def params_(self):
        """The network's parameters in the seed's column layout: {"W1": (n_1, n_0), "b1": (n_1, 1), ...}."""
        self._sync_weights()
        return dict(self._fitted_network().params)

    def _fitted_network(self):
        try:
            return self.__dict__["network_"]
        except KeyError:
            raise AttributeError(f"This {type(self).__name__} instance is not fitted yet; call fit first") from None

    def _sync_weights(self) -> None:
        """Copy assigned coefs_/intercepts_ into the network (shapes and finiteness checked there)."""
        coefs = self.__dict__.pop("_coefs_set", None)
        intercepts = self.__dict__.pop("_intercepts_set", None)
        net = self.__dict__.get("network_")
        if net is None or (coefs is None and intercepts is None):
            return
        new = dict(net.params)
        for key, values, to_column in (
            ("W", coefs, lambda c: np.asarray(c).T),
            ("b", intercepts, lambda c: np.asarray(c).reshape(-1, 1)),
        ):
            if values is None:
                continue
            values = list(values)
            if len(values) != net.L:
                raise ValueError(
                    f"expected {net.L} arrays in {'coefs_' if key == 'W' else 'intercepts_'} "
                    f"(one per layer), got {len(values)}"
                )
            for l, v in enumerate(values, start=1):
                new[f"{key}{l}"] = to_column(v)
        net.params = new  # the setter checks shapes and finiteness

    def __sklearn_is_fitted__(self):
        return "network_" in self.__dict__

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True  # accepted and densified for the core (refused under array_api_dispatch)
        tags.array_api_support = True  # array_api_dispatch: fit and predict in X's namespace and device
        return tags

    # -------------------------------------------------------------------------- persistence
    def save(self, path, *, include_training_state: bool = True) -> None:
        """Write the fitted estimator to a safe vecprop model file (safetensors + JSON), atomically.

        ``vecprop.load(path)`` (or ``type(self).load(path)``) gives it back with identical predictions;
        with the training state (optimizer moments, schedule, random generator) ``partial_fit``
        continues bit for bit. Nothing in the file is pickled or executed on loading.
        """
        check_is_fitted(self)
        self._sync_weights()
        save_estimator(self, path, include_training_state=include_training_state)

    @classmethod
    def load(cls, path):
        """Read a file written by :meth:`save`; ValueError if it holds another kind of model."""
        from vecprop.io import load

        obj = load(path)
        if not isinstance(obj, cls):
            raise ValueError(f"{path} holds a {type(obj).__name__}, not a {cls.__name__}; use vecprop.load")
        return obj

    @classmethod
    def _from_model_file(cls, tensors, metadata):
        """Rebuild an estimator from :func:`vecprop.io.read_model_file`'s output (used by vecprop.load)."""
        return estimator_from_model_file(cls, tensors, metadata)

    def _fitted_extra(self) -> dict:
        return {}

    def _restore_extra(self, fitted) -> None:
        pass
