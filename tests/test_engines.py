"""The engine seam (issue #10): every engine equals the reference engine (propagation.py, the seed).

batch_sums within 1e-12 relative (float64) over every hidden activation, every (output, loss) pair,
dropout, sample weights, shuffled column indices, ragged and EMPTY batches; whole fits (L2, class
weights, clipping, every optimizer) within 1e-12; and the public registry, Reducer and Trainer API.
"""

from __future__ import annotations

import numpy as np
import pytest

from test_propagation import PAIRS, make_net, targets
from vecprop import Network
from vecprop.activations import ACTIVATIONS
from vecprop.engines import (
    N_SCALARS,
    Engine,
    NumpyEngine,
    ReferenceEngine,
    available_engines,
    get_engine,
    register_engine,
)
from vecprop.reducers import LocalReducer, Reducer
from vecprop.training import Trainer

ENGINES = [name for name in available_engines() if name != "reference"]
HIDDEN = sorted(ACTIVATIONS)


def _bound_pair(dims, hidden, output, loss, m, weights, keep, engine, seed=4):
    """Two identical networks bound to the same data: one for the reference engine, one for ``engine``."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((dims[0], m))
    Y = targets(loss, dims[-1], m, rng)
    w = rng.uniform(0.1, 2.0, m) if weights else None
    nets = [make_net(dims, hidden, output, loss, seed=seed) for _ in range(2)]
    if not get_engine(engine).supports(nets[1]):  # e.g. numba has no kernel for exp/poisson: auto uses numpy
        pytest.skip(f"engine {engine!r} does not train {hidden}/{output}/{loss} (engine='auto' falls back to numpy)")
    engines = [ReferenceEngine(nets[0], keep), get_engine(engine, nets[1], keep)]
    for e in engines:
        e.bind(X, Y, w)
    return nets, engines


def _assert_sums_equal(got, ref, n):
    np.testing.assert_allclose(got[:n], ref[:n], rtol=1e-12, atol=1e-12 * max(1.0, np.abs(ref[:n]).max()))
    np.testing.assert_allclose(got[n:], ref[n:], rtol=1e-12, atol=0)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("output,loss", PAIRS, ids=[f"{g}+{l}" for g, l in PAIRS])
def test_batch_sums_equal_the_reference_for_every_output_and_loss(engine, output, loss):
    dims, m = [4, 5, 3, 3], 11
    for weights, keep in [(False, None), (True, (0.7, 0.9, 1.0))]:
        nets, engines = _bound_pair(dims, "tanh", output, loss, m, weights, keep, engine)
        n = nets[0].n_params
        bufs = [np.full(n + N_SCALARS, np.nan) for _ in engines]
        perm = np.random.default_rng(1).permutation(m)
        for cols in (slice(0, m), slice(3, 8), perm[:7], perm[7:], perm[:0], slice(4, 4)):
            for e, buf in zip(engines, bufs):
                e.batch_sums(cols, buf)
            _assert_sums_equal(bufs[1], bufs[0], n)
            m_b = len(range(m)[cols]) if isinstance(cols, slice) else len(cols)
            assert bufs[0][n + 2] == m_b
            if m_b == 0:
                assert not bufs[1].any()  # an empty batch writes zeros


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("hidden", HIDDEN)
def test_batch_sums_equal_the_reference_for_every_hidden_activation(engine, hidden):
    dims, m = [3, 6, 4, 2], 9
    nets, engines = _bound_pair(dims, hidden, "softmax", "categorical_cross_entropy", m, True, (0.8, 0.6, 1.0), engine)
    n = nets[0].n_params
    bufs = [np.empty(n + N_SCALARS) for _ in engines]
    for e, buf in zip(engines, bufs):
        e.batch_sums(np.arange(m)[::-1].copy(), buf)
    _assert_sums_equal(bufs[1], bufs[0], n)
    for e in engines:  # validation sums: no dropout, no gradient
        np.testing.assert_allclose(e.eval_sums(e.X, e.Y), engines[0].eval_sums(e.X, e.Y), rtol=1e-12)


def test_batch_sums_are_the_seed_gradient_times_the_weight_sum():
    """Σ_i w_i ∂L_i/∂θ = Σw × (Network.backward's weighted-mean gradient), and the scalars are what they say."""
    rng = np.random.default_rng(0)
    net = Network([3, 4, 2], ["relu", "softmax"], seed=1)
    X, Y = rng.standard_normal((3, 7)), np.eye(2)[:, rng.integers(0, 2, 7)]
    w = rng.uniform(0.5, 1.5, 7)
    e = NumpyEngine(net)
    e.bind(X, Y, w)
    buf = np.empty(net.n_params + N_SCALARS)
    e.batch_sums(slice(None), buf)
    grads = net.backward(Y, sample_weight=w) if net.forward(X) is not None else None
    flat = np.concatenate([grads[f"dW{l}"].ravel() for l in (1, 2)] + [grads[f"db{l}"].ravel() for l in (1, 2)])
    np.testing.assert_allclose(buf[: net.n_params], flat * w.sum(), rtol=1e-12)
    J = net.cost(net.forward(X), Y, sample_weight=w)
    np.testing.assert_allclose(buf[net.n_params : net.n_params + 3], [J * w.sum(), w.sum(), 7], rtol=1e-12)
    assert buf[-1] == net.accuracy(X, Y) * 7


FIT_CASES = {
    "gd_l2_ragged": dict(optimizer="gd", batch_size=7, l2=0.2),
    "momentum_dropout": dict(optimizer="momentum", batch_size=9, keep_prob=0.8),
    "nesterov_balanced": dict(optimizer="nesterov", batch_size=10, class_weight="balanced"),
    "rmsprop_clip": dict(optimizer="rmsprop", batch_size=8, clip_norm=0.05, learning_rate=0.005),
    "adam_weights_full_batch": dict(optimizer="adam", sample_weight=True),
    "adamw_unshuffled": dict(optimizer="adamw", batch_size=6, shuffle=False, l2=0.1),
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", sorted(FIT_CASES))
def test_whole_fits_equal_the_reference_engine(engine, case):
    rng = np.random.default_rng(5)
    X, Y = rng.standard_normal((4, 43)), np.eye(3)[:, rng.integers(0, 3, 43)]
    kw = dict({"epochs": 5, "learning_rate": 0.05, "verbose": 0}, **FIT_CASES[case])
    if kw.pop("sample_weight", False):
        kw["sample_weight"] = rng.uniform(0.2, 2.0, 43)
    ref, other = (Network([4, 6, 5, 3], "tanh", "categorical_cross_entropy", seed=2) for _ in range(2))
    h_ref = ref.fit(X, Y, engine="reference", **kw)
    h = other.fit(X, Y, engine=engine, **kw)
    np.testing.assert_allclose(other.theta, ref.theta, rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-12)
    assert h.metrics["accuracy"] == h_ref.metrics["accuracy"]


def test_theta_is_the_flat_vector_params_are_views_of():
    net = Network([3, 4, 2], seed=0)
    assert net.theta.shape == (net.n_params,)
    for key, value in net.params.items():
        assert np.shares_memory(value, net.theta), key
    net.theta[0] = 123.0
    assert net.params["W1"][0, 0] == 123.0


def test_registry_names_and_errors():
    assert {"numpy", "reference"} <= set(available_engines())
    net = Network([2, 3, 1], seed=0)
    assert isinstance(get_engine("auto", net), Engine)
    assert type(get_engine(None, net)) is get_engine("auto")
    assert get_engine("reference") is ReferenceEngine
    e = NumpyEngine(net)
    assert get_engine(e) is e
    with pytest.raises(ValueError, match="unknown engine 'nope'.*numpy"):
        get_engine("nope", net)
    with pytest.raises(ValueError, match="Engine subclass"):
        register_engine("bad", object)
    with pytest.raises(ValueError, match="already registered"):
        register_engine("numpy", ReferenceEngine)
    with pytest.raises(ValueError, match="unknown engine"):
        net.fit(np.zeros((2, 4)), np.zeros((1, 4)), engine="nope", verbose=0)


def test_an_engine_that_cannot_train_the_model_is_refused():
    class Picky(NumpyEngine):
        name = "picky"

        @classmethod
        def supports(cls, model):
            return False

    with pytest.raises(ValueError, match="cannot train this network"):
        get_engine(Picky, Network([2, 3, 1], seed=0))


def test_a_reducer_sees_every_batch_and_a_doubling_reducer_equals_duplicated_data():
    """reduce(buf) sits between the sums and the update: summing two identical 'processes' gives the
    gradient of the data twice over, i.e. the same mean gradient, so the same parameters."""

    class Doubling(LocalReducer):
        calls = 0

        def __call__(self, buf):
            Doubling.calls += 1
            buf *= 2

    assert isinstance(Doubling(), Reducer)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 20)), (rng.random((1, 20)) < 0.5).astype(float)
    a, b = Network([3, 4, 1], seed=3), Network([3, 4, 1], seed=3)
    a.fit(X, Y, epochs=3, batch_size=6, verbose=0)
    h = b.fit(X, Y, epochs=3, batch_size=6, verbose=0, reduce=Doubling())
    assert Doubling.calls == 3 * 4
    np.testing.assert_allclose(b.theta, a.theta, rtol=1e-12)
    assert len(h.loss) == 3


def test_trainer_step_reads_like_the_seed():
    """A Trainer can be driven one step at a time: J of the batch, its size and the number right."""
    from vecprop.training import FitConfig, _trainer_state

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 10)), (rng.random((1, 10)) < 0.5).astype(float)
    net = Network([3, 4, 1], seed=3)
    config = FitConfig(epochs=1, learning_rate=0.1)
    trainer = Trainer(net, config, engine="reference", state=_trainer_state(net, config))
    trainer.engine.bind(X, Y, None)
    before = net.theta.copy()
    J0 = net.copy().compute_cost(X, Y)
    J, count, correct = trainer.step(slice(0, 10), 0.1)
    assert pytest.approx(J0, rel=1e-12) == J
    assert count == 10 and 0 <= correct <= 10
    assert not np.array_equal(net.theta, before)
    other = Network([3, 4, 1], seed=3)
    other.fit(X, Y, epochs=1, learning_rate=0.1, verbose=0)
    np.testing.assert_allclose(net.theta, other.theta, rtol=1e-12)


def test_every_hyperparameter_is_declared_once_in_fitconfig():
    import inspect
    from dataclasses import fields

    from vecprop.training import FitConfig, fit

    names = [f.name for f in fields(FitConfig)]
    assert len(names) == 19 and names[0] == "epochs"
    sig = inspect.signature(fit)
    for f in fields(FitConfig):
        assert sig.parameters[f.name].default == f.default
        assert f.metadata["doc"]
    assert FitConfig.doc().splitlines()[0] == "epochs = 100: passes over the training set"
    net = Network([2, 3, 1], seed=0)
    with pytest.raises(TypeError, match="unexpected keyword argument 'epoch'.*epochs, learning_rate"):
        net.fit(np.zeros((2, 4)), np.zeros((1, 4)), epoch=3)
    with pytest.raises(ValueError, match="patience must be an integer >= 1, got 0"):
        FitConfig(patience=0).check(net)
    with pytest.raises(ValueError, match="keep_prob must be in"):
        FitConfig(keep_prob=1.5).check(net)


def test_stopping_rules_are_public_objects_plugged_into_the_loop():
    """A NoImprovement rule (scikit-learn's tol / n_iter_no_change) passed to fit stops it."""
    from vecprop.stopping import EarlyStopping, NoImprovement, StoppingRule

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((3, 30)), (rng.random((1, 30)) < 0.5).astype(float)
    rule = NoImprovement(tol=1e9, n_iter_no_change=2)  # nothing is ever an improvement of 1e9
    h = Network([3, 4, 1], seed=1).fit(X, Y, epochs=50, verbose=0, stopping=[rule])
    assert h.stop_reason == "converged" and len(h.loss) == 4 and rule.converged
    lowered = []
    adaptive = NoImprovement(
        tol=1e9, n_iter_no_change=1, reduce_rate=lambda t: len(lowered) < 2 and not lowered.append(t.state.epoch)
    )
    h = Network([3, 4, 1], seed=1).fit(X, Y, epochs=50, verbose=0, stopping=[adaptive])
    assert h.stop_reason == "converged" and lowered == [3, 5] and len(h.loss) == 7

    class StopAtThree(StoppingRule):
        def epoch_reason(self, trainer, epoch, logs):
            return "three" if len(trainer.history.loss) == 3 else None

    h = Network([3, 4, 1], seed=1).fit(X, Y, epochs=50, verbose=0, stopping=[StopAtThree()])
    assert h.stop_reason == "three" and len(h.loss) == 3
    es = EarlyStopping("loss", patience=1, min_delta=1e9)
    h = Network([3, 4, 1], seed=1).fit(X, Y, epochs=50, verbose=0, stopping=[es])
    assert h.stop_reason == "early_stopping" and h.best_epoch == 0 and len(h.loss) == 2


@pytest.mark.parametrize("engine", ENGINES)
def test_float32_batch_sums_agree_within_1e_5(engine):
    rng = np.random.default_rng(2)
    X = rng.standard_normal((4, 13)).astype(np.float32)
    Y = np.eye(3, dtype=np.float32)[:, rng.integers(0, 3, 13)]
    nets = [Network([4, 6, 3], "relu", "categorical_cross_entropy", seed=1, dtype=np.float32) for _ in range(2)]
    engines = [ReferenceEngine(nets[0], (0.8, 1.0)), get_engine(engine, nets[1], (0.8, 1.0))]
    bufs = [np.empty(nets[0].n_params + N_SCALARS, np.float32) for _ in engines]
    for e, buf in zip(engines, bufs):
        e.bind(X, Y, None)
        e.batch_sums(np.arange(13)[::-1].copy(), buf)
        assert buf.dtype == np.float32
    np.testing.assert_allclose(bufs[1], bufs[0], rtol=1e-5, atol=1e-5)


def test_update_divides_by_the_weight_sum_adds_l2_and_does_nothing_for_an_empty_step():
    from vecprop.optimizers import get_optimizer

    net = Network([2, 3, 1], seed=0)
    theta, n_W = net.theta, 9
    gd = get_optimizer("gd")
    engine = NumpyEngine(net)
    before = theta.copy()
    grads = np.arange(theta.size, dtype=float)
    engine.update(
        theta,
        grads,
        n_W=n_W,
        w_sum=0.0,
        count=0.0,
        l2=0.0,
        clip_norm=None,
        optimizer=gd,
        opt_state=gd.init({"W": theta[:n_W], "b": theta[n_W:]}),
        lr=0.1,
    )
    np.testing.assert_array_equal(theta, before)  # no examples anywhere: zero gradient
    grads = np.arange(theta.size, dtype=float)
    expected = before - 0.1 * (np.arange(theta.size) / 4.0 + np.r_[0.5 / 8 * before[:n_W], np.zeros(theta.size - n_W)])
    engine.update(
        theta,
        grads,
        n_W=n_W,
        w_sum=4.0,
        count=8.0,
        l2=0.5,
        clip_norm=None,
        optimizer=gd,
        opt_state=gd.init({"W": theta[:n_W], "b": theta[n_W:]}),
        lr=0.1,
    )
    np.testing.assert_allclose(theta, expected, rtol=1e-15)


def test_auto_falls_back_to_numpy_where_a_faster_engine_cannot_train_the_network():
    net = make_net([3, 4, 2], "tanh", "exp", "poisson", seed=0)
    engine = get_engine("auto", net, None)
    assert engine.supports(net) and engine.name == "numpy"  # numba has no exp/poisson kernel
    assert all(get_engine(name).supports(net) for name in ("reference", "numpy"))
