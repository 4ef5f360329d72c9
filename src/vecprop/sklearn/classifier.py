"""DNNClassifier: scikit-learn's ``MLPClassifier`` on vecprop's core."""

from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target, unique_labels
from sklearn.utils.validation import column_or_1d

from vecprop.engines import xp_propagation as xpp
from vecprop.engines.xp_engine import ACTIVATIONS_XP
from vecprop.sklearn import _array_api as aa
from vecprop.sklearn._base import BaseDNN, validate_data
from vecprop.sklearn._distributed import (
    check_n_features,
    check_same_classes,
    global_class_counts,
    global_labels,
    local,
    reducer_for,
)
from vecprop.sklearn._params import activation_name, is_real

__all__ = ["DNNClassifier"]


class DNNClassifier(ClassifierMixin, BaseDNN):
    """A deep fully-connected classifier: scikit-learn's ``MLPClassifier`` on vecprop's core.

    ``from vecprop import DNNClassifier as MLPClassifier`` runs existing code unchanged: every
    ``MLPClassifier`` parameter has its name, default and meaning, and from the same ``random_state`` it
    draws the same initial weights and (sgd, adam) takes the same steps; see :mod:`vecprop.sklearn`.
    Binary targets train one sigmoid unit, multiclass targets a softmax layer, multilabel indicator
    targets one sigmoid per label, all with cross-entropy.

    Parameters beyond scikit-learn's
    --------------------------------
    solver : also "gd", "momentum", "nesterov", "rmsprop", "adamw" (vecprop's optimizers).
    activation : also any vecprop activation name ("leaky_relu", registered ones), or a list with
        one name per hidden layer.
    learning_rate : also any vecprop schedule name or spec dict.
    keep_prob : float or list, default 1.0 — inverted dropout: probability of KEEPING a hidden unit.
    class_weight : None, "balanced" or {label: weight} — multiplies sample_weight per class.
    output_activation : None (sigmoid/softmax as above), or "softmax" for two classes (two units).
    initializer : None (scikit-learn's draws: W and b ~ U(±√(f/(fan_in + fan_out))), f = 2 for
        logistic, 6 otherwise) or a vecprop initializer name ("he", "xavier", "random"), or one per layer.
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

    def __init__(
        self,
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
        class_weight=None,
        output_activation=None,
        initializer=None,
        engine="auto",
    ):
        self._set_params_from({k: v for k, v in locals().items() if k not in ("self", "__class__")})

    _score_function = staticmethod(accuracy_score)

    def fit(self, X, y, sample_weight=None, comm=None):
        """Train on rows X (n_samples, n_features) and labels y (n_samples,) or indicators (n_samples, n_labels).

        ``comm`` (an mpi4py communicator, or "mpi" for ``COMM_WORLD``): data-parallel training, every rank
        passing its own rows; ``classes_`` is the union of every rank's labels, ``batch_size`` the global
        batch, and every rank ends with the same estimator (docs/distributed.md).

        Returns self. Raises ValueError for bad parameters or data (over MPI a RankError on every rank,
        naming the rank; ``solver="lbfgs"`` is refused), and
        :class:`vecprop.training.DivergenceError` (a ValueError) if the loss becomes NaN/inf.
        """
        reducer = reducer_for(self, comm)
        return self._fit(X, y, sample_weight=sample_weight, incremental=False, reducer=reducer)

    @available_if(BaseDNN._check_solver)
    def partial_fit(self, X, y, sample_weight=None, classes=None, comm=None):
        """One epoch over (X, y), continuing the optimizer state; ``classes`` is required on the first call.

        Not available with ``solver="lbfgs"`` (``hasattr(est, "partial_fit")`` is False, as in scikit-learn).
        ``comm``: one epoch over every rank's rows (see :meth:`fit`); ``classes`` must be the same on
        every rank.
        """
        reducer = reducer_for(self, comm)
        if reducer is not None:
            check_same_classes(reducer, type(self).__name__, classes)
        local(reducer, self._partial_fit_classes, y, classes)
        if reducer is not None and type_of_target(y).startswith("multilabel"):
            global_labels(reducer, type(self).__name__, np.asarray(y))  # as many label columns everywhere
        return self._fit(X, y, sample_weight=sample_weight, incremental=True, reducer=reducer)

    def _partial_fit_classes(self, y, classes) -> None:
        """partial_fit's classes_: set from ``classes`` on the first call, compared with them later."""
        first = not hasattr(self, "classes_") or not hasattr(self, "network_")
        if first:
            if classes is None and not type_of_target(y).startswith("multilabel"):
                raise ValueError("classes must be passed on the first call to partial_fit.")
            self._label_binarizer = LabelBinarizer()
            y_host = aa.to_host(y)
            self._label_binarizer.fit(
                y_host if type_of_target(y_host).startswith("multilabel") else aa.to_host(classes)
            )
            self.classes_ = self._label_binarizer.classes_
        elif classes is not None and not np.array_equal(
            unique_labels(aa.to_host(classes)), self._label_binarizer.classes_
        ):
            raise ValueError(
                f"`classes={classes!r}` is not the same as on the first call to partial_fit, "
                f"{self._label_binarizer.classes_!r}"
            )

    def _check_extra_params(self):
        cw = self.class_weight
        if not (cw is None or cw == "balanced" or isinstance(cw, dict)):
            raise ValueError(
                f"DNNClassifier: class_weight must be None, 'balanced' or a dict {{label: weight}}, got {cw!r}"
            )
        if isinstance(cw, dict) and not all(is_real(w) and w >= 0 for w in cw.values()):
            raise ValueError(f"DNNClassifier: class_weight values must be numbers >= 0, got {cw!r}")
        if self.output_activation not in (None, "softmax", "sigmoid", "logistic"):
            raise ValueError(
                f"DNNClassifier: output_activation must be None, 'sigmoid' or 'softmax', got {self.output_activation!r}"
            )

    def _validate_input(self, X, y, incremental, reset, where=None, reducer=None):
        X, y = local(reducer, self._checked, X, y, reset, where)
        if reducer is not None:
            check_n_features(reducer, type(self).__name__, X)
        if not hasattr(self, "classes_") or (not self.warm_start and not incremental):
            self._label_binarizer = LabelBinarizer()
            self._label_binarizer.fit(y if reducer is None else global_labels(reducer, type(self).__name__, y))
        else:
            warm = reducer is not None and not incremental and y.ndim == 1  # warm_start: every rank's labels
            labels = global_labels(reducer, type(self).__name__, y) if warm else y
            local(reducer, self._check_known_classes, labels, incremental)
        # the host labels stay in the binarizer; classes_ is in X's namespace under array_api_dispatch
        self.classes_ = aa.label_array(self._label_binarizer.classes_, where)
        Y = self._label_binarizer.transform(y).astype(aa.host_dtype(X))
        if self._two_unit_softmax():
            Y = np.hstack([1 - Y, Y])
        return X, Y, y

    def _checked(self, X, y, reset, where=None):
        """(X, y) validated: X (n_samples, n_features) float, y labels (n_samples,) or indicators."""
        X, y = validate_data(
            self, X, y, accept_sparse=["csr", "csc"], multi_output=True, dtype=aa.float_dtypes(where), reset=reset
        )
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        return X, y

    def _check_known_classes(self, y, incremental) -> None:
        """warm_start needs y's classes to be classes_ (over MPI: every rank's labels); partial_fit needs
        them among classes_."""
        classes, known = unique_labels(y), self._label_binarizer.classes_
        if self.warm_start and not incremental:
            if set(classes) != set(known):
                raise ValueError(
                    "warm_start can only be used where `y` has the same classes as in the "
                    f"previous call to fit. Previously got {known}, `y` has {classes}"
                )
        elif len(np.setdiff1d(classes, known, assume_unique=True)):
            raise ValueError(f"`y` has classes not in `self.classes_`. `self.classes_` has {known}. 'y' has {classes}.")

    def _stratify(self, Y):
        """scikit-learn stratifies the early-stopping split on the binarized y, single output only."""
        if self._two_unit_softmax():
            return Y[:, 1:] > 0.5
        return Y > 0.5 if Y.shape[1] == 1 else None

    def _two_unit_softmax(self) -> bool:
        return self.output_activation == "softmax" and self._label_binarizer.y_type_ == "binary"

    def _output(self, Y):
        kind = self._label_binarizer.y_type_
        out = activation_name(self.output_activation)
        if kind == "multiclass":
            if out not in (None, "softmax"):
                raise ValueError(
                    "DNNClassifier: multiclass targets need a softmax output; leave output_activation None"
                )
            return "softmax", "categorical_cross_entropy"
        if kind.startswith("multilabel") and out == "softmax":
            raise ValueError(
                "DNNClassifier: multilabel targets need sigmoid outputs (one per label); leave output_activation None"
            )
        if out == "softmax":
            return "softmax", "categorical_cross_entropy"
        return "sigmoid", "binary_cross_entropy"

    def _apply_class_weight(self, sample_weight, y_labels, dtype, incremental, reducer=None):
        cw = self.class_weight
        if cw is None:
            return sample_weight
        if self._label_binarizer.y_type_.startswith("multilabel"):
            raise ValueError(
                "DNNClassifier: class_weight is not supported for multilabel targets; pass sample_weight instead"
            )
        if cw == "balanced" and incremental:
            raise ValueError(
                "class_weight 'balanced' is not supported for partial_fit: the class frequencies of "
                "one batch are not those of the data. Compute them once with "
                "sklearn.utils.class_weight.compute_class_weight('balanced', classes=classes, y=y) "
                "and pass class_weight as a dict"
            )
        classes = self._label_binarizer.classes_
        if cw == "balanced" and reducer is not None:  # the classes counted over every rank's rows
            counts = global_class_counts(reducer, y_labels, classes)
            present, counts = classes[counts > 0], counts[counts > 0]
            table = dict(zip(present.tolist(), (int(counts.sum()) / (len(present) * counts)).tolist()))
        elif cw == "balanced":
            present, counts = np.unique(y_labels, return_inverse=False, return_counts=True)
            table = dict(zip(present.tolist(), (len(y_labels) / (len(present) * counts)).tolist()))
        else:
            unknown = [k for k in cw if k not in set(classes.tolist())]
            if unknown:
                raise ValueError(
                    f"DNNClassifier: class_weight names labels {unknown} that are not among the "
                    f"classes {classes.tolist()}"
                )
            table = cw
        w = np.array([table.get(label, 1.0) for label in y_labels.tolist()], dtype=dtype)
        return w if sample_weight is None else sample_weight * w

    def _decode(self, P, Z):
        """Labels from output rows P = A[L].T (n_samples, n_L)."""
        if xpp.is_foreign(P):
            return self._decode_xp(P)
        if self._two_unit_softmax():
            return self.classes_[P.argmax(axis=1)]
        return self._label_binarizer.inverse_transform(P.ravel() if P.shape[1] == 1 else P)

    def _decode_xp(self, P):
        """:meth:`_decode` in P's namespace (LabelBinarizer's rules): argmax for softmax, p > 0.5 for one
        sigmoid unit, the 0/1 indicator for multilabel. Numeric labels stay on P's device; string labels
        are NumPy (they exist only there), as scikit-learn's Array API classifiers return them."""
        xp = xpp.namespace(P)
        if self._label_binarizer.y_type_.startswith("multilabel"):
            return xp.astype(P > 0.5, xp.int64)
        idx = xp.argmax(P, axis=1) if P.shape[1] > 1 else xp.astype(P[:, 0] > 0.5, xp.int64)
        classes = self._label_binarizer.classes_
        if classes.dtype.kind not in "biuf":
            return classes[aa.to_host(idx)]
        return xp.take(aa.label_array(classes, xpp.target(P)), idx, axis=0)

    def predict(self, X):
        """Labels for rows X (n_samples, n_features): shape (n_samples,), or (n_samples, n_labels) multilabel."""
        P, Z = self._forward(X, "predict")
        return self._decode(P, Z)

    def predict_proba(self, X):
        """Class probabilities, (n_samples, n_classes) in the order of classes_ (binary: [P(0), P(1)])."""
        return self._proba(X, "predict_proba")

    def _proba(self, X, method):
        P, Z = self._forward(X, method)
        g = self.network_.activations[-1]
        if xpp.is_foreign(P):
            xp = xpp.namespace(P)
            if self.n_outputs_ == 1:  # σ(−z) = 1 − σ(z), without the rounding of 1 − p
                return xp.concat([ACTIVATIONS_XP[g.name][0](xp, -Z, g), P], axis=1)
            if g.name == "sigmoid":  # multilabel: strictly inside (0, 1), as below
                info = xp.finfo(P.dtype)
                return xp.clip(P, float(info.smallest_normal) * float(info.eps), 1 - float(info.eps) / 2)
            return P
        if self.n_outputs_ == 1:
            return np.hstack([g.forward(-Z), P])  # σ(−z) = 1 − σ(z), without the rounding of 1 − p
        if g.name == "sigmoid":
            # multilabel: σ(z) lies strictly inside (0, 1); keep the rounded value there too (a float σ rounds
            # to exactly 1 for z > 37), so every label's probability says "not certain" as the model does
            info = np.finfo(P.dtype)
            np.clip(P, info.smallest_subnormal, 1 - info.epsneg, out=P)
        return P

    def predict_log_proba(self, X):
        """log of :meth:`predict_proba`."""
        proba = self._proba(X, "predict_log_proba")
        if xpp.is_foreign(proba):
            return xpp.namespace(proba).log(proba)
        with np.errstate(divide="ignore"):
            return np.log(proba, out=proba)

    def _fitted_extra(self):
        lb = self._label_binarizer
        return {"classes_": lb.classes_, "y_type_": lb.y_type_}

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
