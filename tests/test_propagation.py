"""Forward propagation, eqs. (1)(2), the cost, eq. (3), and backpropagation BP1-BP4.

Five kinds of evidence: finite-difference gradient checks over random architectures (hypothesis), the
vectorized backward against a naive per-example loop written here, one gradient-descent step worked by
hand on the seed's 2-3-1 network, the seed's shape table, and dropout / float32 specifics.
"""

from __future__ import annotations

import copy
import io
import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import vecprop
from vecprop import Network, get_loss, gradient_check, one_hot, propagation
from vecprop.activations import ACTIVATIONS
from vecprop.gradcheck import numeric_gradient, relative_difference
from vecprop.losses import LOSSES

# exp is a log link for outputs (Poisson): stacked over four random layers e^(e^(e^z)) overflows; it is
# checked as an output in PAIRS
HIDDEN = sorted(set(ACTIVATIONS) - {"exp"})


def _pairs():
    """(output activation, loss) pairs: each loss's canonical output first (the fused dZ[L] = A − Y
    path), then every other output it accepts (dA[L] then BP4)."""
    pairs = []
    for name in sorted(LOSSES):
        loss = get_loss(name)
        pairs.append((loss.canonical_activation, name))
        # the class's list: instances of the built-in losses lose it (see test_losses
        # test_loss_instances_keep_their_valid_activations)
        accepted = type(loss).valid_activations or tuple(ACTIVATIONS)
        pairs += [(g, name) for g in sorted(accepted) if g != loss.canonical_activation and g in ACTIVATIONS]
    return pairs


PAIRS = _pairs()
CANONICAL = [("sigmoid", "binary_cross_entropy"), ("softmax", "categorical_cross_entropy"), ("linear", "mse")]
REQUIRED_NON_CANONICAL = [
    ("softmax", "binary_cross_entropy"),
    ("sigmoid", "categorical_cross_entropy"),
    ("sigmoid", "mse"),
    ("tanh", "mse"),
    ("softmax", "mse"),
    ("leaky_relu", "mse"),
]


def test_pair_list_covers_the_brief():
    for pair in CANONICAL + REQUIRED_NON_CANONICAL:
        assert pair in PAIRS


def targets(loss_name, n, m, rng):
    """Valid targets Y of shape (n, m) for a loss."""
    if loss_name == "categorical_cross_entropy":
        return one_hot(rng.integers(0, n, m), n)
    if loss_name == "binary_cross_entropy":
        return (rng.random((n, m)) < 0.5).astype(float)
    if loss_name == "mse":
        return rng.standard_normal((n, m))
    return rng.random((n, m))


def make_net(dims, hidden, output, loss, seed, dtype=np.float64):
    return Network(dims, [hidden] * (len(dims) - 2) + [output], loss=loss, seed=seed, dtype=dtype)


@st.composite
def architectures(draw, min_out=1):
    """layer_dims with depth L in 1..4 and widths 1..6, m in 1..8, and a seed."""
    L = draw(st.integers(1, 4))
    dims = draw(st.lists(st.integers(1, 6), min_size=L + 1, max_size=L + 1))
    dims[-1] = max(dims[-1], min_out)
    m = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    return dims, m, seed


# =========================================================================== (1) gradient checks
def with_random_biases(net, rng, scale=0.5):
    """Non-zero biases: with b = 0 a dead ReLU unit feeds Z = 0 exactly to the next layer, the one
    point where ReLU has no derivative; random b makes |Z| < ε a measure-zero event again."""
    net.params = {k: (v if k[0] == "W" else rng.uniform(-scale, scale, v.shape)) for k, v in net.params.items()}
    return net


KINKED = ("relu", "leaky_relu")


def check_epsilon(net, X, Y, **kw):
    """The ε for a fair check of this draw: the course's 1e-7 unless roundoff alone would fail it;
    None when some ReLU pre-activation lies within 10ε of its kink (no derivative there).

    Central differences carry a roundoff of about u·J/ε per entry (u = 2.2e-16: ~1e-9·J at
    ε = 1e-7), so over P parameters the relative difference has a floor near √P·u·J / (ε‖∇J‖),
    whatever backprop does. When ‖∇J‖ is small next to J (a saturated sigmoid or softmax, a leaky
    ReLU output in its 0.01 region, a wide net with a large J) that floor reaches the 1e-7
    threshold; such draws take the smallest of ε = 1e-6, 1e-5 that clears it (the truncation
    error, ~ε², stays below 1e-10).
    """
    net = net.copy()
    AL = net.forward(X)
    J = net.cost(AL, Y, **kw)
    # A cross-entropy taken from A (not from logits) rounds log(1 − A) with a relative error of
    # u / (1 − A): near-saturated outputs amplify the roundoff of J by that factor.
    canonical = net.activations[-1].name == net.loss.canonical_activation
    amplify = 1.0
    if not canonical and net.loss.name == "binary_cross_entropy":
        amplify = 1.0 / max(float((1 - AL).min()), 1e-300)
    grads = net.backward(Y, **kw)
    norm = np.sqrt(sum(float((grads["d" + k] ** 2).sum()) for k in net.params))
    P = sum(v.size for v in net.params.values())
    kink = min(
        (np.abs(net.caches[l].Z).min() for l, g in enumerate(net.activations, 1) if g.name in KINKED), default=np.inf
    )
    for eps in (1e-7, 1e-6, 1e-5, 1e-4):
        floor = np.sqrt(P) * np.finfo(np.float64).eps * max(1.0, J) * amplify / (eps * norm) if norm else np.inf
        if floor < 1e-7:
            break
    return eps if kink > 10 * eps else None


@pytest.mark.parametrize("output,loss", PAIRS, ids=[f"{g}+{l}" for g, l in PAIRS])
@pytest.mark.parametrize("hidden", HIDDEN)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(arch=architectures(), l2=st.sampled_from([0.0, 0.0, 0.7]), weighted=st.booleans())
def test_gradient_check_random_architectures(hidden, output, loss, arch, l2, weighted):
    dims, m, seed = arch
    if output == "softmax":
        dims = [*dims[:-1], max(dims[-1], 2)]  # a 1-unit softmax is the constant 1
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (dims[0], m))
    Y = targets(loss, dims[-1], m, rng)
    sample_weight = rng.uniform(0.2, 3.0, m) if weighted else None
    net = with_random_biases(make_net(dims, hidden, output, loss, seed), rng)
    eps = check_epsilon(net, X, Y, l2=l2, sample_weight=sample_weight)
    assume(eps is not None)
    result = gradient_check(net, X, Y, eps, l2=l2, sample_weight=sample_weight)
    assert result.difference < 1e-7, result.table()


@pytest.mark.parametrize("output,loss", PAIRS, ids=[f"{g}+{l}" for g, l in PAIRS])
def test_gradient_check_with_l2_and_sample_weight_together(output, loss):
    rng = np.random.default_rng(11)
    dims = [4, 5, 3, 3]
    X = rng.standard_normal((4, 7))
    Y = targets(loss, 3, 7, rng)
    net = with_random_biases(make_net(dims, "tanh", output, loss, seed=5), rng)
    w = rng.uniform(0.1, 4.0, 7)
    eps = check_epsilon(net, X, Y, l2=1.3, sample_weight=w)
    assert eps is not None and eps <= 1e-6
    result = gradient_check(net, X, Y, eps, l2=1.3, sample_weight=w)
    assert result.difference < 1e-7, result.table()
    # and the weights and λ really change the gradient being checked
    net.forward(X)
    plain, weighted = net.backward(Y), net.backward(Y, l2=1.3, sample_weight=w)
    assert relative_difference(plain["dW1"], weighted["dW1"]) > 1e-3


# =========================================================================== (2) naive per-example loop
def _g(name, z):
    """Scalar activations, written out."""
    if name == "sigmoid":
        return 1.0 / (1.0 + math.exp(-z))
    if name == "tanh":
        return math.tanh(z)
    if name == "relu":
        return z if z > 0 else 0.0
    if name == "leaky_relu":
        return z if z > 0 else 0.01 * z
    if name == "linear":
        return z
    if name == "exp":
        return math.exp(z)
    raise KeyError(name)


def _g_prime(name, z, a):
    if name == "sigmoid":
        return a * (1.0 - a)
    if name == "tanh":
        return 1.0 - a * a
    if name == "relu":
        return 1.0 if z > 0 else 0.0
    if name == "leaky_relu":
        return 1.0 if z > 0 else 0.01
    if name == "linear":
        return 1.0
    if name == "exp":
        return a
    raise KeyError(name)


def _layer_forward_one_example(W, b, a_prev, name):
    """z_r = Σ_j W_rj a_j + b_r, then a = g(z), one unit at a time."""
    n, n_prev = W.shape
    z = [sum(W[r, j] * a_prev[j] for j in range(n_prev)) + b[r, 0] for r in range(n)]
    if name == "softmax":
        top = max(z)
        e = [math.exp(v - top) for v in z]
        a = [v / sum(e) for v in e]
    else:
        a = [_g(name, v) for v in z]
    return z, a


def _dz_from_da(name, z, a, da):
    """BP4 per example: elementwise, or softmax's full Jacobian Σ_k da_k ∂a_k/∂z_r."""
    n = len(z)
    if name == "softmax":
        return [sum(da[k] * a[k] * ((1.0 if k == r else 0.0) - a[r]) for k in range(n)) for r in range(n)]
    return [da[r] * _g_prime(name, z[r], a[r]) for r in range(n)]


def _da_output(loss, a, y):
    """∂L/∂a for one example."""
    if loss == "binary_cross_entropy":
        return [-(y[k] / a[k] - (1 - y[k]) / (1 - a[k])) for k in range(len(a))]
    if loss == "categorical_cross_entropy":
        return [-y[k] / a[k] for k in range(len(a))]
    if loss == "mse":
        return [a[k] - y[k] for k in range(len(a))]
    if loss == "poisson":
        return [1.0 - y[k] / a[k] for k in range(len(a))]
    raise KeyError(loss)


def naive_backward(params, names, loss, X, Y, *, l2=0.0, sample_weight=None):
    """dW, db averaged over examples and dA per example, by the chain rule with explicit loops."""
    L = len(names)
    n_0, m = X.shape
    w = [1.0] * m if sample_weight is None else [float(v) * m / float(sum(sample_weight)) for v in sample_weight]
    dW = {l: np.zeros_like(params[f"W{l}"]) for l in range(1, L + 1)}
    db = {l: np.zeros_like(params[f"b{l}"]) for l in range(1, L + 1)}
    dA = {l: np.zeros((params[f"W{l + 1}"].shape[1], m)) for l in range(0, L)}
    AL = np.zeros((params[f"W{L}"].shape[0], m))
    for i in range(m):
        a = {0: [X[s, i] for s in range(n_0)]}
        z = {}
        for l in range(1, L + 1):
            z[l], a[l] = _layer_forward_one_example(params[f"W{l}"], params[f"b{l}"], a[l - 1], names[l - 1])
        AL[:, i] = a[L]
        y = [Y[k, i] for k in range(Y.shape[0])]
        if names[-1] == get_loss(loss).canonical_activation:
            # the canonical pair: dz = a·Σy − y, which is a − y for one-hot / 0-1 / real targets
            dz = [a[L][k] * (sum(y) if loss == "categorical_cross_entropy" else 1.0) - y[k] for k in range(len(y))]
        else:
            dz = _dz_from_da(names[-1], z[L], a[L], _da_output(loss, a[L], y))
        for l in range(L, 0, -1):
            W = params[f"W{l}"]
            n, n_prev = W.shape
            for r in range(n):
                db[l][r, 0] += w[i] * dz[r] / m
                for s in range(n_prev):
                    dW[l][r, s] += w[i] * dz[r] * a[l - 1][s] / m
            da_prev = [sum(W[r, s] * dz[r] for r in range(n)) for s in range(n_prev)]  # BP3, unweighted
            for s in range(n_prev):
                dA[l - 1][s, i] = w[i] * da_prev[s]
            if l > 1:
                dz = _dz_from_da(names[l - 2], z[l - 1], a[l - 1], da_prev)
    for l in range(1, L + 1):
        dW[l] += l2 / m * params[f"W{l}"]
    return AL, dW, db, dA


@pytest.mark.parametrize("output,loss", PAIRS, ids=[f"{g}+{l}" for g, l in PAIRS])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("dims", [[3, 4, 3, 3], [2, 3]], ids=["L3", "L1"])
def test_vectorized_backward_equals_naive_per_example_loop(dims, hidden, output, loss):
    rng = np.random.default_rng(len(dims) * 100 + HIDDEN.index(hidden))
    m = 5
    X = rng.standard_normal((dims[0], m))
    Y = targets(loss, dims[-1], m, rng)
    net = make_net(dims, hidden, output, loss, seed=7)
    names = [g.name for g in net.activations]
    for l2, sw in [(0.0, None), (0.4, rng.uniform(0.2, 2.0, m))]:
        AL = net.forward(X)
        grads = net.backward(Y, l2=l2, sample_weight=sw)
        AL_naive, dW, db, dA = naive_backward(net.params, names, loss, X, Y, l2=l2, sample_weight=sw)
        np.testing.assert_allclose(AL, AL_naive, rtol=0, atol=1e-12)
        for l in range(1, net.L + 1):
            np.testing.assert_allclose(grads[f"dW{l}"], dW[l], rtol=0, atol=1e-12, err_msg=f"dW{l}")
            np.testing.assert_allclose(grads[f"db{l}"], db[l], rtol=0, atol=1e-12, err_msg=f"db{l}")
        # dA[l] per example (weighted like the rest, so Σ_i of the naive terms is the batch's)
        for l in range(0, net.L):
            np.testing.assert_allclose(grads[f"dA{l}"], dA[l], rtol=0, atol=1e-12, err_msg=f"dA{l}")


@pytest.mark.parametrize("output,loss", PAIRS, ids=[f"{g}+{l}" for g, l in PAIRS])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_numpy_engine_sums_equal_the_plain_backward(output, loss, dtype):
    """The trainer's buffered path (vecprop.engines.NumpyEngine: sums over the batch, written into one flat
    vector) gives the plain path's dW, db times Σw; moved from the old Workspace test (issue #10)."""
    from vecprop.engines import N_SCALARS, NumpyEngine

    rng = np.random.default_rng(3)
    dims, m = [4, 5, 3, 3], 6
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = targets(loss, dims[-1], m, rng).astype(dtype)
    sw = rng.uniform(0.2, 2.0, m).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for weights, keep in [(None, None), (sw, (0.8, 0.6, 1.0))]:
        plain, buffered = (make_net(dims, "tanh", output, loss, seed=5, dtype=dtype) for _ in range(2))
        AL, caches = propagation.forward(X, plain.params, plain.activations, keep_prob=keep, rng=plain.rng)
        grads = propagation.backward(
            AL,
            Y,
            caches,
            plain.params,
            plain.activations,
            plain.loss,
            keep_prob=keep,
            sample_weight=weights,
            need_dA0=False,
        )
        engine = NumpyEngine(buffered, keep)
        engine.bind(X, Y, weights)
        out = np.zeros(buffered.n_params + N_SCALARS, dtype)
        engine.batch_sums(slice(0, m), out)
        w_sum = m if weights is None else weights.sum()
        views = propagation.param_views(out[: buffered.n_params], dims)
        for l in range(1, len(dims)):
            for key in (f"W{l}", f"b{l}"):
                assert views[key].dtype == dtype
                np.testing.assert_allclose(views[key] / w_sum, grads["d" + key], rtol=tol, atol=tol, err_msg=key)


def test_param_layout_puts_every_weight_first_then_every_bias():
    layout = propagation.param_layout([3, 4, 2])
    assert layout == {"W1": (0, (4, 3)), "W2": (12, (2, 4)), "b1": (20, (4, 1)), "b2": (24, (2, 1))}
    flat = np.arange(26.0)
    views = propagation.param_views(flat, [3, 4, 2], prefix="d")
    assert list(views) == ["dW1", "db1", "dW2", "db2"]  # the course's order
    np.testing.assert_array_equal(views["dW2"], np.arange(12.0, 20.0).reshape(2, 4))
    views["db2"][1, 0] = -1.0
    assert flat[25] == -1.0


# =========================================================================== (3) one step by hand
def test_one_gradient_descent_step_on_the_seeds_2_3_1_network_by_hand():
    W1 = [[0.5, -0.3], [0.2, 0.8], [-0.6, 0.1]]
    b1 = [0.1, -0.2, 0.05]
    W2 = [0.7, -0.4, 0.9]
    b2 = -0.1
    x = [[1.0, -0.5, 2.0], [0.5, 1.5, -1.0]]  # x[s][i]: feature s of example i
    y = [1.0, 0.0, 1.0]
    m, alpha = 3, 0.5

    # forward, eqs. (2) and (1), unit by unit
    Z1 = [[W1[r][0] * x[0][i] + W1[r][1] * x[1][i] + b1[r] for i in range(m)] for r in range(3)]
    A1 = [[math.tanh(Z1[r][i]) for i in range(m)] for r in range(3)]
    Z2 = [W2[0] * A1[0][i] + W2[1] * A1[1][i] + W2[2] * A1[2][i] + b2 for i in range(m)]
    A2 = [1 / (1 + math.exp(-Z2[i])) for i in range(m)]
    J = -sum(y[i] * math.log(A2[i]) + (1 - y[i]) * math.log(1 - A2[i]) for i in range(m)) / m
    # backward: dZ2 = A2 − Y; BP1, BP2; BP3; BP4 with tanh' = 1 − A1²; BP1, BP2
    dZ2 = [A2[i] - y[i] for i in range(m)]
    dW2 = [sum(dZ2[i] * A1[r][i] for i in range(m)) / m for r in range(3)]
    db2 = sum(dZ2) / m
    dA1 = [[W2[r] * dZ2[i] for i in range(m)] for r in range(3)]
    dZ1 = [[dA1[r][i] * (1 - A1[r][i] ** 2) for i in range(m)] for r in range(3)]
    dW1 = [[sum(dZ1[r][i] * x[s][i] for i in range(m)) / m for s in range(2)] for r in range(3)]
    db1 = [sum(dZ1[r]) / m for r in range(3)]

    net = Network([2, 3, 1], ["tanh", "sigmoid"], seed=0)
    assert net.loss.name == "binary_cross_entropy"
    net.params = {"W1": np.array(W1), "b1": np.array(b1)[:, None], "W2": np.array([W2]), "b2": np.array([[b2]])}
    X, Y = np.array(x), np.array([y])
    AL = net.forward(X)
    tol = dict(rtol=1e-13, atol=1e-15)
    np.testing.assert_allclose(net.caches[1].A_prev, X, **tol)
    np.testing.assert_allclose(net.caches[1].Z, Z1, **tol)
    np.testing.assert_allclose(net.caches[1].A, A1, **tol)
    np.testing.assert_allclose(net.caches[2].Z, [Z2], **tol)
    np.testing.assert_allclose(AL, [A2], **tol)
    assert net.cost(AL, Y) == pytest.approx(J, rel=1e-13)
    grads = net.backward(Y)
    np.testing.assert_allclose(grads["dZ2"], [dZ2], **tol)
    np.testing.assert_allclose(grads["dW2"], [dW2], **tol)
    np.testing.assert_allclose(grads["db2"], [[db2]], **tol)
    np.testing.assert_allclose(grads["dA1"], dA1, **tol)
    np.testing.assert_allclose(grads["dZ1"], dZ1, **tol)
    np.testing.assert_allclose(grads["dW1"], dW1, **tol)
    np.testing.assert_allclose(grads["db1"], np.array(db1)[:, None], **tol)

    # the update W ← W − α dW, by hand and by the course's update_parameters
    W1_new = [[W1[r][s] - alpha * dW1[r][s] for s in range(2)] for r in range(3)]
    b1_new = [[b1[r] - alpha * db1[r]] for r in range(3)]
    W2_new = [[W2[r] - alpha * dW2[r] for r in range(3)]]
    b2_new = [[b2 - alpha * db2]]
    before = {k: v.copy() for k, v in net.params.items()}
    updated = vecprop.course.update_parameters(net.params, grads, alpha)
    for k, v in before.items():
        np.testing.assert_array_equal(net.params[k], v)  # update_parameters returns new arrays
    for key, expected in [("W1", W1_new), ("b1", b1_new), ("W2", W2_new), ("b2", b2_new)]:
        np.testing.assert_allclose(updated[key], expected, **tol)
    for k in net.params:
        net.params[k] -= alpha * grads["d" + k]
        np.testing.assert_allclose(net.params[k], updated[k], rtol=0, atol=0)
    # the step went downhill
    assert net.cost(net.forward(X), Y) < J


# =========================================================================== (4) the seed's table
@st.composite
def shape_cases(draw):
    dims, m, seed = draw(architectures())
    output, loss = draw(st.sampled_from(PAIRS))
    hidden = draw(st.sampled_from(HIDDEN))
    keep_prob = draw(st.sampled_from([None, 0.5, 0.9]))
    return dims, m, seed, hidden, output, loss, keep_prob


def _summary_table(text):
    rows = {}
    for line in text.splitlines():
        match = re.match(r"^(\S+)(?: = X)?\s+(\(\d+, (?:\d+|m)\))", line)
        if match:
            rows[match.group(1)] = match.group(2)
    return rows


@settings(max_examples=40, deadline=None)
@given(case=shape_cases())
def test_shapes_agree_with_the_seeds_table(case):
    dims, m, seed, hidden, output, loss, keep_prob = case
    rng = np.random.default_rng(seed)
    net = make_net(dims, hidden, output, loss, seed)
    L = net.L
    X = rng.standard_normal((dims[0], m))
    AL = net.forward(X, keep_prob=keep_prob)
    grads = net.backward(targets(loss, dims[-1], m, rng))
    assert AL.shape == (dims[L], m)
    assert set(net.caches) == set(range(1, L + 1))
    expected_keys = {f"{p}{l}" for p in ("dW", "db", "dZ") for l in range(1, L + 1)} | {f"dA{l}" for l in range(0, L)}
    assert set(grads) == expected_keys
    table = _summary_table(net.summary(m=m, file=io.StringIO()))
    assert table["A[0]"] == f"({dims[0]}, {m})"
    for l in range(1, L + 1):
        n_l, n_prev = dims[l], dims[l - 1]
        cache = net.caches[l]
        assert net.params[f"W{l}"].shape == (n_l, n_prev)
        assert net.params[f"b{l}"].shape == (n_l, 1)
        assert cache.A_prev.shape == (n_prev, m)
        assert cache.Z.shape == (n_l, m)
        assert cache.A.shape == (n_l, m)
        if keep_prob is not None and l < L:
            assert cache.D.shape == (n_l, m) and cache.D.dtype == bool
        else:
            assert cache.D is None
        assert grads[f"dZ{l}"].shape == (n_l, m)
        assert grads[f"dW{l}"].shape == (n_l, n_prev)
        assert grads[f"db{l}"].shape == (n_l, 1)
        assert grads[f"dA{l - 1}"].shape == (n_prev, m)
        # the summary's rows are the arrays' real shapes
        for var, arr in [
            ("W", net.params[f"W{l}"]),
            ("b", net.params[f"b{l}"]),
            ("Z", cache.Z),
            ("A", cache.A),
            ("dZ", grads[f"dZ{l}"]),
            ("dW", grads[f"dW{l}"]),
            ("db", grads[f"db{l}"]),
        ]:
            assert table[f"{var}[{l}]"] == str(arr.shape), var
        assert table[f"dA[{l - 1}]"] == str(grads[f"dA{l - 1}"].shape)


# =========================================================================== (5) dropout
def _dropout_setup():
    rng = np.random.default_rng(21)
    net = Network([4, 6, 5, 2], "tanh", seed=3)
    X = rng.standard_normal((4, 9))
    Y = (rng.random((2, 9)) < 0.5).astype(float)
    return net, X, Y


@pytest.mark.parametrize("keep_prob", [0.7, [0.6, 0.9]])
def test_dropout_masks_are_cached_and_scale_the_next_layers_input(keep_prob):
    net, X, Y = _dropout_setup()
    kp = [keep_prob] * 2 if np.ndim(keep_prob) == 0 else keep_prob
    AL = net.forward(X, keep_prob=keep_prob)
    for l in (1, 2):
        D = net.caches[l].D
        assert D.dtype == bool and D.shape == net.caches[l].A.shape
        np.testing.assert_array_equal(net.caches[l + 1].A_prev, net.caches[l].A * D / kp[l - 1])
        # the unscaled A is what the cache holds: eq. (1) on this layer's Z
        np.testing.assert_array_equal(net.caches[l].A, np.tanh(net.caches[l].Z))
    assert net.caches[3].D is None  # the output layer never drops
    grads = net.backward(Y)
    for l in (1, 2):
        bp3 = net.params[f"W{l + 1}"].T @ grads[f"dZ{l + 1}"]
        np.testing.assert_allclose(grads[f"dA{l}"], bp3 * net.caches[l].D / kp[l - 1], rtol=1e-14)
    # prediction ignores dropout and leaves the caches alone
    caches = net.caches
    np.testing.assert_allclose(net.predict_output(X), Network.forward(copy.deepcopy(net), X), rtol=1e-15)
    assert net.caches is caches
    assert AL.shape == (2, 9)


def test_dropout_keep_rate_is_keep_prob():
    net = Network([3, 200, 1], "relu", seed=0)
    net.forward(np.ones((3, 100)), keep_prob=0.7)
    assert net.caches[1].D.mean() == pytest.approx(0.7, abs=0.01)


def test_dropout_gradient_with_fixed_masks_matches_finite_differences():
    net, X, Y = _dropout_setup()
    keep = [0.6, 0.8]
    state = copy.deepcopy(net.rng.bit_generator.state)
    net.forward(X, keep_prob=keep)
    masks = {l: net.caches[l].D.copy() for l in (1, 2)}
    assert not all(m.all() for m in masks.values())
    grads = net.backward(Y)
    kp = propagation.keep_probs(keep, net.L)
    params = {k: v.copy() for k, v in net.params.items()}

    def J():
        rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = copy.deepcopy(state)  # the same Generator state: the same masks
        AL, caches = propagation.forward(X, params, net.activations, keep_prob=kp, rng=rng)
        for l in (1, 2):
            np.testing.assert_array_equal(caches[l].D, masks[l])
        return propagation.cost(AL, Y, net.loss, ZL=caches[net.L].Z)

    numeric = numeric_gradient(J, params, 1e-6)
    g_all = [grads["d" + name].ravel() for name in params]
    g_hat_all = [numeric["d" + name].ravel() for name in params]
    assert relative_difference(np.concatenate(g_all), np.concatenate(g_hat_all)) < 1e-7
    # and the masks matter: without dropout the gradient is a different one
    net.forward(X)
    assert relative_difference(net.backward(Y)["dW1"], grads["dW1"]) > 1e-2


@pytest.mark.parametrize(
    "keep_prob,match",
    [
        (0.0, r"in \(0, 1\]"),
        (1.5, r"in \(0, 1\]"),
        (-0.2, "KEEPING"),
        ([0.5], "2 hidden layers"),
        ([0.5, 0.5, 0.5], "one value per"),
    ],
)
def test_bad_keep_prob_raises(keep_prob, match):
    net, X, _ = _dropout_setup()
    with pytest.raises(ValueError, match=match):
        net.forward(X, keep_prob=keep_prob)


def test_keep_prob_one_is_no_dropout():
    net, X, Y = _dropout_setup()
    AL = net.forward(X, keep_prob=1.0)
    assert all(net.caches[l].D is None for l in (1, 2, 3))
    np.testing.assert_array_equal(AL, net.predict_output(X))


# =========================================================================== (6) float32 end to end
@pytest.mark.parametrize("output,loss", PAIRS, ids=[f"{g}+{l}" for g, l in PAIRS])
@pytest.mark.parametrize("hidden", HIDDEN)
def test_float32_end_to_end(hidden, output, loss):
    rng = np.random.default_rng(8)
    net = make_net([3, 5, 4, 3], hidden, output, loss, seed=2, dtype=np.float32)
    X = rng.standard_normal((3, 6))  # float64 in: cast once at the boundary
    Y = targets(loss, 3, 6, rng)
    assert all(v.dtype == np.float32 for v in net.params.values())
    AL = net.forward(X, keep_prob=0.8)
    assert AL.dtype == np.float32
    for l, cache in net.caches.items():
        for field in ("A_prev", "Z", "A"):
            assert getattr(cache, field).dtype == np.float32, (l, field)
    J = net.cost(AL, Y, l2=0.1, sample_weight=rng.uniform(0.5, 1.5, 6))
    assert isinstance(J, float) and np.isfinite(J)
    grads = net.backward(Y, l2=0.1, sample_weight=rng.uniform(0.5, 1.5, 6))
    for key, value in grads.items():
        assert value.dtype == np.float32, key
        assert np.all(np.isfinite(value)), key
    for k in net.params:
        net.params[k] -= 0.1 * grads["d" + k]
        assert net.params[k].dtype == np.float32
    updated = vecprop.course.update_parameters(net.params, grads, 0.1)
    assert all(v.dtype == np.float32 for v in updated.values())
    assert net.predict_output(X).dtype == np.float32


def test_float32_gradients_agree_with_float64_ones():
    rng = np.random.default_rng(9)
    X = rng.standard_normal((3, 6))
    Y = (rng.random((2, 6)) < 0.5).astype(float)
    n64 = Network([3, 5, 2], "tanh", seed=4)
    n32 = Network([3, 5, 2], "tanh", seed=4, dtype="float32")
    n32.params = {k: v.astype(np.float32) for k, v in n64.params.items()}
    n64.params = {k: v.astype(np.float64) for k, v in n32.params.items()}
    n64.forward(X)
    n32.forward(X)
    g64, g32 = n64.backward(Y), n32.backward(Y)
    for k in ("dW1", "db1", "dW2", "db2"):
        np.testing.assert_allclose(g32[k], g64[k], rtol=1e-4, atol=1e-6)
