"""The fit loop (vecprop.training): every option against numbers worked in the test with plain NumPy.

Columns are examples throughout: X (n_0, m), Y (n_L, m). Hand references step a copy of the network
with ``net.forward``/``net.backward`` and the optimizers' formulas written out here, so what is
tested is the integration: which gradient, which learning rate, which state the trainer hands on.
"""

import copy
import math
import re
import signal
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecprop import Network, gradient_check, one_hot, propagation
from vecprop.callbacks import Callback, StopOnNaN
from vecprop.training import (
    DivergenceError,
    FitConfig,
    History,
    class_weights,
    mini_batches,
    train_validation_split,
)


# ------------------------------------------------------------------------------------- data
def binary_data(m=24, n_x=3, seed=0):
    """A sigmoid problem: X (n_x, m), Y (1, m) 0/1 from a noisy linear rule."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_x, m))
    Y = ((X[0] - 0.5 * X[1] + 0.3 * rng.normal(size=m)) > 0).astype(np.float64).reshape(1, m)
    return X, Y


def softmax_data(m=30, n_x=4, n_classes=3, seed=0):
    """A softmax problem: X (n_x, m), Y one-hot (n_classes, m); every class present."""
    rng = np.random.default_rng(seed)
    y = np.arange(m) % n_classes
    rng.shuffle(y)
    X = rng.normal(size=(n_x, m)) + y[None, :] * 0.7
    return X, one_hot(y, n_classes)


def regression_data(m=20, n_x=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n_x, m))
    Y = (3.0 * X[0] - 2.0 * X[1] + 1.0).reshape(1, m)
    return X, Y


def copy_params(net):
    return {k: v.copy() for k, v in net.params.items()}


def assert_params_equal(a, b):
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k


def assert_params_close(a, b, rtol=1e-12, atol=1e-14):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_allclose(a[k], b[k], rtol=rtol, atol=atol, err_msg=k)


class Recorder(Callback):
    """Keeps a copy of the parameters and the logs at the end of every epoch, and each batch's logs."""

    def __init__(self):
        self.params, self.logs, self.epochs, self.batches = [], [], [], []

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs.append(epoch)
        self.params.append(copy_params(trainer.net))
        self.logs.append(dict(logs))

    def on_batch_end(self, trainer, batch, logs):
        self.batches.append((len(self.epochs), batch, dict(logs)))


# ------------------------------------------------------------------------------------- optimizers through fit
# Each rule written out, per parameter key, in the course's notation; st is the per-key state.
def _gd(W, dW, st, lr, t):
    return W - lr * dW


def _momentum(W, dW, st, lr, t, beta=0.9):
    st["v"] = beta * st.get("v", 0.0) + (1 - beta) * dW
    return W - lr * st["v"]


def _nesterov(W, dW, st, lr, t, beta=0.9):
    st["v"] = beta * st.get("v", 0.0) + (1 - beta) * dW
    return W - lr * (beta * st["v"] + (1 - beta) * dW)


def _rmsprop(W, dW, st, lr, t, beta=0.9, eps=1e-8):
    st["s"] = beta * st.get("s", 0.0) + (1 - beta) * dW**2
    return W - lr * dW / (np.sqrt(st["s"]) + eps)


def _adam(W, dW, st, lr, t, b1=0.9, b2=0.999, eps=1e-8):
    st["v"] = b1 * st.get("v", 0.0) + (1 - b1) * dW
    st["s"] = b2 * st.get("s", 0.0) + (1 - b2) * dW**2
    v_c = st["v"] / (1 - b1**t)
    s_c = st["s"] / (1 - b2**t)
    return W - lr * v_c / (np.sqrt(s_c) + eps)


def _adamw(W, dW, st, lr, t, wd=0.01):
    if st["key"].startswith("W"):
        W = W * (1 - lr * wd)
    return _adam(W, dW, st, lr, t)


HAND_RULES = {
    "gd": _gd,
    "momentum": _momentum,
    "nesterov": _nesterov,
    "rmsprop": _rmsprop,
    "adam": _adam,
    "adamw": _adamw,
}


def hand_steps(ref, X, Y, rule, lrs, state, t0=0, l2=0.0, sample_weight=None):
    """Batch gradient descent worked by hand on ``ref``: one update per learning rate in ``lrs``."""
    for i, lr in enumerate(lrs):
        ref.forward(X)
        grads = ref.backward(Y, l2=l2, sample_weight=sample_weight)
        new = {}
        for k, W in ref.params.items():
            st = state.setdefault(k, {"key": k})
            new[k] = rule(W, grads["d" + k], st, lr, t0 + i + 1)
        ref.params = new
    return ref


@pytest.mark.parametrize("name", sorted(HAND_RULES))
def test_each_optimizer_through_fit_matches_its_formula_and_continues(name):
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=1)
    ref = net.copy()
    lr0 = 0.05
    net.fit(
        X,
        Y,
        epochs=3,
        learning_rate=lr0,
        optimizer=name,
        schedule="inverse_time",
        batch_size=None,
        shuffle=False,
        verbose=0,
    )
    state = {}
    lrs = [lr0 / (1 + e) for e in range(3)]  # inverse_time, decay_rate = 1
    hand_steps(ref, X, Y, HAND_RULES[name], lrs, state)
    assert_params_close(net.params, ref.params)

    # a second fit continues: t, v, s and the schedule's epoch carry on
    h = net.fit(X, Y, epochs=2, learning_rate=lr0, optimizer=name, schedule="inverse_time", shuffle=False, verbose=0)
    hand_steps(ref, X, Y, HAND_RULES[name], [lr0 / 4, lr0 / 5], state, t0=3)
    assert_params_close(net.params, ref.params)
    assert h.epochs == [3, 4]
    assert h.metrics["learning_rate"] == pytest.approx([lr0 / 4, lr0 / 5], rel=1e-15)


def test_optimizer_object_and_dict_spec_use_their_hyperparameters():
    from vecprop.optimizers import Momentum

    X, Y = binary_data()
    a, b = Network([3, 4, 1], seed=2), Network([3, 4, 1], seed=2)
    ref = a.copy()
    a.fit(X, Y, epochs=3, learning_rate=0.1, optimizer=Momentum(beta=0.5), verbose=0)
    b.fit(X, Y, epochs=3, learning_rate=0.1, optimizer={"name": "momentum", "beta": 0.5}, verbose=0)
    hand_steps(ref, X, Y, lambda W, dW, st, lr, t: _momentum(W, dW, st, lr, t, beta=0.5), [0.1] * 3, {})
    assert_params_close(a.params, ref.params)
    assert_params_equal(a.params, b.params)


def test_one_gd_step_is_W_minus_alpha_dW_from_backward():
    X, Y = softmax_data()
    net = Network([4, 5, 3], activations="tanh", loss="categorical_cross_entropy", seed=0)
    W0 = copy_params(net)
    net.forward(X)
    grads = net.backward(Y)
    net.fit(X, Y, epochs=1, learning_rate=0.3, verbose=0)
    for k in W0:
        np.testing.assert_allclose(net.params[k], W0[k] - 0.3 * grads["d" + k], rtol=1e-13, atol=1e-15)


def test_l2_step_through_fit_adds_lambda_over_m_W():
    X, Y = binary_data(m=16)
    lam, lr = 0.8, 0.2
    net = Network([3, 5, 1], seed=3)
    W0 = copy_params(net)
    ref = net.copy()
    ref.forward(X)
    plain = ref.backward(Y)
    h = net.fit(X, Y, epochs=1, learning_rate=lr, l2=lam, verbose=0)
    m = X.shape[1]
    for k in W0:
        extra = lam / m * W0[k] if k[0] == "W" else 0.0
        np.testing.assert_allclose(net.params[k], W0[k] - lr * (plain["d" + k] + extra), rtol=1e-12, atol=1e-15)
    # the recorded loss is the regularized cost J + λ/(2m) Σ‖W‖² at the start of the epoch
    ref2 = Network([3, 5, 1], seed=3)
    J = ref2.compute_cost(X, Y)
    reg = lam / (2 * m) * sum((W0[k] ** 2).sum() for k in W0 if k[0] == "W")
    assert h.loss[0] == pytest.approx(J + reg, rel=1e-12)


# ------------------------------------------------------------------------------------- L2 and weights: gradient checks
@pytest.mark.parametrize(
    "loss,hidden,n_out",
    [("binary_cross_entropy", "tanh", 1), ("categorical_cross_entropy", "relu", 3), ("mse", "sigmoid", 2)],
)
@pytest.mark.parametrize("l2,weighted", [(0.7, False), (0.0, True), (0.3, True)])
def test_gradient_check_with_l2_and_sample_weight(loss, hidden, n_out, l2, weighted):
    rng = np.random.default_rng(5)
    m = 7
    X = rng.normal(size=(4, m))
    if loss == "categorical_cross_entropy":
        Y = one_hot(rng.integers(0, n_out, size=m), n_out)
    elif loss == "binary_cross_entropy":
        Y = (rng.random((n_out, m)) > 0.5).astype(float)
    else:
        Y = rng.normal(size=(n_out, m))
    w = rng.uniform(0.1, 3.0, size=m) if weighted else None
    net = Network([4, 5, 3, n_out], activations=hidden, loss=loss, seed=4)
    result = gradient_check(net, X, Y, l2=l2, sample_weight=w)
    assert result.difference < 1e-7, result.table()


def test_integer_sample_weight_equals_duplicating_examples():
    """Keras/PyTorch semantics: weight 2 on an example is that example counted twice (batch GD)."""
    X, Y = binary_data(m=10)
    w = np.ones(10)
    w[[0, 3]] = [2.0, 3.0]
    Xd = np.concatenate([X, X[:, [0]], X[:, [3, 3]]], axis=1)
    Yd = np.concatenate([Y, Y[:, [0]], Y[:, [3, 3]]], axis=1)
    a, b = Network([3, 4, 1], seed=6), Network([3, 4, 1], seed=6)
    ha = a.fit(X, Y, epochs=3, learning_rate=0.5, sample_weight=w, verbose=0)
    hb = b.fit(Xd, Yd, epochs=3, learning_rate=0.5, verbose=0)
    assert_params_close(a.params, b.params, rtol=1e-12, atol=1e-14)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)


def test_class_weights_balanced_and_dict_values():
    y = np.array([0, 0, 0, 0, 0, 0, 1, 1, 2, 2, 2, 2])
    Y = one_hot(y, 3)
    cw = class_weights(Y, "balanced")
    # m / (n_classes · count_c): 12 / (3·6), 12 / (3·2), 12 / (3·4)
    np.testing.assert_allclose(cw, np.array([12 / 18, 12 / 6, 12 / 12])[y])
    np.testing.assert_array_equal(class_weights(Y, {1: 5.0}), np.where(y == 1, 5.0, 1.0))
    Yb = (np.arange(8) < 2).astype(float).reshape(1, 8)  # sigmoid: 2 ones, 6 zeros
    np.testing.assert_allclose(class_weights(Yb, "balanced"), np.where(Yb[0] > 0.5, 8 / 4, 8 / 12))


@pytest.mark.parametrize(
    "bad,msg",
    [
        ("bogus", "class_weight must be 'balanced' or a dict"),
        ({5: 1.0}, "class_weight key 5 is not a class index"),
        ({0: -1.0}, r"class_weight\[0\] = -1.0 must be a finite number >= 0"),
        ([1.0, 2.0], "class_weight must be 'balanced' or a dict"),
    ],
)
def test_class_weights_bad_values(bad, msg):
    with pytest.raises(ValueError, match=msg):
        class_weights(one_hot([0, 1, 2], 3), bad)


@pytest.mark.parametrize("batch_size", [None, 5])
def test_fit_balanced_class_weight_equals_equivalent_sample_weight(batch_size):
    rng = np.random.default_rng(7)
    y = np.array([0] * 14 + [1] * 4 + [2] * 6)
    rng.shuffle(y)
    X = rng.normal(size=(4, y.size)) + y
    Y = one_hot(y, 3)
    kw = dict(epochs=4, learning_rate=0.05, optimizer="adam", batch_size=batch_size, verbose=0)
    a = Network([4, 6, 3], loss="categorical_cross_entropy", seed=8)
    b = Network([4, 6, 3], loss="categorical_cross_entropy", seed=8)
    c = Network([4, 6, 3], loss="categorical_cross_entropy", seed=8)
    ha = a.fit(X, Y, class_weight="balanced", **kw)
    counts = np.bincount(y)
    hb = b.fit(X, Y, sample_weight=y.size / (3 * counts[y]), **kw)
    c.fit(X, Y, **kw)
    assert_params_close(a.params, b.params, rtol=1e-12, atol=1e-14)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)
    assert not np.allclose(a.params["W1"], c.params["W1"])  # the weights did something


def test_zero_weight_examples_have_no_influence():
    X, Y = binary_data(m=12)
    w = np.ones(12)
    w[[1, 5, 6]] = 0.0
    keep = w > 0
    a, b = Network([3, 4, 1], seed=9), Network([3, 4, 1], seed=9)
    ha = a.fit(X, Y, epochs=3, learning_rate=0.4, sample_weight=w, verbose=0)
    hb = b.fit(X[:, keep], Y[:, keep], epochs=3, learning_rate=0.4, verbose=0)
    assert_params_close(a.params, b.params)
    assert ha.loss == pytest.approx(hb.loss, rel=1e-12)


def test_sample_weight_follows_its_columns_through_the_shuffle():
    """Mini-batch gd with weights worked by hand: the batch's weights are w[perm][cols]."""
    X, Y = binary_data(m=11)
    w = np.linspace(0.2, 3.0, 11)
    net = Network([3, 4, 1], seed=35)
    ref = net.copy()
    net.fit(X, Y, epochs=2, learning_rate=0.2, batch_size=4, sample_weight=w, verbose=0)
    for _ in range(2):
        perm = ref.rng.permutation(11)
        for k in range(0, 11, 4):
            cols = perm[k : k + 4]
            ref.forward(X[:, cols])
            grads = ref.backward(Y[:, cols], sample_weight=w[cols])
            ref.params = {p: v - 0.2 * grads["d" + p] for p, v in ref.params.items()}
    assert_params_close(net.params, ref.params)


def test_validation_fraction_splits_the_sample_weights_with_the_columns():
    X, Y = softmax_data(m=40)
    w = np.linspace(0.5, 2.0, 40)
    a = Network([4, 6, 3], loss="categorical_cross_entropy", seed=36)
    b = Network([4, 6, 3], loss="categorical_cross_entropy", seed=36)
    ha = a.fit(
        X, Y, epochs=3, learning_rate=0.1, sample_weight=w, validation_fraction=0.25, validation_seed=2, verbose=0
    )
    train, val = train_validation_split(Y, 0.25, 2, stratify=True)
    hb = b.fit(
        X[:, train],
        Y[:, train],
        epochs=3,
        learning_rate=0.1,
        sample_weight=w[train],
        validation_data=(X[:, val], Y[:, val]),
        verbose=0,
    )
    assert_params_close(a.params, b.params)
    assert ha.val_loss == pytest.approx(hb.val_loss, rel=1e-12)


def test_class_weight_and_sample_weight_multiply():
    X, Y = binary_data(m=12)
    sw = np.linspace(0.5, 2.0, 12)
    a, b = Network([3, 4, 1], seed=9), Network([3, 4, 1], seed=9)
    a.fit(X, Y, epochs=2, learning_rate=0.3, sample_weight=sw, class_weight={1: 3.0}, verbose=0)
    b.fit(X, Y, epochs=2, learning_rate=0.3, sample_weight=sw * np.where(Y[0] > 0.5, 3.0, 1.0), verbose=0)
    assert_params_close(a.params, b.params)


# ------------------------------------------------------------------------------------- dropout
def test_dropout_masks_scale_activations_by_inverse_keep_prob():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(6, 3000))
    net = Network([6, 40, 30, 2], activations="relu", loss="mse", seed=10)
    net.forward(X, keep_prob=0.8)
    c = net.caches
    assert c[1].D is not None and c[2].D is not None and c[3].D is None  # output layer keeps all
    for l in (1, 2):
        assert c[l].D.shape == c[l].A.shape
        np.testing.assert_allclose(c[l + 1].A_prev, c[l].A * c[l].D / 0.8, rtol=1e-15, atol=0)
        assert c[l].D.mean() == pytest.approx(0.8, abs=0.01)
    np.testing.assert_allclose(c[1].A_prev, X)  # no dropout on the input


def test_dropout_keep_prob_list_per_hidden_layer():
    X = np.random.default_rng(1).normal(size=(5, 4000))
    net = Network([5, 30, 30, 30, 1], seed=11)
    net.forward(X, keep_prob=[0.5, 1.0, 0.9])
    c = net.caches
    assert c[1].D.mean() == pytest.approx(0.5, abs=0.01)
    assert c[2].D is None
    np.testing.assert_array_equal(c[3].A_prev, c[2].A)
    assert c[3].D.mean() == pytest.approx(0.9, abs=0.01)
    np.testing.assert_allclose(c[2].A_prev, c[1].A * c[1].D / 0.5, rtol=1e-15, atol=0)
    np.testing.assert_allclose(c[4].A_prev, c[3].A * c[3].D / 0.9, rtol=1e-15, atol=0)


def test_fit_applies_dropout_in_training_and_the_backward_uses_the_same_masks():
    X, Y = binary_data(m=40)
    net = Network([3, 20, 20, 1], seed=12)
    net.fit(X, Y, epochs=2, keep_prob=0.6, verbose=0)
    assert net.caches[1].D is not None and net.caches[2].D is not None
    assert net.caches[1].D.mean() == pytest.approx(0.6, abs=0.1)

    # backward with dropout = finite differences of J with the masks held fixed
    def J(params):
        AL, caches = propagation.forward(
            X, params, net.activations, keep_prob=(0.6, 0.6, 1.0), rng=np.random.default_rng(99)
        )
        return propagation.cost(AL, Y, net.loss, ZL=caches[3].Z)

    params = copy_params(net)
    AL, caches = propagation.forward(
        X, params, net.activations, keep_prob=(0.6, 0.6, 1.0), rng=np.random.default_rng(99)
    )
    grads = propagation.backward(AL, Y, caches, params, net.activations, net.loss, keep_prob=(0.6, 0.6, 1.0))
    eps, g, g_hat = 1e-6, [], []
    for k, theta in params.items():
        for idx in np.ndindex(theta.shape):
            saved = theta[idx]
            theta[idx] = saved + eps
            jp = J(params)
            theta[idx] = saved - eps
            jm = J(params)
            theta[idx] = saved
            g.append(grads["d" + k][idx])
            g_hat.append((jp - jm) / (2 * eps))
    g, g_hat = np.array(g), np.array(g_hat)
    assert np.linalg.norm(g - g_hat) / (np.linalg.norm(g) + np.linalg.norm(g_hat)) < 1e-7


def test_dropout_is_off_at_prediction():
    X, Y = binary_data(m=30)
    net = Network([3, 16, 16, 1], seed=13)
    net.fit(X, Y, epochs=3, keep_prob=0.5, batch_size=8, verbose=0)
    rng_state = net.rng.bit_generator.state
    p1 = net.predict_output(X)
    p2 = net.predict_output(X)
    assert np.array_equal(p1, p2)
    assert net.rng.bit_generator.state == rng_state  # prediction draws no masks
    assert np.array_equal(p1, net.forward(X))  # a forward without keep_prob
    assert net.caches[1].D is None and net.caches[2].D is None
    train_out = net.forward(X, keep_prob=0.5)
    assert not np.array_equal(train_out, p1)


@pytest.mark.parametrize("keep_prob", [0.0, -0.1, 1.5, float("nan"), [0.5], [0.5, 0.5, 0.5], [0.5, 0.0]])
def test_bad_keep_prob_raises(keep_prob):
    X, Y = binary_data()
    net = Network([3, 4, 4, 1], seed=0)
    before = copy_params(net)
    pattern = r"keep_prob (must be in \(0, 1\]|has \d+ values but the network has 2 hidden layers)"
    with pytest.raises(ValueError, match=pattern):
        net.fit(X, Y, epochs=1, keep_prob=keep_prob, verbose=0)
    with pytest.raises(ValueError, match=pattern):
        net.forward(X, keep_prob=keep_prob)
    assert_params_equal(net.params, before)


# ------------------------------------------------------------------------------------- early stopping / restore best
def noise_problem(seed=0):
    """Labels without signal: training overfits, so validation loss falls and then rises."""
    rng = np.random.default_rng(seed)
    X, Xv = rng.normal(size=(10, 40)), rng.normal(size=(10, 40))
    Y = (rng.random((1, 40)) > 0.5).astype(float)
    Yv = (rng.random((1, 40)) > 0.5).astype(float)
    return X, Y, Xv, Yv


def test_early_stopping_restores_best_epoch_weights():
    X, Y, Xv, Yv = noise_problem()
    net = Network([10, 32, 1], seed=0)
    rec = Recorder()
    h = net.fit(
        X,
        Y,
        epochs=300,
        learning_rate=0.02,
        optimizer="adam",
        validation_data=(Xv, Yv),
        early_stopping=True,
        patience=5,
        callbacks=[rec],
        verbose=0,
    )
    assert h.stop_reason == "early_stopping"
    assert len(h.loss) < 300
    best = int(np.argmin(h.val_loss))
    assert h.best_epoch == h.epochs[best] == best
    assert h.val_loss[best] == min(h.val_loss)
    assert len(h.val_loss) == best + 5 + 1  # patience epochs without improvement
    assert_params_equal(net.params, rec.params[best])
    assert net.compute_cost(Xv, Yv) == pytest.approx(h.val_loss[best], rel=1e-12)


def test_restore_best_when_training_ends_by_max_epochs():
    X, Y, Xv, Yv = noise_problem(1)
    net = Network([10, 32, 1], seed=1)
    rec = Recorder()
    h = net.fit(
        X,
        Y,
        epochs=40,
        learning_rate=0.02,
        optimizer="adam",
        validation_data=(Xv, Yv),
        restore_best=True,
        callbacks=[rec],
        verbose=0,
    )
    assert h.stop_reason == "epochs" and len(h.loss) == 40
    best = int(np.argmin(h.val_loss))
    assert 0 < best < 39  # a real minimum inside the run
    assert h.best_epoch == best
    assert_params_equal(net.params, rec.params[best])
    assert not np.array_equal(net.params["W1"], rec.params[-1]["W1"])


def test_without_restore_the_last_weights_stay():
    X, Y, Xv, Yv = noise_problem(1)
    net = Network([10, 32, 1], seed=1)
    rec = Recorder()
    h = net.fit(
        X, Y, epochs=40, learning_rate=0.02, optimizer="adam", validation_data=(Xv, Yv), callbacks=[rec], verbose=0
    )
    assert h.best_epoch is None
    assert_params_equal(net.params, rec.params[-1])


def test_early_stopping_on_val_accuracy_keeps_the_first_best():
    X, Y, Xv, Yv = noise_problem(2)
    net = Network([10, 32, 1], seed=2)
    rec = Recorder()
    h = net.fit(
        X,
        Y,
        epochs=200,
        learning_rate=0.02,
        optimizer="adam",
        validation_data=(Xv, Yv),
        early_stopping=True,
        monitor="val_accuracy",
        patience=8,
        callbacks=[rec],
        verbose=0,
    )
    acc = h.metrics["val_accuracy"]
    best = int(np.argmax(acc))  # first epoch reaching the maximum
    assert h.stop_reason == "early_stopping"
    assert h.best_epoch == best
    assert len(acc) == best + 8 + 1
    assert_params_equal(net.params, rec.params[best])
    assert net.accuracy(Xv, Yv) == pytest.approx(max(acc))


def test_early_stopping_without_validation_data_holds_out_ten_percent():
    X, Y = softmax_data(m=60)
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=3)
    rec = Recorder()
    h = net.fit(X, Y, epochs=4, early_stopping=True, callbacks=[rec], verbose=0)
    assert len(h.val_loss) == 4
    _, val = train_validation_split(Y, 0.1, 3, stratify=True)  # seed: the network's
    assert val.size == 6
    best = int(np.argmin(h.val_loss))
    assert h.best_epoch == best  # restore_best defaults to early_stopping
    assert_params_equal(net.params, rec.params[best])
    assert h.val_loss[best] == pytest.approx(net.compute_cost(X[:, val], Y[:, val]), rel=1e-12)


def test_min_delta_counts_small_improvements_as_none():
    X, Y = binary_data(m=30)
    net = Network([3, 4, 1], seed=4)
    h = net.fit(
        X, Y, epochs=50, learning_rate=1e-4, early_stopping=True, monitor="loss", min_delta=1.0, patience=3, verbose=0
    )
    # the loss falls every epoch but never by 1.0: epoch 0 is the best, three more epochs, stop
    assert all(b < a for a, b in zip(h.loss, h.loss[1:]))
    assert h.stop_reason == "early_stopping" and len(h.loss) == 4 and h.best_epoch == 0


# ------------------------------------------------------------------------------------- continuation and reproducibility
CONT = dict(
    learning_rate=0.01,
    optimizer="adam",
    batch_size=7,
    shuffle=True,
    keep_prob=0.8,
    schedule={"name": "inverse_time", "decay_rate": 0.5},
    verbose=0,
)


def test_fit_twice_equals_fit_once_bit_for_bit():
    X, Y = softmax_data(m=30)
    a = Network([4, 8, 6, 3], loss="categorical_cross_entropy", seed=21)
    b = Network([4, 8, 6, 3], loss="categorical_cross_entropy", seed=21)
    h1 = a.fit(X, Y, epochs=4, **CONT)
    h2 = a.fit(X, Y, epochs=4, **CONT)
    hb = b.fit(X, Y, epochs=8, **CONT)
    assert_params_equal(a.params, b.params)
    assert h1.loss + h2.loss == hb.loss
    assert h1.epochs + h2.epochs == hb.epochs == list(range(8))
    assert h2.metrics["learning_rate"] == pytest.approx([0.01 / (1 + 0.5 * e) for e in range(4, 8)], rel=1e-15)
    assert a.rng.bit_generator.state == b.rng.bit_generator.state


@settings(max_examples=15, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 6), min_size=1, max_size=3),
    optimizer=st.sampled_from(["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw"]),
    batch_size=st.sampled_from([None, 1, 4, 7]),
    keep_prob=st.sampled_from([1.0, 0.7]),
    schedule=st.sampled_from([None, "inverse_time", {"name": "step", "step_size": 1, "gamma": 0.5}]),
    epochs=st.integers(1, 3),
)
def test_continuation_is_bit_exact_for_any_architecture(hidden, optimizer, batch_size, keep_prob, schedule, epochs):
    X, Y = softmax_data(m=13)
    dims = [4, *hidden, 3]
    kw = dict(
        learning_rate=0.01,
        optimizer=optimizer,
        batch_size=batch_size,
        keep_prob=keep_prob,
        schedule=schedule,
        verbose=0,
    )
    a = Network(dims, loss="categorical_cross_entropy", seed=7)
    b = Network(dims, loss="categorical_cross_entropy", seed=7)
    a.fit(X, Y, epochs=epochs, **kw)
    a.fit(X, Y, epochs=epochs, **kw)
    h = b.fit(X, Y, epochs=2 * epochs, **kw)
    assert_params_equal(a.params, b.params)
    assert len(h.loss) == 2 * epochs


def test_same_seed_and_data_give_bit_identical_params_and_another_seed_does_not():
    X, Y = softmax_data(m=30)
    nets = [Network([4, 8, 3], loss="categorical_cross_entropy", seed=s) for s in (5, 5, 6)]
    hs = [n.fit(X, Y, epochs=3, **CONT) for n in nets]
    assert_params_equal(nets[0].params, nets[1].params)
    assert hs[0].loss == hs[1].loss
    assert not np.array_equal(nets[0].params["W1"], nets[2].params["W1"])


def test_global_numpy_random_is_untouched():
    X, Y = softmax_data(m=30)
    np.random.seed(12345)
    state = np.random.get_state()
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=None)
    net.fit(X, Y, epochs=2, validation_fraction=0.2, **CONT)
    net.predict(X)
    after = np.random.get_state()
    assert after[0] == state[0] and np.array_equal(after[1], state[1]) and after[2:] == state[2:]


def test_reset_restarts_the_optimizer_and_epoch_count():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=22)
    net.fit(X, Y, epochs=3, learning_rate=0.01, optimizer="adam", schedule="inverse_time", verbose=0)
    ref = net.copy()
    h = net.fit(X, Y, epochs=1, learning_rate=0.01, optimizer="adam", schedule="inverse_time", reset=True, verbose=0)
    # a fresh Adam: t = 1, zero moments, and the schedule back at epoch 0 (α = α0)
    hand_steps(ref, X, Y, _adam, [0.01], {})
    assert_params_close(net.params, ref.params)
    assert h.epochs == [0]
    assert h.metrics["learning_rate"] == [0.01]


def test_reset_training_equals_reset_flag():
    X, Y = softmax_data(m=30)
    a = Network([4, 8, 3], loss="categorical_cross_entropy", seed=23)
    b = Network([4, 8, 3], loss="categorical_cross_entropy", seed=23)
    for n in (a, b):
        n.fit(X, Y, epochs=2, **CONT)
    a.fit(X, Y, epochs=2, reset=True, **CONT)
    b.reset_training()
    b.fit(X, Y, epochs=2, **CONT)
    assert_params_equal(a.params, b.params)
    c = Network([4, 8, 3], loss="categorical_cross_entropy", seed=23)
    c.fit(X, Y, epochs=4, **CONT)
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_changing_the_optimizer_starts_a_fresh_state():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=24)
    net.fit(X, Y, epochs=2, learning_rate=0.01, optimizer="momentum", verbose=0)
    ref = net.copy()
    net.fit(X, Y, epochs=1, learning_rate=0.01, optimizer="adam", verbose=0)
    hand_steps(ref, X, Y, _adam, [0.01], {})
    assert_params_close(net.params, ref.params)


def test_fit_config_is_recorded_in_metadata():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    net.fit(X, Y, epochs=2, learning_rate=0.05, optimizer="adam", l2=0.1, verbose=0)
    cfg = net.metadata["training"]
    assert cfg == {**FitConfig(epochs=2, learning_rate=0.05, optimizer="adam", l2=0.1, verbose=0).to_json()}
    assert cfg["optimizer"] == "adam" and cfg["l2"] == 0.1 and cfg["epochs"] == 2
    net.fit(
        X,
        Y,
        epochs=1,
        optimizer={"name": "momentum", "beta": 0.5},
        schedule={"name": "step", "step_size": 3},
        verbose=0,
    )
    cfg = net.metadata["training"]
    assert cfg["optimizer"] == {"name": "momentum", "beta": 0.5}
    assert cfg["schedule"] == {"name": "step", "step_size": 3}


def test_fit_config_json_of_optimizer_and_schedule_objects_rebuilds_them():
    """Objects are recorded by their get_config(), name included, so get_optimizer/get_schedule rebuild them."""
    import json

    from vecprop.optimizers import Momentum, get_optimizer
    from vecprop.schedules import Step, get_schedule

    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    net.fit(X, Y, epochs=1, optimizer=Momentum(beta=0.5), schedule=Step(step_size=3, gamma=0.5), verbose=0)
    cfg = json.loads(json.dumps(net.metadata["training"]))
    assert cfg["optimizer"] == Momentum(beta=0.5).get_config() == {"name": "momentum", "beta": 0.5}
    assert cfg["schedule"] == Step(step_size=3, gamma=0.5).get_config()
    assert get_optimizer(cfg["optimizer"]) == Momentum(beta=0.5)
    assert get_schedule(cfg["schedule"]) == Step(step_size=3, gamma=0.5)


def test_params_keep_their_identity_through_fit_and_are_views_of_one_vector():
    X, Y = softmax_data()
    net = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=0)
    before = dict(net.params)
    net.fit(X, Y, epochs=3, learning_rate=0.1, batch_size=8, optimizer="adam", verbose=0)
    for k, v in net.params.items():
        assert v is before[k]  # updated in place
        assert v.base is net._theta
    assert not np.array_equal(net.params["W1"], copy_params(Network([4, 5, 3], "relu", seed=0))["W1"])


@pytest.mark.parametrize("how", ["item", "setter", "deepcopy"])
def test_fit_trains_parameters_however_they_were_set(how):
    """Assigning one entry of net.params, the whole dict, or deep-copying the network: fit trains those values."""
    X, Y = softmax_data()
    ref = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=0)
    W1 = np.full((5, 4), 0.1)
    net = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=0)
    if how == "item":
        net.params["W1"] = W1.copy()
    elif how == "setter":
        net.params = {**net.params, "W1": W1.copy()}
    else:
        original = net
        original.params = {**original.params, "W1": W1.copy()}
        net = copy.deepcopy(original)
    ref.params = {**ref.params, "W1": W1.copy()}
    kw = dict(epochs=4, learning_rate=0.1, batch_size=10, optimizer="momentum", verbose=0)
    ref.fit(X, Y, **kw)
    net.fit(X, Y, **kw)
    assert_params_equal(copy_params(net), copy_params(ref))
    if how == "deepcopy":
        np.testing.assert_array_equal(original.params["W1"], W1)  # the original is untouched


def test_saved_training_state_has_the_course_per_layer_keys():
    X, Y = softmax_data()
    net = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=0)
    net.fit(X, Y, epochs=2, learning_rate=0.01, batch_size=10, optimizer="adam", verbose=0)
    arrays, info = net.training_state()
    assert set(arrays) == {f"{m}d{p}{l}" for m in "vs" for p in "Wb" for l in (1, 2)}
    assert arrays["vdW1"].shape == (5, 4) and arrays["sdb2"].shape == (3, 1)
    assert info["optimizer_scalars"]["t"] == 6
    # v after 6 Adam steps is a weighted mean of the gradients: nonzero and per layer where it belongs
    assert np.abs(arrays["vdW2"]).sum() > 0 and np.abs(arrays["vdb1"]).sum() > 0


def test_shuffled_mini_batches_copy_nothing_the_size_of_X_when_its_columns_are_contiguous():
    """X_rows.T (or any Fortran-order X) is gathered batch by batch; a row-major X is copied once."""
    import tracemalloc

    rng = np.random.default_rng(0)
    X_rows = rng.standard_normal((5000, 200))  # 8 MB
    Y = one_hot(rng.integers(0, 3, 5000), 3)
    peaks = {}
    for name, X in (("columns", X_rows.T), ("rows", np.ascontiguousarray(X_rows.T))):
        net = Network([200, 16, 3], "relu", "categorical_cross_entropy", seed=0)
        tracemalloc.start()
        net.fit(X, Y, epochs=1, learning_rate=0.01, batch_size=100, verbose=0)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks["columns"] < 1e6 < X_rows.nbytes <= peaks["rows"], peaks


def test_float32_network_trains_in_float32():
    X, Y = softmax_data(m=30)
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=25, dtype="float32")
    h = net.fit(
        X,
        Y,
        epochs=5,
        learning_rate=0.05,
        optimizer="adam",
        batch_size=8,
        keep_prob=0.9,
        l2=0.01,
        class_weight="balanced",
        clip_norm=5.0,
        verbose=0,
    )
    assert all(v.dtype == np.float32 for v in net.params.values())
    assert np.isfinite(h.loss).all() and h.loss[-1] < h.loss[0]


# ------------------------------------------------------------------------------------- divergence
def diverging():
    X, Y = regression_data(m=20)
    return X, 100 * Y, Network([2, 8, 1], activations="relu", loss="mse", seed=30)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("batch_size", [None, 5])
def test_divergence_raises_with_epoch_batch_and_advice(batch_size):
    X, Y, net = diverging()
    rec = Recorder()
    with pytest.raises(DivergenceError) as info:
        net.fit(X, Y, epochs=200, learning_rate=1e3, batch_size=batch_size, shuffle=False, callbacks=[rec], verbose=0)
    err = info.value
    assert isinstance(err, FloatingPointError) and isinstance(err, ValueError)
    msg = str(err)
    match = re.search(r"at epoch (\d+), batch (\d+)", msg)
    assert match, msg
    epoch, batch = int(match.group(1)), int(match.group(2))
    assert epoch == len(rec.epochs)  # the first epoch that did not complete
    assert 0 <= batch < (1 if batch_size is None else 4)
    assert "smaller learning_rate" in msg
    assert all(np.isfinite(v).all() for v in net.params.values())
    assert rec.params  # it got through some epochs first
    assert_params_equal(net.params, rec.params[-1])  # the last finite parameters: the last good epoch's


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_divergence_error_is_caught_as_floating_point_error_and_value_error():
    for exc in (FloatingPointError, ValueError):
        X, Y, net = diverging()
        with pytest.raises(exc, match="NaN or infinite"):
            net.fit(X, Y, epochs=200, learning_rate=1e3, verbose=0)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_stop_on_nan_stops_quietly():
    X, Y, net = diverging()
    rec = Recorder()
    h = net.fit(X, Y, epochs=200, learning_rate=1e3, callbacks=[StopOnNaN(), rec], verbose=0)
    assert h.stop_reason == "diverged"
    assert len(h.loss) == len(rec.epochs) < 200
    assert all(np.isfinite(v).all() for v in net.params.values())
    if rec.params:
        assert_params_equal(net.params, rec.params[-1])


def test_a_stable_learning_rate_does_not_diverge():
    X, Y, net = diverging()
    h = net.fit(X, Y / 100, epochs=50, learning_rate=0.01, verbose=0)
    assert h.stop_reason == "epochs" and h.loss[-1] < h.loss[0]


# ------------------------------------------------------------------------------------- schedules in history
SCHEDULE_CASES = [
    (None, lambda a0, e: a0),
    ("inverse_time", lambda a0, e: a0 / (1 + e)),
    (
        {"name": "inverse_time", "decay_rate": 0.3, "staircase": True, "time_interval": 3},
        lambda a0, e: a0 / (1 + 0.3 * (e // 3)),
    ),
    ({"name": "exponential", "gamma": 0.8}, lambda a0, e: a0 * 0.8**e),
    ({"name": "step", "step_size": 2, "gamma": 0.5}, lambda a0, e: a0 * 0.5 ** (e // 2)),
    (
        {"name": "cosine", "T_max": 4, "eta_min": 0.001},
        lambda a0, e: 0.001 + (a0 - 0.001) * (1 + math.cos(math.pi * min(e, 4) / 4)) / 2,
    ),
    ({"name": "invscaling", "power_t": 0.5}, lambda a0, e: a0 / math.sqrt(e + 1)),
]


@pytest.mark.parametrize("schedule,expected", SCHEDULE_CASES)
def test_schedule_values_show_up_in_history(schedule, expected):
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    h = net.fit(X, Y, epochs=6, learning_rate=0.1, schedule=schedule, verbose=0)
    assert h.metrics["learning_rate"] == pytest.approx([expected(0.1, e) for e in range(6)], rel=1e-14)
    assert h["learning_rate"] is h.metrics["learning_rate"]


def test_schedule_learning_rate_is_the_one_used_for_the_updates():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=31)
    ref = net.copy()
    net.fit(X, Y, epochs=4, learning_rate=0.2, schedule={"name": "step", "step_size": 2, "gamma": 0.1}, verbose=0)
    hand_steps(ref, X, Y, _gd, [0.2, 0.2, 0.02, 0.02], {})
    assert_params_close(net.params, ref.params)


def test_plateau_schedule_is_stepped_with_the_monitored_value():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    # min_delta so large that no epoch after the first counts as an improvement: a halving each epoch
    h = net.fit(
        X,
        Y,
        epochs=5,
        learning_rate=0.1,
        verbose=0,
        schedule={"name": "reduce_on_plateau", "factor": 0.5, "patience": 1, "min_delta": 1e9},
    )
    assert h.metrics["learning_rate"] == pytest.approx([0.1, 0.1, 0.05, 0.025, 0.0125], rel=1e-15)


# ------------------------------------------------------------------------------------- mini-batches
def test_mini_batches_permutation_from_the_generator_last_batch_smaller():
    perm, batches = mini_batches(10, 4, np.random.default_rng(3))
    np.testing.assert_array_equal(perm, np.random.default_rng(3).permutation(10))
    assert batches == [slice(0, 4), slice(4, 8), slice(8, 10)]
    assert mini_batches(10, None, np.random.default_rng(0)) == (None, [slice(0, 10)])
    assert mini_batches(10, 10, np.random.default_rng(0)) == (None, [slice(0, 10)])
    assert mini_batches(10, 64, np.random.default_rng(0)) == (None, [slice(0, 10)])
    perm, batches = mini_batches(9, 3, None, shuffle=False)
    assert perm is None and batches == [slice(0, 3), slice(3, 6), slice(6, 9)]


@pytest.mark.parametrize("m,batch_size", [(10, 3), (64, 16), (7, 1)])
def test_mini_batches_cover_every_column_once(m, batch_size):
    perm, batches = mini_batches(m, batch_size, np.random.default_rng(m))
    np.testing.assert_array_equal(np.sort(perm), np.arange(m))
    sizes = [s.stop - s.start for s in batches]
    assert sizes == [batch_size] * (m // batch_size) + ([m % batch_size] if m % batch_size else [])
    assert np.array_equal(np.concatenate([perm[s] for s in batches]), perm)


def test_fit_shuffles_with_the_network_generator_as_the_course_does():
    """Mini-batch gd worked by hand: each epoch a permutation from net.rng, batches in order."""
    X, Y = binary_data(m=11)
    net = Network([3, 4, 1], seed=32)
    ref = net.copy()
    rec = Recorder()
    net.fit(X, Y, epochs=3, learning_rate=0.1, batch_size=4, callbacks=[rec], verbose=0)
    for _ in range(3):
        perm = ref.rng.permutation(11)
        Xs, Ys = X[:, perm], Y[:, perm]
        for k in range(0, 11, 4):
            ref.forward(Xs[:, k : k + 4])
            grads = ref.backward(Ys[:, k : k + 4])
            ref.params = {p: v - 0.1 * grads["d" + p] for p, v in ref.params.items()}
    assert_params_close(net.params, ref.params)
    assert [b[2]["size"] for b in rec.batches] == [4, 4, 3] * 3
    assert [b[1] for b in rec.batches] == [0, 1, 2] * 3


def test_no_shuffle_keeps_column_order_every_epoch():
    X, Y = binary_data(m=10)
    net = Network([3, 4, 1], seed=33)
    ref = net.copy()
    net.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=4, shuffle=False, verbose=0)
    for _ in range(2):
        for k in range(0, 10, 4):
            ref.forward(X[:, k : k + 4])
            grads = ref.backward(Y[:, k : k + 4])
            ref.params = {p: v - 0.1 * grads["d" + p] for p, v in ref.params.items()}
    assert_params_close(net.params, ref.params)


def test_epoch_loss_is_the_example_weighted_mean_of_batch_losses():
    X, Y = binary_data(m=10)
    net = Network([3, 4, 1], seed=34)
    rec = Recorder()
    h = net.fit(X, Y, epochs=2, batch_size=4, callbacks=[rec], verbose=0)
    for e in range(2):
        b = [logs for ep, _, logs in rec.batches if ep == e]
        assert h.loss[e] == pytest.approx(sum(l["loss"] * l["size"] for l in b) / 10, rel=1e-12)


# ------------------------------------------------------------------------------------- validation
def test_validation_data_metrics_are_the_final_networks():
    X, Y = softmax_data(m=40, seed=1)
    Xv, Yv = softmax_data(m=20, seed=2)
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=40)
    initial_cost = net.compute_cost(X, Y)
    initial_acc = net.accuracy(X, Y)
    h = net.fit(X, Y, epochs=5, learning_rate=0.1, validation_data=(Xv, Yv), verbose=0)
    for key in ("accuracy", "val_accuracy", "learning_rate", "seconds"):
        assert len(h.metrics[key]) == 5, key
    assert len(h.loss) == len(h.val_loss) == 5
    assert all(s > 0 for s in h.metrics["seconds"])
    assert h.loss[0] == pytest.approx(initial_cost, rel=1e-12)  # batch GD: J before the update
    assert h.metrics["accuracy"][0] == pytest.approx(initial_acc)
    assert h.val_loss[-1] == pytest.approx(net.compute_cost(Xv, Yv), rel=1e-12)
    assert h.metrics["val_accuracy"][-1] == pytest.approx(net.accuracy(Xv, Yv))
    assert h["val_loss"] is h.val_loss and h["loss"] is h.loss
    assert isinstance(h, History)


def test_regression_history_has_no_accuracy():
    X, Y = regression_data()
    net = Network([2, 4, 1], loss="mse", seed=41)
    h = net.fit(X, Y, epochs=3, validation_data=(X, Y), verbose=0)
    assert "accuracy" not in h.metrics and "val_accuracy" not in h.metrics
    assert len(h.val_loss) == 3


def test_train_validation_split_is_stratified_seeded_and_a_partition():
    y = np.array([0] * 40 + [1] * 20 + [2] * 12)
    Y = one_hot(y, 3)
    train, val = train_validation_split(Y, 0.25, seed=7, stratify=True)
    assert np.array_equal(np.sort(np.concatenate([train, val])), np.arange(y.size))
    assert np.intersect1d(train, val).size == 0
    assert np.bincount(y[val], minlength=3).tolist() == [10, 5, 3]  # 25 % of each class
    assert np.bincount(y[train], minlength=3).tolist() == [30, 15, 9]
    again = train_validation_split(Y, 0.25, seed=7, stratify=True)
    assert np.array_equal(again[1], val)
    other = train_validation_split(Y, 0.25, seed=8, stratify=True)
    assert not np.array_equal(other[1], val)
    # sigmoid targets are stratified on the 0/1 value
    yb = (np.arange(50) < 10).astype(float).reshape(1, 50)
    _, vb = train_validation_split(yb, 0.2, seed=0, stratify=True)
    assert vb.size == 10 and yb[0, vb].sum() == 2


def test_validation_fraction_in_fit_uses_the_stratified_seeded_split():
    rng = np.random.default_rng(3)
    y = np.array([0] * 30 + [1] * 15 + [2] * 15)
    rng.shuffle(y)
    X = rng.normal(size=(4, 60)) + y
    Y = one_hot(y, 3)
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=42)
    h = net.fit(X, Y, epochs=3, learning_rate=0.1, validation_fraction=0.2, validation_seed=5, verbose=0)
    train, val = train_validation_split(Y, 0.2, 5, stratify=True)
    assert np.bincount(y[val]).tolist() == [6, 3, 3]
    assert h.val_loss[-1] == pytest.approx(net.compute_cost(X[:, val], Y[:, val]), rel=1e-12)
    # reproducible: the same call on the same seed gives the same numbers
    net2 = Network([4, 8, 3], loss="categorical_cross_entropy", seed=42)
    h2 = net2.fit(X, Y, epochs=3, learning_rate=0.1, validation_fraction=0.2, validation_seed=5, verbose=0)
    assert h2.val_loss == h.val_loss
    assert_params_equal(net.params, net2.params)
    # batch GD trains on the train columns only
    ref = Network([4, 8, 3], loss="categorical_cross_entropy", seed=42)
    hand_steps(ref, X[:, train], Y[:, train], _gd, [0.1] * 3, {})
    assert_params_close(net.params, ref.params)


def test_validation_fraction_default_seed_is_the_network_seed():
    X, Y = softmax_data(m=40)
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=17)
    h = net.fit(X, Y, epochs=1, validation_fraction=0.25, verbose=0)
    _, val = train_validation_split(Y, 0.25, 17, stratify=True)
    assert h.val_loss[0] == pytest.approx(net.compute_cost(X[:, val], Y[:, val]), rel=1e-12)


def test_validation_fraction_for_a_regressor_is_a_plain_random_split():
    X, Y = regression_data(m=20)
    net = Network([2, 4, 1], loss="mse", seed=43)
    h = net.fit(X, Y, epochs=2, validation_fraction=0.3, validation_seed=1, verbose=0)
    _, val = train_validation_split(Y, 0.3, 1, stratify=False)
    assert val.size == 6
    assert h.val_loss[-1] == pytest.approx(net.compute_cost(X[:, val], Y[:, val]), rel=1e-12)


@pytest.mark.parametrize(
    "vd,msg",
    [
        ((np.zeros((4, 3)),), "validation_data must be a pair"),
        ((np.zeros((5, 3)), np.zeros((3, 3))), r"X has shape \(5, 3\)"),
        ((np.zeros((4, 3)), np.zeros((3, 4))), r"Y has shape \(3, 4\)"),
    ],
)
def test_bad_validation_data(vd, msg):
    X, Y = softmax_data()
    with pytest.raises(ValueError, match=msg):
        Network([4, 5, 3], loss="categorical_cross_entropy", seed=0).fit(X, Y, validation_data=vd, verbose=0)


def test_too_small_validation_fraction_says_what_to_change():
    X, Y = binary_data(m=4)
    with pytest.raises(ValueError, match="leaves an empty training or validation set"):
        Network([3, 2, 1], seed=0).fit(X, Y, validation_fraction=0.01, verbose=0)


# ------------------------------------------------------------------------------------- gradient clipping
@pytest.mark.parametrize("clip_norm", [1e-3, 0.05])
def test_clip_norm_bounds_the_gd_update(clip_norm):
    X, Y = regression_data(m=20)
    Y = 50 * Y  # a large gradient
    net = Network([2, 6, 1], loss="mse", seed=50)
    W0 = copy_params(net)
    net.forward(X)
    grads = net.backward(Y)
    g_norm = math.sqrt(sum((grads["d" + k] ** 2).sum() for k in W0))
    assert g_norm > clip_norm
    lr = 0.5
    net.fit(X, Y, epochs=1, learning_rate=lr, clip_norm=clip_norm, verbose=0)
    update = {k: net.params[k] - W0[k] for k in W0}
    u_norm = math.sqrt(sum((u**2).sum() for u in update.values()))
    assert u_norm <= clip_norm * lr * (1 + 1e-12)
    assert u_norm == pytest.approx(clip_norm * lr, rel=1e-10)
    for k in W0:  # same direction as −dW, rescaled
        np.testing.assert_allclose(update[k], -lr * grads["d" + k] * clip_norm / g_norm, rtol=1e-10, atol=1e-15)


def test_clip_norm_above_the_gradient_norm_changes_nothing():
    X, Y = binary_data()
    a, b = Network([3, 4, 1], seed=51), Network([3, 4, 1], seed=51)
    a.fit(X, Y, epochs=3, learning_rate=0.1, clip_norm=1e6, verbose=0)
    b.fit(X, Y, epochs=3, learning_rate=0.1, verbose=0)
    assert_params_equal(a.params, b.params)


# ------------------------------------------------------------------------------------- Ctrl-C
class SigintAt(Callback):
    """Raises SIGINT, as Ctrl-C would, after batch ``batch`` of epoch ``epoch``; records params per epoch."""

    def __init__(self, epoch, batch):
        self.epoch, self.batch, self.done, self.params = epoch, batch, 0, []

    def on_batch_end(self, trainer, batch, logs):
        if self.done == self.epoch and batch == self.batch:
            signal.raise_signal(signal.SIGINT)

    def on_epoch_end(self, trainer, epoch, logs):
        self.done += 1
        self.params.append(copy_params(trainer.net))


def test_ctrl_c_mid_epoch_returns_the_history_so_far():
    X, Y = binary_data(m=24)
    net = Network([3, 6, 1], seed=60)
    handler = signal.getsignal(signal.SIGINT)
    cb = SigintAt(epoch=3, batch=1)
    h = net.fit(X, Y, epochs=20, batch_size=6, callbacks=[cb], verbose=0)
    assert h.stop_reason == "interrupted"
    assert h.epochs == [0, 1, 2]  # the partial epoch 3 is not recorded
    assert signal.getsignal(signal.SIGINT) is handler
    with pytest.raises(KeyboardInterrupt):  # Ctrl-C interrupts again after fit
        signal.raise_signal(signal.SIGINT)


def test_ctrl_c_at_the_end_of_an_epoch_keeps_that_epoch():
    X, Y = binary_data(m=24)
    net = Network([3, 6, 1], seed=61)
    cb = SigintAt(epoch=3, batch=3)
    h = net.fit(X, Y, epochs=20, batch_size=6, callbacks=[cb], verbose=0)
    assert h.stop_reason == "interrupted" and h.epochs == [0, 1, 2, 3]
    assert_params_equal(net.params, cb.params[-1])


def test_ctrl_c_with_early_stopping_restores_the_best_params():
    X, Y, Xv, Yv = noise_problem(3)
    net = Network([10, 32, 1], seed=62)
    handler = signal.getsignal(signal.SIGINT)
    cb = SigintAt(epoch=3, batch=0)
    h = net.fit(
        X,
        Y,
        epochs=100,
        learning_rate=0.05,
        optimizer="adam",
        batch_size=10,
        validation_data=(Xv, Yv),
        early_stopping=True,
        patience=50,
        callbacks=[cb],
        verbose=0,
    )
    assert h.stop_reason == "interrupted" and len(h.val_loss) == 3
    best = int(np.argmin(h.val_loss))
    assert h.best_epoch == best
    assert_params_equal(net.params, cb.params[best])
    assert signal.getsignal(signal.SIGINT) is handler


def test_a_second_ctrl_c_interrupts_at_once():
    class Twice(Callback):
        def on_batch_end(self, trainer, batch, logs):
            if batch == 1:
                signal.raise_signal(signal.SIGINT)
                signal.raise_signal(signal.SIGINT)

    X, Y = binary_data(m=24)
    handler = signal.getsignal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt):
        Network([3, 6, 1], seed=64).fit(X, Y, epochs=5, batch_size=6, callbacks=[Twice()], verbose=0)
    assert signal.getsignal(signal.SIGINT) is handler


def test_fit_in_a_worker_thread_leaves_signals_alone():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=63)
    out = {}
    worker = threading.Thread(target=lambda: out.update(h=net.fit(X, Y, epochs=2, verbose=0)))
    worker.start()
    worker.join()
    assert out["h"].stop_reason == "epochs" and len(out["h"].loss) == 2


# ------------------------------------------------------------------------------------- bad options
BAD_OPTIONS = [
    (dict(epochs=0), "epochs must be an integer >= 1, got 0"),
    (dict(epochs=2.5), "epochs must be an integer >= 1"),
    (dict(learning_rate=-1), "learning_rate must be a positive number, got -1"),
    (dict(learning_rate=0.0), "learning_rate must be a positive number"),
    (dict(learning_rate=float("nan")), "learning_rate must be a positive number"),
    (dict(batch_size=0), r"batch_size must be None \(all examples\) or an integer >= 1, got 0"),
    (dict(batch_size=2.5), "batch_size must be None"),
    (dict(validation_fraction=1.5), r"validation_fraction must be in \[0, 1\), got 1.5"),
    (dict(validation_fraction=-0.1), r"validation_fraction must be in \[0, 1\)"),
    (dict(optimizer="adamm"), "unknown optimizer 'adamm'; expected one of: adam, adamw, gd"),
    (dict(optimizer={"name": "adam", "beta3": 1}), "unknown hyperparameter 'beta3' for optimizer 'adam'"),
    (dict(optimizer={"name": "adam", "beta1": 1.5}), "beta1 must be a number in"),
    (dict(schedule="bogus"), "unknown schedule 'bogus'; expected one of:"),
    (dict(schedule={"name": "step", "gamma": 2.0}), "gamma must be a number in"),
    (dict(monitor="foo"), "monitor must be one of val_loss, val_accuracy, loss, accuracy; got 'foo'"),
    (dict(class_weight="bogus"), "class_weight must be 'balanced' or a dict"),
    (dict(l2=-1.0), r"l2 \(λ\) must be a number >= 0"),
    (dict(clip_norm=0), "clip_norm must be None or a positive number"),
    (dict(patience=0), "patience must be an integer >= 1"),
    (dict(print_every=0), "print_every must be None or an integer >= 1"),
    (dict(sample_weight=np.ones(3)), r"sample_weight has shape \(3,\); expected one weight per example"),
    (dict(sample_weight=-np.ones(24)), "sample_weight must be non-negative with a positive sum"),
]


@pytest.mark.parametrize("options,msg", BAD_OPTIONS, ids=[str(o) for o, _ in BAD_OPTIONS])
def test_bad_options_raise_value_error_and_leave_the_network_alone(options, msg):
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    before = copy_params(net)
    with pytest.raises(ValueError, match=msg):
        net.fit(X, Y, **{"verbose": 0, **options})
    assert_params_equal(net.params, before)
    assert net.training_state() is None


@pytest.mark.parametrize("monitor", ["accuracy", "val_accuracy"])
def test_accuracy_monitor_on_a_regressor_is_refused_up_front(monitor):
    """A regressor has no accuracy: say so before training, rather than crash after the first epoch
    (val_accuracy: TypeError on None) or silently MAXIMIZE the loss (accuracy falls back to loss with
    the sign of an accuracy)."""
    X, Y = regression_data()
    net = Network([2, 4, 1], loss="mse", seed=0)
    before = copy_params(net)
    with pytest.raises(ValueError, match=f"monitor.*{monitor}"):
        net.fit(
            X,
            Y,
            epochs=30,
            learning_rate=0.05,
            validation_data=(X, Y),
            early_stopping=True,
            monitor=monitor,
            patience=3,
            verbose=0,
        )
    assert_params_equal(net.params, before)


def test_bad_callback_is_rejected_before_the_training_state_changes():
    """A fit that raises for a bad option must not touch the continuing optimizer state (nor reset it)."""
    X, Y = binary_data()
    a, b = Network([3, 4, 1], seed=0), Network([3, 4, 1], seed=0)
    kw = dict(learning_rate=0.01, optimizer="adam", verbose=0)
    a.fit(X, Y, epochs=2, **kw)
    b.fit(X, Y, epochs=2, **kw)
    with pytest.raises(
        ValueError, match="callbacks must be vecprop.callbacks.Callback objects, got builtin_function_or_method"
    ):
        a.fit(X, Y, epochs=2, learning_rate=0.01, optimizer="momentum", callbacks=[print], verbose=0)
    a.fit(X, Y, epochs=2, **kw)  # Adam goes on from t = 2, as if nothing had happened
    b.fit(X, Y, epochs=2, **kw)
    assert_params_equal(a.params, b.params)
    fresh = Network([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match="callbacks must be"):
        fresh.fit(X, Y, callbacks=[object()], verbose=0)
    assert fresh.training_state() is None


def test_bad_shapes_say_the_fix():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    with pytest.raises(ValueError, match=r"pass X\.T"):
        net.fit(X.T, Y, verbose=0)
    with pytest.raises(ValueError, match=r"pass Y\.T"):
        net.fit(X, Y.T, verbose=0)
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="X contains NaN or inf"):
        net.fit(X, Y, verbose=0)


# ------------------------------------------------------------------------------------- it learns
@pytest.fixture(scope="module")
def digits():
    datasets = pytest.importorskip("sklearn.datasets")
    d = datasets.load_digits()
    X = d.data.T  # (64, 1797): columns are examples
    mu, sd = X.mean(axis=1, keepdims=True), X.std(axis=1, keepdims=True) + 1e-8
    X = (X - mu) / sd
    Y = one_hot(d.target, 10)
    idx = np.random.default_rng(0).permutation(X.shape[1])
    test, train = idx[:400], idx[400:]
    return X[:, train], Y[:, train], X[:, test], Y[:, test]


def test_adam_with_dropout_beats_plain_gd_on_digits(digits):
    X, Y, Xt, Yt = digits
    kw = dict(epochs=30, batch_size=64, verbose=0)
    gd = Network([64, 64, 10], loss="categorical_cross_entropy", seed=0)
    adam = Network([64, 64, 10], loss="categorical_cross_entropy", seed=0)
    gd.fit(X, Y, learning_rate=0.01, optimizer="gd", **kw)
    adam.fit(X, Y, learning_rate=0.002, optimizer="adam", keep_prob=0.8, **kw)
    acc_gd, acc_adam = gd.accuracy(Xt, Yt), adam.accuracy(Xt, Yt)
    assert acc_adam > acc_gd
    assert acc_adam > 0.95
    assert acc_gd > 0.5  # gd learns too, only slower
