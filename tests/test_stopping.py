"""vecprop.stopping.NoImprovement's options the estimators use: the best parameters restored, a
continued count and best, and the best kept through a divergence."""

from __future__ import annotations

import numpy as np
import pytest

from vecprop import Network
from vecprop.callbacks import Callback
from vecprop.stopping import NoImprovement
from vecprop.training import DivergenceError


class Thetas(Callback):
    """The parameters after every epoch."""

    def __init__(self):
        self.seen = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.seen.append(trainer.theta.copy())


def _data():
    rng = np.random.default_rng(0)
    return rng.standard_normal((3, 40)), (rng.random((1, 40)) < 0.5).astype(float)


def test_restore_best_puts_back_the_parameters_of_the_best_score():
    X, Y = _data()
    scores = iter([0.1, 0.5, 0.9, 0.3, 0.2, 0.2, 0.2])  # best at the third epoch (index 2)
    rule = NoImprovement(tol=0.0, n_iter_no_change=2, score=lambda t, logs: next(scores), restore_best=True)
    thetas = Thetas()
    net = Network([3, 4, 1], seed=1)
    h = net.fit(X, Y, epochs=7, verbose=0, stopping=[rule], callbacks=[thetas])
    assert h.stop_reason == "converged" and len(h.loss) == 6  # 3 epochs below 0.9 + tol, then stop
    assert rule.best == 0.9 and rule.best_epoch == 2 and h.best_epoch == 2
    np.testing.assert_array_equal(net.theta, thetas.seen[2])


def test_no_improvement_continues_from_a_given_best_and_count():
    X, Y = _data()
    start = Network([3, 4, 1], seed=1).theta.copy()
    # a best no epoch can reach: the count goes on from 1, so the rule stops after two more epochs and
    # restores the parameters it was handed
    rule = NoImprovement(
        tol=0.0,
        n_iter_no_change=2,
        score=lambda t, logs: 0.0,
        restore_best=True,
        best=1.0,
        no_improvement=1,
        best_theta=start * 2,
    )
    net = Network([3, 4, 1], seed=1)
    h = net.fit(X, Y, epochs=10, verbose=0, stopping=[rule])
    assert len(h.loss) == 2 and rule.no_improvement == 3 and h.best_epoch is None
    np.testing.assert_array_equal(net.theta, start * 2)


def test_restore_best_survives_a_divergence():
    X, Y = _data()
    thetas = Thetas()
    rule = NoImprovement(tol=0.0, n_iter_no_change=100, score=lambda t, logs: -logs["loss"], restore_best=True)
    net = Network([3, 4, 1], ["relu", "linear"], "mse", seed=1)
    with pytest.raises(DivergenceError):
        net.fit(X, Y * 1e3, epochs=50, learning_rate=5.0, verbose=0, stopping=[rule], callbacks=[thetas])
    assert np.isfinite(net.theta).all() and rule.best_epoch is not None
    assert rule.best_epoch < len(thetas.seen) - 1  # not simply the last finite parameters
    np.testing.assert_array_equal(net.theta, thetas.seen[rule.best_epoch])
