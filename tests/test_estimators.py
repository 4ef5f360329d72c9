"""DNNClassifier / DNNRegressor: scikit-learn's MLP contract on vecprop's core.

Where scikit-learn's own MLP is the reference, it is run from the same initial weights and compared
number for number (solver="sgd" agrees to ~1e-15; adam differs only in where ε enters).
"""

import os
import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_digits, make_classification  # noqa: E402
from sklearn.exceptions import ConvergenceWarning, NotFittedError  # noqa: E402
from sklearn.metrics import recall_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, train_test_split  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.validation import check_is_fitted  # noqa: E402

import vecprop  # noqa: E402
from vecprop import DNNClassifier, DNNRegressor  # noqa: E402
from vecprop.training import DivergenceError  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small matrices: one BLAS thread is faster, immune to a busy machine, and reproducible."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _data(m=60, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 5))
    y_reg = np.c_[X[:, 0] - X[:, 1] ** 2, np.sin(X[:, 2])]  # two outputs
    y_cls = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)  # three classes
    return X, y_reg, y_cls


# ---------------------------------------------------------------------------------------- vs scikit-learn
@pytest.mark.parametrize(
    "kind, params",
    [
        ("reg", dict(solver="sgd", learning_rate_init=0.01, alpha=1e-2)),  # nesterov
        ("reg", dict(solver="sgd", nesterovs_momentum=False, learning_rate_init=0.01, alpha=1e-2)),
        ("reg", dict(solver="sgd", momentum=0.0, learning_rate="invscaling", learning_rate_init=0.05, power_t=0.25)),
        ("reg", dict(solver="sgd", momentum=0.0, learning_rate="adaptive", tol=10.0, n_iter_no_change=2)),
        ("reg", dict(solver="adam", learning_rate_init=0.01, alpha=1e-2)),
        ("multiclass", dict(solver="sgd", learning_rate_init=0.05, alpha=1e-3)),
        ("binary", dict(solver="sgd", learning_rate_init=0.05, alpha=1e-3)),
        ("binary", dict(solver="adam", learning_rate_init=0.05, alpha=1e-3, activation="logistic")),
    ],
)
def test_same_steps_loss_curve_and_stopping_as_sklearn(kind, params):
    """From the same random_state: scikit-learn's initial weights, its sgd and adam rules, L2 = λ/(2m),
    loss_ on scikit-learn's scale (½·mean over the outputs too), invscaling's t in samples, adaptive's
    ÷5, and the n_iter_no_change stopping rule."""
    X, y_reg, y_cls = _data()
    y = {"reg": y_reg, "multiclass": y_cls, "binary": y_cls > 0}[kind]
    Dcls, Scls = (DNNRegressor, MLPRegressor) if kind == "reg" else (DNNClassifier, MLPClassifier)
    common = dict(hidden_layer_sizes=(7, 4), batch_size=60, shuffle=False, random_state=0, max_iter=100, **params)
    est = Dcls(**common).fit(X, y)
    mlp = Scls(**common).fit(X, y)
    assert est.n_iter_ == mlp.n_iter_
    np.testing.assert_allclose(est.loss_curve_, mlp.loss_curve_, rtol=1e-12, atol=1e-14)
    for a, b in zip(est.coefs_ + est.intercepts_, mlp.coefs_ + mlp.intercepts_):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_digits_gridsearch_swap_reaches_mlp_accuracy():
    """The one-line swap in a Pipeline + GridSearchCV: same grid, same hyperparameters.

    Over random_state 0..3 this setting gives test accuracies MLP 0.9778/0.9778/0.9815/0.9796 and
    DNN 0.9796/0.9796/0.9759/0.9833 (means 0.9792 vs 0.9796): a statistical tie; seed 0 is checked.
    """
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    scores = {}
    for cls in (MLPClassifier, DNNClassifier):
        pipe = Pipeline([("scale", StandardScaler()), ("clf", cls(max_iter=100, random_state=0))])
        search = GridSearchCV(pipe, {"clf__alpha": [1e-4, 1e-1]}, cv=3).fit(X_train, y_train)
        scores[cls.__name__] = search.score(X_test, y_test)
    assert scores["DNNClassifier"] >= scores["MLPClassifier"] > 0.95, scores


# ---------------------------------------------------------------------------------------- weights
@pytest.mark.parametrize("solver", ["gd", "adam"])
def test_weight_two_equals_duplicated_row(solver):
    """Full batch, no shuffle: weight 2 ≡ the row twice, weight 0 ≡ the row absent (L2 included)."""
    X, _, y = _data(40)
    w = np.tile([2.0, 1.0, 0.0, 1.0], 10)
    X_rep, y_rep = np.repeat(X, w.astype(int), axis=0), np.repeat(y, w.astype(int))
    params = dict(
        solver=solver,
        hidden_layer_sizes=(8,),
        batch_size=40,
        shuffle=False,
        alpha=0.05,
        learning_rate_init=0.05,
        max_iter=60,
        random_state=3,
    )
    weighted = DNNClassifier(**params).fit(X, y, sample_weight=w)
    repeated = DNNClassifier(**params).fit(X_rep, y_rep)
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, repeated.coefs_ + repeated.intercepts_):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-10)
    np.testing.assert_allclose(weighted.loss_curve_, repeated.loss_curve_, rtol=1e-12)


def test_uniform_weights_equal_no_weights_and_input_not_modified():
    X, y_reg, _ = _data()
    w = np.ones(len(X))
    a = DNNRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=1).fit(X, y_reg)
    b = DNNRegressor(hidden_layer_sizes=(6,), max_iter=20, random_state=1).fit(X, y_reg, sample_weight=w)
    assert all(np.array_equal(p, q) for p, q in zip(a.coefs_, b.coefs_))
    assert np.array_equal(w, np.ones(len(X)))


def test_class_weight_balanced_improves_minority_recall():
    X, y = make_classification(
        n_samples=600, n_features=8, weights=[0.93, 0.07], class_sep=0.6, flip_y=0.02, random_state=0
    )
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.5, stratify=y, random_state=0)
    recalls = {}
    for cw in (None, "balanced"):
        clf = DNNClassifier(hidden_layer_sizes=(16,), max_iter=100, class_weight=cw, random_state=0)
        recalls[cw] = recall_score(y_test, clf.fit(X_train, y_train).predict(X_test), pos_label=1)
    assert recalls["balanced"] > recalls[None] + 0.1, recalls


def test_class_weight_dict_by_label_and_errors():
    X, _, y = _data()
    labels = np.array(["a", "b", "c"])[y]
    clf = DNNClassifier(hidden_layer_sizes=(5,), max_iter=5, class_weight={"a": 0.0, "b": 3.0}, random_state=0)
    clf.fit(X, labels)
    assert list(clf.classes_) == ["a", "b", "c"]
    with pytest.raises(ValueError, match=r"class_weight names labels \['z'\]"):
        clf.set_params(class_weight={"z": 1.0}).fit(X, labels)
    with pytest.raises(ValueError, match="'balanced' is not supported for partial_fit"):
        DNNClassifier(class_weight="balanced").partial_fit(X, labels, classes=["a", "b", "c"])


# ---------------------------------------------------------------------------------------- continuation
@pytest.mark.parametrize(
    "Est, params",
    [
        (DNNClassifier, dict(solver="adam", keep_prob=0.8)),  # dropout draws from the same stream
        (DNNClassifier, dict(solver="sgd", learning_rate="invscaling")),
        (DNNRegressor, dict(solver="rmsprop", alpha=1e-2)),
    ],
)
def test_partial_fit_n_times_is_fit_with_max_iter_n(Est, params):
    """Without shuffling, N partial_fits are fit(max_iter=N): the optimizer's moments, the schedule and
    the dropout masks' Generator carry on between calls. (With shuffle=True each partial_fit draws
    scikit-learn's first-epoch order again from a fresh RandomState(random_state), as MLP's does.)"""
    X, y_reg, y_cls = _data(90)
    y = y_cls if Est is DNNClassifier else y_reg
    common = dict(
        hidden_layer_sizes=(9, 5), batch_size=16, random_state=7, n_iter_no_change=100, shuffle=False, **params
    )
    full = Est(max_iter=6, **common).fit(X, y)
    inc = Est(**common)
    for _ in range(6):
        inc.partial_fit(X, y, **({"classes": [0, 1, 2]} if Est is DNNClassifier else {}))
    for a, b in zip(full.coefs_ + full.intercepts_, inc.coefs_ + inc.intercepts_):
        assert np.array_equal(a, b)
    assert full.loss_curve_ == inc.loss_curve_ and full.t_ == inc.t_ == 6 * 90
    assert inc.n_iter_ == 1  # scikit-learn's: one epoch per call


def test_partial_fit_needs_classes_and_keeps_them():
    X, _, y = _data()
    clf = DNNClassifier(hidden_layer_sizes=(4,))
    with pytest.raises(ValueError, match="classes must be passed on the first call to partial_fit"):
        clf.partial_fit(X, y)
    clf.partial_fit(X[y < 2], y[y < 2], classes=[0, 1, 2])  # a batch may miss a class
    assert list(clf.classes_) == [0, 1, 2] and clf.predict_proba(X).shape == (len(X), 3)
    with pytest.raises(ValueError, match="not the same as on the first call"):
        clf.partial_fit(X, y, classes=[0, 1])
    with pytest.raises(ValueError, match="partial_fit does not support early_stopping"):
        DNNClassifier(early_stopping=True).partial_fit(X, y, classes=[0, 1, 2])


def test_warm_start_continues_from_fitted_weights():
    X, y_reg, _ = _data()
    est = DNNRegressor(hidden_layer_sizes=(6,), max_iter=30, random_state=0, warm_start=True).fit(X, y_reg)
    first = est.loss_curve_[-1]
    est.fit(X, y_reg)
    assert len(est.loss_curve_) == 60 and est.loss_curve_[30] < first * 1.5 and est.n_iter_ == 30


# ---------------------------------------------------------------------------------------- convergence
def test_convergence_rule_and_warning_match_sklearn():
    X, _, y = _data()
    kw = dict(hidden_layer_sizes=(5,), random_state=0, tol=1e3, n_iter_no_change=3)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # converged: no warning
        est = DNNClassifier(**kw).fit(X, y)
        mlp = MLPClassifier(**kw).fit(X, y)
    assert est.n_iter_ == mlp.n_iter_ == 5  # count > n_iter_no_change
    with pytest.warns(ConvergenceWarning, match=r"Maximum iterations \(3\) reached"):
        DNNClassifier(hidden_layer_sizes=(5,), max_iter=3, random_state=0).fit(X, y)


def test_early_stopping_restores_best_weights():
    X, y = load_digits(return_X_y=True)
    X = X / 16.0
    clf = DNNClassifier(
        hidden_layer_sizes=(32,),
        early_stopping=True,
        n_iter_no_change=3,
        tol=0.0,
        learning_rate_init=0.05,
        max_iter=60,
        random_state=0,
    ).fit(X, y)
    # the hold-out scikit-learn's MLP would take: its RandomState(0) draws the initial weights (coef, then
    # intercept, per layer) and then splits, unstratified for multiclass (n_outputs_ > 1)
    rs = np.random.RandomState(0)
    for fan_in, fan_out in ((64, 32), (32, 10)):
        rs.uniform(size=(fan_in, fan_out)), rs.uniform(size=fan_out)
    _, X_val, _, y_val = train_test_split(X, y, random_state=rs, test_size=0.1, stratify=None)
    assert clf.best_loss_ is None and len(clf.validation_scores_) == clf.n_iter_ == len(clf.validation_loss_curve_)
    assert clf.validation_scores_[-1] < clf.best_validation_score_  # stopped after a worse epoch...
    assert clf.score(X_val, y_val) == pytest.approx(clf.best_validation_score_)  # ...and went back


def test_divergence_raises_and_keeps_finite_weights():
    X, y_reg, _ = _data()
    big = 1e6 * y_reg
    est = DNNRegressor(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, learning_rate_init=10.0, random_state=0)
    with pytest.raises(DivergenceError, match="Solver produced non-finite parameter weights.*StandardScaler"):
        est.fit(X, big)
    with pytest.raises(NotFittedError):
        check_is_fitted(est)  # a failed first fit leaves nothing
    est.set_params(learning_rate_init=1e-4, max_iter=2, warm_start=True).fit(X, y_reg)
    with pytest.raises(ValueError, match="non-finite"):  # DivergenceError is a ValueError
        est.set_params(learning_rate_init=10.0, max_iter=50).fit(X, big)
    assert all(np.isfinite(c).all() for c in est.coefs_ + est.intercepts_)


# ---------------------------------------------------------------------------------------- layout, dtypes
def test_rows_become_columns_only_at_the_boundary():
    X, _, y = _data()
    clf = DNNClassifier(hidden_layer_sizes=(6, 4), max_iter=10, random_state=0).fit(X, y)
    net = clf.network_
    assert net.layer_dims == [5, 6, 4, 3] and clf.n_layers_ == 4 and clf.n_outputs_ == 3
    assert clf.out_activation_ == "softmax"
    for l in (1, 2, 3):
        W, b = net.params[f"W{l}"], net.params[f"b{l}"]
        assert clf.coefs_[l - 1].shape == W.T.shape and np.shares_memory(clf.coefs_[l - 1], W)
        assert np.array_equal(clf.coefs_[l - 1], W.T) and np.array_equal(clf.intercepts_[l - 1], b[:, 0])
        assert clf.params_[f"W{l}"] is W
    A1 = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    np.testing.assert_allclose(clf.hidden_activations(X, layer=1), A1, rtol=1e-12)
    assert clf.hidden_activations(X).shape == (60, 4)  # default: the last hidden layer
    np.testing.assert_allclose(clf.hidden_activations(X, layer=3), clf.predict_proba(X), rtol=1e-12)
    with pytest.raises(ValueError, match=r"layer must be an integer in 1\.\.3"):
        clf.hidden_activations(X, layer=0)


def test_coefs_setter_writes_the_network():
    X, _, y = _data()
    clf = DNNClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    clf.coefs_ = [np.zeros((5, 4)), np.ones((4, 3))]
    assert np.array_equal(clf.network_.params["W2"], np.ones((3, 4)))
    with pytest.raises(ValueError, match="W1"):
        clf.coefs_ = [np.zeros((4, 5)), np.ones((4, 3))]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_float32_trains_in_float32(dtype):
    X, y_reg, y = _data()
    clf = DNNClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X.astype(dtype), y)
    assert clf.network_.dtype == dtype and clf.coefs_[0].dtype == dtype
    assert clf.predict_proba(X.astype(dtype)).dtype == dtype
    reg = DNNRegressor(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X.astype(dtype), y_reg)
    assert reg.predict(X.astype(dtype)).dtype == dtype and reg.intercepts_[0].dtype == dtype


def test_binary_multiclass_multilabel_and_multioutput_shapes():
    X, y_reg, y = _data()
    binary = DNNClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, np.where(y > 0, "yes", "no"))
    P = binary.predict_proba(X)
    assert binary.n_outputs_ == 1 and binary.out_activation_ == "logistic" and P.shape == (60, 2)
    np.testing.assert_allclose(P.sum(axis=1), 1.0)
    assert set(binary.predict(X)) <= {"yes", "no"}
    np.testing.assert_allclose(binary.predict_log_proba(X), np.log(P))
    two_unit = DNNClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0, output_activation="softmax").fit(
        X, y > 0
    )
    assert two_unit.n_outputs_ == 2 and two_unit.predict_proba(X).shape == (60, 2)
    labels = np.c_[y == 0, y == 1, X[:, 3] > 0].astype(int)
    multilabel = DNNClassifier(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, labels)
    assert multilabel.out_activation_ == "logistic" and multilabel.predict(X).shape == (60, 3)
    reg = DNNRegressor(hidden_layer_sizes=(5,), max_iter=30, random_state=0).fit(X, y_reg)
    assert reg.out_activation_ == "identity" and reg.predict(X).shape == (60, 2)
    assert DNNRegressor(hidden_layer_sizes=(5,), max_iter=3).fit(X, y_reg[:, 0]).predict(X).shape == (60,)


def test_sklearn_activation_names_and_per_layer_lists():
    X, y_reg, _ = _data()
    reg = DNNRegressor(hidden_layer_sizes=(4, 3), activation=["logistic", "leaky_relu"], max_iter=2).fit(X, y_reg)
    assert [g.name for g in reg.network_.activations] == ["sigmoid", "leaky_relu", "linear"]
    reg = DNNRegressor(hidden_layer_sizes=(4,), activation="identity", output_activation="sigmoid", max_iter=2)
    assert [g.name for g in reg.fit(X, y_reg).network_.activations] == ["linear", "sigmoid"]


# ---------------------------------------------------------------------------------------- persistence
def test_save_load_round_trip_and_resume(tmp_path):
    X, _, y = _data()
    labels = np.array(["cat", "dog", "eel"])[y]
    params = dict(
        hidden_layer_sizes=(6, 3), batch_size=16, random_state=2, class_weight={"eel": 2.0}, n_iter_no_change=np.inf
    )
    clf = DNNClassifier(max_iter=4, **params).fit(X, labels)
    path = tmp_path / "clf.safetensors"
    clf.save(path)
    loaded = vecprop.load(path)
    assert type(loaded) is DNNClassifier and loaded.get_params() == clf.get_params()
    assert np.array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert list(loaded.predict(X)) == list(clf.predict(X)) and loaded.loss_curve_ == clf.loss_curve_
    assert DNNClassifier.load(path).n_iter_ == clf.n_iter_ == 4
    clf.partial_fit(X, labels)  # optimizer + Generator resume bit for bit
    loaded.partial_fit(X, labels)
    assert all(np.array_equal(a, b) for a, b in zip(clf.coefs_, loaded.coefs_))
    with pytest.raises(ValueError, match="holds a DNNClassifier, not a DNNRegressor"):
        DNNRegressor.load(path)


def test_sklearn_sgd_schedule_survives_estimator_and_network_files(tmp_path):
    from vecprop.schedules import SCHEDULES

    X, y_reg, _ = _data()
    params = dict(
        hidden_layer_sizes=(5,), solver="sgd", learning_rate="invscaling", batch_size=16, random_state=0, max_iter=3
    )
    reg = DNNRegressor(**params).fit(X, y_reg)
    reg.save(tmp_path / "sgd.safetensors")
    loaded = vecprop.load(tmp_path / "sgd.safetensors")
    reg.partial_fit(X, y_reg)
    loaded.partial_fit(X, y_reg)
    assert all(np.array_equal(a, b) for a, b in zip(reg.coefs_, loaded.coefs_))
    assert "sklearn_mlp" in SCHEDULES
    reg.network_.save(tmp_path / "net.safetensors")  # the bare network resumes with it too
    net = vecprop.load(tmp_path / "net.safetensors")
    assert net.training_state()[1]["schedule"]["name"] == "sklearn_mlp"
    assert net.training_state()[1]["schedule_state"] == reg.network_.training_state()[1]["schedule_state"]


def test_save_load_regressor_float32_and_pickle(tmp_path):
    X, y_reg, _ = _data()
    reg = DNNRegressor(
        hidden_layer_sizes=(5,), max_iter=5, random_state=0, learning_rate="cosine", early_stopping=True
    ).fit(X.astype(np.float32), y_reg)
    reg.save(tmp_path / "reg.safetensors")
    loaded = vecprop.load(tmp_path / "reg.safetensors")
    assert loaded.coefs_[0].dtype == np.float32 and loaded.best_validation_score_ == reg.best_validation_score_
    assert np.array_equal(loaded.predict(X), reg.predict(X))
    assert np.array_equal(pickle.loads(pickle.dumps(reg)).predict(X), reg.predict(X))


# ---------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "params, message",
    [
        (dict(solver="lbfgs", keep_prob=0.5), "solver='lbfgs' minimizes one deterministic cost; dropout"),
        (dict(solver="newton"), "solver must be one of lbfgs, sgd, adam, gd, .*got 'newton'"),
        (dict(activation="relus"), "activation 'relus' is not known"),
        (dict(activation=["relu", "tanh"]), "activation lists 2 names for 1 hidden layers"),
        (dict(hidden_layer_sizes=(10, 0)), "hidden_layer_sizes must be a positive integer"),
        (dict(alpha=-1.0), r"alpha must be a number in \[0, inf\)"),
        (dict(solver="momentum", momentum=1.0), "momentum must be a number in \\[0, 1\\).*never forgets"),
        (dict(momentum=1.5), "momentum must be a number in \\[0, 1\\]"),
        (dict(learning_rate_init=0.0), "learning_rate_init must be a number in \\(0, inf\\)"),
        (dict(learning_rate="sometimes"), "learning_rate must be 'constant', 'invscaling', 'adaptive'"),
        (dict(batch_size=0), "batch_size must be 'auto'"),
        (dict(keep_prob=0.0), "keep_prob must be in \\(0, 1\\].*KEEPING"),
        (dict(keep_prob=[0.5, 0.5]), "keep_prob lists 2 values for 1 hidden layers"),
        (dict(initializer="zeros"), "unknown initializer 'zeros'"),
        (dict(early_stopping=True, validation_fraction=0.0), "early_stopping=True needs validation_fraction"),
        (dict(class_weight="even"), "class_weight must be None, 'balanced' or a dict"),
        (dict(output_activation="relu"), "output_activation must be None, 'sigmoid' or 'softmax'"),
    ],
)
def test_bad_parameters_raise_value_errors_that_say_the_fix(params, message):
    X, _, y = _data()
    with pytest.raises(ValueError, match=message):
        DNNClassifier(**{"hidden_layer_sizes": (4,), **params}).fit(X, y)


def test_bad_data_raise_value_errors():
    X, y_reg, y = _data()
    clf = DNNClassifier(hidden_layer_sizes=(4,), max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match="X has 4 features, but DNNClassifier is expecting 5"):
        clf.predict(X[:, :4])
    with pytest.raises(ValueError, match="Unknown label type"):
        DNNClassifier().fit(X, y_reg[:, 0])
    with pytest.raises(ValueError, match="at least one non-zero"):
        DNNClassifier().fit(X, y, sample_weight=np.zeros(len(X)))
    with pytest.raises(ValueError, match="softmax outputs are for classification"):
        DNNRegressor(output_activation="softmax").fit(X, y_reg)


def test_array_api_checks_run_where_sklearn_allows_them():
    """scikit-learn skips its array-API check unless SCIPY_ARRAY_API=1 is set before scipy loads;
    run it in a subprocess that sets it, so that no check is left untested."""
    code = (
        "from sklearn.utils.estimator_checks import check_array_api_input\n"
        "from vecprop import DNNClassifier, DNNRegressor\n"
        "for est in (DNNClassifier(), DNNRegressor()):\n"
        "    check_array_api_input(type(est).__name__, est, array_namespace='numpy',"
        " expect_only_array_outputs=False)\n"
        "print('ok')\n"
    )
    env = {**os.environ, "SCIPY_ARRAY_API": "1", "OPENBLAS_NUM_THREADS": "1"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0 and result.stdout.strip() == "ok", result.stderr[-2000:]


def test_loss_solver_and_assigned_weights_errors_and_availability():
    X, y_reg, _ = _data()
    with pytest.raises(ValueError, match="loss must be 'squared_error' or 'poisson', got 'huber'"):
        DNNRegressor(loss="huber").fit(X, y_reg)
    with pytest.raises(ValueError, match="loss='poisson' needs targets y >= 0"):
        DNNRegressor(loss="poisson").fit(X, y_reg[:, 0])
    with pytest.raises(ValueError, match="loss='poisson' needs the exp output"):
        DNNRegressor(loss="poisson", output_activation="linear").fit(X, np.abs(y_reg[:, 0]))
    assert not hasattr(DNNRegressor(solver="lbfgs"), "partial_fit") and hasattr(DNNRegressor(), "partial_fit")
    # weights assigned before any fit: partial_fit starts from them (scikit-learn's test_fit does this)
    reg = DNNRegressor(
        hidden_layer_sizes=(3,), solver="sgd", learning_rate_init=1e-300, momentum=0.0, shuffle=False, alpha=0.0
    )
    reg.coefs_ = [np.full((5, 3), 0.5), np.full((3, 1), -0.25)]
    reg.intercepts_ = [np.zeros(3), np.ones(1)]
    reg.n_features_in_ = 5
    reg.partial_fit(X, y_reg[:, 0])
    assert np.array_equal(reg.network_.params["W1"], np.full((3, 5), 0.5))
    assert np.array_equal(reg.intercepts_[1], np.ones(1)) and reg.n_iter_ == 1


@pytest.mark.parametrize("Est", [DNNClassifier, DNNRegressor])
def test_signature_defaults_are_the_parameter_table(Est):
    """Every parameter is declared once in vecprop.sklearn._params.PARAMETERS; the signatures (which
    scikit-learn reads) repeat exactly its defaults, and scikit-learn's MLP parameters are all there."""
    import inspect

    from vecprop.sklearn._params import PARAMETERS

    signature = inspect.signature(Est.__init__).parameters
    names = [n for n in signature if n != "self"]
    assert {n: signature[n].default for n in names} == {n: PARAMETERS[n].default for n in names}
    theirs = (MLPClassifier if Est is DNNClassifier else MLPRegressor)().get_params()
    assert {n: v for n, v in Est().get_params().items() if n in theirs} == theirs  # same names and defaults
