"""Optimizers against their formulas worked by hand, in place, float32-safe, checkpointable."""

import json
import math
import tracemalloc
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vecprop.optimizers import (
    OPTIMIZERS,
    Adam,
    Optimizer,
    get_optimizer,
    register_optimizer,
    state_for_saving,
    state_from_saved,
)

BUILTIN = ["adam", "adamw", "gd", "momentum", "nesterov", "rmsprop"]
EXPECTED_LIST = "adam, adamw, gd, momentum, nesterov, rmsprop, sklearn_adam, sklearn_sgd"


# --- a scalar worked by hand: W = 1.0, gradients 1.0, -0.5, 2.0, alpha = 0.1 -------------------

SCALAR_GRADS = [1.0, -0.5, 2.0]
# W after steps 1, 2, 3 with the default hyperparameters.
HAND_WORKED = {
    # W - 0.1 g: 1 - 0.1, 0.9 + 0.05, 0.95 - 0.2
    "gd": [0.9, 0.95, 0.75],
    # v = 0.1, 0.04, 0.236; W -= 0.1 v
    "momentum": [0.99, 0.986, 0.9624],
    # v as momentum; W -= 0.1 (0.9 v + 0.1 g): steps 0.19, -0.014, 0.4124
    "nesterov": [0.981, 0.9824, 0.94116],
    # s = 0.1, 0.115, 0.5035; W -= 0.1 g / (sqrt(s) + 1e-8)
    "rmsprop": [0.6837722439831617, 0.8312141957902328, 0.5493562696793006],
    # v_c = 1, 0.04/0.19, ...; s_c = 1, 0.001249/0.001999, ...
    "adam": [0.9000000009999999, 0.873366297370903, 0.807555137842803],
    # W *= 1 - 0.1 * 0.01 first, then the Adam step
    "adamw": [0.8990000009999999, 0.871467297369903, 0.8047846705444331],
}


@pytest.mark.parametrize("name", BUILTIN)
def test_scalar_worked_by_hand(name):
    opt = get_optimizer(name)
    params = {"W1": np.array([[1.0]])}
    state = opt.init(params)
    for g, expected in zip(SCALAR_GRADS, HAND_WORKED[name]):
        opt.update(params, {"dW1": np.array([[g]])}, state, 0.1)
        assert params["W1"][0, 0] == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert state["t"] == 3


# --- arrays: an independent float64 reference, written as the course writes it ----------------


def reference(name, hp, params, grads_seq, alpha):
    """Run the course's formulas step by step on copies; return the params after each step."""
    W = {k: v.astype(np.float64).copy() for k, v in params.items()}
    v = {k: np.zeros_like(x) for k, x in W.items()}
    s = {k: np.zeros_like(x) for k, x in W.items()}
    history = []
    for t, grads in enumerate(grads_seq, start=1):
        for k in W:
            dW = grads["d" + k].astype(np.float64)
            if name == "gd":
                W[k] = W[k] - alpha * dW
            elif name == "momentum":
                v[k] = hp["beta"] * v[k] + (1 - hp["beta"]) * dW
                W[k] = W[k] - alpha * v[k]
            elif name == "nesterov":
                v[k] = hp["beta"] * v[k] + (1 - hp["beta"]) * dW
                W[k] = W[k] - alpha * (hp["beta"] * v[k] + (1 - hp["beta"]) * dW)
            elif name == "rmsprop":
                s[k] = hp["beta"] * s[k] + (1 - hp["beta"]) * dW**2
                W[k] = W[k] - alpha * dW / (np.sqrt(s[k]) + hp["epsilon"])
            elif name in ("adam", "adamw"):
                if name == "adamw" and k.startswith("W"):
                    W[k] = W[k] - alpha * hp["weight_decay"] * W[k]
                v[k] = hp["beta1"] * v[k] + (1 - hp["beta1"]) * dW
                s[k] = hp["beta2"] * s[k] + (1 - hp["beta2"]) * dW**2
                v_c = v[k] / (1 - hp["beta1"] ** t)
                s_c = s[k] / (1 - hp["beta2"] ** t)
                W[k] = W[k] - alpha * v_c / (np.sqrt(s_c) + hp["epsilon"])
            else:
                raise AssertionError(name)
        history.append({k: x.copy() for k, x in W.items()})
    return history


# Non-default hyperparameters so a swapped or ignored one shows.
NON_DEFAULT = {
    "gd": {},
    "momentum": {"beta": 0.8},
    "nesterov": {"beta": 0.7},
    "rmsprop": {"beta": 0.5, "epsilon": 1e-3},
    "adam": {"beta1": 0.6, "beta2": 0.9, "epsilon": 1e-2},
    "adamw": {"beta1": 0.6, "beta2": 0.9, "epsilon": 1e-2, "weight_decay": 0.3},
}


def tiny_problem(dtype=np.float64):
    """A 2-layer parameter set and three gradient dicts with explicit numbers."""
    params = {
        "W1": np.array([[0.5, -1.0, 2.0], [1.5, 0.0, -0.25]], dtype=dtype),  # (2, 3)
        "b1": np.array([[0.1], [-0.2]], dtype=dtype),  # (2, 1)
        "W2": np.array([[1.0, -2.0]], dtype=dtype),  # (1, 2)
        "b2": np.array([[0.3]], dtype=dtype),  # (1, 1)
    }
    grads_seq = [
        {
            "dW1": np.array([[0.2, -0.1, 0.0], [1.0, 0.5, -0.3]]),
            "db1": np.array([[0.05], [-0.4]]),
            "dW2": np.array([[-0.7, 0.25]]),
            "db2": np.array([[0.9]]),
        },
        {
            "dW1": np.array([[-0.3, 0.2, 0.1], [0.4, -0.6, 0.0]]),
            "db1": np.array([[0.0], [0.3]]),
            "dW2": np.array([[0.1, -0.5]]),
            "db2": np.array([[-0.2]]),
        },
        {
            "dW1": np.array([[1.0, 1.0, -1.0], [0.0, 0.2, 0.7]]),
            "db1": np.array([[-0.8], [0.1]]),
            "dW2": np.array([[0.6, 0.6]]),
            "db2": np.array([[0.05]]),
        },
    ]
    grads_seq = [{k: g.astype(dtype) for k, g in grads.items()} for grads in grads_seq]
    return params, grads_seq


def test_reference_covers_every_builtin():
    assert sorted(HAND_WORKED) == sorted(NON_DEFAULT) == BUILTIN
    assert set(BUILTIN) <= set(OPTIMIZERS)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "non_default"])
def test_three_steps_match_formula(name, custom):
    opt = get_optimizer(name, **(NON_DEFAULT[name] if custom else {}))
    hp = {k: v for k, v in opt.get_config().items() if k != "name"}
    params, grads_seq = tiny_problem()
    alpha = 0.05
    expected = reference(name, hp, params, grads_seq, alpha)
    state = opt.init(params)
    for step, grads in enumerate(grads_seq):
        assert opt.update(params, grads, state, alpha) is None
        for k in params:
            np.testing.assert_allclose(params[k], expected[step][k], rtol=1e-12, atol=1e-15)
    assert state["t"] == 3


def test_adamw_decays_weights_not_biases():
    # With zero gradients Adam's step is 0, so only the decoupled decay moves the params.
    opt = get_optimizer("adamw", weight_decay=0.5)
    params = {"W1": np.array([[2.0, -4.0]]), "b1": np.array([[3.0]])}
    state = opt.init(params)
    opt.update(params, {"dW1": np.zeros((1, 2)), "db1": np.zeros((1, 1))}, state, 0.1)
    np.testing.assert_array_equal(params["W1"], [[1.9, -3.8]])  # W - 0.1 * 0.5 * W
    np.testing.assert_array_equal(params["b1"], [[3.0]])


@pytest.mark.parametrize("name", BUILTIN)
def test_state_keys_follow_the_course(name):
    params, _ = tiny_problem()
    state = get_optimizer(name).init(params)
    moments = {"gd": "", "momentum": "v", "nesterov": "v", "rmsprop": "s", "adam": "vs", "adamw": "vs"}[name]
    expected = {"t"} | {f"{m}d{k}" for m in moments for k in params}
    saved = {k for k in state if not k.startswith("_")}
    assert saved == expected
    assert state["t"] == 0
    for key in expected - {"t"}:
        param = params[key[2:]]
        assert state[key].shape == param.shape
        assert not np.any(state[key])


@pytest.mark.parametrize("name", BUILTIN)
def test_float32_stays_float32_in_place(name):
    opt = get_optimizer(name)
    params, grads_seq = tiny_problem(np.float32)
    originals = {k: v for k, v in params.items()}
    state = opt.init(params)
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, key
    expected = reference(name, {k: v for k, v in opt.get_config().items() if k != "name"}, params, grads_seq, 0.05)
    for grads in grads_seq:
        opt.update(params, grads, state, np.float64(0.05))
    for k in params:
        assert params[k] is originals[k]
        assert params[k].dtype == np.float32
        np.testing.assert_allclose(params[k], expected[-1][k], rtol=2e-5, atol=1e-6)
    for key, value in state.items():
        if isinstance(value, np.ndarray):
            assert value.dtype == np.float32, key


@pytest.mark.parametrize("name", BUILTIN)
def test_update_allocates_no_arrays(name):
    n = 500  # W1 is 2 MB in float64; any temporary array would show in the peak
    rng = np.random.default_rng(0)
    params = {"W1": rng.standard_normal((n, n)), "b1": rng.standard_normal((n, 1))}
    grads = {"dW1": rng.standard_normal((n, n)), "db1": rng.standard_normal((n, 1))}
    opt = get_optimizer(name)
    state = opt.init(params)
    opt.update(params, grads, state, 0.01)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before, _ = tracemalloc.get_traced_memory()
        opt.update(params, grads, state, 0.01)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak - before < 64 * 1024


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_checkpoint_round_trip_is_bit_identical(name, dtype, tmp_path):
    opt = get_optimizer(name)
    params, grads_seq = tiny_problem(dtype)
    state = opt.init(params)
    for grads in grads_seq[:2]:
        opt.update(params, grads, state, 0.05)

    arrays, scalars = state_for_saving(state)
    assert not any(k.startswith("_") for k in arrays) and scalars == {"t": 2}
    # Through real files, as a checkpoint would go.
    np.savez(tmp_path / "state.npz", **arrays)
    (tmp_path / "state.json").write_text(json.dumps(scalars))
    with np.load(tmp_path / "state.npz") as f:
        loaded_arrays = {k: f[k] for k in f.files}
    loaded_scalars = json.loads((tmp_path / "state.json").read_text())

    params2 = {k: v.copy() for k, v in params.items()}
    state2 = state_from_saved(opt.get_config(), params2, loaded_arrays, loaded_scalars)
    assert state2["t"] == 2
    for grads in [grads_seq[2], grads_seq[0], grads_seq[1]]:
        opt.update(params, grads, state, 0.05)
        opt.update(params2, grads, state2, 0.05)
    for k in params:
        assert params2[k].dtype == dtype
        assert params[k].tobytes() == params2[k].tobytes()
    for k, v in state.items():
        if isinstance(v, np.ndarray) and not k.startswith("_"):
            assert v.tobytes() == state2[k].tobytes()


def test_state_for_saving_returns_snapshots():
    opt = get_optimizer("momentum")
    params, grads_seq = tiny_problem()
    state = opt.init(params)
    opt.update(params, grads_seq[0], state, 0.1)
    arrays, _ = state_for_saving(state)
    saved = arrays["vdW1"].copy()
    opt.update(params, grads_seq[1], state, 0.1)
    np.testing.assert_array_equal(arrays["vdW1"], saved)


def test_state_from_saved_rejects_a_mismatch():
    params, _ = tiny_problem()
    arrays, scalars = state_for_saving(get_optimizer("adam").init(params))
    with pytest.raises(ValueError, match=r"missing \['sdW2', 'sdb1', 'sdb2'\], unexpected \[\]"):
        state_from_saved(get_optimizer("rmsprop"), params, {"sdW1": arrays["sdW1"]}, scalars)
    with pytest.raises(ValueError, match=r"unexpected \['vdW1'"):
        state_from_saved(get_optimizer("rmsprop"), params, arrays, scalars)
    bad = dict(arrays, vdW1=np.zeros((3, 2)))
    with pytest.raises(
        ValueError,
        match=r"'vdW1' has shape \(3, 2\) but the parameter "
        r"needs \(2, 3\)",
    ):
        state_from_saved(get_optimizer("adam"), params, bad, scalars)
    with pytest.raises(ValueError, match=r"'t', a non-negative integer step count; got -1"):
        state_from_saved(get_optimizer("adam"), params, arrays, {"t": -1})
    with pytest.raises(ValueError, match=r"got None"):
        state_from_saved(get_optimizer("adam"), params, arrays, {})


@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(BUILTIN),
    layer_dims=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    seed=st.integers(0, 2**32 - 1),
    alpha=st.floats(1e-4, 1.0),
)
def test_any_architecture_matches_reference(name, layer_dims, seed, alpha):
    rng = np.random.default_rng(seed)
    params = {}
    for l in range(1, len(layer_dims)):
        params[f"W{l}"] = rng.standard_normal((layer_dims[l], layer_dims[l - 1]))
        params[f"b{l}"] = rng.standard_normal((layer_dims[l], 1))
    grads_seq = [{"d" + k: rng.standard_normal(v.shape) for k, v in params.items()} for _ in range(3)]
    opt = get_optimizer(name)
    hp = {k: v for k, v in opt.get_config().items() if k != "name"}
    expected = reference(name, hp, params, grads_seq, alpha)
    state = opt.init(params)
    for grads in grads_seq:
        opt.update(params, grads, state, alpha)
    for k in params:
        np.testing.assert_allclose(params[k], expected[-1][k], rtol=1e-10, atol=1e-12)


# --- specs, configs and the registry ----------------------------------------------------------


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_config_round_trips_through_json(name):
    opt = get_optimizer(name)
    config = json.loads(json.dumps(opt.get_config()))
    assert config["name"] == name == opt.name
    assert get_optimizer(config) == opt
    assert get_optimizer(opt) is opt


def test_specs_and_overrides():
    assert get_optimizer(None) == get_optimizer("gd")
    assert get_optimizer("Adam") == Adam()
    assert get_optimizer("adam", beta1=0.5).beta1 == 0.5
    assert get_optimizer({"name": "adam", "beta1": 0.5}, beta1=0.7).beta1 == 0.7
    assert get_optimizer(Adam(beta2=0.9), epsilon=1e-6) == Adam(beta2=0.9, epsilon=1e-6)
    assert get_optimizer("momentum").get_config() == {"name": "momentum", "beta": 0.9}
    assert get_optimizer("adamw").get_config() == {
        "name": "adamw",
        "beta1": 0.9,
        "beta2": 0.999,
        "epsilon": 1e-8,
        "weight_decay": 0.01,
    }
    assert get_optimizer("rmsprop", beta=np.float32(0.5)).beta == 0.5
    assert type(get_optimizer("rmsprop", beta=np.float32(0.5)).beta) is float


def test_optimizers_are_frozen():
    opt = get_optimizer("adam")
    with pytest.raises(AttributeError):
        opt.beta1 = 0.5


def test_unknown_optimizer():
    with pytest.raises(
        ValueError,
        match=rf"^unknown optimizer 'adm'; expected one of: "
        rf"{EXPECTED_LIST}$",
    ):
        get_optimizer("adm")
    with pytest.raises(ValueError, match=r"unknown optimizer 'sgd'"):
        get_optimizer({"name": "sgd"})
    with pytest.raises(ValueError, match=r"has no 'name'"):
        get_optimizer({"beta": 0.9})
    with pytest.raises(TypeError, match=r"got int"):
        get_optimizer(3)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        (
            "momentum",
            {"beta": 1.0},
            r"optimizer 'momentum': beta must be a number in \[0, 1\), "
            r"got 1\.0",
        ),
        ("nesterov", {"beta": -0.1}, r"beta must be a number in \[0, 1\), got -0\.1"),
        ("nesterov", {"beta": math.nan}, r"beta must be a number in \[0, 1\), got nan"),
        ("rmsprop", {"epsilon": -1e-8}, r"epsilon must be a number in \(0, inf\), got -1e-08"),
        ("rmsprop", {"epsilon": 0.0}, r"epsilon must be a number in \(0, inf\), got 0\.0"),
        ("adam", {"beta1": 1.5}, r"optimizer 'adam': beta1 must be a number in \[0, 1\)"),
        ("adam", {"beta2": "0.999"}, r"beta2 must be a number in \[0, 1\), got '0\.999'"),
        ("adamw", {"weight_decay": -0.01}, r"weight_decay must be a number in \[0, inf\)"),
        ("adam", {"beta1": True}, r"beta1 must be a number"),
        (
            "gd",
            {"beta": 0.9},
            r"unknown hyperparameter 'beta' for optimizer 'gd'; "
            r"expected one of: \(none\)",
        ),
        (
            "adam",
            {"beta": 0.9},
            r"unknown hyperparameter 'beta' for optimizer 'adam'; "
            r"expected one of: beta1, beta2, epsilon",
        ),
    ],
)
def test_bad_hyperparameters(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_optimizer(name, **kwargs)


def test_register_a_user_optimizer():
    @dataclass(frozen=True)
    class SignGD(Optimizer):
        """W = W - alpha sign(dW)."""

        name: ClassVar[str] = "sign_gd"
        _ranges: ClassVar[dict] = {}

        def _step(self, key, W, dW, state, tmp, alpha, t):
            np.sign(dW, out=tmp)
            tmp *= alpha
            W -= tmp

    try:
        assert register_optimizer("sign_gd", SignGD) is SignGD
        opt = get_optimizer({"name": "sign_gd"})
        params = {"W1": np.array([[1.0, 1.0]])}
        state = opt.init(params)
        opt.update(params, {"dW1": np.array([[3.0, -0.1]])}, state, 0.5)
        np.testing.assert_array_equal(params["W1"], [[0.5, 1.5]])
        with pytest.raises(ValueError, match=r"optimizer 'sign_gd' is already registered"):
            register_optimizer("sign_gd", SignGD)
    finally:
        OPTIMIZERS.pop("sign_gd", None)
    with pytest.raises(ValueError, match=r"its class attribute name is 'sign_gd'"):
        register_optimizer("sgd", SignGD)
    with pytest.raises(ValueError, match=r"must be a @dataclass\(frozen=True\) subclass"):
        register_optimizer("thing", dict)
