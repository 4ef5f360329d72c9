"""One registry style (issue #10 item 5): every family of named components is a ``Registry``.

Optimizers and schedules have their own tests of ``register``/``get``; these test the factory side
(``add``/``lookup``/``create``) that activations, losses, initializers and engines use, and that each
family's public dict is the live registry: what users add there, the lookups see.
"""

from __future__ import annotations

import numpy as np
import pytest

from vecprop import engines
from vecprop.activations import ACTIVATIONS, Activation, LeakyReLU, get_activation, register_activation
from vecprop.initializers import INITIALIZERS, initialize
from vecprop.losses import LOSSES, MSE, get_loss, register_loss
from vecprop.registry import Registry


@pytest.fixture
def reg():
    return Registry("activation", Activation, classes=(LeakyReLU,))


def test_add_lookup_create_and_messages(reg):
    assert reg.classes == {"leaky_relu": LeakyReLU}
    assert reg.create("leaky_relu", {"slope": 0.2}) == LeakyReLU(slope=0.2)
    assert reg.create("leaky_relu") == LeakyReLU()
    with pytest.raises(ValueError, match=r"^unknown activation 'Leaky_ReLU'; expected one of: leaky_relu$"):
        reg.lookup("Leaky_ReLU")  # exact names, unlike optimizers' case folding
    with pytest.raises(ValueError, match=r"^unknown activation None; expected one of: leaky_relu$"):
        reg.create(None)
    with pytest.raises(ValueError, match=r"^bad parameters \{'alpha': 1\} for activation 'leaky_relu': "):
        reg.create("leaky_relu", {"alpha": 1})
    cube = Activation()
    assert reg.add("cube", lambda: cube) is reg.classes["cube"]
    assert reg.create("cube") is cube
    with pytest.raises(
        ValueError,
        match=r"^activation 'cube' is already registered; pass overwrite=True to "
        r"replace it$",
    ):
        reg.add("cube", lambda: cube)
    other = Activation()
    reg.add("cube", lambda: other, overwrite=True)
    assert reg.create("cube") is other
    assert sorted(reg.classes) == ["cube", "leaky_relu"]


def test_registry_dict_form_keeps_names_not_class_attributes():
    def zeros(rng, n_l, n_prev):
        return np.zeros((n_l, n_prev))

    reg = Registry("initializer", np.ndarray, classes={"zeros": zeros})
    assert reg.lookup("zeros") is zeros
    with pytest.raises(ValueError, match=r"^unknown initializer 'ones'; expected one of: zeros$"):
        reg.lookup("ones")


def test_public_dicts_are_the_live_registries():
    leaky = get_activation({"name": "leaky_relu", "slope": 0.3})
    assert leaky == LeakyReLU(slope=0.3) and get_activation(leaky.get_config()) == leaky
    cube = register_activation("cube_registry_test", lambda Z: Z**3, lambda Z: 3 * Z**2)
    try:
        assert "cube_registry_test" in set(ACTIVATIONS) and get_activation("cube_registry_test") is cube
    finally:
        ACTIVATIONS.pop("cube_registry_test")
    with pytest.raises(ValueError, match="unknown activation 'cube_registry_test'"):
        get_activation("cube_registry_test")

    class Half(MSE):
        name = "half_mse_registry_test"

    half = register_loss(Half())
    try:
        assert get_loss("half_mse_registry_test") is half and "half_mse_registry_test" in LOSSES
        with pytest.raises(
            ValueError, match="^loss 'half_mse_registry_test' is already registered; pass overwrite=True to replace it$"
        ):
            register_loss(Half())
        again = register_loss(Half(), overwrite=True)
        assert get_loss("half_mse_registry_test") is again
    finally:
        LOSSES.pop("half_mse_registry_test")
    with pytest.raises(ValueError, match=r"unknown loss \{'name': 'mse'\}"):
        get_loss({"name": "mse"})  # losses take a name or an instance only, as before

    INITIALIZERS["ones_registry_test"] = lambda rng, n_l, n_prev: np.ones((n_l, n_prev))
    try:
        params = initialize([3, 2], "ones_registry_test", np.random.default_rng(0))
        assert params["W1"].shape == (2, 3) and np.all(params["W1"] == 1.0)
    finally:
        INITIALIZERS.pop("ones_registry_test")
    with pytest.raises(ValueError, match="unknown initializer 'ones_registry_test'; expected one of: "):
        initialize([3, 2], "ones_registry_test", np.random.default_rng(0))


def test_register_engine_through_the_registry():
    class Mine(engines.NumpyEngine):
        name = "mine_registry_test"

    try:
        assert engines.register_engine("mine_registry_test", Mine) is Mine
        assert engines.register_engine("mine_registry_test", Mine) is Mine  # the same class again is fine
        assert engines.get_engine("mine_registry_test") is Mine
        assert "mine_registry_test" in engines.available_engines()

        class Other(engines.NumpyEngine):
            name = "mine_registry_test"

        with pytest.raises(ValueError, match="engine 'mine_registry_test' is already registered; pass overwrite=True"):
            engines.register_engine("mine_registry_test", Other)
        assert engines.register_engine("mine_registry_test", Other, overwrite=True) is Other
        assert engines.ENGINES["mine_registry_test"] is Other
    finally:
        engines.ENGINES.pop("mine_registry_test", None)
    with pytest.raises(ValueError, match="unknown engine 'mine_registry_test'"):
        engines.get_engine("mine_registry_test")
    with pytest.raises(ValueError, match="needs an Engine subclass"):
        engines.register_engine("x", object)
