"""Record reference trajectories: the parameters after training, for a set of configurations.

Run with the code of commit 901558d (before the engine seam, issue #10) to produce
``reference_trajectories.npz`` beside this file; ``tests/test_engines.py`` checks that every engine
reproduces them within 1e-12 relative (float64). Run ``python tests/data/make_reference_trajectories.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vecprop import Network

HERE = Path(__file__).parent


def _data(n_x, m, n_y, kind, seed):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n_x, m))
    if kind == "softmax":
        y = rng.integers(0, n_y, m)
        y[:n_y] = np.arange(n_y)
        Y = np.eye(n_y)[:, y]
    elif kind == "sigmoid":
        Y = (rng.random((n_y, m)) < 0.3).astype(float)
    else:
        Y = rng.standard_normal((n_y, m))
    return X, Y


# name -> (network kwargs, data (n_x, m, n_y, kind), fit kwargs, extras)
CONFIGS = {
    "gd_full_sigmoid_tanh": (
        dict(layer_dims=[4, 6, 1], activations=["tanh", "sigmoid"]),
        (4, 37, 1, "sigmoid"),
        dict(epochs=15, learning_rate=0.3, optimizer="gd"),
        {},
    ),
    "momentum_minibatch_softmax_relu": (
        dict(layer_dims=[5, 7, 6, 3], activations="relu", loss="categorical_cross_entropy"),
        (5, 53, 3, "softmax"),
        dict(epochs=6, learning_rate=0.05, optimizer="momentum", batch_size=16),
        {},
    ),
    "nesterov_l2_leaky": (
        dict(layer_dims=[3, 8, 2], activations=["leaky_relu", "sigmoid"]),
        (3, 41, 2, "sigmoid"),
        dict(epochs=8, learning_rate=0.1, optimizer="nesterov", batch_size=10, l2=0.3),
        {},
    ),
    "rmsprop_dropout_sample_weight": (
        dict(layer_dims=[4, 9, 7, 3], activations="relu", loss="categorical_cross_entropy"),
        (4, 47, 3, "softmax"),
        dict(epochs=5, learning_rate=0.01, optimizer="rmsprop", batch_size=12, keep_prob=[0.8, 0.7]),
        {"sample_weight": True},
    ),
    "adam_balanced_clip_schedule": (
        dict(layer_dims=[4, 6, 3], activations="tanh", loss="categorical_cross_entropy"),
        (4, 50, 3, "softmax"),
        dict(
            epochs=7,
            learning_rate=0.02,
            optimizer="adam",
            batch_size=9,
            class_weight="balanced",
            clip_norm=0.5,
            schedule="inverse_time",
        ),
        {},
    ),
    "adamw_linear_mse": (
        dict(layer_dims=[3, 5, 2], activations=["relu", "linear"], loss="mse"),
        (3, 29, 2, "linear"),
        dict(epochs=10, learning_rate=0.01, optimizer="adamw", batch_size=8, l2=0.1),
        {},
    ),
    "adam_early_stopping_restore": (
        dict(layer_dims=[4, 8, 1], activations=["relu", "sigmoid"]),
        (4, 60, 1, "sigmoid"),
        dict(
            epochs=40,
            learning_rate=0.05,
            optimizer="adam",
            batch_size=14,
            early_stopping=True,
            patience=3,
            validation_fraction=0.25,
            restore_best=True,
        ),
        {},
    ),
    "gd_unshuffled_sigmoid_output_mse": (
        dict(layer_dims=[2, 4, 1], activations=["sigmoid", "sigmoid"], loss="mse"),
        (2, 33, 1, "sigmoid"),
        dict(epochs=12, learning_rate=0.5, optimizer="gd", batch_size=10, shuffle=False),
        {"sample_weight": True},
    ),
    "adam_dropout_l2_weights_balanced": (
        dict(layer_dims=[6, 10, 8, 4], activations=["relu", "tanh", "softmax"]),
        (6, 71, 4, "softmax"),
        dict(
            epochs=6,
            learning_rate=0.01,
            optimizer="adam",
            batch_size=20,
            keep_prob=0.75,
            l2=0.05,
            class_weight="balanced",
        ),
        {"sample_weight": True},
    ),
    "momentum_plateau_validation_data": (
        dict(layer_dims=[3, 6, 2], activations=["tanh", "softmax"]),
        (3, 45, 2, "softmax"),
        dict(
            epochs=12,
            learning_rate=0.2,
            optimizer="momentum",
            batch_size=11,
            schedule={"name": "reduce_on_plateau", "patience": 1, "factor": 0.5},
        ),
        {"validation_data": True},
    ),
    "gd_continuation_twice": (
        dict(layer_dims=[3, 5, 1], activations=["relu", "sigmoid"]),
        (3, 31, 1, "sigmoid"),
        dict(epochs=4, learning_rate=0.1, optimizer="adam", batch_size=7),
        {"fits": 2},
    ),
}


def run(name, engine=None):
    """Train configuration ``name`` (seed fixed); returns the flat parameters in param_layout order."""
    net_kw, (n_x, m, n_y, kind), fit_kw, extra = CONFIGS[name]
    net = Network(seed=7, dtype=np.float64, **net_kw)
    X, Y = _data(n_x, m, n_y, kind, seed=11)
    kw = dict(fit_kw, verbose=0)
    if extra.get("sample_weight"):
        kw["sample_weight"] = np.random.default_rng(3).uniform(0.2, 2.0, m)
    if engine is not None:
        kw["engine"] = engine
    if extra.get("validation_data"):
        kw["validation_data"] = _data(n_x, 19, n_y, kind, seed=12)
    for _ in range(extra.get("fits", 1)):
        history = net.fit(X, Y, **kw)
    L = net.L
    flat = np.concatenate(
        [net.params[f"W{l}"].ravel() for l in range(1, L + 1)] + [net.params[f"b{l}"].ravel() for l in range(1, L + 1)]
    )
    return flat, history


if __name__ == "__main__":
    out = {}
    for name in CONFIGS:
        flat, history = run(name)
        out[name] = flat
        out[name + "__loss"] = np.asarray(history.loss)
        print(f"{name:45s} {flat.size:5d} params  {len(history.loss):3d} epochs  stop={history.stop_reason}")
    np.savez(HERE / "reference_trajectories.npz", **out)
