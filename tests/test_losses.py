"""Losses L(y, a), the cost J of eq. (3), and the gradients that start backpropagation."""

from __future__ import annotations

import contextlib
import warnings

import numpy as np
import pytest

from vecprop import Network, get_activation, get_loss, one_hot
from vecprop.losses import LOSSES, MSE, BinaryCrossEntropy, CategoricalCrossEntropy

DTYPES = [np.float32, np.float64]


@contextlib.contextmanager
def strict_fp():
    """Every warning is an error; overflow, 0/0 and x/0 raise (underflow to 0 is exact and allowed)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise", under="ignore"):
            yield


def targets(loss_name, n, m, rng):
    """Valid targets of shape (n, m) for a loss."""
    if loss_name == "categorical_cross_entropy":
        return one_hot(rng.integers(0, n, m), n)
    if loss_name == "binary_cross_entropy":
        return (rng.random((n, m)) < 0.5).astype(float)
    return rng.standard_normal((n, m))


def sigmoid(Z):
    return 1 / (1 + np.exp(-Z))


def softmax(Z):
    e = np.exp(Z - Z.max(axis=0))
    return e / e.sum(axis=0)


# --------------------------------------------------------------------------- per-example losses
def test_bce_per_example_from_logits_equals_from_A():
    rng = np.random.default_rng(0)
    Z = rng.uniform(-6, 6, (3, 7))
    loss = get_loss("binary_cross_entropy")
    for Y in ((rng.random((3, 7)) < 0.5).astype(float), rng.random((3, 7))):  # labels and soft targets
        from_A = loss.per_example(sigmoid(Z), Y)
        from_Z = loss.per_example(sigmoid(Z), Y, Z)
        explicit = -(Y * np.log(sigmoid(Z)) + (1 - Y) * np.log(1 - sigmoid(Z))).sum(axis=0)
        assert from_A.shape == from_Z.shape == (7,)
        np.testing.assert_allclose(from_Z, from_A, rtol=1e-10)
        np.testing.assert_allclose(from_Z, explicit, rtol=1e-10)


def test_cce_per_example_from_logits_equals_from_A():
    rng = np.random.default_rng(1)
    Z = rng.uniform(-6, 6, (4, 9))
    labels = rng.integers(0, 4, 9)
    Y = one_hot(labels, 4)
    loss = get_loss("categorical_cross_entropy")
    from_A = loss.per_example(softmax(Z), Y)
    from_Z = loss.per_example(softmax(Z), Y, Z)
    assert from_A.shape == from_Z.shape == (9,)
    np.testing.assert_allclose(from_Z, from_A, rtol=1e-10)
    np.testing.assert_allclose(from_Z, -np.log(softmax(Z)[labels, np.arange(9)]), rtol=1e-10)


@pytest.mark.parametrize("dtype", DTYPES)
def test_bce_from_logits_is_exact_and_finite_at_1e4(dtype):
    Z = np.array([[1e4, -1e4, 1e4, -1e4, 0.0]], dtype=dtype)
    Y = np.array([[1, 0, 0, 1, 1]], dtype=dtype)
    loss = get_loss("binary_cross_entropy")
    with strict_fp():
        A = get_activation("sigmoid").forward(Z)
        L = loss.per_example(A, Y, Z)
        L_from_A = loss.per_example(A, Y)
    assert L.dtype == dtype
    np.testing.assert_allclose(L, [0, 0, 1e4, 1e4, np.log(2)], rtol=1e-6)
    assert np.all(np.isfinite(L_from_A)) and np.all(L_from_A >= 0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cce_from_logits_is_exact_and_finite_at_1e4(dtype):
    Z = np.array([[1e4, 1e4, 0.0], [-1e4, 0.0, 0.0], [0.0, -1e4, 0.0]], dtype=dtype)
    Y = np.array([[1, 0, 0], [0, 0, 1], [0, 1, 0]], dtype=dtype)
    loss = get_loss("categorical_cross_entropy")
    with strict_fp():
        A = get_activation("softmax").forward(Z)
        L = loss.per_example(A, Y, Z)
        L_from_A = loss.per_example(A, Y)
    assert L.dtype == dtype
    np.testing.assert_allclose(L, [0, 2e4, np.log(3)], rtol=1e-6)
    assert np.all(np.isfinite(L_from_A))


def test_mse_is_half_the_sum_of_squares():
    A = np.array([[1.0, 2.0], [3.0, 4.0]])
    Y = np.array([[0.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(MSE().per_example(A, Y), [0.5 * (1 + 4), 0.5 * (4 + 9)])
    np.testing.assert_allclose(MSE().dAL(A, Y), A - Y)
    net = Network([2, 2], ["linear"], seed=0)
    assert net.loss.name == "mse"
    assert net.cost(A, Y) == pytest.approx((2.5 + 6.5) / 2, rel=1e-15)


@pytest.mark.parametrize("name", ["binary_cross_entropy", "categorical_cross_entropy"])
def test_dZL_is_A_minus_Y_for_one_hot(name):
    rng = np.random.default_rng(2)
    Z = rng.standard_normal((4, 6))
    A = softmax(Z) if name == "categorical_cross_entropy" else sigmoid(Z)
    Y = one_hot(rng.integers(0, 4, 6), 4)
    np.testing.assert_allclose(get_loss(name).dZL(A, Y), A - Y, rtol=0, atol=1e-15)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_dAL_matches_finite_differences_of_the_loss(name):
    """dA[L] = ∂L/∂A[L] per example, for any output: finite differences of per_example(A, Y)."""
    rng = np.random.default_rng(3)
    A = rng.uniform(0.1, 0.9, (3, 5))
    Y = targets(name, 3, 5, rng)
    loss = get_loss(name)
    eps = 1e-6
    numeric = np.empty_like(A)
    for idx in np.ndindex(A.shape):
        Ap, Am = A.copy(), A.copy()
        Ap[idx] += eps
        Am[idx] -= eps
        numeric[idx] = (loss.per_example(Ap, Y)[idx[1]] - loss.per_example(Am, Y)[idx[1]]) / (2 * eps)
    np.testing.assert_allclose(loss.dAL(A, Y), numeric, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("name", sorted(LOSSES))
def test_fused_dZL_matches_finite_differences_through_the_canonical_output(name):
    """dZ[L] = ∂L/∂Z[L] for the canonical output g, including non-one-hot targets."""
    rng = np.random.default_rng(4)
    loss = get_loss(name)
    g = get_activation(loss.canonical_activation)
    Z = rng.uniform(-3, 3, (3, 5))
    Y = targets(name, 3, 5, rng)
    if name == "categorical_cross_entropy":
        Y = Y * rng.uniform(0.5, 2.0, (1, 5))  # columns that do not sum to one
    eps = 1e-6
    numeric = np.empty_like(Z)
    for idx in np.ndindex(Z.shape):
        Zp, Zm = Z.copy(), Z.copy()
        Zp[idx] += eps
        Zm[idx] -= eps
        Lp = loss.per_example(g.forward(Zp), Y, Zp)[idx[1]]
        Lm = loss.per_example(g.forward(Zm), Y, Zm)[idx[1]]
        numeric[idx] = (Lp - Lm) / (2 * eps)
    np.testing.assert_allclose(loss.dZL(g.forward(Z), Y), numeric, rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------------- the network at |Z[L]| ~ 1e4
def _saturated_binary(dtype):
    """2-3-1 tanh/sigmoid net with W[2] huge: Z[2] = ±1e4 (to float32 rounding)."""
    net = Network([2, 3, 1], ["tanh", "sigmoid"], seed=0, dtype=dtype)
    net.params = {
        "W1": np.array([[5.0, 0.0], [0.0, 5.0], [1.0, 1.0]]),
        "b1": np.zeros((3, 1)),
        "W2": np.array([[1e4, 0.0, 0.0]]),
        "b2": np.zeros((1, 1)),
    }
    X = np.array([[4.0, -4.0, 4.0, -4.0], [1.0, 1.0, -1.0, -1.0]], dtype=dtype)
    return net, X


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_cost_and_backward_finite_when_sigmoid_output_saturates(dtype):
    net, X = _saturated_binary(dtype)
    Y_right = np.array([[1.0, 0.0, 1.0, 0.0]])
    Y_wrong = 1 - Y_right
    with strict_fp():
        AL = net.forward(X)
        ZL = net.caches[2].Z
        assert np.all(np.abs(ZL) > 9999)
        J_right = net.cost(AL, Y_right)
        J_wrong = net.cost(AL, Y_wrong)
        g_wrong = net.backward(Y_wrong)
        g_right = net.backward(Y_right)
    assert J_right == pytest.approx(0.0, abs=1e-6)
    assert J_wrong == pytest.approx(float(np.abs(ZL).mean()), rel=1e-6)  # −log σ(−|z|) = |z| + log1p(e^−|z|)
    for g in (g_wrong, g_right):
        for key, value in g.items():
            assert value.dtype == dtype, key
            assert np.all(np.isfinite(value)), key
    np.testing.assert_allclose(g_wrong["dZ2"], AL - Y_wrong, atol=0)
    np.testing.assert_allclose(np.abs(g_wrong["dZ2"]), 1.0)


@pytest.mark.parametrize("dtype", DTYPES)
def test_network_cost_and_backward_finite_when_softmax_output_saturates(dtype):
    net = Network([2, 3, 3], ["tanh", "softmax"], seed=0, dtype=dtype)
    assert net.loss.name == "categorical_cross_entropy"
    net.params = {
        "W1": np.array([[5.0, 0.0], [0.0, 5.0], [1.0, 1.0]]),
        "b1": np.zeros((3, 1)),
        "W2": 1e4 * np.eye(3),
        "b2": np.zeros((3, 1)),
    }
    X = np.array([[4.0, -4.0, 4.0], [1.0, 1.0, -1.0]], dtype=dtype)
    Y = one_hot([0, 1, 1], 3)
    with strict_fp():
        AL = net.forward(X)
        assert np.abs(net.caches[2].Z).max() > 9999
        J = net.cost(AL, Y)
        grads = net.backward(Y)
    assert np.isfinite(J) and J > 1e3
    assert all(np.all(np.isfinite(v)) and v.dtype == dtype for v in grads.values())
    np.testing.assert_allclose(grads["dZ2"], AL - Y, atol=0)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("output,loss", [("softmax", "binary_cross_entropy"), ("sigmoid", "categorical_cross_entropy")])
def test_non_canonical_pairs_stay_finite_when_saturated(dtype, output, loss):
    """Through dA[L] and BP4 the saturated gradient may vanish, but it never overflows or turns NaN."""
    net = Network([2, 3, 2], ["tanh", output], loss=loss, seed=0, dtype=dtype)
    net.params = {
        "W1": np.array([[5.0, 0.0], [0.0, 5.0], [1.0, 1.0]]),
        "b1": np.zeros((3, 1)),
        "W2": np.array([[1e4, 0, 0], [-1e4, 0, 0]]),
        "b2": np.zeros((2, 1)),
    }
    X = np.array([[4.0, -4.0], [1.0, 1.0]], dtype=dtype)
    Y = one_hot([1, 0], 2)
    with strict_fp():
        AL = net.forward(X)
        J = net.cost(AL, Y)
        grads = net.backward(Y)
    assert np.isfinite(J) and J > 10
    assert all(np.all(np.isfinite(v)) for v in grads.values())


# --------------------------------------------------------------------------- cost, eq. (3)
def test_cost_is_the_mean_loss_plus_l2_and_weighted_mean():
    rng = np.random.default_rng(5)
    net = Network([3, 4, 2], "tanh", loss="binary_cross_entropy", seed=1)
    X = rng.standard_normal((3, 6))
    Y = (rng.random((2, 6)) < 0.5).astype(float)
    AL = net.forward(X)
    per = -(Y * np.log(AL) + (1 - Y) * np.log(1 - AL)).sum(axis=0)
    assert net.cost(AL, Y) == pytest.approx(per.mean(), rel=1e-12)
    lam = 0.3
    l2 = lam / (2 * 6) * sum((net.params[f"W{l}"] ** 2).sum() for l in (1, 2))
    assert net.cost(AL, Y, l2=lam) == pytest.approx(per.mean() + l2, rel=1e-12)
    w = rng.uniform(0.1, 3.0, 6)
    assert net.cost(AL, Y, sample_weight=w) == pytest.approx((w * per).sum() / w.sum(), rel=1e-12)
    # a copy of AL (not the cached one) goes through the A-based formula: same number
    assert net.cost(AL.copy(), Y) == pytest.approx(per.mean(), rel=1e-12)


# --------------------------------------------------------------------------- bad targets and names
def test_loss_instances_keep_their_valid_activations():
    """The output activations a loss accepts, as the loss objects Network checks report them.

    Cross-entropy needs outputs in (0, 1); Network refuses e.g. relu + binary_cross_entropy by
    reading ``loss.valid_activations`` on the instance (see test_network's incompatible-pair test).
    """
    assert BinaryCrossEntropy.valid_activations == ("sigmoid", "softmax")
    assert get_loss("binary_cross_entropy").valid_activations == ("sigmoid", "softmax")
    assert set(get_loss("categorical_cross_entropy").valid_activations) == {"softmax", "sigmoid"}
    assert get_loss("mse").valid_activations == ()


@pytest.mark.parametrize("bad", [1.5, -0.5])
def test_bce_rejects_targets_outside_0_1(bad):
    Y = np.array([[0.0, 1.0, bad]])
    with pytest.raises(ValueError, match=r"binary_cross_entropy needs targets Y in \[0, 1\]"):
        BinaryCrossEntropy().check_targets(Y)
    net = Network([2, 3, 1], "tanh", seed=0)
    net.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match=r"targets Y in \[0, 1\]"):
        net.backward(Y)
    with pytest.raises(ValueError, match=r"targets Y in \[0, 1\]"):
        net.cost(net.forward(np.ones((2, 3))), Y)


def test_cce_rejects_negative_targets():
    Y = np.array([[1.0, -0.1], [0.0, 1.1]])
    with pytest.raises(ValueError, match="categorical_cross_entropy needs non-negative targets"):
        CategoricalCrossEntropy().check_targets(Y)
    net = Network([2, 3, 2], ["tanh", "softmax"], seed=0)
    net.forward(np.ones((2, 2)))
    with pytest.raises(ValueError, match="non-negative targets"):
        net.backward(Y)


def test_mse_accepts_any_finite_targets_but_not_nan():
    net = Network([2, 3, 1], "tanh", loss="mse", seed=0)
    net.forward(np.ones((2, 2)))
    assert net.backward(np.array([[-1e3, 1e3]]))["dW2"].shape == (1, 3)
    with pytest.raises(ValueError, match="NaN or inf"):
        net.backward(np.array([[np.nan, 0.0]]))


@pytest.mark.parametrize("spec", ["hinge", "cross_entropy", "MSE", None, 0])
def test_unknown_loss_raises_and_lists_known_names(spec):
    with pytest.raises(ValueError, match="unknown loss") as info:
        get_loss(spec)
    for name in LOSSES:
        assert name in str(info.value)


def test_unknown_loss_in_network_lists_known_names():
    with pytest.raises(ValueError, match="unknown loss 'hinge'") as info:
        Network([2, 3, 1], "relu", loss="hinge")
    for name in LOSSES:
        assert name in str(info.value)
