"""gradient_check: the result's structure, that it catches a wrong derivative, float32 networks,
and its argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vecprop import Network, gradient_check, one_hot, register_activation
from vecprop.activations import ACTIVATIONS
from vecprop.gradcheck import GradCheckResult, ParameterCheck, relative_difference


@pytest.fixture
def registry_guard():
    before = dict(ACTIVATIONS)
    yield
    ACTIVATIONS.clear()
    ACTIVATIONS.update(before)


def small_problem(dtype=np.float64, seed=0):
    rng = np.random.default_rng(seed)
    net = Network([3, 4, 3], "tanh", loss="categorical_cross_entropy", seed=seed, dtype=dtype)
    X = rng.standard_normal((3, 5))
    Y = one_hot(rng.integers(0, 3, 5), 3)
    return net, X, Y


def test_result_structure():
    net, X, Y = small_problem()
    result = gradient_check(net, X, Y)
    assert isinstance(result, GradCheckResult)
    assert list(result.parameters) == ["W1", "b1", "W2", "b2"]
    assert result.epsilon == 1e-7 and result.threshold == 1e-7
    assert 0 <= result.difference < 1e-7 and result.passed is True
    net.forward(X)
    grads = net.backward(Y)
    for name, check in result.parameters.items():
        assert isinstance(check, ParameterCheck)
        assert result[name] is check and check.name == name
        assert 0 <= check.difference < 1e-6
        assert isinstance(check.worst_index, tuple) and len(check.worst_index) == 2
        assert all(0 <= i < n for i, n in zip(check.worst_index, net.params[name].shape))
        assert check.analytic == grads["d" + name][check.worst_index]
        assert check.numeric == pytest.approx(check.analytic, rel=1e-5, abs=1e-9)


def test_table_text():
    net, X, Y = small_problem()
    result = gradient_check(net, X, Y)
    table = result.table()
    assert str(result) == table
    lines = table.splitlines()
    assert len(lines) == 1 + 4 + 1
    assert lines[0].split() == ["param", "rel.", "difference", "worst", "entry", "backprop", "numeric"]
    for line, name in zip(lines[1:5], ["W1", "b1", "W2", "b2"]):
        assert line.split()[0] == name
        assert float(line.split()[1]) == pytest.approx(result[name].difference, rel=1e-3, abs=1e-300)
    assert lines[-1] == f"overall {result.difference:.3e} (PASSED: threshold 1e-07, epsilon 1e-07)"


def test_overall_difference_is_over_all_parameters_together():
    net, X, Y = small_problem(seed=3)
    result = gradient_check(net, X, Y)
    worst = max(check.difference for check in result.parameters.values())
    assert result.difference <= worst + 1e-18


def test_relative_difference():
    assert relative_difference(np.zeros(3), np.zeros(3)) == 0.0
    assert relative_difference(np.array([1.0, 0.0]), np.array([1.0, 0.0])) == 0.0
    assert relative_difference(np.array([1.0]), np.array([-1.0])) == pytest.approx(1.0)
    assert relative_difference(np.array([3.0, 4.0]), np.array([3.0, 4.0 + 1e-6])) == pytest.approx(1e-7, rel=1e-6)


def test_detects_a_wrong_activation_derivative(registry_guard):
    """tanh with g'(Z) = 1 − ½tanh²(Z) instead of 1 − tanh²(Z): hidden-layer gradients are wrong."""
    register_activation("bad_tanh", np.tanh, lambda Z: 1 - 0.5 * np.tanh(Z) ** 2)
    rng = np.random.default_rng(1)
    net = Network([3, 4, 1], "bad_tanh", seed=1)
    X = rng.standard_normal((3, 6))
    Y = (rng.random((1, 6)) < 0.5).astype(float)
    result = gradient_check(net, X, Y)
    assert result.difference > 1e-3
    assert result.passed is False
    assert "FAILED" in result.table() and "PASSED" not in result.table()
    # the report points at the broken layer: W1, b1 are wrong, the output layer's W2, b2 are right
    assert result["W1"].difference > 1e-3 and result["b1"].difference > 1e-3
    assert result["W2"].difference < 1e-7 and result["b2"].difference < 1e-7
    w1 = result["W1"]
    assert not math.isclose(w1.analytic, w1.numeric, rel_tol=1e-3)
    # the same network with the true derivative passes
    register_activation("bad_tanh", np.tanh, lambda Z: 1 - np.tanh(Z) ** 2, overwrite=True)
    fixed = Network([3, 4, 1], "bad_tanh", seed=1)
    assert gradient_check(fixed, X, Y).passed


def test_custom_threshold():
    net, X, Y = small_problem()
    result = gradient_check(net, X, Y, threshold=1e-30)
    assert result.threshold == 1e-30
    assert result.passed is False and "FAILED" in result.table()


def test_float32_network_is_checked_in_float64_and_left_alone():
    net, X, Y = small_problem(dtype=np.float32)
    before = {k: v.copy() for k, v in net.params.items()}
    result = gradient_check(net, X, Y)
    assert result.passed, result.table()
    assert result.difference < 1e-7
    assert net.dtype == np.float32
    for k, v in before.items():
        assert net.params[k].dtype == np.float32
        np.testing.assert_array_equal(net.params[k], v)


def test_gradient_check_leaves_the_network_and_its_caches_alone():
    net, X, Y = small_problem()
    before = {k: v.copy() for k, v in net.params.items()}
    AL = net.forward(X, keep_prob=None)
    caches = net.caches
    gradient_check(net, X, Y)
    assert net.caches is caches
    for k, v in before.items():
        np.testing.assert_array_equal(net.params[k], v)
    assert net.cost(AL, Y) > 0  # the last forward is still usable


def test_dropout_is_off_during_the_check():
    rng = np.random.default_rng(5)
    net = Network([3, 5, 4, 1], "relu", seed=5)
    X = rng.standard_normal((3, 6))
    Y = (rng.random((1, 6)) < 0.5).astype(float)
    net.forward(X, keep_prob=0.5)  # the last forward used dropout
    assert gradient_check(net, X, Y).passed


def test_l2_and_sample_weight_are_checked():
    net, X, Y = small_problem(seed=2)
    w = np.array([1.0, 2.0, 0.5, 3.0, 1.0])
    assert gradient_check(net, X, Y, l2=0.5, sample_weight=w).passed


@pytest.mark.parametrize("epsilon", [0.0, -1e-7, float("nan"), float("inf"), -float("inf")])
def test_bad_epsilon_raises(epsilon):
    net, X, Y = small_problem()
    with pytest.raises(ValueError, match="epsilon must be a small positive number"):
        gradient_check(net, X, Y, epsilon)


def test_bad_X_or_Y_raises():
    net, X, Y = small_problem()
    with pytest.raises(ValueError, match="X.T"):
        gradient_check(net, X.T, Y)
    with pytest.raises(ValueError, match="Y.T"):
        gradient_check(net, X, Y.T)
