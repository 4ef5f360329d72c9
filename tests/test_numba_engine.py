"""The compiled engine (numba): each kernel against plain NumPy, the engine against the reference engine.

Every kernel is compiled once per dtype (cache=True keeps it on disk); the parallel twins are compiled in
float64 only. Arrays are small: the numbers, not the speed, are tested here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest

pytest.importorskip("numba")

from vecprop import Network, one_hot, register_activation  # noqa: E402
from vecprop import optimizers as opt  # noqa: E402
from vecprop.activations import get_activation  # noqa: E402
from vecprop.callbacks import Callback  # noqa: E402
from vecprop.engines import numba_kernels as K  # noqa: E402
from vecprop.engines.base import N_SCALARS, Engine  # noqa: E402
from vecprop.engines.numba_engine import NumbaEngine  # noqa: E402
from vecprop.engines.reference import ReferenceEngine  # noqa: E402
from vecprop.stopping import StoppingRule  # noqa: E402

HIDDEN = ["linear", "relu", "leaky_relu", "sigmoid", "tanh"]
HEADS = [
    ("softmax", "categorical_cross_entropy"),
    ("sigmoid", "binary_cross_entropy"),
    ("linear", "mse"),
    ("sigmoid", "categorical_cross_entropy"),
    ("softmax", "binary_cross_entropy"),
    ("tanh", "mse"),
]
OPTIMIZERS = ["gd", "momentum", "nesterov", "rmsprop", "adam", "adamw", "sklearn_sgd", "sklearn_adam"]
SKLEARN_SGD_PLAIN = {"name": "sklearn_sgd", "nesterov": False}  # scikit-learn's SGD without the look-ahead
TOL = {np.float64: 1e-12, np.float32: 1e-5}


def rel_err(a, b):
    """‖a − b‖∞ / ‖b‖∞: the relative error of a whole array."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-300))


def targets(loss, n_L, m, rng, dtype=np.float64):
    if loss == "mse":
        return rng.standard_normal((n_L, m)).astype(dtype)
    if loss == "binary_cross_entropy":
        return (rng.random((n_L, m)) < 0.5).astype(dtype)
    return one_hot(rng.integers(0, n_L, m), n_L, dtype=dtype)


# ------------------------------------------------------------------------------------- kernels
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", HIDDEN)
@pytest.mark.parametrize("keep_prob", [1.0, 0.6])
def test_bias_act_is_bias_activation_and_inverted_dropout(name, dtype, keep_prob):
    rng = np.random.default_rng(0)
    g = get_activation(name)
    WA = rng.standard_normal((9, 13)).astype(dtype)
    b = rng.standard_normal((9, 1)).astype(dtype)
    U = rng.random((9, 13)) if keep_prob < 1 else np.empty((0, 0))
    Z, A, A_drop = WA.copy(), np.empty_like(WA), np.empty_like(WA)
    K.bias_act(Z, b, A, K.ACT[name], getattr(g, "slope", 0.0), U, keep_prob, A_drop)
    Z_ref = WA + b
    A_ref = g.forward(Z_ref.copy())
    assert rel_err(Z, Z_ref) == 0.0
    assert rel_err(A, A_ref) <= 4 * np.finfo(dtype).eps
    if keep_prob < 1:
        assert rel_err(A_drop, A_ref * (keep_prob > U) / keep_prob) <= 4 * np.finfo(dtype).eps


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", HIDDEN)
@pytest.mark.parametrize("keep_prob", [1.0, 0.7])
def test_bp4_masks_multiplies_by_g_prime_and_sums_rows(name, dtype, keep_prob):
    rng = np.random.default_rng(1)
    g = get_activation(name)
    Z = rng.standard_normal((7, 11)).astype(dtype)
    A = g.forward(Z.copy())
    dA = rng.standard_normal((7, 11)).astype(dtype)
    U = rng.random((7, 11)) if keep_prob < 1 else np.empty((0, 0))
    dA_ref = dA * (keep_prob > U) / keep_prob if keep_prob < 1 else dA.copy()
    dZ_ref = dA_ref * g.derivative(Z, A)  # BP4
    dZ, db = np.empty_like(Z), np.empty((7, 1), dtype)
    K.bp4(dA, Z, A, K.ACT[name], getattr(g, "slope", 0.0), U, keep_prob, dZ, db)
    assert rel_err(dZ, dZ_ref) <= 4 * np.finfo(dtype).eps
    assert rel_err(db, dZ_ref.sum(axis=1, keepdims=True)) <= 20 * np.finfo(dtype).eps  # BP2


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", HEADS[:3])
@pytest.mark.parametrize("weighted", [False, True])
def test_head_is_activation_loss_sum_dZ_db_and_number_right(pair, dtype, weighted):
    g_name, loss_name = pair
    rng = np.random.default_rng(2)
    n_L, m = 4, 17
    net = Network([3, n_L], [g_name], loss_name, seed=0, dtype=dtype)
    g, loss = net.activations[-1], net.loss
    WA = (3 * rng.standard_normal((n_L, m))).astype(dtype)
    b = rng.standard_normal((n_L, 1)).astype(dtype)
    Y = targets(loss_name, n_L, m, rng, dtype)
    w = rng.random(m).astype(dtype) if weighted else np.empty(0, dtype)
    Z, A, dZ, db, out = WA.copy(), np.empty_like(WA), np.empty_like(WA), np.empty((n_L, 1), dtype), np.empty(2)
    K.head(Z, b, A, np.ascontiguousarray(Y.T), w, K.OUT[pair], dZ, db, out)
    Z_ref = WA + b
    A_ref = g.forward(Z_ref.copy())
    wr = w if weighted else np.ones(m, dtype)
    dZ_ref = loss.dZL(A_ref, Y) * wr
    eps = np.finfo(dtype).eps
    assert rel_err(A, A_ref) <= 8 * eps
    assert rel_err(dZ, dZ_ref) <= 8 * eps
    assert rel_err(db, dZ_ref.sum(axis=1, keepdims=True)) <= 50 * eps
    assert rel_err(out[0], wr @ loss.per_example(A_ref, Y, Z_ref)) <= 50 * eps
    right = {
        "softmax": (A_ref.argmax(0) == Y.argmax(0)).sum(),
        "sigmoid": ((A_ref > 0.5) == (Y > 0.5)).all(0).sum(),
        "linear": 0,
    }[g_name]
    assert out[1] == right


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_gather_rows_copies_the_indexed_examples(dtype):
    rng = np.random.default_rng(3)
    src = rng.standard_normal((50, 6)).astype(dtype)
    idx = rng.permutation(50)[:21]
    dst = np.empty((21, 6), dtype)
    K.gather_rows(src, idx, dst)
    assert np.array_equal(dst, src[idx])


def _update_args(name, n_W, n, dtype, rng, l2=0.3, clip=0.5):
    """(optimizer, its state over the two groups, theta, grads) with moments already non-zero."""
    optimizer = opt.get_optimizer(name)
    theta = rng.standard_normal(n).astype(dtype)
    state = optimizer.init({"W": theta[:n_W], "b": theta[n_W:]})
    for k, v in state.items():
        if isinstance(v, np.ndarray) and not k.startswith("_"):
            v[...] = rng.random(v.shape) if k.startswith("s") else rng.standard_normal(v.shape)
    state["t"] = 3
    return optimizer, state, theta, (10 * rng.standard_normal(n)).astype(dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", [*OPTIMIZERS, SKLEARN_SGD_PLAIN])
@pytest.mark.parametrize("l2, clip, w_sum", [(0.0, None, 7.0), (0.3, 0.5, 7.0), (0.0, None, 0.0)])
def test_fused_update_equals_the_base_class_update(name, dtype, l2, clip, w_sum):
    """1/Σw, L2, clipping and the optimizer's formulas, fused, against Engine.update (NumPy)."""
    rng = np.random.default_rng(4)
    n_W, n = 30, 37
    o1, s1, th1, g1 = _update_args(name, n_W, n, dtype, rng)
    s2 = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in s1.items()}
    o2, th2, g2 = o1, th1.copy(), g1.copy()
    kw = dict(n_W=n_W, w_sum=w_sum, count=12, l2=l2, clip_norm=clip, lr=0.05)
    Engine(None).update(th1, g1, optimizer=o1, opt_state=s1, **kw)
    fused = NumbaEngine.__new__(NumbaEngine)  # the update needs no model
    Engine.__init__(fused, None)
    fused.update(th2, g2, optimizer=o2, opt_state=s2, **kw)
    tol = 4 * np.finfo(dtype).eps
    assert s2["t"] == s1["t"] == 4
    assert rel_err(th2, th1) <= tol
    assert rel_err(g2, g1) <= tol or not g1.any() and not g2.any()
    for k in ("vdW", "vdb", "sdW", "sdb"):
        if k in s1:
            assert rel_err(s2[k], s1[k]) <= tol


def test_parallel_kernels_equal_the_serial_ones():
    """The *_parallel twins split rows (or flat blocks) over threads; the numbers are the serial ones."""
    rng = np.random.default_rng(5)
    n, m = 21, 13  # 21 rows: blocks of BLOCK = 8 with a ragged last one
    Z0, b, U = rng.standard_normal((n, m)), rng.standard_normal((n, 1)), rng.random((n, m))
    outs = []
    for kernel in (K.bias_act, K.bias_act_parallel):
        Z, A, A_drop = Z0.copy(), np.empty((n, m)), np.empty((n, m))
        kernel(Z, b, A, K.ACT["tanh"], 0.0, U, 0.8, A_drop)
        outs.append((Z, A, A_drop))
    assert all(np.array_equal(x, y) for x, y in zip(*outs))
    outs = []
    for kernel in (K.bp4, K.bp4_parallel):
        dA, dZ, db = Z0.copy(), np.empty((n, m)), np.empty((n, 1))
        kernel(dA, Z0, np.tanh(Z0), K.ACT["tanh"], 0.0, U, 0.8, dZ, db)
        outs.append((dA, dZ, db))
    assert all(np.array_equal(x, y) for x, y in zip(*outs))
    src, idx = rng.standard_normal((40, 5)), rng.permutation(40)
    d1, d2 = np.empty((40, 5)), np.empty((40, 5))
    K.gather_rows(src, idx, d1)
    K.gather_rows_parallel(src, idx, d2)
    assert np.array_equal(d1, src[idx]) and np.array_equal(d2, d1)
    n_W, size = 2 * K.UPDATE_BLOCK + 5, 2 * K.UPDATE_BLOCK + 300  # blocks straddle the weight/bias border
    o, s, th, g = _update_args("adamw", n_W, size, np.float64, rng)
    res = []
    for kernel in (K.update, K.update_parallel):
        t, gg, st = th.copy(), g.copy(), {k: v.copy() for k, v in s.items() if isinstance(v, np.ndarray)}
        kernel(
            t,
            gg,
            st["vdW"],
            st["vdb"],
            st["sdW"],
            st["sdb"],
            n_W,
            7.0,
            0.01,
            50.0,
            K.OPT["adamw"],
            0.01,
            0.9,
            0.999,
            1e-8,
            1 - 0.01 * 0.01,
            1 - 0.9**4,
            1 - 0.999**4,
        )
        res.append((t, gg, st["vdW"], st["sdb"]))
    for x, y in zip(*res):
        assert rel_err(x, y) <= 1e-14  # the clipping norm is summed blockwise: rounding differs


# ------------------------------------------------------------------------------------- the engine
def _sums(engine_cls, net, X, Y, w, keep_prob, batches):
    """Each batch's out vector, and eval_sums, from a fresh engine whose rng starts at the same state."""
    net.rng = np.random.default_rng(7)
    engine = engine_cls(net, keep_prob)
    engine.bind(X, Y, w)
    outs = []
    for cols in batches:
        out = np.full(net.n_params + N_SCALARS, np.nan, net.dtype)
        engine.batch_sums(cols, out)
        outs.append(out)
    return outs, engine.eval_sums(X, Y, w)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", HEADS)
@pytest.mark.parametrize("hidden", [("relu", "tanh"), ("leaky_relu", "sigmoid"), ("linear", "softmax")])
@pytest.mark.parametrize("keep_prob, weighted", [(None, False), ((0.7, 0.9, 1.0), True)])
def test_batch_sums_equal_the_reference_engine(pair, hidden, keep_prob, weighted, dtype):
    """Gradient sums, loss sum, weight sum, count and number right, for shuffled, ragged and sliced
    batches, with dropout (the same masks from the same Generator state) and per-example weights."""
    rng = np.random.default_rng(8)
    dims, m = [5, 8, 6, 3], 29
    net = Network(dims, [*hidden, pair[0]], pair[1], seed=1, dtype=dtype)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = targets(pair[1], dims[-1], m, rng, dtype)
    w = rng.random(m).astype(dtype) if weighted else None
    perm = rng.permutation(m)
    batches = [perm[:10], perm[10:20], perm[20:], slice(0, m), slice(3, 3), perm[:0]]
    got, got_eval = _sums(NumbaEngine, net, X, Y, w, keep_prob, batches)
    want, want_eval = _sums(ReferenceEngine, net, X, Y, w, keep_prob, batches)
    tol = TOL[dtype]
    for g, r in zip(got, want):
        if not r.any():
            assert not g.any()
            continue
        assert rel_err(g[:-N_SCALARS], r[:-N_SCALARS]) <= tol
        assert rel_err(g[-N_SCALARS:-2], r[-N_SCALARS:-2]) <= tol  # loss sum, weight sum
        assert np.array_equal(g[-2:], r[-2:])  # count, number right
    assert rel_err(got_eval[:2], want_eval[:2]) <= tol
    assert np.array_equal(got_eval[2:], want_eval[2:])


def test_supports_built_in_networks_only():
    assert NumbaEngine.supports(Network([3, 4, 2], "relu", "categorical_cross_entropy"))
    assert NumbaEngine.supports(Network([3, 4, 1], ["tanh", "sigmoid"], dtype=np.float32))
    swish = register_activation(
        "swish_numba_test",
        lambda Z: Z / (1 + np.exp(-Z)),
        lambda Z: 1 / (1 + np.exp(-Z)) * (1 + Z * (1 - 1 / (1 + np.exp(-Z)))),
    )
    assert not NumbaEngine.supports(Network([3, 4, 1], [swish, "sigmoid"]))
    assert NumbaEngine.supports(Network([3, 4, 2], ["softmax", "softmax"]))  # softmax hidden: NumPy's


# ------------------------------------------------------------------------------------- through fit
def _fit(engine, dtype=np.float64, optimizer="adam", epochs=3, **kw):
    """A random network trained with every option on: ragged shuffled batches, dropout, L2, clipping, weights."""
    rng = np.random.default_rng(9)
    dims, m = [6, 9, 7, 3], 45
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = targets("categorical_cross_entropy", dims[-1], m, rng, dtype)
    net = Network(dims, ["relu", "tanh", "softmax"], seed=3, dtype=dtype)
    options = dict(
        epochs=epochs,
        learning_rate=0.05,
        optimizer=optimizer,
        batch_size=16,
        keep_prob=0.8,
        l2=0.1,
        clip_norm=1.0,
        sample_weight=rng.random(m),
        verbose=0,
    )
    history = net.fit(X, Y, engine=engine, **{**options, **kw})
    return net, history


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_fit_on_the_numba_engine_equals_the_reference_engine(optimizer):
    net, hist = _fit("numba", optimizer=optimizer)
    ref, ref_hist = _fit("reference", optimizer=optimizer)
    for key, W in ref.params.items():
        assert rel_err(net.params[key], W) <= 1e-12, key
    assert rel_err(hist.loss, ref_hist.loss) <= 1e-12
    assert hist.metrics["accuracy"] == ref_hist.metrics["accuracy"]


def test_fit_on_the_numba_engine_equals_the_reference_engine_in_float32():
    net, _ = _fit("numba", dtype=np.float32)
    ref, _ = _fit("reference", dtype=np.float32)
    for key, W in ref.params.items():
        assert rel_err(net.params[key], W) <= 1e-5, key


def test_fit_twice_continues_bit_for_bit_on_the_numba_engine():
    once, _ = _fit("numba", epochs=4)
    twice, _ = _fit("numba", epochs=2)
    rng = np.random.default_rng(9)  # the same data as _fit draws
    X = rng.standard_normal((6, 45))
    Y = targets("categorical_cross_entropy", 3, 45, rng)
    twice.fit(
        X,
        Y,
        epochs=2,
        learning_rate=0.05,
        optimizer="adam",
        batch_size=16,
        keep_prob=0.8,
        l2=0.1,
        clip_norm=1.0,
        sample_weight=rng.random(45),
        verbose=0,
        engine="numba",
    )
    for key, W in once.params.items():
        assert np.array_equal(twice.params[key], W), key


def test_auto_engine_is_numba_and_falls_back_to_numpy_for_custom_activations():
    from vecprop.engines import get_engine
    from vecprop.engines.numpy_engine import NumpyEngine

    net = Network([3, 4, 2], "relu", "categorical_cross_entropy")
    assert type(get_engine("auto", net)) is NumbaEngine
    cube = register_activation("cube_numba_test", lambda Z: Z**3, lambda Z: 3 * Z**2, overwrite=True)
    custom = Network([3, 4, 2], [cube, "softmax"], "categorical_cross_entropy")
    assert type(get_engine("auto", custom)) is NumpyEngine
    with pytest.raises(ValueError, match="engine 'numba' cannot train this network"):
        get_engine("numba", custom)


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_engine_parameter_chooses_the_engine():
    pytest.importorskip("sklearn")
    from vecprop import DNNClassifier

    rng = np.random.default_rng(10)
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 3, 60)
    kw = dict(hidden_layer_sizes=(5,), solver="adam", max_iter=3, batch_size=16, random_state=0, tol=0.0)
    fast = DNNClassifier(engine="numba", **kw).fit(X, y)
    ref = DNNClassifier(engine="reference", **kw).fit(X, y)
    assert fast.get_params()["engine"] == "numba"
    for a, b in zip(fast.coefs_, ref.coefs_):
        assert rel_err(a, b) <= 1e-12
    with pytest.raises(ValueError, match="unknown engine 'fastest'"):
        DNNClassifier(engine="fastest", **kw).fit(X, y)


def test_cli_train_engine_option(tmp_path):
    """`vecprop train --engine numba` trains what --engine reference trains; an unknown engine is one line, exit 2."""
    pytest.importorskip("safetensors")
    import os
    import subprocess
    import sys

    import vecprop

    def train(engine, expect):
        args = ["train", "--epochs", "5", "--no-plots", "--engine", engine, "--out", f"{engine}.safetensors"]
        proc = subprocess.run(
            [sys.executable, "-m", "vecprop", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        assert proc.returncode == expect, proc.stderr
        return proc

    train("numba", 0)
    train("reference", 0)
    fast, ref = (vecprop.load_network(tmp_path / f"{e}.safetensors") for e in ("numba", "reference"))
    for key, W in ref.params.items():
        assert rel_err(fast.params[key], W) <= 1e-12, key
    lines = train("fastest", 2).stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown engine 'fastest'" in lines[0]


def test_without_numba_auto_is_numpy_and_numba_says_how_to_install(monkeypatch):
    import vecprop.engines as engines
    from vecprop.engines.numpy_engine import NumpyEngine

    monkeypatch.delitem(engines.ENGINES, "numba", raising=False)
    monkeypatch.setattr(engines, "_UNAVAILABLE", {"numba"})  # as if numba did not import
    net = Network([3, 4, 2], "relu", "categorical_cross_entropy")
    assert type(engines.get_engine("auto", net)) is NumpyEngine
    assert "numba" not in engines.available_engines()
    with pytest.raises(ValueError, match=r"engine 'numba' needs numba.*pip install 'vecprop\[fast\]'"):
        engines.get_engine("numba", net)


def test_importing_vecprop_and_its_trainer_does_not_import_numba():
    import subprocess
    import sys

    code = "import sys, vecprop, vecprop.training, vecprop.engines; print('numba' in sys.modules)"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120).stdout.strip()
        == "False"
    )


def test_parallel_engine_equals_the_serial_engine(monkeypatch):
    """NumbaEngine.parallel runs the *_parallel twins (here on every array): the same numbers, bit for bit."""
    import numba

    from vecprop.engines import numba_engine

    if numba.get_num_threads() < 2:
        pytest.skip("numba has one thread here: the parallel twins are never chosen")
    rng = np.random.default_rng(11)
    X, Y = rng.standard_normal((5, 40)), targets("binary_cross_entropy", 2, 40, rng)
    perm = rng.permutation(40)
    sums = []
    for parallel in (False, True):
        monkeypatch.setattr(numba_engine, "PARALLEL_MIN", 1)
        monkeypatch.setattr(NumbaEngine, "parallel", parallel)
        net = Network([5, 12, 9, 2], ["tanh", "relu", "sigmoid"], seed=4)
        outs, _ = _sums(NumbaEngine, net, X, Y, None, (0.8, 0.7, 1.0), [perm[:17], perm[17:]])
        sums.append(outs)
    for a, b in zip(*sums):
        assert np.array_equal(a, b)


# ------------------------------------------------------------------------------------- many steps per call
@pytest.fixture
def kernel_calls(monkeypatch):
    """The number of batches of every numba_kernels.train_batches call (the engine's steps), in order."""
    calls = []
    original = K.train_batches

    def spy(*args):
        calls.append(len(args[10]) - 1)  # starts: one more than the batches
        return original(*args)

    monkeypatch.setattr(K, "train_batches", spy)
    return calls


def _data(pair, dims, m, dtype, weighted, seed=12):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m)).astype(dtype)
    Y = targets(pair[1], dims[-1], m, rng, dtype)
    return X, Y, (rng.random(m).astype(dtype) if weighted else None)


def _fit_steps(engine, pair, hidden, dtype, optimizer, weighted, callbacks=(), dims=(5, 8, 6, 3), **kw):
    """A random network fitted 3 epochs of ragged shuffled batches (45 = 16 + 16 + 13)."""
    X, Y, w = _data(pair, dims, 45, dtype, weighted)
    net = Network(list(dims), [*hidden, pair[0]], pair[1], seed=2, dtype=dtype)
    options = dict(epochs=3, learning_rate=0.05, optimizer=optimizer, batch_size=16, verbose=0)
    history = net.fit(X, Y, sample_weight=w, engine=engine, callbacks=list(callbacks), **{**options, **kw})
    return net, history


def _assert_same_fit(a, b, tol):
    (net, hist), (ref, ref_hist) = a, b
    assert rel_err(net.theta, ref.theta) <= tol
    assert rel_err(hist.loss, ref_hist.loss) <= tol
    assert hist.metrics.get("accuracy") == ref_hist.metrics.get("accuracy")
    assert net._training.opt_state["t"] == ref._training.opt_state["t"]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("optimizer", [*OPTIMIZERS, SKLEARN_SGD_PLAIN])
def test_steps_equal_the_reference_engine_over_optimizers(optimizer, dtype, kernel_calls):
    """One compiled call per epoch (the whole step: gather, forward, head, BP1–BP4, L2, clipping, the
    optimizer) gives the reference engine's parameters, losses and accuracies."""
    kw = dict(l2=0.1, clip_norm=2.0)
    got = _fit_steps("numba", HEADS[0], ("relu", "tanh"), dtype, optimizer, True, **kw)
    assert kernel_calls == [3, 3, 3]  # 16 + 16 + 13 examples per epoch, one call each
    want = _fit_steps("reference", HEADS[0], ("relu", "tanh"), dtype, optimizer, True, **kw)
    _assert_same_fit(got, want, TOL[dtype])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("pair", HEADS[:3])
@pytest.mark.parametrize("hidden", [("linear", "relu"), ("leaky_relu", "sigmoid"), ("tanh",)])
@pytest.mark.parametrize("weighted, l2", [(False, 0.0), (True, 0.3)])
def test_steps_equal_the_reference_engine_over_heads_and_activations(pair, hidden, weighted, l2, dtype, kernel_calls):
    dims = (5, *(7 for _ in hidden), 3)
    got = _fit_steps("numba", pair, hidden, dtype, "momentum", weighted, dims=dims, l2=l2)
    assert kernel_calls == [3, 3, 3]
    want = _fit_steps("reference", pair, hidden, dtype, "momentum", weighted, dims=dims, l2=l2)
    _assert_same_fit(got, want, TOL[dtype])


def test_steps_full_batch_and_unshuffled_batches(kernel_calls):
    """batch_size=None (the seed's batch gradient descent) and shuffle=False run as column ranges."""
    for kw in (dict(batch_size=None), dict(shuffle=False)):
        kernel_calls.clear()
        got = _fit_steps("numba", HEADS[1], ("relu",), np.float64, "adam", True, dims=(5, 6, 2), **kw)
        assert kernel_calls == ([1] * 3 if kw.get("batch_size", 16) is None else [3] * 3)
        want = _fit_steps("reference", HEADS[1], ("relu",), np.float64, "adam", True, dims=(5, 6, 2), **kw)
        _assert_same_fit(got, want, 1e-12)


class _CountBatches(Callback):
    def __init__(self):
        self.batches = []

    def on_batch_end(self, trainer, batch, logs):
        self.batches.append((batch, logs["size"]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_steps_equal_the_per_batch_numba_path(dtype, kernel_calls):
    """A callback's on_batch_end needs control after every batch: the per-batch path runs (no
    train_batches call, the callback sees every batch) and gives the steps' numbers."""
    spy = _CountBatches()
    kw = dict(l2=0.2, clip_norm=1.0)
    per_batch = _fit_steps("numba", HEADS[0], ("tanh", "relu"), dtype, "adamw", True, callbacks=[spy], **kw)
    assert kernel_calls == []
    assert spy.batches == [(0, 16), (1, 16), (2, 13)] * 3
    steps = _fit_steps("numba", HEADS[0], ("tanh", "relu"), dtype, "adamw", True, **kw)
    assert kernel_calls == [3, 3, 3]
    _assert_same_fit(steps, per_batch, TOL[dtype])


def test_fit_twice_continues_bit_for_bit_with_steps(kernel_calls):
    once, _ = _fit_steps("numba", HEADS[0], ("relu", "tanh"), np.float64, "adam", True, epochs=4, l2=0.1)
    twice, _ = _fit_steps("numba", HEADS[0], ("relu", "tanh"), np.float64, "adam", True, epochs=2, l2=0.1)
    X, Y, w = _data(HEADS[0], (5, 8, 6, 3), 45, np.float64, True)
    twice.fit(X, Y, sample_weight=w, epochs=2, learning_rate=0.05, optimizer="adam", batch_size=16, l2=0.1, verbose=0)
    assert kernel_calls == [3] * 8
    assert np.array_equal(twice.theta, once.theta)
    assert twice._training.opt_state["t"] == once._training.opt_state["t"] == 12


class _NeverStops(StoppingRule):
    def batch_reason(self, trainer):
        return None


@pytest.mark.parametrize(
    "case",
    ["dropout", "non-canonical head", "hidden softmax", "batch rule", "no scipy", "parallel", "user optimizer"],
)
def test_steps_fall_back_to_the_per_batch_path(case, kernel_calls, monkeypatch):
    """Where the steps would not give the same numbers or control, the per-batch path runs — and still
    equals the reference engine."""
    from vecprop.engines import numba_engine

    pair, hidden, kw = HEADS[0], ("relu", "tanh"), {}
    if case == "dropout":
        kw = dict(keep_prob=0.8)
    elif case == "non-canonical head":
        pair = HEADS[3]
    elif case == "hidden softmax":
        hidden = ("relu", "softmax")
    elif case == "batch rule":
        kw = dict(stopping=[_NeverStops()])
    elif case == "no scipy":
        monkeypatch.setattr(numba_engine, "_HAS_SCIPY", False)
    elif case == "parallel":
        monkeypatch.setattr(NumbaEngine, "parallel", True)
    else:
        kw = dict(optimizer=_PlainGD())
    optimizer = kw.pop("optimizer", "nesterov")
    got = _fit_steps("numba", pair, hidden, np.float64, optimizer, True, **kw)
    assert kernel_calls == []
    want = _fit_steps("reference", pair, hidden, np.float64, optimizer, True, **kw)
    _assert_same_fit(got, want, 1e-12)


@dataclass(frozen=True)
class _PlainGD(opt.Optimizer):
    """A user optimizer (not one the kernels know): W = W − α dW."""

    name: ClassVar[str] = "plain_gd_numba_test"

    def _step(self, key, W, dW, state, tmp, alpha, t):
        W -= alpha * dW


def test_steps_divergence_is_reported_at_the_reference_engines_epoch_and_batch(kernel_calls):
    """A non-finite cost inside a call stops it before that batch's update; the Trainer names the same
    epoch and batch as the reference engine."""
    from vecprop.training import DivergenceError

    results = []
    for engine in ("numba", "reference"):
        with pytest.raises(DivergenceError) as err:
            _fit_steps(engine, HEADS[2], ("linear", "linear"), np.float64, "gd", False, learning_rate=3.0, epochs=20)
        results.append(str(err.value))
    assert kernel_calls and results[0] == results[1]
    assert "batch" in results[0]


def test_steps_run_in_chunks_and_ctrl_c_stops_after_the_chunk(kernel_calls, monkeypatch):
    """Chunks of bounded work (STEPS_FLOP): here one batch per call; Ctrl-C during a call stops the fit
    after that call, as 'interrupted', with the partial epoch unrecorded."""
    import os
    import signal

    from vecprop import training

    monkeypatch.setattr(training, "STEPS_FLOP", 1.0)
    chunked = _fit_steps("numba", HEADS[0], ("relu", "tanh"), np.float64, "adam", True)
    assert kernel_calls == [1] * 9
    kernel_calls.clear()
    whole = _fit_steps("numba", HEADS[0], ("relu", "tanh"), np.float64, "adam", True)
    assert np.array_equal(chunked[0].theta, whole[0].theta)  # where the chunks end changes nothing

    spied = K.train_batches

    def interrupting(*args):
        out = spied(*args)
        if len(kernel_calls) == 5:  # epoch 2, batch 2
            os.kill(os.getpid(), signal.SIGINT)
        return out

    monkeypatch.setattr(K, "train_batches", interrupting)
    kernel_calls.clear()
    _, history = _fit_steps("numba", HEADS[0], ("relu", "tanh"), np.float64, "adam", True)
    assert kernel_calls == [1] * 5
    assert history.stop_reason == "interrupted" and len(history.loss) == 1


def test_session_keeps_scipy_blas_on_one_thread_for_small_products():
    """The steps' np.dot runs SciPy's BLAS: the session loads it before limiting BLAS to one thread."""
    threadpoolctl = pytest.importorskip("threadpoolctl")
    pytest.importorskip("scipy")
    net = Network([40, 100, 100, 10], "relu", seed=0)
    engine = NumbaEngine(net)
    for _ in range(2):  # the second session reuses the cached controller
        with engine.session(100):
            blas = threadpoolctl.threadpool_info()
            assert any("scipy" in lib["filepath"] for lib in blas)
            assert all(lib["num_threads"] == 1 for lib in blas if lib["user_api"] == "blas")


def test_only_the_numba_engine_offers_steps():
    """The seam's default: can_step is False and steps raises, so other engines keep one batch per call."""
    from vecprop.engines.numpy_engine import NumpyEngine

    net = Network([3, 4, 2], "relu", "categorical_cross_entropy", seed=0)
    gd = opt.get_optimizer("gd")
    for cls in (NumpyEngine, ReferenceEngine):
        engine = cls(net)
        assert engine.can_step(net.theta, gd, {"t": 0}) is False
        with pytest.raises(NotImplementedError, match="has no many-batch steps"):
            engine.steps(
                net.theta,
                np.zeros(net.n_params),
                np.arange(4),
                np.array([0, 4]),
                0.1,
                n_W=20,
                l2=0.0,
                clip_norm=None,
                optimizer=gd,
                opt_state={"t": 0},
                stats=np.empty((1, 5)),
            )
    numba_engine = NumbaEngine(net)
    assert numba_engine.can_step(net.theta, gd, {"t": 0}) is True
    assert NumbaEngine(net, keep_prob=(0.5, 1.0)).can_step(net.theta, gd, {"t": 0}) is False


@pytest.mark.parametrize(
    "schedule",
    ["exponential", "invscaling", "cosine", {"name": "reduce_on_plateau", "patience": 1, "min_delta": 1.0}],
)
def test_steps_follow_learning_rate_schedules(schedule, kernel_calls):
    """Schedules step once per epoch (after it, some from its loss): each call gets its epoch's rate and the
    fit equals the reference engine's, learning_rate history included."""
    kw = dict(schedule=schedule, epochs=4, learning_rate=0.2)
    got = _fit_steps("numba", HEADS[0], ("tanh",), np.float64, "momentum", False, dims=(5, 6, 3), **kw)
    assert kernel_calls == [3] * 4
    want = _fit_steps("reference", HEADS[0], ("tanh",), np.float64, "momentum", False, dims=(5, 6, 3), **kw)
    _assert_same_fit(got, want, 1e-12)
    assert got[1].metrics["learning_rate"] == want[1].metrics["learning_rate"]
    assert len(set(got[1].metrics["learning_rate"])) > 1
