"""End to end: the seed's 2-3-1 network (tanh hidden layer, sigmoid output, cross-entropy) learns a
2-D dataset that no line can split, by plain batch gradient descent on the Network API."""

from __future__ import annotations

import numpy as np
import pytest

from vecprop import Network


def xor_quadrants(rng, m=200, margin=0.3):
    """Points in the four quadrants of [-1, 1]², kept `margin` away from both axes; label 1 where
    x1·x2 > 0 (quadrants I and III). XOR: a linear classifier gets at most ~3/4 of them right."""
    X = rng.uniform(margin, 1.0, (2, m)) * rng.choice([-1.0, 1.0], (2, m))
    Y = (X[0] * X[1] > 0).astype(float)[None, :]
    return X, Y


def best_linear_accuracy(X, Y, n_angles=360):
    """The best accuracy of any line through any point, searched over directions and offsets."""
    best = 0.0
    for theta in np.linspace(0, np.pi, n_angles, endpoint=False):
        s = np.cos(theta) * X[0] + np.sin(theta) * X[1]
        for t in np.unique(s):
            pred = s >= t
            acc = (pred == (Y[0] > 0.5)).mean()
            best = max(best, acc, 1 - acc)
    return best


def train(net, X, Y, epochs, lr):
    costs = []
    for _ in range(epochs):
        AL = net.forward(X)
        costs.append(net.cost(AL, Y))
        grads = net.backward(Y, need_dA0=False)
        for k in net.params:
            net.params[k] -= lr * grads["d" + k]
    return costs


def test_the_dataset_is_not_linearly_separable():
    X, Y = xor_quadrants(np.random.default_rng(0))
    assert 0.3 < Y.mean() < 0.7
    assert best_linear_accuracy(X, Y, n_angles=90) < 0.8


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_2_3_1_tanh_network_reaches_95_percent_on_xor_quadrants(seed):
    X, Y = xor_quadrants(np.random.default_rng(seed))
    net = Network([2, 3, 1], "tanh", seed=seed)
    assert [g.name for g in net.activations] == ["tanh", "sigmoid"]
    assert net.loss.name == "binary_cross_entropy"
    assert net.accuracy(X, Y) < 0.9  # not solved at initialization
    costs = train(net, X, Y, epochs=1500, lr=2.0)
    assert costs[0] > 0.6  # about log 2 at the start
    assert costs[-1] < 0.1
    assert costs[-1] < costs[len(costs) // 2] < costs[0]
    assert net.accuracy(X, Y) >= 0.95
    # it generalizes: fresh points from the same distribution
    X_test, Y_test = xor_quadrants(np.random.default_rng(100 + seed), m=500)
    assert net.accuracy(X_test, Y_test) >= 0.95
