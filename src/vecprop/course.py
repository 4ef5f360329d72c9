"""The deeplearning.ai course's step-by-step functions, by their own names, over vecprop's one core.

Arguments, return values and cache layouts are the course's (parameters keyed ``"W1"``, ``"b1"``;
``linear_cache = (A_prev, W, b)``; ``cache = (linear_cache, Z)``; grads ``"dA{l-1}"``, ``"dW{l}"``,
``"db{l}"``), and they compute what the course's formulas compute — ``L_model_backward`` starts from
``dAL = −(Y/AL − (1−Y)/(1−AL))`` — so a learner gets the course's numbers. Every equation is evaluated
by :mod:`vecprop.propagation`, the same code :class:`vecprop.Network` runs; Network adds the fused,
logit-stable output gradient (dZ[L] = A[L] − Y) and validation.

How they map onto Network::

    initialize_parameters_deep(dims)   Network(dims, ..., initializer="random").params
    L_model_forward(X, parameters)     net.forward(X); net.caches[l] = LayerCache(A_prev, Z, A, D)
    compute_cost(AL, Y)                net.cost(AL, Y)
    L_model_backward(AL, Y, caches)    net.backward(Y)
    update_parameters(p, grads, α)     one step of net.fit(X, Y, optimizer="gd", learning_rate=α)
    L_layer_model(X, Y, dims, ...)     net.fit(X, Y, epochs=num_iterations, learning_rate=α)
    predict(X, y, parameters)          net.predict(X), net.accuracy(X, Y)

Randomness comes from a ``numpy.random.Generator`` seeded by each function's ``seed`` argument,
never from the global ``np.random``, so initial values differ from the notebooks' but are reproducible.
"""
from __future__ import annotations

import numpy as np

from . import propagation
from .activations import get_activation
from .initializers import initialize
from .losses import BinaryCrossEntropy

__all__ = [
    "initialize_parameters", "initialize_parameters_deep", "linear_forward", "linear_activation_forward",
    "L_model_forward", "compute_cost", "linear_backward", "linear_activation_backward", "L_model_backward",
    "update_parameters", "two_layer_model", "L_layer_model", "predict",
]


def _num_layers(parameters) -> int:
    return len(parameters) // 2


def initialize_parameters(n_x: int, n_h: int, n_y: int, seed: int = 1) -> dict:
    """The 2-layer network's parameters: W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1); W ~ randn × 0.01."""
    return initialize([n_x, n_h, n_y], "random", np.random.default_rng(seed))


def initialize_parameters_deep(layer_dims, seed: int = 3) -> dict:
    """W[l] (n_l, n_{l-1}) ~ randn × 0.01 and b[l] = 0 (n_l, 1) for l = 1..L."""
    return initialize(list(layer_dims), "random", np.random.default_rng(seed))


def linear_forward(A, W, b):
    """Eq. (2): returns ``Z`` (n_l, m) and ``cache = (A, W, b)``."""
    return propagation.linear_forward(A, W, b), (A, W, b)


def linear_activation_forward(A_prev, W, b, activation: str):
    """Eqs. (2)(1): returns ``A`` (n_l, m) and ``cache = ((A_prev, W, b), Z)``; activation "relu", "sigmoid", ..."""
    Z, A = propagation.layer_forward(A_prev, W, b, get_activation(activation))
    return A, ((A_prev, W, b), Z)


def L_model_forward(X, parameters):
    """[LINEAR → RELU] × (L−1) → LINEAR → SIGMOID; returns ``AL`` (n_L, m) and the list of L caches."""
    L = _num_layers(parameters)
    activations = [get_activation("relu")] * (L - 1) + [get_activation("sigmoid")]
    AL, caches = propagation.forward(X, parameters, activations)
    return AL, [((c.A_prev, parameters[f"W{l}"], parameters[f"b{l}"]), c.Z) for l, c in caches.items()]


def compute_cost(AL, Y) -> float:
    """Cross-entropy cost J = −(1/m) Σ (Y log AL + (1−Y) log(1−AL)), eq. (3), as a float."""
    Y = np.asarray(Y).reshape(AL.shape)
    return float(BinaryCrossEntropy().per_example(AL, Y).sum() / AL.shape[1])


def linear_backward(dZ, cache):
    """BP1–BP3: returns ``(dA_prev, dW, db)`` from dZ (n_l, m) and ``cache = (A_prev, W, b)``."""
    A_prev, W, _ = cache
    return propagation.linear_backward(dZ, A_prev, W)


def linear_activation_backward(dA, cache, activation: str):
    """BP4 then BP1–BP3: returns ``(dA_prev, dW, db)``; ``cache = ((A_prev, W, b), Z)``."""
    (A_prev, W, _), Z = cache
    g = get_activation(activation)
    layer_cache = propagation.LayerCache(A_prev, Z, g.forward(Z))
    dA_prev, dW, db, _ = propagation.layer_backward(dA, layer_cache, W, g)
    return dA_prev, dW, db


def L_model_backward(AL, Y, caches) -> dict:
    """Backpropagation for L_model_forward's network: grads ``"dA{l-1}"``, ``"dW{l}"``, ``"db{l}"``."""
    L = len(caches)
    Y = np.asarray(Y).reshape(AL.shape)
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))       # ∂L/∂A[L] of the cross-entropy
    grads = {}
    dA = dAL
    for l in range(L, 0, -1):
        activation = "sigmoid" if l == L else "relu"
        dA, grads[f"dW{l}"], grads[f"db{l}"] = linear_activation_backward(dA, caches[l - 1], activation)
        grads[f"dA{l - 1}"] = dA
    return grads


def update_parameters(params, grads, learning_rate) -> dict:
    """One gradient-descent step, W[l] −= α dW[l], b[l] −= α db[l]; returns new parameters (params untouched)."""
    return {k: v - learning_rate * grads["d" + k] for k, v in params.items()}


def _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost, every=100):
    costs = []
    for i in range(num_iterations):
        AL, caches = L_model_forward(X, parameters)
        cost = compute_cost(AL, Y)
        grads = L_model_backward(AL, Y, caches)
        parameters = update_parameters(parameters, grads, learning_rate)
        if i % every == 0 or i == num_iterations - 1:
            if print_cost:
                print(f"Cost after iteration {i}: {cost}")
            if i % every == 0:
                costs.append(cost)
    return parameters, costs


def two_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False, seed=1):
    """LINEAR → RELU → LINEAR → SIGMOID by batch gradient descent; returns ``(parameters, costs)``.

    ``costs`` holds J every 100 iterations, as the course records it.
    """
    n_x, n_h, n_y = layers_dims
    parameters = initialize_parameters(n_x, n_h, n_y, seed=seed)
    return _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def L_layer_model(X, Y, layers_dims, learning_rate=0.0075, num_iterations=3000, print_cost=False, seed=3):
    """[LINEAR → RELU] × (L−1) → LINEAR → SIGMOID by batch gradient descent; returns ``(parameters, costs)``."""
    parameters = initialize_parameters_deep(layers_dims, seed=seed)
    return _gradient_descent(X, Y, parameters, learning_rate, num_iterations, print_cost)


def predict(X, y=None, parameters=None, print_accuracy=True):
    """0/1 predictions ``p`` of shape (1, m) (A[L] > 0.5); prints the accuracy when labels y are given."""
    if parameters is None:
        raise ValueError("predict needs the trained parameters: predict(X, y, parameters)")
    AL, _ = L_model_forward(X, parameters)
    p = (AL > 0.5).astype(np.int64)
    if y is not None and print_accuracy:
        print(f"Accuracy: {float((p == np.asarray(y).reshape(p.shape)).mean())}")
    return p
