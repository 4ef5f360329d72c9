"""The course-2 wrappers in vecprop.course (optimization, regularization, dropout, learning-rate decay)
against the course's formulas written out here and against finite differences, in float64."""

import math

import numpy as np
import pytest

from vecprop import course
from vecprop.gradcheck import numeric_gradient


def deep_params(layer_dims, seed=0, scale=0.7):
    """W[l] (n_l, n_{l-1}) and b[l] (n_l, 1) big enough that every layer's gradient matters."""
    rng = np.random.default_rng(seed)
    p = {}
    for l in range(1, len(layer_dims)):
        p[f"W{l}"] = rng.normal(size=(layer_dims[l], layer_dims[l - 1])) * scale
        p[f"b{l}"] = rng.normal(size=(layer_dims[l], 1)) * 0.1
    return p


def grads_like(params, seed=1):
    rng = np.random.default_rng(seed)
    return {"d" + k: rng.normal(size=v.shape) for k, v in params.items()}


def data(n_x=4, m=9, seed=2):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_x, m))
    Y = (rng.random((1, m)) > 0.5).astype(np.float64)
    return X, Y


def relative_difference(grads, numeric):
    keys = sorted(numeric)
    g = np.concatenate([grads[k].ravel() for k in keys])
    n = np.concatenate([numeric[k].ravel() for k in keys])
    return np.linalg.norm(g - n) / (np.linalg.norm(g) + np.linalg.norm(n))


# ------------------------------------------------------------------------------------- mini-batches
@pytest.mark.parametrize("m,size", [(148, 64), (10, 3), (64, 64), (5, 64), (12, 4)])
def test_random_mini_batches_shapes_and_permutation(m, size):
    X = np.vstack([np.arange(m, dtype=float), -np.arange(m, dtype=float)])  # (2, m): column i holds i
    Y = (np.arange(m) % 2).astype(float).reshape(1, m)
    batches = course.random_mini_batches(X, Y, mini_batch_size=size, seed=4)
    assert len(batches) == math.ceil(m / size)
    for k, (bx, by) in enumerate(batches):
        expected = size if k < m // size else m % size
        assert bx.shape == (2, expected) and by.shape == (1, expected)
        assert np.array_equal(by[0], bx[0] % 2)  # X and Y columns stay together
    cols = np.concatenate([bx[0] for bx, _ in batches]).astype(int)
    assert np.array_equal(np.sort(cols), np.arange(m))  # a permutation of the m columns
    assert np.array_equal(np.concatenate([bx for bx, _ in batches], axis=1), X[:, cols])
    if m > size:
        assert np.array_equal(cols, np.random.default_rng(4).permutation(m))


def test_random_mini_batches_is_seeded():
    X = np.arange(30, dtype=float).reshape(1, 30)
    Y = np.zeros((1, 30))
    a = course.random_mini_batches(X, Y, 8, seed=1)
    b = course.random_mini_batches(X, Y, 8, seed=1)
    c = course.random_mini_batches(X, Y, 8, seed=2)
    assert all(np.array_equal(p[0], q[0]) for p, q in zip(a, b))
    assert not np.array_equal(a[0][0], c[0][0])
    assert [bx.shape[1] for bx, _ in a] == [8, 8, 8, 6]


# ------------------------------------------------------------------------------------- update rules
def test_update_parameters_with_gd():
    p = deep_params([3, 4, 2])
    g = grads_like(p)
    new = course.update_parameters_with_gd(p, g, 0.1)
    for k in p:
        np.testing.assert_allclose(new[k], p[k] - 0.1 * g["d" + k], rtol=1e-15, atol=1e-15)


def test_initialize_velocity_and_adam_keys_and_shapes():
    p = deep_params([3, 4, 5, 2])
    v = course.initialize_velocity(p)
    assert sorted(v) == ["dW1", "dW2", "dW3", "db1", "db2", "db3"]
    for k in p:
        assert v["d" + k].shape == p[k].shape and not v["d" + k].any()
    v, s = course.initialize_adam(p)
    assert sorted(v) == sorted(s) == ["dW1", "dW2", "dW3", "db1", "db2", "db3"]
    for k in p:
        assert v["d" + k].shape == s["d" + k].shape == p[k].shape
        assert not v["d" + k].any() and not s["d" + k].any()
    assert v["dW1"] is not s["dW1"]


@pytest.mark.parametrize("beta", [0.0, 0.5, 0.9])
def test_update_parameters_with_momentum_three_steps(beta):
    p = deep_params([3, 4, 2])
    v = course.initialize_velocity(p)
    hand_p = {k: a.copy() for k, a in p.items()}
    hand_v = {k: np.zeros_like(a) for k, a in v.items()}
    for step in range(3):
        g = grads_like(p, seed=10 + step)
        p, v = course.update_parameters_with_momentum(p, g, v, beta, 0.05)
        for k in hand_p:
            hand_v["d" + k] = beta * hand_v["d" + k] + (1 - beta) * g["d" + k]  # v = βv + (1−β)dW
            hand_p[k] = hand_p[k] - 0.05 * hand_v["d" + k]  # W −= α v
    for k in hand_p:
        np.testing.assert_allclose(p[k], hand_p[k], rtol=1e-13, atol=1e-15)
        np.testing.assert_allclose(v["d" + k], hand_v["d" + k], rtol=1e-13, atol=1e-15)
    assert sorted(v) == sorted(hand_v)


def test_update_parameters_with_adam_steps_from_t_equals_one():
    p = deep_params([3, 4, 2])
    v, s = course.initialize_adam(p)
    b1, b2, eps, lr = 0.9, 0.999, 1e-8, 0.01
    hand_p = {k: a.copy() for k, a in p.items()}
    hand_v = {k: np.zeros_like(a) for k, a in v.items()}
    hand_s = {k: np.zeros_like(a) for k, a in s.items()}
    for t in (1, 2, 3):
        g = grads_like(p, seed=20 + t)
        out = course.update_parameters_with_adam(p, g, v, s, t, learning_rate=lr, beta1=b1, beta2=b2, epsilon=eps)
        assert len(out) == 5
        p, v, s, v_c, s_c = out
        for k in hand_p:
            dk = "d" + k
            hand_v[dk] = b1 * hand_v[dk] + (1 - b1) * g[dk]
            hand_s[dk] = b2 * hand_s[dk] + (1 - b2) * g[dk] ** 2
            hv_c = hand_v[dk] / (1 - b1**t)  # bias correction, t from 1
            hs_c = hand_s[dk] / (1 - b2**t)
            hand_p[k] = hand_p[k] - lr * hv_c / (np.sqrt(hs_c) + eps)
            np.testing.assert_allclose(v_c[dk], hv_c, rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(s_c[dk], hs_c, rtol=1e-13, atol=1e-16)
        for k in hand_p:
            np.testing.assert_allclose(p[k], hand_p[k], rtol=1e-13, atol=1e-15)
            np.testing.assert_allclose(v["d" + k], hand_v["d" + k], rtol=1e-13, atol=1e-16)
            np.testing.assert_allclose(s["d" + k], hand_s["d" + k], rtol=1e-13, atol=1e-16)


def test_adam_first_step_moves_every_entry_by_about_the_learning_rate():
    p = deep_params([3, 4, 2])
    v, s = course.initialize_adam(p)
    g = grads_like(p)
    new = course.update_parameters_with_adam(p, g, v, s, 1, learning_rate=0.01)[0]
    for k in p:  # t = 1: v_c = dW, s_c = dW², so the step is α dW / (|dW| + ε) ≈ α sign(dW)
        dW = g["d" + k]
        np.testing.assert_allclose(new[k] - p[k], -0.01 * dW / (np.abs(dW) + 1e-8), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(new[k] - p[k], -0.01 * np.sign(dW), rtol=1e-4)


# ------------------------------------------------------------------------------------- L2 regularization
def test_compute_cost_with_regularization_adds_lambda_over_2m_sum_W2():
    p = deep_params([4, 5, 3, 1])
    X, Y = data(m=9)
    AL, _ = course.L_model_forward(X, p)
    lam = 0.7
    l2 = lam / (2 * 9) * sum(np.sum(p[f"W{l}"] ** 2) for l in (1, 2, 3))
    assert course.compute_cost_with_regularization(AL, Y, p, lam) == pytest.approx(
        course.compute_cost(AL, Y) + l2, rel=1e-13
    )
    assert course.compute_cost_with_regularization(AL, Y, p, 0.0) == pytest.approx(
        course.compute_cost(AL, Y), rel=1e-13
    )


@pytest.mark.parametrize("layer_dims", [[4, 5, 3, 1], [4, 6, 5, 3, 1]], ids=["depth3", "depth4"])
@pytest.mark.parametrize("lambd", [0.0, 0.7])
def test_backward_propagation_with_regularization_against_finite_differences(layer_dims, lambd):
    p = deep_params(layer_dims, seed=len(layer_dims))
    X, Y = data(m=9)
    AL, caches = course.L_model_forward(X, p)
    grads = course.backward_propagation_with_regularization(X, Y, caches, lambd)
    L = len(layer_dims) - 1
    for l in range(1, L + 1):
        assert grads[f"dW{l}"].shape == p[f"W{l}"].shape and grads[f"db{l}"].shape == p[f"b{l}"].shape
    for l in range(1, L):
        assert grads[f"dA{l}"].shape == (layer_dims[l], 9)
    numeric = numeric_gradient(
        lambda: course.compute_cost_with_regularization(course.L_model_forward(X, p)[0], Y, p, lambd), p, 1e-6
    )
    assert relative_difference(grads, numeric) < 1e-7


def test_regularization_adds_exactly_lambda_over_m_W_to_dW():
    p = deep_params([4, 5, 3, 1])
    X, Y = data(m=9)
    _, caches = course.L_model_forward(X, p)
    plain = course.backward_propagation_with_regularization(X, Y, caches, 0.0)
    reg = course.backward_propagation_with_regularization(X, Y, caches, 0.9)
    for l in (1, 2, 3):
        np.testing.assert_allclose(reg[f"dW{l}"], plain[f"dW{l}"] + 0.9 / 9 * p[f"W{l}"], rtol=1e-13, atol=1e-15)
        np.testing.assert_array_equal(reg[f"db{l}"], plain[f"db{l}"])
    # and without λ it is L_model_backward's gradient
    AL, caches = course.L_model_forward(X, p)
    seed_grads = course.L_model_backward(AL, Y, caches)
    for l in (1, 2, 3):
        np.testing.assert_allclose(plain[f"dW{l}"], seed_grads[f"dW{l}"], rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------------------------- dropout
def test_forward_propagation_with_dropout_caches_and_masks():
    p = deep_params([4, 50, 40, 1])
    X = np.random.default_rng(0).normal(size=(4, 400))
    AL, caches = course.forward_propagation_with_dropout(X, p, keep_prob=0.7, seed=3)
    assert len(caches) == 3 and AL.shape == (1, 400)
    for l, cache in enumerate(caches, start=1):
        (A_prev, W, b), Z, D = cache
        assert W is p[f"W{l}"] and Z.shape == (W.shape[0], 400)
        if l < 3:
            assert D.shape == Z.shape and D.mean() == pytest.approx(0.7, abs=0.02)
            A = np.maximum(Z, 0)
            np.testing.assert_allclose(caches[l][0][0], A * D / 0.7, rtol=1e-15, atol=0)  # next A_prev
        else:
            assert D is None  # no dropout on the output layer
    np.testing.assert_array_equal(caches[0][0][0], X)
    AL2, caches2 = course.forward_propagation_with_dropout(X, p, keep_prob=0.7, seed=3)
    assert np.array_equal(AL, AL2) and np.array_equal(caches[0][2], caches2[0][2])
    AL1, _ = course.forward_propagation_with_dropout(X, p, keep_prob=1.0, seed=3)
    assert np.allclose(AL1, course.L_model_forward(X, p)[0], rtol=1e-15, atol=0)


@pytest.mark.parametrize("layer_dims", [[4, 5, 3, 1], [4, 6, 5, 3, 1]], ids=["depth3", "depth4"])
@pytest.mark.parametrize("keep_prob", [0.8, 0.5])
def test_backward_propagation_with_dropout_against_finite_differences(layer_dims, keep_prob):
    """The masks come from the seed only, so re-running the forward with that seed fixes them."""
    p = deep_params(layer_dims, seed=len(layer_dims) + 10)
    X, Y = data(m=12)
    AL, caches = course.forward_propagation_with_dropout(X, p, keep_prob=keep_prob, seed=5)
    assert any((c[2] is not None and not c[2].all()) for c in caches)  # some unit really dropped
    grads = course.backward_propagation_with_dropout(X, Y, caches, keep_prob)
    for l in range(1, len(layer_dims)):
        assert grads[f"dW{l}"].shape == p[f"W{l}"].shape
    numeric = numeric_gradient(
        lambda: course.compute_cost(course.forward_propagation_with_dropout(X, p, keep_prob, seed=5)[0], Y), p, 1e-6
    )
    assert relative_difference(grads, numeric) < 1e-7


def test_backward_with_dropout_masks_dA_like_the_course():
    p = deep_params([4, 5, 3, 1])
    X, Y = data(m=12)
    _, caches = course.forward_propagation_with_dropout(X, p, keep_prob=0.6, seed=8)
    grads = course.backward_propagation_with_dropout(X, Y, caches, 0.6)
    for l in (1, 2):
        D = caches[l - 1][2]
        assert np.all(grads[f"dA{l}"][~D] == 0)  # dropped units pass no gradient back
        assert np.all(grads[f"dZ{l}"][~D] == 0)


# ------------------------------------------------------------------------------------- learning-rate decay
@pytest.mark.parametrize(
    "lr0,epoch,decay,expected",
    [
        (0.5, 2, 1, 0.5 / 3),  # the course's example: 0.16666666666666666
        (0.5, 0, 1, 0.5),
        (0.1, 10, 0.3, 0.1 / 4),
        (0.01, 1000, 0.0, 0.01),
    ],
)
def test_update_lr(lr0, epoch, decay, expected):
    assert course.update_lr(lr0, epoch, decay) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    "lr0,epoch,decay,interval,expected",
    [
        (0.5, 100, 1, 100, 0.25),  # the course's example
        (0.5, 99, 1, 100, 0.5),
        (0.5, 250, 0.3, 100, 0.5 / 1.6),
        (0.1, 1500, 1, 1000, 0.05),
        (0.1, 999, 1, 1000, 0.1),
    ],
)
def test_schedule_lr_decay(lr0, epoch, decay, interval, expected):
    assert course.schedule_lr_decay(lr0, epoch, decay, time_interval=interval) == pytest.approx(expected, rel=1e-15)


def test_schedule_lr_decay_default_interval_is_1000():
    assert course.schedule_lr_decay(0.2, 2500, 1.0) == pytest.approx(0.2 / 3, rel=1e-15)
