"""Network: the constructor contract, parameters, summary, predict/accuracy, randomness and the
boundary checks that turn bad input into a ValueError saying how to fix it."""

from __future__ import annotations

import io
import re

import numpy as np
import pytest

from vecprop import Network, one_hot
from vecprop.activations import ACTIVATIONS
from vecprop.losses import LOSSES


def blobs(rng, m=40):
    """Two separable clusters in 2-D, as (2, m) X and (1, m) 0/1 Y."""
    y = np.arange(m) % 2
    X = rng.standard_normal((2, m)) * 0.3 + np.where(y == 1, 1.5, -1.5)
    return X, y[None, :].astype(float)


# --------------------------------------------------------------------------- the constructor contract
def names(net):
    return [g.name for g in net.activations]


@pytest.mark.parametrize(
    "loss,output", [("binary_cross_entropy", "sigmoid"), ("categorical_cross_entropy", "softmax"), ("mse", "linear")]
)
def test_one_name_sets_every_hidden_layer_and_the_output_follows_the_loss(loss, output):
    net = Network([4, 5, 3, 2], "tanh", loss=loss)
    assert names(net) == ["tanh", "tanh", output]
    assert net.loss.name == loss
    assert net.L == 3 and net.layer_dims == [4, 5, 3, 2]


def test_defaults_are_relu_hidden_sigmoid_output_and_binary_cross_entropy():
    net = Network([3, 4, 1])
    assert names(net) == ["relu", "sigmoid"]
    assert net.loss.name == "binary_cross_entropy"
    assert net.dtype == np.float64
    assert net.initializer == "he"
    assert Network([3, 4, 1], "tanh").initializer == "xavier"


def test_a_list_of_L_names_every_layer_and_infers_the_loss():
    assert Network([2, 3, 1], ["tanh", "sigmoid"]).loss.name == "binary_cross_entropy"
    assert Network([2, 3, 4], ["relu", "softmax"]).loss.name == "categorical_cross_entropy"
    assert Network([2, 3, 1], ["relu", "linear"]).loss.name == "mse"
    assert Network([2, 3, 1], ["relu", "tanh"]).loss.name == "mse"
    net = Network([2, 3, 3, 1], ["relu", "tanh", "sigmoid"])
    assert names(net) == ["relu", "tanh", "sigmoid"]


def test_a_list_of_L_minus_1_names_the_hidden_layers():
    net = Network([2, 3, 3, 4], ["relu", "tanh"], loss="categorical_cross_entropy")
    assert names(net) == ["relu", "tanh", "softmax"]
    assert names(Network([2, 3, 3, 1], ["relu", "tanh"])) == ["relu", "tanh", "sigmoid"]


def test_explicit_output_and_loss_together():
    net = Network([2, 3, 2], ["tanh", "softmax"], loss="binary_cross_entropy")
    assert names(net) == ["tanh", "softmax"] and net.loss.name == "binary_cross_entropy"
    net = Network([2, 3, 2], ["tanh", "sigmoid"], loss="mse")
    assert names(net) == ["tanh", "sigmoid"] and net.loss.name == "mse"


def test_a_list_of_the_wrong_length_raises():
    with pytest.raises(ValueError, match="got 4 activations for 2 layers"):
        Network([2, 3, 1], ["relu", "relu", "relu", "sigmoid"])


def test_single_layer_network():
    net = Network([3, 1], seed=0)
    assert net.L == 1 and names(net) == ["sigmoid"]
    assert net.params["W1"].shape == (1, 3)


# --------------------------------------------------------------------------- parameters
def test_params_shapes_and_initial_values():
    net = Network([4, 5, 3], "relu", seed=0)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert net.params["W1"].shape == (5, 4) and net.params["b1"].shape == (5, 1)
    assert net.params["W2"].shape == (3, 5) and net.params["b2"].shape == (3, 1)
    assert np.all(net.params["b1"] == 0) and np.all(net.params["b2"] == 0)
    assert net.n_params == 5 * 4 + 5 + 3 * 5 + 3


def test_params_are_assignable_and_copied_to_the_dtype():
    net = Network([2, 3, 1], "tanh", seed=0, dtype=np.float32)
    new = {"W1": np.ones((3, 2)), "b1": np.zeros((3, 1)), "W2": [[1.0, 2.0, 3.0]], "b2": [[0.5]]}
    net.params = new
    assert all(v.dtype == np.float32 for v in net.params.values())
    np.testing.assert_array_equal(net.params["W2"], [[1, 2, 3]])
    new["W1"][0, 0] = 99.0
    assert net.params["W1"][0, 0] == 1.0  # a copy, not the caller's array
    X = np.array([[1.0], [2.0]])
    np.testing.assert_allclose(net.forward(X), 1 / (1 + np.exp(-(6 * np.tanh(3.0) + 0.5))), rtol=1e-6)


def test_params_shape_is_checked():
    net = Network([2, 3, 1], "tanh", seed=0)
    good = {k: v.copy() for k, v in net.params.items()}
    message = r"params\['W1'\] has shape \(2, 3\) but layer_dims \[2, 3, 1\] needs \(3, 2\)"
    with pytest.raises(ValueError, match=message):
        net.params = {**good, "W1": np.ones((2, 3))}
    with pytest.raises(ValueError, match=r"params\['b2'\] has shape \(1,\)"):
        net.params = {**good, "b2": np.ones(1)}
    with pytest.raises(ValueError, match="params is missing b1, W2"):
        net.params = {"W1": good["W1"], "b2": good["b2"]}
    with pytest.raises(ValueError, match=r"params\['W2'\] contains NaN or inf"):
        net.params = {**good, "W2": np.array([[1.0, np.nan, 0.0]])}
    for k, v in good.items():  # a failed assignment leaves the parameters alone
        np.testing.assert_array_equal(net.params[k], v)


def test_assigning_params_invalidates_the_last_forward():
    net = Network([2, 3, 1], "tanh", seed=0)
    net.forward(np.ones((2, 4)))
    net.params = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(ValueError, match="call net.forward"):
        net.backward(np.ones((1, 4)))


def test_backward_before_forward_raises():
    with pytest.raises(ValueError, match=r"forward pass first: call net.forward\(X\)"):
        Network([2, 3, 1], seed=0).backward(np.ones((1, 3)))


# --------------------------------------------------------------------------- summary
def test_summary_has_the_seeds_rows_for_the_2_3_1_network():
    net = Network([2, 3, 1], ["tanh", "sigmoid"], seed=0)
    out = io.StringIO()
    text = net.summary(m=5, file=out)
    assert out.getvalue().rstrip("\n") == text
    lines = text.splitlines()
    assert lines[0] == "Network [2, 3, 1]  loss = binary_cross_entropy  dtype = float64"
    expected = {
        "A[0] = X": "(2, 5)",
        "W[1]": "(3, 2)",
        "b[1]": "(3, 1)",
        "Z[1]": "(3, 5)",
        "A[1]": "(3, 5)",
        "dZ[1]": "(3, 5)",
        "dW[1]": "(3, 2)",
        "db[1]": "(3, 1)",
        "dA[0]": "(2, 5)",
        "W[2]": "(1, 3)",
        "b[2]": "(1, 1)",
        "Z[2]": "(1, 5)",
        "A[2]": "(1, 5)",
        "dA[1]": "(3, 5)",
    }
    for var, dims in expected.items():
        pattern = rf"^{re.escape(var)}\s+{re.escape(dims)}(\s|$)"
        assert any(re.match(pattern, line) for line in lines), (var, dims)
    assert re.search(r"^W\[1\]\s+\(3, 2\)\s+6 weights$", text, re.M)
    assert re.search(r"^A\[1\]\s+\(3, 5\)\s+eq\. \(1\), g = tanh$", text, re.M)
    assert re.search(r"^A\[2\]\s+\(1, 5\)\s+eq\. \(1\), g = sigmoid$", text, re.M)
    assert lines[-1] == "Total parameters: 13"
    assert net.n_params == 13


def test_summary_without_m_shows_m_and_returns_without_printing(capsys):
    text = Network([2, 3, 1], seed=0).summary()
    assert re.search(r"^A\[1\]\s+\(3, m\)", text, re.M)
    assert capsys.readouterr().out == ""  # returned, not printed: a REPL shows it once
    assert repr(text) == str(text)  # ... as the table itself, not a quoted string
    assert repr(text).splitlines()[0] == "Network [2, 3, 1]  loss = binary_cross_entropy  dtype = float64"


# --------------------------------------------------------------------------- predict / accuracy
def test_predict_and_accuracy_for_a_sigmoid_output():
    net = Network([2, 1], ["sigmoid"], seed=0)
    net.params = {"W1": np.array([[1.0, 0.0]]), "b1": np.zeros((1, 1))}
    X = np.array([[-2.0, -1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 0.0]])
    P = net.predict(X)
    assert P.shape == (1, 4) and P.dtype == np.int64
    np.testing.assert_array_equal(P, [[0, 0, 1, 1]])
    assert net.accuracy(X, np.array([[0, 0, 1, 1]])) == 1.0
    assert net.accuracy(X, np.array([[0, 1, 1, 1]])) == 0.75
    assert net.accuracy(X, np.array([0, 1, 1, 1])) == 0.75  # (m,) accepted for one output unit


def test_predict_and_accuracy_for_a_softmax_output():
    net = Network([3, 3], ["softmax"], seed=0)
    net.params = {"W1": np.eye(3) * 5, "b1": np.zeros((3, 1))}
    X = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    P = net.predict(X)
    assert P.shape == (1, 4)
    np.testing.assert_array_equal(P, [[0, 1, 2, 1]])
    assert net.accuracy(X, one_hot([0, 1, 2, 1], 3)) == 1.0
    assert net.accuracy(X, one_hot([0, 1, 2, 0], 3)) == 0.75


def test_predict_for_a_multi_label_sigmoid_output_and_regression():
    net = Network([2, 2], ["sigmoid"], seed=0)
    net.params = {"W1": np.array([[1.0, 0.0], [0.0, 1.0]]), "b1": np.zeros((2, 1))}
    X = np.array([[1.0, -1.0], [1.0, 1.0]])
    np.testing.assert_array_equal(net.predict(X), [[1, 0], [1, 1]])
    assert net.accuracy(X, np.array([[1, 0], [1, 0]])) == 0.5  # an example counts when all bits are right
    reg = Network([2, 1], ["linear"], seed=0)
    np.testing.assert_array_equal(reg.predict(X), reg.predict_output(X))
    with pytest.raises(ValueError, match="accuracy is for classifiers"):
        reg.accuracy(X, np.zeros((1, 2)))


def test_predict_output_does_not_touch_the_caches():
    rng = np.random.default_rng(0)
    net = Network([2, 4, 1], "tanh", seed=0)
    X, Y = blobs(rng)
    net.forward(X[:, :5])
    caches = net.caches
    out = net.predict_output(X)
    assert out.shape == (1, X.shape[1])
    assert net.caches is caches
    assert net.backward(Y[:, :5])["dW1"].shape == (4, 2)


# --------------------------------------------------------------------------- randomness
def test_same_seed_same_params_different_seed_different_params():
    a = Network([5, 8, 4, 2], "relu", seed=42)
    b = Network([5, 8, 4, 2], "relu", seed=42)
    c = Network([5, 8, 4, 2], "relu", seed=43)
    for k in a.params:
        np.testing.assert_array_equal(a.params[k], b.params[k])
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    X = np.random.default_rng(0).standard_normal((5, 10))
    np.testing.assert_array_equal(a.forward(X, keep_prob=0.5), b.forward(X, keep_prob=0.5))
    for l in (1, 2):
        np.testing.assert_array_equal(a.caches[l].D, b.caches[l].D)


def test_a_generator_can_be_passed_as_the_seed():
    rng = np.random.default_rng(7)
    net = Network([3, 4, 1], seed=rng)
    assert net.rng is rng
    np.testing.assert_array_equal(net.params["W1"], Network([3, 4, 1], seed=np.random.default_rng(7)).params["W1"])


def test_the_global_numpy_random_state_is_never_used():
    np.random.seed(1234)
    first = np.random.random()
    net = Network([3, 6, 5, 1], "relu", seed=None)
    net2 = Network([3, 6, 5, 1], "tanh", seed=3, initializer="random")
    X = np.ones((3, 8))
    Y = np.ones((1, 8))
    for n in (net, net2):
        n.forward(X, keep_prob=0.5)
        n.backward(Y, l2=0.1)
        n.cost(n.forward(X, keep_prob=[0.5, 0.8]), Y)
        n.predict(X)
        n.copy()
    second = np.random.random()
    np.random.seed(1234)
    np.testing.assert_array_equal([first, second], np.random.random(2))


# --------------------------------------------------------------------------- bad input
def test_X_given_as_m_by_n_x_says_columns_are_examples_and_X_T():
    net = Network([3, 4, 1], seed=0)
    X = np.ones((10, 3))
    with pytest.raises(ValueError) as info:
        net.forward(X)
    message = str(info.value)
    assert "columns are examples" in message and "X.T" in message
    assert "(10, 3)" in message and "(3, m)" in message
    with pytest.raises(ValueError, match="columns are examples"):
        net.predict(X)
    assert net.forward(X.T).shape == (1, 10)


def test_X_of_the_wrong_size_or_rank_raises():
    net = Network([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match="columns are examples") as info:
        net.forward(np.ones((5, 7)))
    assert "X.T" not in str(info.value)  # transposing would not help here
    with pytest.raises(ValueError, match="must be 2-D"):
        net.forward(np.ones(3))
    with pytest.raises(ValueError, match=r"no examples \(m = 0\)"):
        net.forward(np.ones((3, 0)))
    with pytest.raises(ValueError, match="numeric array"):
        net.forward([["a", "b"], ["c", "d"], ["e", "f"]])


def test_Y_not_matching_A_L_raises():
    net = Network([3, 4, 2], "relu", loss="binary_cross_entropy", seed=0)
    net.forward(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"Y has shape \(5, 2\) but A\[L\] has shape \(n_L, m\) = \(2, 5\); pass Y.T"):
        net.backward(np.zeros((5, 2)))
    with pytest.raises(ValueError, match=r"Y has shape \(2, 4\) but A\[L\]"):
        net.backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"A\[L\] has shape"):
        net.cost(net.forward(np.ones((3, 5))), np.zeros((1, 5)))


def test_labels_for_a_softmax_network_suggest_one_hot():
    net = Network([3, 4, 3], "relu", loss="categorical_cross_entropy", seed=0)
    net.forward(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"one-hot columns, e.g. vecprop.one_hot\(y, n_classes\)"):
        net.backward(np.array([0, 1, 2, 1, 0]))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_in_X_or_Y_raises(bad):
    net = Network([2, 3, 1], seed=0)
    X = np.ones((2, 4))
    X[1, 2] = bad
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at index \(1, 2\)\); remove or impute"):
        net.forward(X)
    Y = np.array([[0.0, 1.0, bad, 0.0]])
    net.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match=r"Y contains NaN or inf \(first at index \(0, 2\)\)"):
        net.backward(Y)
    with pytest.raises(ValueError, match="Y contains NaN or inf"):
        net.accuracy(np.ones((2, 4)), Y)


@pytest.mark.filterwarnings("error")
def test_huge_finite_inputs_whose_sum_overflows_are_accepted_and_a_nan_among_them_is_found():
    net = Network([2, 3, 1], "relu", "mse", seed=0)
    X = np.full((2, 4), 1e308)  # every entry finite; their sum is inf
    assert net.check_X(X) is not None
    X[0, 3] = np.nan
    with pytest.raises(ValueError, match=r"X contains NaN or inf \(first at index \(0, 3\)\)"):
        net.check_X(X)
    X[0, 3], X[1, 0] = 1e308, -np.inf  # +inf + -inf: the sum is NaN
    with pytest.raises(ValueError, match=r"first at index \(1, 0\)"):
        net.check_X(X)


def test_unknown_activation_and_loss_names_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown activation 'gelu'") as info:
        Network([2, 3, 1], "gelu")
    assert all(name in str(info.value) for name in ACTIVATIONS)
    with pytest.raises(ValueError, match="unknown loss 'nll'") as info:
        Network([2, 3, 1], "relu", loss="nll")
    assert all(name in str(info.value) for name in LOSSES)
    with pytest.raises(ValueError, match="unknown initializer 'orthogonal'"):
        Network([2, 3, 1], initializer="orthogonal")


@pytest.mark.parametrize("dims", [[2, 0, 1], [2, -3, 1], [0, 3, 1], [2, 3, 0], [2, 2.5, 1], [2, "3", 1]])
def test_layer_dims_with_a_non_positive_or_non_integer_size_raise(dims):
    with pytest.raises(ValueError, match=r"layer_dims\[\d\] = .*: every layer size must be a positive integer"):
        Network(dims)


@pytest.mark.parametrize("dims", [[3], [], 3, None])
def test_layer_dims_needs_two_sizes(dims):
    with pytest.raises(ValueError, match="at least two sizes"):
        Network(dims)


@pytest.mark.parametrize("dtype", [np.float16, np.int64, "int32", "complex128", "double precision", object])
def test_dtype_must_be_float32_or_float64(dtype):
    with pytest.raises(ValueError, match="dtype must be float32 or float64"):
        Network([2, 3, 1], dtype=dtype)


@pytest.mark.parametrize("dtype", [np.float32, "float32", np.dtype("float32"), np.float64, "float64"])
def test_accepted_dtypes(dtype):
    net = Network([2, 3, 1], dtype=dtype)
    assert net.dtype == np.dtype(dtype)
    assert net.params["W1"].dtype == np.dtype(dtype)


@pytest.mark.parametrize(
    "output,loss",
    [
        ("relu", "binary_cross_entropy"),
        ("tanh", "binary_cross_entropy"),
        ("linear", "categorical_cross_entropy"),
        ("leaky_relu", "categorical_cross_entropy"),
    ],
)
def test_incompatible_output_and_loss_raise(output, loss):
    """Cross-entropy takes log A and log(1 − A): the output must lie in (0, 1)."""
    with pytest.raises(ValueError, match=rf"loss '{loss}' needs an output activation in .*got '{output}'"):
        Network([2, 3, 2], ["tanh", output], loss=loss)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"l2": -0.1}, "l2"),
        ({"l2": float("nan")}, "l2"),
        ({"sample_weight": [1.0, 2.0]}, "one weight per example"),
        ({"sample_weight": [1.0, -1.0, 1.0]}, "non-negative"),
        ({"sample_weight": [0.0, 0.0, 0.0]}, "positive sum"),
    ],
)
def test_bad_l2_or_sample_weight_raise(kwargs, match):
    net = Network([2, 3, 1], seed=0)
    net.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=match):
        net.backward(np.ones((1, 3)), **kwargs)


def test_get_config_round_trip_rebuilds_the_same_network():
    net = Network([3, 4, 2], [{"name": "leaky_relu", "slope": 0.1}, "softmax"], seed=5, dtype="float32")
    config = net.get_config()
    assert config == {
        "layer_dims": [3, 4, 2],
        "activations": [{"name": "leaky_relu", "slope": 0.1}, "softmax"],
        "loss": "categorical_cross_entropy",
        "initializer": "he",
        "dtype": "float32",
        "seed": 5,
    }
    again = Network.from_config(config)
    assert repr(again) == repr(net)
    for k in net.params:
        np.testing.assert_array_equal(again.params[k], net.params[k])


def test_copy_is_deep():
    net = Network([2, 3, 1], seed=0)
    twin = net.copy()
    twin.params["W1"][0, 0] += 1.0
    assert twin.params["W1"][0, 0] != net.params["W1"][0, 0]
    np.testing.assert_array_equal(twin.rng.random(3), net.rng.random(3))


# --------------------------------------------------------------------------- params entries (issue 17, item 8)
@pytest.mark.parametrize(
    "value, message",
    [
        (
            np.ones((2, 3)),
            r"params\['W1'\] has shape \(2, 3\) but layer_dims \[2, 3, 1\] needs \(3, 2\).*params\['W1'\]\.T",
        ),
        (np.ones((3, 3)), r"params\['W1'\] has shape \(3, 3\) but layer_dims \[2, 3, 1\] needs \(3, 2\)"),
        ([[1.0, 2.0], [3.0]], r"params\['W1'\] must be an array of real numbers of shape \(3, 2\)"),
        (np.array([["a", "b"]] * 3), r"params\['W1'\] has dtype <U1; give real numbers of shape \(3, 2\)"),
        (np.full((3, 2), np.nan), r"params\['W1'\] contains NaN or inf"),
    ],
)
def test_assigning_one_params_entry_checks_it(value, message):
    net = Network([2, 3, 1], seed=0)
    before = net.params["W1"].copy()
    with pytest.raises(ValueError, match=message):
        net.params["W1"] = value
    np.testing.assert_array_equal(net.params["W1"], before)


def test_assigning_one_params_entry_copies_a_list_or_float32_into_the_network():
    net = Network([2, 3, 1], seed=0)
    W1 = net.params["W1"]
    net.params["W1"] = [[1, 2], [3, 4], [5, 6]]  # a list of ints
    net.params["b1"] = np.full((3, 1), 0.5, dtype=np.float32)  # float32 into a float64 network
    assert net.params["W1"] is W1 and W1.dtype == np.float64  # the same array, still a view
    assert net.params["b1"].dtype == np.float64
    X = np.array([[1.0], [-1.0]])
    Z1 = net.params["W1"] @ X + net.params["b1"]
    net.forward(X)
    np.testing.assert_array_equal(net.caches[1].Z, Z1)
    np.testing.assert_array_equal(Z1[:, 0], [-0.5, -0.5, -0.5])
    with pytest.raises(ValueError, match=r"params has no entry 'W3'; its keys are W1, b1, W2, b2"):
        net.params["W3"] = np.ones((1, 1))
    with pytest.raises(ValueError, match="cannot be deleted"):
        del net.params["W1"]


def test_a_deep_copy_keeps_checked_params():
    net = Network([2, 3, 1], seed=0)
    twin = net.copy()
    np.testing.assert_array_equal(twin.params["W1"], net.params["W1"])
    twin.params["W1"] = np.zeros((3, 2))
    assert net.params["W1"].any() and not twin.params["W1"].any()
    with pytest.raises(ValueError, match="needs"):
        twin.params["W1"] = np.zeros((2, 3))


# --------------------------------------------------------------------------- continuing (issue 17, item 11)
def test_a_second_fit_reuses_the_last_fits_configuration():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 40))
    Y = (X[:1] * X[1:] > 0).astype(float)
    options = dict(learning_rate=0.05, optimizer="adam", batch_size=8, l2=0.1, verbose=0)
    whole = Network([2, 4, 1], "tanh", seed=3)
    whole.fit(X, Y, epochs=6, **options)
    halves = Network([2, 4, 1], "tanh", seed=3)
    halves.fit(X, Y, epochs=3, **options)
    halves.fit(X, Y, epochs=3)  # the rest from the first fit: adam, 0.05, batches of 8
    np.testing.assert_array_equal(halves._flat_params(), whole._flat_params())
    assert halves.metadata["training"]["optimizer"] == "adam"
    assert halves.last_fit_config()["batch_size"] == 8 and "verbose" not in halves.last_fit_config()
    fresh = Network([2, 4, 1], "tanh", seed=3)
    fresh.fit(X, Y, epochs=3, **options)
    fresh.fit(X, Y, epochs=3, reset=True, verbose=0)  # reset: fit's own defaults (gd, full batch)
    assert fresh.metadata["training"]["optimizer"] == "gd"
