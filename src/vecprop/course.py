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
from .optimizers import GD, Adam, Momentum
from .schedules import InverseTime
from .training import mini_batches

__all__ = [
    "initialize_parameters",
    "initialize_parameters_deep",
    "linear_forward",
    "linear_activation_forward",
    "L_model_forward",
    "compute_cost",
    "linear_backward",
    "linear_activation_backward",
    "L_model_backward",
    "update_parameters",
    "two_layer_model",
    "L_layer_model",
    "predict",
    # course 2: optimization, regularization, dropout
    "random_mini_batches",
    "update_parameters_with_gd",
    "initialize_velocity",
    "update_parameters_with_momentum",
    "initialize_adam",
    "update_parameters_with_adam",
    "compute_cost_with_regularization",
    "backward_propagation_with_regularization",
    "forward_propagation_with_dropout",
    "backward_propagation_with_dropout",
    "update_lr",
    "schedule_lr_decay",
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
    dAL = -(np.divide(Y, AL) - np.divide(1 - Y, 1 - AL))  # ∂L/∂A[L] of the cross-entropy
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


# ------------------------------------------------------------------ course 2: improving deep networks
def random_mini_batches(X, Y, mini_batch_size: int = 64, seed: int = 0):
    """Shuffle the m columns of (X, Y) and cut them into mini-batches, the last one smaller.

    Returns a list of ``(mini_batch_X, mini_batch_Y)``, shapes (n_x, ≤ mini_batch_size) and (n_y, ≤ ...).
    The permutation comes from ``numpy.random.default_rng(seed)``, as vecprop's trainer draws it.
    """
    m = X.shape[1]
    perm, batches = mini_batches(m, mini_batch_size, np.random.default_rng(seed))
    if perm is None:
        return [(X, Y)]
    X, Y = X[:, perm], Y[:, perm]
    return [(X[:, cols], Y[:, cols]) for cols in batches]


def _step(optimizer, parameters, grads, state_from_course, learning_rate, t=0):
    """One optimizer update on copies of the course's dicts; returns (parameters, state)."""
    parameters = {k: np.array(v, dtype=np.result_type(v, np.float32)) for k, v in parameters.items()}  # copies
    state = optimizer.init(parameters)
    state["t"] = t
    for key, value in state_from_course.items():
        state[key] = np.array(value, dtype=state[key].dtype)
    optimizer.update(parameters, grads, state, learning_rate)
    return parameters, state


def update_parameters_with_gd(parameters, grads, learning_rate) -> dict:
    """W[l] −= α dW[l], b[l] −= α db[l] (one step of gd); returns the new parameters."""
    return _step(GD(), parameters, grads, {}, learning_rate)[0]


def initialize_velocity(parameters) -> dict:
    """v = {"dW1": zeros like W1, "db1": zeros like b1, ...}."""
    return {"d" + k: np.zeros_like(v) for k, v in parameters.items()}


def update_parameters_with_momentum(parameters, grads, v, beta, learning_rate):
    """v = βv + (1−β)dW; W −= α v. Returns ``(parameters, v)``."""
    moments = {"v" + k: val for k, val in v.items()}
    parameters, state = _step(Momentum(beta=beta), parameters, grads, moments, learning_rate)
    return parameters, {k: state["v" + k] for k in v}


def initialize_adam(parameters):
    """``(v, s)``, both {"dW1": zeros like W1, "db1": ...}."""
    return initialize_velocity(parameters), initialize_velocity(parameters)


def update_parameters_with_adam(parameters, grads, v, s, t, learning_rate=0.01, beta1=0.9, beta2=0.999, epsilon=1e-8):
    """Adam's step number ``t`` (counting from 1): returns ``(parameters, v, s, v_corrected, s_corrected)``."""
    moments = {**{"v" + k: val for k, val in v.items()}, **{"s" + k: val for k, val in s.items()}}
    parameters, state = _step(
        Adam(beta1=beta1, beta2=beta2, epsilon=epsilon), parameters, grads, moments, learning_rate, t=t - 1
    )
    v = {k: state["v" + k] for k in v}
    s = {k: state["s" + k] for k in s}
    v_corrected = {k: val / (1 - beta1**t) for k, val in v.items()}
    s_corrected = {k: val / (1 - beta2**t) for k, val in s.items()}
    return parameters, v, s, v_corrected, s_corrected


def compute_cost_with_regularization(AL, Y, parameters, lambd) -> float:
    """Cross-entropy cost plus the L2 term λ/(2m) Σ_l ‖W[l]‖²."""
    Y = np.asarray(Y).reshape(AL.shape)
    return propagation.cost(AL, Y, BinaryCrossEntropy(), params=parameters, l2=lambd)


def _relu_sigmoid(L):
    return [get_activation("relu")] * (L - 1) + [get_activation("sigmoid")]


def _layer_caches(caches):
    """The course's list of ``((A_prev, W, b), Z[, D])`` as propagation's LayerCaches and the parameters."""
    L = len(caches)
    activations = _relu_sigmoid(L)
    layer_caches, parameters = {}, {}
    for l, cache in enumerate(caches, start=1):
        (A_prev, W, b), Z = cache[0], cache[1]
        D = cache[2] if len(cache) > 2 else None
        layer_caches[l] = propagation.LayerCache(A_prev, Z, activations[l - 1].forward(Z), D)
        parameters[f"W{l}"], parameters[f"b{l}"] = W, b
    return layer_caches, parameters, activations


def backward_propagation_with_regularization(X, Y, caches, lambd) -> dict:
    """Backpropagation of L_model_forward's network with dW[l] += (λ/m) W[l], at any depth.

    ``caches`` is L_model_forward's list; returns grads ``"dA{l}"``, ``"dW{l}"``, ``"db{l}"``, ``"dZ{l}"``.
    """
    layer_caches, parameters, activations = _layer_caches(caches)
    AL = layer_caches[len(caches)].A
    Y = np.asarray(Y).reshape(AL.shape)
    return propagation.backward(AL, Y, layer_caches, parameters, activations, BinaryCrossEntropy(), l2=lambd)


def forward_propagation_with_dropout(X, parameters, keep_prob=0.5, seed=1):
    """[LINEAR → RELU → DROPOUT] × (L−1) → LINEAR → SIGMOID, at any depth.

    Returns ``(AL, caches)`` with caches ``((A_prev, W, b), Z, D)`` per layer, D the keep mask (None on the
    output layer); masks come from ``numpy.random.default_rng(seed)``.
    """
    L = len(parameters) // 2
    keep = propagation.keep_probs(keep_prob, L)
    AL, caches = propagation.forward(X, parameters, _relu_sigmoid(L), keep_prob=keep, rng=np.random.default_rng(seed))
    return AL, [((c.A_prev, parameters[f"W{l}"], parameters[f"b{l}"]), c.Z, c.D) for l, c in caches.items()]


def backward_propagation_with_dropout(X, Y, caches, keep_prob) -> dict:
    """Backpropagation through forward_propagation_with_dropout's masks: dA[l] = dA[l] * D[l] / keep_prob."""
    layer_caches, parameters, activations = _layer_caches(caches)
    L = len(caches)
    AL = layer_caches[L].A
    Y = np.asarray(Y).reshape(AL.shape)
    return propagation.backward(
        AL,
        Y,
        layer_caches,
        parameters,
        activations,
        BinaryCrossEntropy(),
        keep_prob=propagation.keep_probs(keep_prob, L),
    )


def update_lr(learning_rate0, epoch_num, decay_rate) -> float:
    """α = α0 / (1 + decay_rate · epoch_num)."""
    schedule = InverseTime(decay_rate=decay_rate)
    return schedule.learning_rate(schedule.init(learning_rate0), epoch_num)


def schedule_lr_decay(learning_rate0, epoch_num, decay_rate, time_interval=1000) -> float:
    """α = α0 / (1 + decay_rate · floor(epoch_num / time_interval))."""
    schedule = InverseTime(decay_rate=decay_rate, staircase=True, time_interval=time_interval)
    return schedule.learning_rate(schedule.init(learning_rate0), epoch_num)
