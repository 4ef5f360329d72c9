"""Activations g(Z), g'(Z) and BP4's dZ = dA * g'(Z), parametrized over the registry.

Every registered activation is checked against central finite differences of its own forward rule;
sigmoid and softmax are checked for overflow at |Z| = 1e4 in float32 and float64.
"""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

import vecprop
from vecprop import Network, get_activation, gradient_check, register_activation
from vecprop.activations import ACTIVATIONS, Activation, LeakyReLU

NAMES = sorted(ACTIVATIONS)
ELEMENTWISE = [n for n in NAMES if n != "softmax"]
DTYPES = [np.float32, np.float64]


@contextlib.contextmanager
def strict_fp():
    """Every numpy warning is an error; overflow, 0/0 and x/0 raise.

    Underflow is left at numpy's default (ignored): e^-|Z| rounding to exactly 0 for |Z| = 1e4 is
    the correctly rounded result that the stable formulas rely on, not a loss of accuracy.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def away_from_kinks(Z, gap=0.05):
    """Shift entries with |Z| < gap so ReLU-family derivatives are taken where they exist."""
    Z = Z.copy()
    small = np.abs(Z) < gap
    Z[small] = np.where(Z[small] >= 0, gap, -gap) * 2
    return Z


@pytest.fixture
def registry_guard():
    """Remove any activation a test registers, so the registry is the same for every test."""
    before = dict(ACTIVATIONS)
    yield
    ACTIVATIONS.clear()
    ACTIVATIONS.update(before)


# --------------------------------------------------------------------------- derivatives (BP4)
@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_central_differences(name):
    rng = np.random.default_rng(0)
    Z = away_from_kinks(rng.uniform(-3, 3, size=(4, 7)))
    g = get_activation(name)
    A = g.forward(Z)
    eps = 1e-6
    numeric = (g.forward(Z + eps) - g.forward(Z - eps)) / (2 * eps)
    np.testing.assert_allclose(g.derivative(Z, A), numeric, rtol=1e-7, atol=1e-9)
    assert g.derivative(Z, A).shape == Z.shape


@pytest.mark.parametrize("name", NAMES)
def test_backward_is_the_vector_jacobian_product(name):
    """dZ = backward(dA, Z, A) equals ∂/∂Z of Σ dA * g(Z), entry by entry, for every activation."""
    rng = np.random.default_rng(1)
    Z = away_from_kinks(rng.uniform(-3, 3, size=(4, 6)))
    dA = rng.standard_normal(Z.shape)
    g = get_activation(name)
    dZ = g.backward(dA, Z, g.forward(Z))
    eps = 1e-6
    numeric = np.empty_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        numeric[idx] = ((dA * g.forward(Zp)).sum() - (dA * g.forward(Zm)).sum()) / (2 * eps)
    assert dZ.shape == Z.shape
    np.testing.assert_allclose(dZ, numeric, rtol=1e-7, atol=1e-9)


def test_softmax_jacobian_vector_product_matches_finite_differences():
    """Softmax's Jacobian is symmetric, so backward(V) = J V = (g(Z + εV) − g(Z − εV)) / 2ε."""
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((5, 8)) * 2
    V = rng.standard_normal(Z.shape)
    g = get_activation("softmax")
    A = g.forward(Z)
    eps = 1e-6
    numeric = (g.forward(Z + eps * V) - g.forward(Z - eps * V)) / (2 * eps)
    np.testing.assert_allclose(g.backward(V, Z, A), numeric, rtol=1e-7, atol=1e-10)
    # columns of softmax sum to one, so a direction V = c·1 (per column) changes nothing
    np.testing.assert_allclose(g.backward(np.ones_like(Z) * 3.0, Z, A), 0.0, atol=1e-15)


def test_softmax_has_no_elementwise_derivative():
    g = get_activation("softmax")
    Z = np.zeros((3, 2))
    with pytest.raises(ValueError, match="backward"):
        g.derivative(Z, g.forward(Z))


def test_forward_values_of_the_builtins():
    Z = np.array([[-2.0, -0.5, 0.0, 0.5, 2.0]])
    np.testing.assert_allclose(get_activation("sigmoid").forward(Z), 1 / (1 + np.exp(-Z)), rtol=1e-15)
    np.testing.assert_allclose(get_activation("tanh").forward(Z), np.tanh(Z), rtol=1e-15)
    np.testing.assert_array_equal(get_activation("relu").forward(Z), [[0, 0, 0, 0.5, 2.0]])
    np.testing.assert_allclose(get_activation("leaky_relu").forward(Z), [[-0.02, -0.005, 0, 0.5, 2.0]])
    np.testing.assert_array_equal(get_activation("linear").forward(Z), Z)
    Zs = np.array([[1.0, 0.0], [2.0, 0.0], [3.0, 0.0]])
    e = np.exp([1.0, 2.0, 3.0])
    np.testing.assert_allclose(get_activation("softmax").forward(Zs), np.c_[e / e.sum(), [1 / 3] * 3], rtol=1e-15)


# --------------------------------------------------------------------------- numerics and dtypes
@pytest.mark.parametrize("dtype", DTYPES)
def test_sigmoid_is_finite_and_warning_free_up_to_1e4(dtype):
    Z = np.array([[-1e4, -1e3, -100, -30, 0, 30, 100, 1e3, 1e4]], dtype=dtype)
    g = get_activation("sigmoid")
    with strict_fp():
        A = g.forward(Z)
        dZ = g.backward(np.ones_like(Z), Z, A)
    assert A.dtype == dtype and dZ.dtype == dtype
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    assert np.all((A >= 0) & (A <= 1))
    assert A[0, 0] == 0.0 and A[0, -1] == 1.0 and A[0, 4] == 0.5
    # symmetric: σ(−z) = 1 − σ(z)
    np.testing.assert_allclose(A[0, ::-1], 1 - A[0], atol=np.finfo(dtype).eps)


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_is_finite_and_warning_free_up_to_1e4(dtype):
    Z = np.array([[1e4, -1e4, 0.0, 1e4], [-1e4, -1e4, 0.0, 1e4], [0.0, 1e4, 0.0, 1e4]], dtype=dtype)
    g = get_activation("softmax")
    with strict_fp():
        A = g.forward(Z)
        dZ = g.backward(np.ones_like(Z), Z, A)
    assert A.dtype == dtype and dZ.dtype == dtype
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    np.testing.assert_allclose(A.sum(axis=0), 1.0, rtol=np.finfo(dtype).eps * 4)
    np.testing.assert_array_equal(A[:, 0], [1, 0, 0])
    np.testing.assert_array_equal(A[:, 1], [0, 0, 1])
    np.testing.assert_allclose(A[:, 2], 1 / 3, rtol=np.finfo(dtype).eps * 4)
    np.testing.assert_allclose(A[:, 3], 1 / 3, rtol=np.finfo(dtype).eps * 4)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", DTYPES)
def test_every_activation_is_finite_at_plus_minus_1e4(name, dtype):
    Z = np.array([[-1e4, -1.0, 1.0, 1e4], [1e4, 2.0, -2.0, -1e4]], dtype=dtype)
    g = get_activation(name)
    with strict_fp():
        A = g.forward(Z)
        dZ = g.backward(np.ones_like(Z), Z, A)
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))


@pytest.mark.parametrize("name", NAMES)
def test_dtype_is_preserved(name):
    rng = np.random.default_rng(3)
    Z = rng.standard_normal((3, 4)).astype(np.float32)
    g = get_activation(name)
    A = g.forward(Z)
    assert A.dtype == np.float32
    assert g.backward(np.ones_like(Z), Z, A).dtype == np.float32
    if name != "softmax":
        assert g.derivative(Z, A).dtype == np.float32
    Z64 = Z.astype(np.float64)
    assert g.forward(Z64).dtype == np.float64
    assert g.backward(np.ones_like(Z64), Z64, g.forward(Z64)).dtype == np.float64


@pytest.mark.parametrize("name", NAMES)
def test_get_config_round_trips(name):
    g = get_activation(name)
    assert isinstance(g, Activation)
    assert get_activation(g.get_config()) == g
    assert get_activation(g) is g


# --------------------------------------------------------------------------- leaky ReLU slope
def test_leaky_relu_slope_is_settable():
    Z = np.array([[-2.0, -0.5, 0.5, 2.0]])
    expected = np.array([[-0.4, -0.1, 0.5, 2.0]])
    from_dict = get_activation({"name": "leaky_relu", "slope": 0.2})
    direct = LeakyReLU(0.2)
    assert from_dict == direct and from_dict.slope == 0.2
    np.testing.assert_allclose(from_dict.forward(Z), expected)
    np.testing.assert_allclose(direct.forward(Z), expected)
    np.testing.assert_allclose(direct.derivative(Z, direct.forward(Z)), [[0.2, 0.2, 1.0, 1.0]])
    assert direct.get_config() == {"name": "leaky_relu", "slope": 0.2}
    assert get_activation("leaky_relu").slope == 0.01  # the default
    net = Network([2, 3, 1], {"name": "leaky_relu", "slope": 0.2}, seed=0)
    assert net.activations[0].slope == 0.2


@pytest.mark.parametrize("slope", [-0.1, 1.0, 1.5, float("nan"), float("inf")])
def test_leaky_relu_bad_slope_raises(slope):
    with pytest.raises(ValueError, match=r"slope must be in \[0, 1\)"):
        LeakyReLU(slope)
    with pytest.raises(ValueError, match=r"slope must be in \[0, 1\)"):
        get_activation({"name": "leaky_relu", "slope": slope})


def test_unknown_activation_parameter_raises():
    with pytest.raises(ValueError, match="bad parameters"):
        get_activation({"name": "leaky_relu", "alpha": 0.2})
    with pytest.raises(ValueError, match="bad parameters"):
        get_activation({"name": "tanh", "slope": 0.2})


# --------------------------------------------------------------------------- the registry
def _softplus(Z):
    return np.logaddexp(0, Z)


def _softplus_prime(Z):
    return 0.5 * (1 + np.tanh(Z / 2))  # = σ(Z), without overflow


def test_register_activation_softplus_trains_and_passes_gradient_check(registry_guard):
    act = register_activation("softplus", _softplus, _softplus_prime)
    assert get_activation("softplus") is act
    assert act.name == "softplus" and act.get_config() == "softplus"
    # its own derivative against finite differences
    Z = np.linspace(-4, 4, 17)[None, :]
    eps = 1e-6
    np.testing.assert_allclose(
        act.derivative(Z, act.forward(Z)), (act.forward(Z + eps) - act.forward(Z - eps)) / (2 * eps), rtol=1e-7
    )
    # in a network, by name, hidden layers only and output included
    rng = np.random.default_rng(4)
    X = rng.standard_normal((3, 6))
    Y = (rng.random((1, 6)) < 0.5).astype(float)
    net = Network([3, 4, 2, 1], "softplus", seed=1)
    assert [g.name for g in net.activations] == ["softplus", "softplus", "sigmoid"]
    AL = net.forward(X)
    Z1 = net.params["W1"] @ X + net.params["b1"]
    np.testing.assert_allclose(net.caches[1].A, np.logaddexp(0, Z1), rtol=1e-14)
    assert AL.shape == (1, 6)
    result = gradient_check(net, X, Y)
    assert result.difference < 1e-7 and result.passed
    reg = Network([3, 4, 2], ["softplus", "softplus"], loss="mse", seed=2)
    assert gradient_check(reg, X, rng.standard_normal((2, 6))).difference < 1e-7


def test_register_activation_refuses_duplicates_and_non_callables(registry_guard):
    with pytest.raises(ValueError, match="already registered"):
        register_activation("tanh", np.tanh, lambda Z: 1 - np.tanh(Z) ** 2)
    assert get_activation("tanh") == vecprop.activations.Tanh()
    register_activation("softplus", _softplus, _softplus_prime)
    with pytest.raises(ValueError, match="overwrite=True"):
        register_activation("softplus", _softplus, _softplus_prime)
    replaced = register_activation("softplus", np.tanh, lambda Z: 1 - np.tanh(Z) ** 2, overwrite=True)
    assert get_activation("softplus") is replaced
    with pytest.raises(ValueError, match="callables"):
        register_activation("broken", np.tanh, "not a function")


@pytest.mark.parametrize("spec", ["swish", "Sigmoid", "", None, 3])
def test_unknown_activation_raises_and_lists_known_names(spec):
    with pytest.raises(ValueError, match="unknown activation") as info:
        get_activation(spec)
    for name in ACTIVATIONS:
        assert name in str(info.value)


def test_unknown_activation_in_network_lists_known_names():
    with pytest.raises(ValueError) as info:
        Network([2, 3, 1], "swish")
    assert "swish" in str(info.value)
    for name in ACTIVATIONS:
        assert name in str(info.value)
    with pytest.raises(ValueError, match="expected one of"):
        Network([2, 3, 1], ["tanh", "sigmoidd"])
