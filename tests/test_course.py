"""The course's step-by-step functions: return structures, cache layouts, and agreement with Network."""

from __future__ import annotations

import re

import numpy as np
import pytest

from vecprop import Network, course


def relu(Z):
    return np.maximum(Z, 0)


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def separable(m=200, seed=0):
    """Two Gaussian clusters in 2-D, (2, m) X and (1, m) 0/1 Y, split by the line x1 + x2 = 0."""
    rng = np.random.default_rng(seed)
    y = rng.random(m) < 0.5
    X = rng.standard_normal((2, m)) * 0.5 + np.where(y, 1.0, -1.0)
    return X, y[None, :].astype(float)


def course_params(dims, seed=0, scale=0.5):
    """Parameters large enough that the relu layers are not all in one regime, biases non-zero."""
    rng = np.random.default_rng(seed)
    return {
        k: v
        for l in range(1, len(dims))
        for k, v in (
            (f"W{l}", rng.standard_normal((dims[l], dims[l - 1])) * scale),
            (f"b{l}", rng.standard_normal((dims[l], 1)) * 0.1),
        )
    }


# --------------------------------------------------------------------------- structures and caches
def test_linear_forward_returns_Z_and_the_linear_cache():
    rng = np.random.default_rng(0)
    A, W, b = rng.standard_normal((3, 4)), rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    Z, cache = course.linear_forward(A, W, b)
    assert Z.shape == (2, 4)
    np.testing.assert_allclose(Z, W @ A + b, rtol=1e-15)
    assert isinstance(cache, tuple) and len(cache) == 3
    assert cache[0] is A and cache[1] is W and cache[2] is b


@pytest.mark.parametrize("activation,g", [("relu", relu), ("sigmoid", sigmoid), ("tanh", np.tanh)])
def test_linear_activation_forward_returns_A_and_linear_cache_plus_Z(activation, g):
    rng = np.random.default_rng(1)
    A_prev, W, b = rng.standard_normal((3, 5)), rng.standard_normal((4, 3)), rng.standard_normal((4, 1))
    A, cache = course.linear_activation_forward(A_prev, W, b, activation)
    (cA, cW, cb), Z = cache
    assert cA is A_prev and cW is W and cb is b
    np.testing.assert_allclose(Z, W @ A_prev + b, rtol=1e-15)
    np.testing.assert_allclose(A, g(Z), rtol=1e-15)
    assert A.shape == Z.shape == (4, 5)


def test_L_model_forward_returns_AL_and_a_list_of_L_caches():
    dims = [4, 5, 3, 1]
    params = course_params(dims)
    X = np.random.default_rng(2).standard_normal((4, 6))
    AL, caches = course.L_model_forward(X, params)
    assert AL.shape == (1, 6)
    assert isinstance(caches, list) and len(caches) == 3
    A = X
    for l, cache in enumerate(caches, start=1):
        (A_prev, W, b), Z = cache
        np.testing.assert_array_equal(A_prev, A)
        assert W is params[f"W{l}"] and b is params[f"b{l}"]
        np.testing.assert_allclose(Z, W @ A_prev + b, rtol=1e-14)
        A = sigmoid(Z) if l == 3 else relu(Z)
    assert caches[0][0][0] is X
    np.testing.assert_allclose(AL, A, rtol=1e-14)


def test_L_model_backward_returns_the_courses_grads_keys():
    dims = [4, 5, 3, 1]
    params = course_params(dims)
    rng = np.random.default_rng(3)
    X, Y = rng.standard_normal((4, 6)), (rng.random((1, 6)) < 0.5).astype(float)
    AL, caches = course.L_model_forward(X, params)
    grads = course.L_model_backward(AL, Y, caches)
    assert set(grads) == {"dA0", "dA1", "dA2", "dW1", "dW2", "dW3", "db1", "db2", "db3"}
    for l in range(1, 4):
        assert grads[f"dW{l}"].shape == params[f"W{l}"].shape
        assert grads[f"db{l}"].shape == params[f"b{l}"].shape
        assert grads[f"dA{l - 1}"].shape == (dims[l - 1], 6)


def test_linear_backward_and_linear_activation_backward_are_BP1_to_BP4():
    rng = np.random.default_rng(4)
    A_prev, W, b = rng.standard_normal((3, 5)), rng.standard_normal((2, 3)), rng.standard_normal((2, 1))
    dZ = rng.standard_normal((2, 5))
    dA_prev, dW, db = course.linear_backward(dZ, (A_prev, W, b))
    np.testing.assert_allclose(dW, dZ @ A_prev.T / 5, rtol=1e-14)
    np.testing.assert_allclose(db, dZ.sum(axis=1, keepdims=True) / 5, rtol=1e-14)
    np.testing.assert_allclose(dA_prev, W.T @ dZ, rtol=1e-14)
    _, cache = course.linear_activation_forward(A_prev, W, b, "sigmoid")
    dA = rng.standard_normal((2, 5))
    Z = W @ A_prev + b
    dZ_sig = dA * sigmoid(Z) * (1 - sigmoid(Z))
    dA_prev, dW, db = course.linear_activation_backward(dA, cache, "sigmoid")
    np.testing.assert_allclose(dW, dZ_sig @ A_prev.T / 5, rtol=1e-12)
    np.testing.assert_allclose(db, dZ_sig.mean(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(dA_prev, W.T @ dZ_sig, rtol=1e-12)
    _, cache = course.linear_activation_forward(A_prev, W, b, "relu")
    dA_prev, dW, db = course.linear_activation_backward(dA, cache, "relu")
    np.testing.assert_allclose(dW, (dA * (Z > 0)) @ A_prev.T / 5, rtol=1e-12)


# --------------------------------------------------------------------------- agreement with Network
@pytest.mark.parametrize("dims", [[4, 5, 3, 1], [3, 1], [2, 6, 1]])
def test_L_model_backward_equals_Network_backward(dims):
    params = course_params(dims, seed=len(dims))
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((dims[0], 7)), (rng.random((1, 7)) < 0.5).astype(float)
    net = Network(dims, "relu", loss="binary_cross_entropy", seed=0)
    assert [g.name for g in net.activations] == ["relu"] * (len(dims) - 2) + ["sigmoid"]
    net.params = params
    AL_course, caches = course.L_model_forward(X, params)
    AL_net = net.forward(X)
    np.testing.assert_allclose(AL_course, AL_net, rtol=1e-14)
    grads_course = course.L_model_backward(AL_course, Y, caches)
    grads_net = net.backward(Y)
    for key, value in grads_course.items():
        np.testing.assert_allclose(value, grads_net[key], rtol=0, atol=1e-10, err_msg=key)
    assert course.compute_cost(AL_course, Y) == pytest.approx(net.cost(AL_net, Y), rel=1e-12)


def test_compute_cost_is_the_cross_entropy_and_takes_Y_as_a_row_or_a_vector():
    AL = np.array([[0.9, 0.2, 0.6]])
    Y = np.array([[1.0, 0.0, 1.0]])
    expected = -(np.log(0.9) + np.log(0.8) + np.log(0.6)) / 3
    cost = course.compute_cost(AL, Y)
    assert isinstance(cost, float)
    assert cost == pytest.approx(expected, rel=1e-14)
    assert course.compute_cost(AL, np.array([1, 0, 1])) == pytest.approx(expected, rel=1e-14)
    net = Network([2, 1], ["sigmoid"])
    assert net.cost(AL, Y) == pytest.approx(cost, rel=1e-14)


# --------------------------------------------------------------------------- initialization
def test_initialize_parameters_deep_shapes_and_scale():
    dims = [400, 100, 20, 1]
    params = course.initialize_parameters_deep(dims)
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    for l in range(1, 4):
        assert params[f"W{l}"].shape == (dims[l], dims[l - 1])
        assert params[f"b{l}"].shape == (dims[l], 1)
        np.testing.assert_array_equal(params[f"b{l}"], 0)
    W1 = params["W1"]
    assert W1.std() == pytest.approx(0.01, rel=0.03)  # 40,000 draws of randn × 0.01
    assert abs(W1.mean()) < 3 * 0.01 / np.sqrt(W1.size)
    again = course.initialize_parameters_deep(dims)
    np.testing.assert_array_equal(again["W2"], params["W2"])
    assert not np.array_equal(course.initialize_parameters_deep(dims, seed=4)["W2"], params["W2"])


def test_initialize_parameters_two_layer_shapes():
    params = course.initialize_parameters(3, 4, 1)
    assert {k: v.shape for k, v in params.items()} == {"W1": (4, 3), "b1": (4, 1), "W2": (1, 4), "b2": (1, 1)}
    assert np.abs(params["W1"]).max() < 0.05
    np.testing.assert_array_equal(params["b1"], 0)


def test_update_parameters_is_one_step_and_returns_new_arrays():
    params = course_params([3, 2, 1])
    grads = {"d" + k: np.ones_like(v) for k, v in params.items()}
    saved = {k: v.copy() for k, v in params.items()}
    new = course.update_parameters(params, grads, 0.1)
    for k in params:
        np.testing.assert_allclose(new[k], saved[k] - 0.1, rtol=1e-15)
        np.testing.assert_array_equal(params[k], saved[k])


# --------------------------------------------------------------------------- training and predict
def test_L_layer_model_learns_a_separable_dataset(capsys):
    X, Y = separable()
    params, costs = course.L_layer_model(X, Y, [2, 5, 3, 1], learning_rate=0.5, num_iterations=1500, print_cost=True)
    assert len(costs) == 15  # every 100 iterations
    assert costs[0] == pytest.approx(np.log(2), abs=1e-3)  # ×0.01 weights: A[L] ≈ 0.5 at first
    assert costs[-1] < 0.1 * costs[0]
    assert all(b <= a + 1e-12 for a, b in zip(costs, costs[1:]))
    out = capsys.readouterr().out
    assert out.startswith("Cost after iteration 0: ")
    assert "Cost after iteration 1499: " in out
    p = course.predict(X, Y, params)
    accuracy = float((p == Y).mean())
    assert accuracy > 0.9
    printed = re.search(r"Accuracy: ([0-9.]+)", capsys.readouterr().out)
    assert printed and float(printed.group(1)) == pytest.approx(accuracy)


def test_two_layer_model_learns_a_separable_dataset():
    X, Y = separable(seed=1)
    params, costs = course.two_layer_model(X, Y, (2, 4, 1), learning_rate=0.5, num_iterations=800)
    assert set(params) == {"W1", "b1", "W2", "b2"}
    assert costs[-1] < 0.2 * costs[0]
    assert (course.predict(X, None, params) == Y).mean() > 0.9


def test_predict_returns_a_1_by_m_row_of_zeros_and_ones(capsys):
    params = course_params([3, 4, 1])
    X = np.random.default_rng(6).standard_normal((3, 9))
    p = course.predict(X, np.zeros((1, 9)), params, print_accuracy=False)
    assert capsys.readouterr().out == ""
    assert p.shape == (1, 9)
    assert set(np.unique(p)) <= {0, 1}
    AL, _ = course.L_model_forward(X, params)
    np.testing.assert_array_equal(p, (AL > 0.5).astype(int))
    with pytest.raises(ValueError, match="needs the trained parameters"):
        course.predict(X, None)
