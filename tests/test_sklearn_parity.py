"""Same random_state, same model: DNNClassifier/DNNRegressor against MLPClassifier/MLPRegressor.

Swapping the class draws the same initial weights (exactly), the same early-stopping split and the
same per-epoch shuffles, and sgd/adam take the same steps: the trained weights agree to 1e-10
(float64). L-BFGS minimizes the same cost from the same start (SciPy's L-BFGS-B on both sides).
Also here: scikit-learn's optimizer rules against scikit-learn's own optimizer objects, and the
L-BFGS cost's gradient (L2, sample weights, Poisson) against finite differences.
"""

import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytest.importorskip("scipy")

from sklearn.datasets import load_digits, make_regression  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.neural_network import MLPClassifier, MLPRegressor  # noqa: E402
from sklearn.neural_network._stochastic_optimizers import AdamOptimizer, SGDOptimizer  # noqa: E402

from vecprop import DNNClassifier, DNNRegressor, Network  # noqa: E402
from vecprop.gradcheck import numeric_gradient  # noqa: E402
from vecprop.lbfgs import cost_and_gradient  # noqa: E402
from vecprop.optimizers import get_optimizer  # noqa: E402


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    with threadpoolctl.threadpool_limits(1):
        yield


@pytest.fixture(autouse=True)
def _quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


def _digits():
    X, y = load_digits(return_X_y=True)
    return X[:600] / 16.0, y[:600]


def _regression():
    X, y = make_regression(n_samples=300, n_features=8, n_targets=2, noise=5.0, random_state=3)
    return X, y / np.abs(y).max()


def _weights(est):
    return est.coefs_ + est.intercepts_


def _max_relative_gap(a, b):
    return max(float(np.abs(p - q).max() / max(np.abs(q).max(), 1e-300)) for p, q in zip(_weights(a), _weights(b)))


# ------------------------------------------------------------------------------------------ same start
@pytest.mark.parametrize(
    "Ours, Theirs, data, params",
    [
        (DNNClassifier, MLPClassifier, "digits", dict(hidden_layer_sizes=(20, 7))),
        (DNNClassifier, MLPClassifier, "binary", dict(hidden_layer_sizes=(5,), activation="logistic")),
        (DNNClassifier, MLPClassifier, "multilabel", dict(hidden_layer_sizes=(6,), activation="tanh")),
        (DNNRegressor, MLPRegressor, "regression", dict(hidden_layer_sizes=(9, 4), activation="identity")),
        (DNNRegressor, MLPRegressor, "regression", dict(hidden_layer_sizes=(3,), loss="poisson")),
        (DNNClassifier, MLPClassifier, "digits32", dict(hidden_layer_sizes=(8,))),
    ],
)
@pytest.mark.parametrize("random_state", [0, 12345, "RandomState"])
def test_same_random_state_gives_the_same_initial_weights(Ours, Theirs, data, params, random_state):
    X, y = _digits()
    if data == "binary":
        y = y % 2
    elif data == "multilabel":
        y = np.c_[y % 2, y > 4, y == 3].astype(int)
    elif data == "regression":
        X, y = _regression()
        y = np.abs(y) if params.get("loss") == "poisson" else y
    elif data == "digits32":
        X = X.astype(np.float32)
    rs = (lambda: np.random.RandomState(7)) if random_state == "RandomState" else (lambda: random_state)
    common = dict(
        solver="sgd",
        learning_rate_init=1e-300,
        momentum=0.0,
        max_iter=1,
        batch_size=len(X),
        shuffle=False,
        alpha=0.0,
        **params,
    )
    ours = Ours(random_state=rs(), **common).fit(X, y)
    theirs = Theirs(random_state=rs(), **common).fit(X, y)
    # one step of size 1e-300 leaves every weight where it started (the update is below half an ulp)
    for a, b in zip(_weights(ours), _weights(theirs)):
        assert a.dtype == b.dtype and np.array_equal(a, b)


# ------------------------------------------------------------------------------------------ same training
@pytest.mark.parametrize(
    "Ours, Theirs, data", [(DNNClassifier, MLPClassifier, "digits"), (DNNRegressor, MLPRegressor, "regression")]
)
@pytest.mark.parametrize(
    "params",
    [
        dict(solver="sgd", learning_rate_init=0.05),  # nesterov
        dict(solver="sgd", learning_rate_init=0.05, nesterovs_momentum=False, learning_rate="invscaling"),
        dict(solver="adam", learning_rate_init=0.01),
        dict(solver="adam", learning_rate_init=0.01, early_stopping=True, n_iter_no_change=3),
    ],
)
def test_sgd_and_adam_train_the_same_weights_as_sklearn(Ours, Theirs, data, params):
    """Shuffled mini-batches from scikit-learn's RandomState, its split, its update rules: 1e-10."""
    X, y = _digits() if data == "digits" else _regression()
    common = dict(hidden_layer_sizes=(24, 12), batch_size=64, max_iter=12, random_state=3, alpha=1e-3, **params)
    ours = Ours(**common).fit(X, y)
    theirs = Theirs(**common).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_
    np.testing.assert_allclose(ours.loss_curve_, theirs.loss_curve_, rtol=1e-10)
    if params.get("early_stopping"):
        np.testing.assert_allclose(ours.validation_scores_, theirs.validation_scores_, rtol=1e-10)
    assert _max_relative_gap(ours, theirs) < 1e-10
    assert np.array_equal(ours.predict(X), theirs.predict(X)) if data == "digits" else True


def test_lbfgs_reaches_sklearn_lbfgs_model():
    """Same start, same cost, same L-BFGS-B: the same optimum (to the solver's tolerance) and accuracy."""
    X, y = _digits()
    common = dict(solver="lbfgs", hidden_layer_sizes=(16,), max_iter=60, random_state=0, alpha=1e-3)
    ours = DNNClassifier(**common).fit(X, y)
    theirs = MLPClassifier(**common).fit(X, y)
    assert ours.n_iter_ == theirs.n_iter_ < 60  # both converge (gtol = tol)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)
    assert ours.score(X, y) == theirs.score(X, y)


def test_lbfgs_poisson_regression_matches_sklearn():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (120, 2))
    y = rng.poisson(np.exp(X @ [1.0, -0.5] + 0.3))
    common = dict(loss="poisson", solver="lbfgs", hidden_layer_sizes=(4,), random_state=1, tol=1e-7)
    ours = DNNRegressor(**common).fit(X, y)
    theirs = MLPRegressor(**common).fit(X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp"
    np.testing.assert_allclose(ours.predict(X), theirs.predict(X), rtol=1e-4)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=1e-6)


# ------------------------------------------------------------------------------------------ update rules
@pytest.mark.parametrize("nesterov", [True, False])
@pytest.mark.parametrize("momentum", [0.0, 0.9, 1.0])
def test_sklearn_sgd_is_sklearns_sgd_optimizer(nesterov, momentum):
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 3))
    ours = {"W": W.copy()}
    theirs = [W.copy()]
    opt = get_optimizer({"name": "sklearn_sgd", "momentum": momentum, "nesterov": nesterov})
    state = opt.init(ours)
    ref = SGDOptimizer(theirs, learning_rate_init=0.1, momentum=momentum, nesterov=nesterov)
    for _ in range(5):
        g = rng.standard_normal(W.shape)
        opt.update(ours, {"dW": g}, state, 0.1)
        ref.update_params(theirs, [g])
    np.testing.assert_allclose(ours["W"], theirs[0], rtol=1e-15, atol=1e-15)


def test_sklearn_adam_is_sklearns_adam_optimizer():
    rng = np.random.default_rng(1)
    W = rng.standard_normal((4, 3))
    ours, theirs = {"W": W.copy()}, [W.copy()]
    opt = get_optimizer({"name": "sklearn_adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3})
    state = opt.init(ours)
    ref = AdamOptimizer(theirs, learning_rate_init=0.01, beta_1=0.8, beta_2=0.99, epsilon=1e-3)
    for _ in range(7):
        g = rng.standard_normal(W.shape) * 1e-3
        opt.update(ours, {"dW": g}, state, 0.01)
        ref.update_params(theirs, [g])
    np.testing.assert_allclose(ours["W"], theirs[0], rtol=1e-14, atol=1e-16)
    course = get_optimizer({"name": "adam", "beta1": 0.8, "beta2": 0.99, "epsilon": 1e-3})
    course_W = {"W": W.copy()}
    course_state = course.init(course_W)
    rng = np.random.default_rng(1)
    rng.standard_normal((4, 3))
    for _ in range(7):
        course.update(course_W, {"dW": rng.standard_normal(W.shape) * 1e-3}, course_state, 0.01)
    assert np.abs(course_W["W"] - ours["W"]).max() > 1e-6  # the course puts ε elsewhere


# ------------------------------------------------------------------------------------------ L-BFGS's gradient
@pytest.mark.parametrize(
    "layers, loss",
    [
        (["tanh", "sigmoid"], "binary_cross_entropy"),
        (["relu", "softmax"], "categorical_cross_entropy"),
        (["sigmoid", "linear"], "mse"),
        (["tanh", "exp"], "poisson"),
    ],
)
def test_lbfgs_cost_gradient_is_the_finite_difference_gradient(layers, loss):
    """∇J of the flat vector L-BFGS sees, with L2 and sample weights, against central differences (float64)."""
    rng = np.random.default_rng(5)
    dims = [3, 4, 3]
    net = Network(dims, layers, loss, seed=2)
    m = 11
    X = rng.standard_normal((3, m))
    if loss == "categorical_cross_entropy":
        Y = np.eye(3)[:, rng.integers(0, 3, m)]
    elif loss == "binary_cross_entropy":
        Y = (rng.random((3, m)) < 0.5).astype(float)
    elif loss == "poisson":
        Y = rng.poisson(2.0, (3, m)).astype(float)
    else:
        Y = rng.standard_normal((3, m))
    w = rng.uniform(0.2, 3.0, m)
    f = cost_and_gradient(net, X, Y, sample_weight=w, l2=0.7)
    theta = rng.uniform(-0.5, 0.5, net.n_params)
    J, grad = f(theta)
    probe = {"theta": theta.copy()}  # perturbed in place, entry by entry
    numeric = numeric_gradient(lambda: f(probe["theta"])[0], probe, 1e-6)["dtheta"]
    assert np.linalg.norm(grad - numeric) / (np.linalg.norm(grad) + np.linalg.norm(numeric)) < 1e-8
    J_plain, _ = cost_and_gradient(net, X, Y)(theta)
    assert abs(J - J_plain) > 1e-3  # the weights and λ do enter


@pytest.mark.parametrize("engine", ["numpy", "numba"])
@pytest.mark.parametrize(
    "layers, loss", [(["relu", "softmax"], "categorical_cross_entropy"), (["tanh", "sigmoid"], "binary_cross_entropy")]
)
def test_lbfgs_objective_is_the_same_on_every_engine(engine, layers, loss):
    """The objective runs through the engine seam: each engine equals the reference to 1e-12 (float64),
    and the network's own parameters are left as they were."""
    if engine == "numba":
        pytest.importorskip("numba")
    rng = np.random.default_rng(9)
    net = Network([5, 7, 3], layers, loss, seed=4)
    X = rng.standard_normal((5, 23))
    Y = (
        np.eye(3)[:, rng.integers(0, 3, 23)]
        if loss == "categorical_cross_entropy"
        else (rng.random((3, 23)) < 0.5) * 1.0
    )
    w = rng.uniform(0.2, 3.0, 23)
    before = net.theta.copy()
    theta = rng.uniform(-0.5, 0.5, net.n_params)
    J_ref, g_ref = cost_and_gradient(net, X, Y, sample_weight=w, l2=0.3, engine="reference")(theta)
    J, g = cost_and_gradient(net, X, Y, sample_weight=w, l2=0.3, engine=engine)(theta)
    assert abs(J - J_ref) <= 1e-12 * abs(J_ref)
    assert np.linalg.norm(g - g_ref) <= 1e-12 * np.linalg.norm(g_ref)
    np.testing.assert_array_equal(net.theta, before)


def test_network_fit_lbfgs_full_batch():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 200))
    Y = (X[0:1] * X[1:2] > 0).astype(float)  # XOR-like: needs the hidden layer
    net = Network([2, 8, 1], "tanh", seed=0)
    history = net.fit(X, Y, optimizer="lbfgs", epochs=150, l2=1e-3)
    assert 1 <= len(history.loss) <= 150 and history.loss[-1] < history.loss[0] / 5
    assert net.accuracy(X, Y) > 0.95
    assert history.loss[-1] == pytest.approx(net.compute_cost(X, Y, l2=1e-3))
    with pytest.raises(ValueError, match="full-batch L-BFGS: batch_size=32 does not apply"):
        net.fit(X, Y, optimizer="lbfgs", batch_size=32)
