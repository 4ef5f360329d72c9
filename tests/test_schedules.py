"""Learning-rate schedules: hand-computed values, plateau logic on scripted losses, JSON state."""

import json
import math
from dataclasses import dataclass
from typing import ClassVar

import pytest

from vecprop.schedules import (
    SCHEDULES,
    Constant,
    InverseTime,
    Schedule,
    get_schedule,
    register_schedule,
)

BUILTIN = ["adaptive", "constant", "cosine", "exponential", "inverse_time", "invscaling", "reduce_on_plateau", "step"]


def rates(sched, learning_rate0, epochs):
    """The rate at each of ``epochs`` for a closed-form schedule."""
    state = sched.init(learning_rate0)
    return [sched.learning_rate(state, epoch) for epoch in epochs]


# --- the course's two formulas ----------------------------------------------------------------


def test_course_update_lr():
    # update_lr(learning_rate0=0.5, epoch_num=2, decay_rate=1) = 0.5 / (1 + 1 * 2)
    sched = get_schedule("inverse_time", decay_rate=1)
    state = sched.init(0.5)
    assert sched.learning_rate(state, 2) == 0.5 / 3 == 0.16666666666666666
    assert sched.learning_rate(state, 0) == 0.5
    # decay_rate 0.3, epoch 10: 0.5 / (1 + 3) = 0.125
    assert rates(get_schedule("inverse_time", decay_rate=0.3), 0.5, [10]) == [0.125]


def test_course_schedule_lr_decay():
    # schedule_lr_decay(0.5, epoch_num=100, decay_rate=1, time_interval=100) = 0.5 / (1 + 1)
    sched = get_schedule("inverse_time", decay_rate=1, staircase=True, time_interval=100)
    assert rates(sched, 0.5, [100]) == [0.25]
    # time_interval 1000: floor(epoch / 1000) is 0, 0, 1, 1, 2
    sched = get_schedule("inverse_time", decay_rate=1.0, staircase=True, time_interval=1000)
    assert rates(sched, 0.5, [0, 999, 1000, 1999, 2000]) == [0.5, 0.5, 0.25, 0.25, 0.5 / 3]


def test_inverse_time_continuous_with_interval():
    # Keras InverseTimeDecay: 1.0 / (1 + 2 * 500 / 1000) = 0.5
    sched = get_schedule("inverse_time", decay_rate=2.0, time_interval=1000)
    assert rates(sched, 1.0, [0, 500, 1000]) == [1.0, 0.5, 1.0 / 3]


# --- closed-form schedules at chosen epochs ---------------------------------------------------


@pytest.mark.parametrize(
    "spec, learning_rate0, epochs, expected",
    [
        ("constant", 0.1, [0, 5, 1000], [0.1, 0.1, 0.1]),
        (None, 0.3, [0, 7], [0.3, 0.3]),
        # 0.2 * 0.5^epoch
        ({"name": "exponential", "gamma": 0.5}, 0.2, [0, 1, 3], [0.2, 0.1, 0.025]),
        # 1.0 * 0.1^floor(epoch / 3)
        ({"name": "step", "step_size": 3, "gamma": 0.1}, 1.0, [0, 2, 3, 5, 6], [1.0, 1.0, 0.1, 0.1, 0.1 * 0.1]),
        # (1 + cos(pi e / 4)) / 2, held at 0 after T_max
        ({"name": "cosine", "T_max": 4}, 1.0, [0, 1, 2, 4, 10], [1.0, 0.8535533905932737, 0.5, 0.0, 0.0]),
        # 0.1 + 0.9 (1 + cos(pi 2 / 4)) / 2 = 0.55
        ({"name": "cosine", "T_max": 4, "eta_min": 0.1}, 1.0, [2, 4, 5], [0.55, 0.1, 0.1]),
        # 0.1 / sqrt(epoch + 1)
        ("invscaling", 0.1, [0, 3, 8], [0.1, 0.05, 0.1 / 3]),
        # 0.1 / (epoch + 1)^1
        ({"name": "invscaling", "power_t": 1}, 0.1, [0, 1, 9], [0.1, 0.05, 0.01]),
    ],
)
def test_values_at_chosen_epochs(spec, learning_rate0, epochs, expected):
    got = rates(get_schedule(spec), learning_rate0, epochs)
    assert got == pytest.approx(expected, rel=1e-15, abs=1e-17)
    assert all(type(rate) is float for rate in got)


@pytest.mark.parametrize("name", ["constant", "inverse_time", "exponential", "step", "cosine", "invscaling"])
def test_closed_form_schedules_ignore_step(name):
    sched = get_schedule(name)
    assert not sched.monitors
    state = sched.init(0.1)
    before = dict(state)
    sched.step(state, 0, 123.0)
    sched.step(state, 1, None)
    assert state == before == {"learning_rate0": 0.1}


# --- plateau schedules on scripted monitored values -------------------------------------------


def run_plateau(sched, learning_rate0, monitored):
    """The rate used in each epoch after the scripted ``monitored`` values."""
    state = sched.init(learning_rate0)
    used = []
    for epoch, value in enumerate(monitored):
        used.append(sched.learning_rate(state, epoch))
        sched.step(state, epoch, value)
    used.append(sched.learning_rate(state, len(monitored)))
    return used, state


def test_reduce_on_plateau_scripted():
    sched = get_schedule("reduce_on_plateau", factor=0.5, patience=2, min_delta=0.1, cooldown=1, min_lr=0.1)
    nan, inf = math.nan, math.inf
    monitored = [
        10.0,  # e0 first value: best 10
        9.95,  # e1 not below 10 - 0.1: wait 1
        9.95,  # e2 wait 2 = patience: rate 0.5, cooldown 1
        9.99,  # e3 in cooldown, not counted
        9.99,  # e4 wait 1
        9.0,  # e5 improves: best 9
        9.0,  # e6 wait 1
        8.95,  # e7 not below 8.9: wait 2, rate 0.25, cooldown 1
        nan,  # e8 cooldown
        nan,  # e9 NaN never improves: wait 1
        inf,  # e10 wait 2: rate 0.125
        9.0,  # e11 cooldown
        9.0,  # e12 wait 1
        9.0,  # e13 wait 2: max(0.0625, min_lr 0.1) = 0.1
        9.0,  # e14 cooldown
        9.0,  # e15 wait 1
        9.0,  # e16 wait 2, but the rate is already min_lr
    ]
    used, state = run_plateau(sched, 1.0, monitored)
    assert used == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.125, 0.125, 0.125, 0.1, 0.1, 0.1, 0.1]
    assert state["best"] == 9.0 and state["num_reductions"] == 4


def test_reduce_on_plateau_default_patience_counts_like_keras():
    # Ten epochs without improvement after the first: the reduction comes after the tenth.
    sched = get_schedule("reduce_on_plateau")
    used, state = run_plateau(sched, 1.0, [1.0] * 11)
    assert used[:11] == [1.0] * 11
    assert used[11] == pytest.approx(0.1, rel=1e-15)
    assert state["wait"] == 0


def test_reduce_on_plateau_patience_zero_reduces_on_every_bad_epoch():
    sched = get_schedule("reduce_on_plateau", patience=0, factor=0.5)
    used, _ = run_plateau(sched, 1.0, [5.0, 4.0, 4.0, 4.0])
    assert used == [1.0, 1.0, 1.0, 0.5, 0.25]


def test_adaptive_scripted_like_scikit_learn():
    sched = get_schedule("adaptive", tol=0.1)
    monitored = [
        10.0,  # e0 best 10
        9.95,  # e1 above 10 - 0.1: bad 1; best 9.95 (any decrease updates best)
        9.9,  # e2 above 9.95 - 0.1: bad 2 -> rate / 5
        9.7,  # e3 at most 9.9 - 0.1: good, count reset
        9.65,  # e4 bad 1
        9.5,  # e5 good
        math.nan,  # e6 bad 1
        9.45,  # e7 bad 2 -> rate / 5
    ]
    used, state = run_plateau(sched, 1.0, monitored)
    assert used == [1.0, 1.0, 1.0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.04]
    assert state["best"] == 9.45 and state["num_reductions"] == 2


def test_adaptive_differs_from_reduce_on_plateau_on_a_slow_decrease():
    # Decreasing 0.06 per epoch, tol 0.1: scikit-learn compares with the latest best.
    slow = [10.0, 9.94, 9.88]
    used, _ = run_plateau(get_schedule("adaptive", tol=0.1), 1.0, slow)
    assert used[-1] == 0.2
    used, _ = run_plateau(get_schedule("reduce_on_plateau", min_delta=0.1, patience=2, factor=0.2), 1.0, slow)
    assert used[-1] == 1.0


@pytest.mark.parametrize("name", ["reduce_on_plateau", "adaptive"])
def test_plateau_schedules_need_the_monitored_value(name):
    sched = get_schedule(name)
    assert sched.monitors
    state = sched.init(0.1)
    with pytest.raises(
        ValueError,
        match=rf"schedule '{name}' needs the monitored value "
        r"\(loss or val_loss\).*got None",
    ):
        sched.step(state, 0, None)


# --- state through JSON -----------------------------------------------------------------------

SCRIPT = [
    1.0,
    0.9,
    math.nan,
    0.95,
    0.95,
    math.inf,
    0.95,
    0.95,
    0.8,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
    0.85,
]


@pytest.mark.parametrize("name", BUILTIN)
def test_state_survives_json_mid_run(name):
    sched = get_schedule(name)
    state = sched.init(0.1)
    for epoch, value in enumerate(SCRIPT[:12]):
        sched.step(state, epoch, value)
    text = json.dumps(state, allow_nan=False)  # strict JSON even after NaN/inf losses
    restored = json.loads(text)
    assert restored == state
    for epoch, value in enumerate(SCRIPT[12:], start=12):
        assert sched.learning_rate(restored, epoch) == sched.learning_rate(state, epoch)
        sched.step(state, epoch, value)
        sched.step(restored, epoch, value)
    assert restored == state


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_config_round_trips_through_json(name):
    sched = get_schedule(name)
    config = json.loads(json.dumps(sched.get_config()))
    assert config["name"] == name == sched.name
    assert get_schedule(config) == sched
    assert get_schedule(sched) is sched


def test_specs_and_overrides():
    assert get_schedule(None) == Constant() == get_schedule("constant")
    assert get_schedule("Inverse_Time") == InverseTime()
    assert get_schedule({"name": "step", "step_size": 5}, gamma=0.5).get_config() == {
        "name": "step",
        "step_size": 5,
        "gamma": 0.5,
    }
    assert get_schedule(InverseTime(decay_rate=2.0), staircase=True) == InverseTime(decay_rate=2.0, staircase=True)
    assert get_schedule("reduce_on_plateau").get_config() == {
        "name": "reduce_on_plateau",
        "factor": 0.1,
        "patience": 10,
        "min_delta": 1e-4,
        "cooldown": 0,
        "min_lr": 0.0,
    }
    assert get_schedule("adaptive").get_config() == {"name": "adaptive", "tol": 1e-4}
    assert set(BUILTIN) <= set(SCHEDULES)


# --- errors -----------------------------------------------------------------------------------


def test_unknown_schedule():
    with pytest.raises(
        ValueError,
        match=r"^unknown schedule 'cosin'; expected one of: "
        r"adaptive, constant, cosine, exponential, "
        r"inverse_time, invscaling, reduce_on_plateau, sklearn_mlp, step$",
    ):
        get_schedule("cosin")
    with pytest.raises(ValueError, match=r"has no 'name'"):
        get_schedule({"gamma": 0.5})
    with pytest.raises(TypeError, match=r"got float"):
        get_schedule(0.1)


@pytest.mark.parametrize(
    "name, kwargs, message",
    [
        (
            "inverse_time",
            {"decay_rate": -1},
            r"schedule 'inverse_time': decay_rate must be a "
            r"number in \[0, inf\), got -1\.0",
        ),
        ("inverse_time", {"time_interval": 0}, r"time_interval must be an integer >= 1, got 0"),
        ("inverse_time", {"time_interval": 2.5}, r"time_interval must be an integer >= 1"),
        ("inverse_time", {"staircase": "yes"}, r"staircase must be True or False, got 'yes'"),
        ("exponential", {"gamma": 0}, r"gamma must be a number in \(0, 1\], got 0\.0"),
        ("exponential", {"gamma": 1.5}, r"gamma must be a number in \(0, 1\], got 1\.5"),
        ("step", {"step_size": 0}, r"step_size must be an integer >= 1, got 0"),
        ("cosine", {"T_max": 0}, r"T_max must be an integer >= 1, got 0"),
        ("cosine", {"eta_min": -0.1}, r"eta_min must be a number in \[0, inf\)"),
        ("invscaling", {"power_t": -0.5}, r"power_t must be a number in \[0, inf\)"),
        ("reduce_on_plateau", {"factor": 1.0}, r"factor must be a number in \(0, 1\), got 1\.0"),
        ("reduce_on_plateau", {"patience": -1}, r"patience must be an integer >= 0, got -1"),
        ("reduce_on_plateau", {"patience": True}, r"patience must be an integer >= 0, got True"),
        ("reduce_on_plateau", {"min_delta": math.nan}, r"min_delta must be a number in \[0, inf\)"),
        ("reduce_on_plateau", {"cooldown": -2}, r"cooldown must be an integer >= 0"),
        ("reduce_on_plateau", {"min_lr": -1e-3}, r"min_lr must be a number in \[0, inf\)"),
        ("adaptive", {"tol": -1e-4}, r"schedule 'adaptive': tol must be a number in \[0, inf\)"),
        (
            "adaptive",
            {"patience": 3},
            r"unknown hyperparameter 'patience' for schedule "
            r"'adaptive'; expected one of: tol",
        ),
        (
            "constant",
            {"gamma": 0.5},
            r"unknown hyperparameter 'gamma' for schedule 'constant'; "
            r"expected one of: \(none\)",
        ),
    ],
)
def test_bad_hyperparameters(name, kwargs, message):
    with pytest.raises(ValueError, match=message):
        get_schedule(name, **kwargs)


@pytest.mark.parametrize("name", BUILTIN)
@pytest.mark.parametrize("learning_rate0", [0.0, -0.1, math.inf, math.nan, "0.1"])
def test_bad_initial_learning_rate(name, learning_rate0):
    with pytest.raises(
        ValueError,
        match=rf"schedule '{name}': learning_rate must be a number "
        r"in \(0, inf\)",
    ):
        get_schedule(name).init(learning_rate0)


def test_cosine_eta_min_above_initial_rate():
    with pytest.raises(
        ValueError,
        match=r"eta_min=0\.5 is above the initial learning rate "
        r"0\.1",
    ):
        get_schedule("cosine", eta_min=0.5).init(0.1)


def test_negative_epoch():
    sched = get_schedule("step")
    with pytest.raises(ValueError, match=r"epoch must be an integer >= 0, got -1"):
        sched.learning_rate(sched.init(0.1), -1)


def test_register_a_user_schedule():
    @dataclass(frozen=True)
    class Halving(Schedule):
        """alpha_0 / 2^epoch."""

        name: ClassVar[str] = "halving"

        def _rate(self, state, epoch):
            return state["learning_rate0"] / 2**epoch

    try:
        assert register_schedule("halving", Halving) is Halving
        assert rates(get_schedule({"name": "halving"}), 1.0, [0, 3]) == [1.0, 0.125]
        with pytest.raises(ValueError, match=r"schedule 'halving' is already registered"):
            register_schedule("halving", Halving)
    finally:
        SCHEDULES.pop("halving", None)
    with pytest.raises(ValueError, match=r"its class attribute name is 'halving'"):
        register_schedule("half", Halving)
    with pytest.raises(ValueError, match=r"must be a @dataclass\(frozen=True\) subclass"):
        register_schedule("thing", object)
