"""Array API backends (issue #14): the same math on array-api-strict (its default and its simulated second
device, which refuses any conversion to NumPy) and on PyTorch CPU when it is installed (not a test dependency).

Forward, backward, cost, the gradient check and whole fits (every built-in optimizer, dropout, L2, sample and
class weights, ragged shuffled batches, clipping, a validation split with early stopping) equal the NumPy
engines within 1e-12 (float64); outputs come back in the input's namespace and on its device; the xp engine's
batch sums equal the reference engine's over every (output, loss) pair and hidden activation.
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from test_propagation import PAIRS, make_net, targets
from vecprop import Network, gradient_check
from vecprop.activations import ACTIVATIONS
from vecprop.callbacks import Callback
from vecprop.engines import N_SCALARS, ReferenceEngine, XPEngine, get_engine
from vecprop.engines.xp_engine import TorchMasks
from vecprop.engines.xp_propagation import INSTALL_HINT, is_foreign, namespace, to_host
from vecprop.io import load
from vecprop.training import DivergenceError

strict = pytest.importorskip("array_api_strict")
pytest.importorskip("array_api_compat")
from array_api_compat import device as device_of  # noqa: E402

DEVICE1 = strict.Device("device1")


def _torch():
    return pytest.importorskip("torch")


BACKENDS = {
    "strict": lambda a: strict.asarray(np.asarray(a, dtype=np.float64)),
    "strict-device1": lambda a: strict.asarray(np.asarray(a, dtype=np.float64), device=DEVICE1),
    "torch-cpu": lambda a: _torch().asarray(np.asarray(a, dtype=np.float64)),
}


@pytest.fixture(params=sorted(BACKENDS))
def to_x(request):
    return BACKENDS[request.param]


def _data(m=37, seed=3):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((4, m))
    Y = np.eye(3)[:, rng.integers(0, 3, m)]
    return X, Y, rng.uniform(0.2, 2.0, m)


def _same_place(a, like):
    assert type(a) is type(like)
    assert device_of(a) == device_of(like)


def _close(got, ref, rtol=1e-12):
    got = to_host(got)
    np.testing.assert_allclose(got, ref, rtol=rtol, atol=rtol * max(1.0, float(np.abs(ref).max(initial=0))))


# ----------------------------------------------------------------------------------------- the model
def test_forward_backward_cost_equal_numpy_and_stay_on_the_device(to_x):
    X, Y, w = _data()
    ref, net = (Network([4, 6, 5, 3], "tanh", "categorical_cross_entropy", seed=1) for _ in range(2))
    Xd, Yd, wd = to_x(X), to_x(Y), to_x(w)
    A_ref, A = ref.forward(X, keep_prob=0.7), net.forward(Xd, keep_prob=0.7)  # the same masks
    _same_place(A, Xd)
    _same_place(net.theta, Xd)
    _close(A, A_ref)
    for l, cache in ref.caches.items():
        _same_place(net.caches[l].Z, Xd)
        _close(net.caches[l].A_prev, cache.A_prev)
        np.testing.assert_array_equal(to_host(net.caches[l].D), cache.D) if cache.D is not None else None
    g_ref = ref.backward(Y, sample_weight=w, l2=0.3)
    g = net.backward(Yd, sample_weight=wd, l2=0.3)
    assert set(g) == set(g_ref)
    for key in g_ref:
        _same_place(g[key], Xd)
        _close(g[key], g_ref[key])
    assert abs(net.cost(A, Yd, sample_weight=wd, l2=0.3) - ref.cost(A_ref, Y, sample_weight=w, l2=0.3)) < 1e-12
    assert abs(net.compute_cost(Xd, Yd) - ref.compute_cost(X, Y)) < 1e-12


def test_predictions_come_back_in_the_input_namespace(to_x):
    X, Y, _ = _data()
    for out, loss, Yt in [
        ("softmax", "categorical_cross_entropy", Y),
        ("sigmoid", "binary_cross_entropy", Y),
        ("linear", "mse", Y),
    ]:
        ref, net = (Network([4, 5, 3], ["relu", out], loss, seed=2) for _ in range(2))
        Xd = to_x(X)
        for method in ("predict_output", "predict"):
            got, want = getattr(net, method)(Xd), getattr(ref, method)(X)
            _same_place(got, Xd)
            assert tuple(got.shape) == want.shape
            np.testing.assert_allclose(to_host(got), want, rtol=1e-12, atol=1e-15)
        if out != "linear":
            assert net.accuracy(Xd, to_x(Yt)) == ref.accuracy(X, Yt)


def test_gradient_check_runs_in_the_input_namespace(to_x):
    X, Y, w = _data(m=6)
    net = Network([4, 3, 3], "tanh", "categorical_cross_entropy", seed=0)
    result = gradient_check(net, to_x(X), to_x(Y), l2=0.1, sample_weight=to_x(w))
    assert result.difference < 1e-7 and set(result.parameters) == {"W1", "b1", "W2", "b2"}


# ----------------------------------------------------------------------------------------- whole fits
FITS = {
    "gd_l2_ragged": dict(optimizer="gd", batch_size=7, l2=0.2),
    "momentum_dropout": dict(optimizer="momentum", batch_size=9, keep_prob=0.8),
    "nesterov_balanced": dict(optimizer="nesterov", batch_size=10, class_weight="balanced"),
    "rmsprop_clip": dict(optimizer="rmsprop", batch_size=8, clip_norm=0.05, learning_rate=0.005),
    "adam_weights_full_batch": dict(optimizer="adam", sample_weight=True),
    "adamw_unshuffled_l2": dict(optimizer="adamw", batch_size=6, shuffle=False, l2=0.1),
    "adam_dropout_weights_early_stopping": dict(
        optimizer="adam",
        batch_size=8,
        keep_prob=(0.7, 0.9),
        sample_weight=True,
        early_stopping=True,
        patience=2,
        validation_fraction=0.25,
    ),
}


@pytest.mark.parametrize("case", sorted(FITS))
def test_whole_fits_equal_the_numpy_engine(to_x, case):
    X, Y, w = _data(m=43, seed=5)
    kw = dict({"epochs": 5, "learning_rate": 0.05, "verbose": 0}, **FITS[case])
    weighted = kw.pop("sample_weight", False)
    ref, net = (Network([4, 6, 5, 3], "tanh", "categorical_cross_entropy", seed=2) for _ in range(2))
    h_ref = ref.fit(X, Y, engine="numpy", sample_weight=w if weighted else None, **kw)
    Xd = to_x(X)
    h = net.fit(Xd, to_x(Y), sample_weight=to_x(w) if weighted else None, **kw)
    _same_place(net.theta, Xd)
    _close(net.theta, ref.theta)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-12)
    np.testing.assert_allclose(h.val_loss, h_ref.val_loss, rtol=1e-12)
    assert h.metrics["accuracy"] == h_ref.metrics["accuracy"]
    assert h.stop_reason == h_ref.stop_reason and h.epochs == h_ref.epochs
    # continuing (optimizer moments stay on the device) equals continuing on NumPy
    ref.fit(X, Y, engine="numpy", sample_weight=w if weighted else None, **dict(kw, epochs=2))
    net.fit(Xd, to_x(Y), sample_weight=to_x(w) if weighted else None, **dict(kw, epochs=2))
    _close(net.theta, ref.theta)


# ----------------------------------------------------------------------------------------- the engine
def _assert_sums_equal(got, ref, n):
    got = np.asarray(to_host(got))
    np.testing.assert_allclose(got[:n], ref[:n], rtol=1e-12, atol=1e-12 * max(1.0, np.abs(ref[:n]).max()))
    np.testing.assert_allclose(got[n:], ref[n:], rtol=1e-12, atol=0)


@pytest.mark.parametrize(
    "hidden,output,loss",
    [("tanh", g, l) for g, l in PAIRS] + [(h, "softmax", "categorical_cross_entropy") for h in sorted(ACTIVATIONS)],
)
def test_xp_batch_sums_equal_the_reference_on_a_device(hidden, output, loss):
    dims, m, keep = [4, 5, 3, 3], 11, (0.7, 0.9, 1.0)
    rng = np.random.default_rng(4)
    X, Y, w = rng.standard_normal((dims[0], m)), targets(loss, dims[-1], m, rng), rng.uniform(0.1, 2.0, m)
    ref, net = (make_net(dims, hidden, output, loss, seed=4) for _ in range(2))
    dev = BACKENDS["strict-device1"]
    net.to(strict, DEVICE1)
    engines = [ReferenceEngine(ref, keep), get_engine("xp", net, keep)]
    engines[0].bind(X, Y, w)
    engines[1].bind(dev(X), dev(Y), dev(w))
    n = ref.n_params
    bufs = [np.zeros(n + N_SCALARS), engines[1].zeros(n + N_SCALARS)]
    perm = np.random.default_rng(1).permutation(m)
    for cols in (slice(0, m), perm[:7], perm[7:], perm[:0]):
        for e, buf in zip(engines, bufs):
            e.batch_sums(cols, buf)
        _same_place(bufs[1], net.theta)
        _assert_sums_equal(bufs[1], bufs[0], n)
    np.testing.assert_allclose(engines[1].eval_sums(dev(X), dev(Y), dev(w)), engines[0].eval_sums(X, Y, w), rtol=1e-12)


# ----------------------------------------------------------------------------------------- moving, files, errors
def test_to_moves_theta_and_params_stay_views(to_x):
    net = Network([3, 4, 2], seed=0)
    host = net.theta.copy()
    Xd = to_x(np.zeros((3, 1)))
    assert net.to(Xd) is net
    _same_place(net.theta, Xd)
    net.theta[0] = 123.0
    assert float(net.params["W1"][0, 0]) == 123.0
    net.params = {k: to_host(v) for k, v in net.params.items()}  # assigning keeps the device
    _same_place(net.theta, Xd)
    twin = net.copy()  # a deep copy's params are views of its theta again
    twin.theta[1] = -5.0
    assert float(twin.params["W1"][0, 1]) == -5.0 and float(net.params["W1"][0, 1]) == host[1]
    net.to(np)
    assert isinstance(net.theta, np.ndarray) and net.theta[0] == 123.0
    np.testing.assert_array_equal(net.theta[1:], host[1:])
    assert np.shares_memory(net.params["W1"], net.theta)


def test_saving_from_a_device_writes_the_numpy_file_and_loads_numpy(to_x, tmp_path):
    pytest.importorskip("safetensors")
    X, Y, _ = _data()
    ref, net = (Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=7) for _ in range(2))
    ref.fit(X, Y, epochs=2, batch_size=10, optimizer="adam", verbose=0)
    net.fit(to_x(X), to_x(Y), epochs=2, batch_size=10, optimizer="adam", verbose=0)
    ref.theta[:] = to_host(net.theta)  # equal within 1e-12; make them equal to compare the bytes
    ref._training.opt_state.update(
        {k: to_host(v) for k, v in net._training.opt_state.items() if not isinstance(v, (int, float))}
    )
    ref.save(tmp_path / "ref.safetensors")
    net.save(tmp_path / "dev.safetensors")
    from safetensors import safe_open
    from safetensors.numpy import load_file

    files = [tmp_path / "ref.safetensors", tmp_path / "dev.safetensors"]
    tensors = [load_file(f) for f in files]  # (the header's key order is not fixed)
    assert sorted(tensors[0]) == sorted(tensors[1]) and len(tensors[0]) > 4  # parameters and moments
    for key, value in tensors[0].items():
        assert tensors[1][key].dtype == value.dtype
        np.testing.assert_array_equal(tensors[1][key], value)
    metas = []
    for f in files:
        with safe_open(f, "np") as handle:
            metas.append(handle.metadata())
    assert metas[0] == metas[1]
    _same_place(net.theta, to_x(X))  # saving did not move the network
    loaded = load(tmp_path / "dev.safetensors")
    assert isinstance(loaded.theta, np.ndarray)
    np.testing.assert_array_equal(loaded.theta, ref.theta)


def test_mixed_namespaces_and_numpy_engines_are_refused():
    X, Y, _ = _data()
    net = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=0)
    with pytest.raises(ValueError, match="parameters are NumPy"):
        net.check_Y(BACKENDS["strict"](Y), X.shape[1])
    with pytest.raises(ValueError, match="one namespace on one device"):
        net.fit(BACKENDS["strict"](X), BACKENDS["strict-device1"](Y), verbose=0)
    with pytest.raises(ValueError, match="engine 'numpy' computes on NumPy arrays.*engine='xp'"):
        net.fit(BACKENDS["strict"](X), Y, engine="numpy", verbose=0)
    with pytest.raises(ValueError, match="contains NaN"):
        net.forward(BACKENDS["strict-device1"](np.full((4, 2), np.nan)))
    assert isinstance(get_engine("auto", net.to(strict, DEVICE1)), XPEngine)
    with pytest.raises(ValueError, match="array namespace.*net.to\\(torch, device='cuda'\\)"):
        net.to("cuda")


def test_numpy_input_stays_numpy_and_a_missing_extra_names_the_install(monkeypatch):
    X, Y, _ = _data()
    net = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=0)
    assert not is_foreign(X) and isinstance(net.forward(X), np.ndarray)
    monkeypatch.setitem(sys.modules, "array_api_compat", None)
    assert isinstance(net.predict(X), np.ndarray)  # NumPy never needs array-api-compat
    hint = INSTALL_HINT.replace("[", r"\[").replace("]", r"\]")
    with pytest.raises(ImportError, match=hint):
        namespace(BACKENDS["strict"](X))
    with pytest.raises(ImportError, match=hint):
        net.forward(BACKENDS["strict"](X))


def test_float32_fit_agrees_within_1e_5_and_keeps_float32(to_x):
    X, Y, _ = _data(m=29)
    ref, net = (Network([4, 6, 3], "relu", "categorical_cross_entropy", seed=1, dtype=np.float32) for _ in range(2))
    kw = dict(epochs=3, batch_size=8, optimizer="adam", learning_rate=0.01, verbose=0)
    h_ref = ref.fit(X, Y, **kw)
    h = net.fit(to_x(X), to_x(Y), **kw)  # float64 input arrays become the network's float32
    assert to_host(net.theta).dtype == np.float32
    np.testing.assert_allclose(to_host(net.theta), ref.theta, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(h.loss, h_ref.loss, rtol=1e-5)


# ----------------------------------------------------------------------------------------- one sync per epoch
class _EachBatch(Callback):
    """Reads every batch's cost: the Trainer then takes its per-batch host path (today's)."""

    def __init__(self):
        self.costs = []

    def on_batch_end(self, trainer, batch, logs):
        self.costs.append(logs["loss"])


EPOCH_SUMS = {
    "adam-dropout-l2-validation": dict(optimizer="adam", keep_prob=0.8, l2=0.2, validation_fraction=0.2),
    "sklearn_adam-weights": dict(optimizer="sklearn_adam", sample_weight=True),
    "sklearn_sgd-l2": dict(optimizer="sklearn_sgd", l2=0.5, learning_rate=0.05),
    "rmsprop-unshuffled": dict(optimizer="rmsprop", shuffle=False),
}


@pytest.mark.parametrize("case", sorted(EPOCH_SUMS))
def test_epoch_sums_on_the_device_equal_the_per_batch_history(to_x, case, monkeypatch):
    from vecprop.training import Trainer

    monkeypatch.setattr(XPEngine, "host_reads_wait", lambda self: True)  # as on a GPU, also on the CPU backends
    device_epochs = []
    on_device = Trainer._epoch_on_device
    monkeypatch.setattr(Trainer, "_epoch_on_device", lambda self, *a: device_epochs.append(1) or on_device(self, *a))
    X, Y, w = _data(m=61)
    opts = dict(EPOCH_SUMS[case])
    weights = opts.pop("sample_weight", False)
    histories = []
    for callbacks in ([], [_EachBatch()]):
        net = Network([4, 6, 3], "relu", "categorical_cross_entropy", seed=2)
        sw = to_x(w) if weights else None
        histories.append(
            net.fit(to_x(X), to_x(Y), epochs=4, batch_size=16, sample_weight=sw, callbacks=callbacks, verbose=0, **opts)
        )
        histories[-1] = (histories[-1], to_host(net.theta))
    (device, theta_d), (host, theta_h) = histories
    assert len(device_epochs) == 4  # the first fit's 4 epochs took the device path, the second's none
    assert device.epochs == host.epochs == [0, 1, 2, 3]
    assert set(device.metrics) == set(host.metrics)
    for key in ("loss", *(["val_loss"] if host.val_loss else []), *(k for k in host.metrics if k != "seconds")):
        np.testing.assert_allclose(device[key], host[key], rtol=1e-12, atol=1e-14, err_msg=key)
    np.testing.assert_allclose(theta_d, theta_h, rtol=1e-12, atol=1e-14)


def test_a_device_epoch_reads_the_host_once_whatever_the_batch_count(monkeypatch):
    """Counted on array-api-strict: converting a device scalar to a Python float or bool is a host sync."""
    Array = type(strict.asarray(0.0))

    X, Y, _ = _data(m=96)
    counts = {}

    def counting(kind, original):
        def wrapper(self):
            counts[kind] = counts.get(kind, 0) + 1
            return original(self)

        return wrapper

    monkeypatch.setattr(Array, "__float__", counting("float", Array.__float__))
    monkeypatch.setattr(Array, "__bool__", counting("bool", Array.__bool__))
    seen = {}
    for batch_size, callbacks in ((8, []), (48, []), (8, [_EachBatch()])):
        counts.clear()
        net = Network([4, 5, 3], "tanh", "categorical_cross_entropy", seed=0)
        net.fit(
            strict.asarray(X, device=DEVICE1),
            strict.asarray(Y, device=DEVICE1),
            epochs=3,
            batch_size=batch_size,
            optimizer="adam",
            l2=0.1,
            verbose=0,
            callbacks=callbacks,
        )
        seen[(batch_size, bool(callbacks))] = dict(counts)
    assert seen[(8, False)] == seen[(48, False)]  # 12 batches an epoch or 2: the same few syncs
    assert seen[(8, False)].get("float", 0) == 0
    assert seen[(8, True)].get("float", 0) >= 3 * 12  # the per-batch path: at least one per batch


def test_only_a_device_keeps_the_epoch_sums_there(to_x, monkeypatch):
    """A CPU backend (torch CPU, array-api-strict's CPU_DEVICE) keeps the per-batch path, which is faster
    there; a device (array-api-strict's device1, a GPU) takes the device path."""
    from vecprop.training import Trainer

    device_epochs = []
    on_device = Trainer._epoch_on_device
    monkeypatch.setattr(Trainer, "_epoch_on_device", lambda self, *a: device_epochs.append(1) or on_device(self, *a))
    X, Y, _ = _data()
    Xd = to_x(X)
    Network([4, 3, 3], "relu", "categorical_cross_entropy", seed=0).fit(Xd, to_x(Y), epochs=2, verbose=0)
    on_a_device = device_of(Xd) == DEVICE1
    assert len(device_epochs) == (2 if on_a_device else 0)


@pytest.mark.parametrize("forced", [False, True], ids=["as-is", "device-path"])
def test_divergence_on_the_device_path_stops_as_the_per_batch_path(to_x, forced, monkeypatch):
    if forced:
        monkeypatch.setattr(XPEngine, "host_reads_wait", lambda self: True)
    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((4, 200)) * 10, rng.standard_normal((1, 200))
    results = []
    for callbacks in ([], [_EachBatch()]):
        net = Network([4, 16, 1], "relu", "mse", seed=0)
        with pytest.raises(DivergenceError) as info:
            net.fit(
                to_x(X),
                to_x(Y),
                epochs=30,
                batch_size=32,
                optimizer="gd",
                learning_rate=0.008,
                verbose=0,
                callbacks=callbacks,
            )
        results.append((str(info.value), to_host(net.theta), net._training.epoch))
    (msg_d, theta_d, epoch_d), (msg_h, theta_h, epoch_h) = results
    assert "at epoch 1, batch 1 " in msg_h  # a later epoch: the first one was recorded
    assert msg_d == msg_h and epoch_d == epoch_h == 1
    np.testing.assert_array_equal(theta_d, theta_h)  # both: the last finite parameters (the epoch's start)
    assert np.isfinite(theta_d).all()


# ----------------------------------------------------------------------------------------- masks on the device
def test_masks_on_a_gpu_are_drawn_there_and_train_with_the_same_math(monkeypatch):
    """torch CPU stands in for CUDA (host_reads_wait forced): the masks come from a torch.Generator seeded
    from the network's Generator; replaying them in the reference engine gives the same batch sums."""
    torch = _torch()
    monkeypatch.setattr(XPEngine, "host_reads_wait", lambda self: True)
    dims, m, keep = [4, 5, 3, 3], 11, (0.7, 0.9, 1.0)
    rng = np.random.default_rng(4)
    X, Y, w = rng.standard_normal((dims[0], m)), targets("mse", dims[-1], m, rng), rng.uniform(0.1, 2.0, m)
    ref, net = (make_net(dims, "tanh", "linear", "mse", seed=4) for _ in range(2))
    net.to(torch)
    engines = [ReferenceEngine(ref, keep), get_engine("xp", net, keep)]
    engines[1].bind(*(torch.asarray(a) for a in (X, Y, w)))
    assert isinstance(engines[1].masks, TorchMasks)
    drawn, source = [], engines[1].masks
    engines[1].masks = lambda xp, shape, p, like: drawn.append(source(xp, shape, p, like)) or drawn[-1]

    class Replay:
        """The reference's U: 0 where the device's mask kept a unit, 1 where it dropped it."""

        def random(self, shape):
            D = to_host(drawn.pop(0))
            assert D.shape == shape
            return np.where(D, 0.0, 1.0)

    ref.rng = Replay()
    engines[0].bind(X, Y, w)
    n = ref.n_params
    bufs = [np.zeros(n + N_SCALARS), engines[1].zeros(n + N_SCALARS)]
    perm = np.random.default_rng(1).permutation(m)
    for cols in (slice(0, m), perm[:7], perm[7:]):
        engines[1].batch_sums(cols, bufs[1])  # draws on the device
        engines[0].batch_sums(cols, bufs[0])  # replays those masks
        _assert_sums_equal(bufs[1], bufs[0], n)
    assert drawn == []


def test_device_masks_keep_units_at_keep_prob_and_are_reproducible_from_the_seed(monkeypatch):
    torch = _torch()
    mask = TorchMasks(np.random.default_rng(0), "cpu")(None, (400, 500), 0.8, torch.zeros(1, dtype=torch.float64))
    assert mask.dtype == torch.bool and abs(float(mask.double().mean()) - 0.8) < 0.005  # 200 000 draws: σ ≈ 0.0009
    monkeypatch.setattr(XPEngine, "host_reads_wait", lambda self: True)
    X, Y, _ = _data(m=40)
    fits = []
    for backend in ("torch", "torch", "numpy"):
        net = Network([4, 8, 3], "relu", "categorical_cross_entropy", seed=7)
        Xb, Yb = (torch.asarray(X), torch.asarray(Y)) if backend == "torch" else (X, Y)
        net.fit(Xb, Yb, epochs=3, batch_size=10, keep_prob=0.6, optimizer="adam", verbose=0)
        fits.append(to_host(net.theta))
    np.testing.assert_array_equal(fits[0], fits[1])  # the same seed, the same device masks
    assert not np.allclose(fits[0], fits[2])  # not NumPy's masks (documented)
