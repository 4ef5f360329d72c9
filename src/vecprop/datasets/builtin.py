"""Built-in datasets, all offline: the course's planar flower, moons, circles, xor, digits, MNIST-1D.

Every dataset uses the library's layout: ``X`` has shape (n_x, m), one column per example. Only NumPy
is imported at module level: ``digits`` imports scikit-learn and ``mnist1d`` imports mnist1d when they
are asked for. Nothing is downloaded and nothing is unpickled.
"""

from __future__ import annotations

import random
from dataclasses import replace
from functools import lru_cache

import numpy as np

from .dataset import Dataset

# --------------------------------------------------------------------------- #
# Built-ins
# --------------------------------------------------------------------------- #


def list_datasets():
    """The built-in datasets.

    Returns
    -------
    list of (str, str)
        ``(name, one-line description)`` in alphabetical order.
    """
    return [(name, _BUILTINS[name][1]) for name in sorted(_BUILTINS)]


def load_dataset(name, *, seed=0, n_samples=None):
    """Load a built-in dataset, generated or read offline.

    ===========  =========  ============  =====  =================================
    name         X          classes       m      source
    ===========  =========  ============  =====  =================================
    flower       (2, m)     2 red/blue    400    the course's planar "flower"
    moons        (2, m)     2             400    two interleaved half circles
    circles      (2, m)     2 outer/inner 400    two concentric circles
    xor          (2, m)     2             400    quadrants of [-1, 1]^2
    digits       (64, m)    10            1797   scikit-learn's 8x8 digits, 0..16
    mnist1d      (40, m)    10            4000   MNIST-1D; ``.test`` has 1000 more
    ===========  =========  ============  =====  =================================

    The four 2-D sets are drawn from ``numpy.random.default_rng(seed)`` and
    shuffled; ``n_samples`` sets m. ``digits`` and ``mnist1d`` are fixed
    data; ``n_samples`` takes a random subset of that size (of the training
    split for mnist1d) chosen by ``seed``. ``mnist1d`` is the reference
    dataset (its own seed 42, 5000 examples, 80/20 split), generated in about
    3 s on first use and cached in memory; ``Dataset.test`` is its 1000-example
    test split. No built-in is standardized; see :class:`Standardizer`.

    Parameters
    ----------
    name : str
        One of the names from :func:`list_datasets` (``planar`` is an alias
        of ``flower``).
    seed : int, default 0
        Seed for generation or subsampling.
    n_samples : int, optional
        Number of examples m.

    Returns
    -------
    Dataset
        ``X`` of shape (n_x, m) float64, ``y`` of shape (m,) int64.

    Raises
    ------
    ValueError
        For an unknown name or an impossible ``n_samples``.
    ImportError
        If ``digits`` needs scikit-learn or ``mnist1d`` needs mnist1d.
    """
    key = str(name).lower()
    key = _ALIASES.get(key, key)
    if key not in _BUILTINS:
        raise ValueError(f"unknown dataset {name!r}; expected one of: {', '.join(sorted(_BUILTINS))}")
    if n_samples is not None and (type(n_samples) is not int or n_samples < 2):
        raise ValueError(f"n_samples must be an int >= 2, got {n_samples!r}")
    loader, description = _BUILTINS[key]
    return replace(loader(seed, n_samples), description=description)


def _two_class(name, X, y, seed, target_names=("0", "1")):
    """A shuffled 2-D two-class Dataset from row-per-feature X (2, m) and y (m,)."""
    order = np.random.default_rng([seed, 1]).permutation(y.shape[0])
    return Dataset(
        X=np.ascontiguousarray(X[:, order], dtype=np.float64),
        y=y[order].astype(np.int64),
        feature_names=["x1", "x2"],
        target_names=list(target_names),
        task="classification",
        name=name,
    )


def _class_sizes(m):
    """(m0, m1): two classes as equal as possible."""
    return m // 2, m - m // 2


def _flower(seed, n_samples):
    """The course's load_planar_dataset with a Generator: two classes of petals."""
    rng = np.random.default_rng(seed)
    a = 4  # maximum ray of the flower
    Xs, ys = [], []
    for j, N in enumerate(_class_sizes(n_samples or 400)):
        t = np.linspace(j * 3.12, (j + 1) * 3.12, N) + rng.standard_normal(N) * 0.2  # theta
        r = a * np.sin(4 * t) + rng.standard_normal(N) * 0.2  # radius
        Xs.append(np.stack([r * np.sin(t), r * np.cos(t)]))  # (2, N)
        ys.append(np.full(N, j))
    return _two_class("flower", np.hstack(Xs), np.concatenate(ys), seed, ("red", "blue"))


def _moons(seed, n_samples, noise=0.2):
    """Two interleaving half circles with Gaussian noise."""
    rng = np.random.default_rng(seed)
    m0, m1 = _class_sizes(n_samples or 400)
    t0, t1 = np.linspace(0, np.pi, m0), np.linspace(0, np.pi, m1)
    upper = np.stack([np.cos(t0), np.sin(t0)])  # (2, m0)
    lower = np.stack([1 - np.cos(t1), 0.5 - np.sin(t1)])  # (2, m1)
    X = np.hstack([upper, lower]) + noise * rng.standard_normal((2, m0 + m1))
    return _two_class("moons", X, np.repeat([0, 1], [m0, m1]), seed)


def _circles(seed, n_samples, noise=0.1, factor=0.5):
    """An outer circle of radius 1 around an inner one of radius ``factor``."""
    rng = np.random.default_rng(seed)
    m0, m1 = _class_sizes(n_samples or 400)
    t0 = np.linspace(0, 2 * np.pi, m0, endpoint=False)
    t1 = np.linspace(0, 2 * np.pi, m1, endpoint=False)
    outer = np.stack([np.cos(t0), np.sin(t0)])
    inner = factor * np.stack([np.cos(t1), np.sin(t1)])
    X = np.hstack([outer, inner]) + noise * rng.standard_normal((2, m0 + m1))
    return _two_class("circles", X, np.repeat([0, 1], [m0, m1]), seed, ("outer", "inner"))


def _xor(seed, n_samples):
    """Uniform points in [-1, 1]^2; class 1 where the coordinates differ in sign."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1.0, 1.0, size=(2, n_samples or 400))
    y = ((X[0] > 0) != (X[1] > 0)).astype(np.int64)
    return _two_class("xor", X, y, seed)


def _subsample(ds, seed, n_samples):
    """A random subset of n_samples examples, or ds itself when n_samples is None."""
    if n_samples is None:
        return ds
    if n_samples > ds.m:
        raise ValueError(f"n_samples={n_samples} but {ds.name} has only {ds.m} examples")
    idx = np.sort(np.random.default_rng(seed).choice(ds.m, size=n_samples, replace=False))
    return replace(ds.subset(idx), test=ds.test)


def _digits(seed, n_samples):
    """scikit-learn's 8x8 digits (shipped with scikit-learn, no download)."""
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise ImportError("the 'digits' dataset needs scikit-learn: pip install scikit-learn") from None
    bunch = load_digits()
    ds = Dataset(
        X=np.ascontiguousarray(bunch.data.T, dtype=np.float64),  # (64, 1797)
        y=bunch.target.astype(np.int64),
        feature_names=list(bunch.feature_names),
        target_names=[str(k) for k in bunch.target_names],
        task="classification",
        name="digits",
    )
    return _subsample(ds, seed, n_samples)


@lru_cache(maxsize=1)
def _mnist1d_arrays():
    """Generate the reference MNIST-1D once; the global RNGs are left as found."""
    try:
        from mnist1d.data import get_dataset_args, make_dataset
    except ImportError:
        raise ImportError("the 'mnist1d' dataset needs mnist1d: pip install mnist1d") from None
    # make_dataset seeds and draws from the global np.random and random; restore them.
    np_state, py_state = np.random.get_state(), random.getstate()  # noqa: NPY002 - saving mnist1d's global RNG
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)  # noqa: NPY002 - restoring it
        random.setstate(py_state)
    arrays = tuple(np.asarray(data[k]) for k in ("x", "y", "x_test", "y_test"))
    for a in arrays:
        a.flags.writeable = False
    return arrays


def _mnist1d(seed, n_samples):
    """MNIST-1D train split (4000) with its test split (1000) attached."""
    x, y, x_test, y_test = _mnist1d_arrays()
    names = [f"t{i}" for i in range(x.shape[1])]
    labels = [str(k) for k in range(10)]

    def make(xs, ys):
        return Dataset(
            X=np.ascontiguousarray(xs.T, dtype=np.float64),  # (40, m)
            y=ys.astype(np.int64),
            feature_names=names,
            target_names=labels,
            task="classification",
            name="mnist1d",
        )

    return _subsample(replace(make(x, y), test=make(x_test, y_test)), seed, n_samples)


_BUILTINS = {
    "circles": (_circles, "2 concentric circles, 2 features, 2 classes, 400 examples (generated)"),
    "digits": (_digits, "8x8 handwritten digits, 64 features, 10 classes, 1797 examples (scikit-learn)"),
    "flower": (_flower, "the course's planar flower, 2 features, 2 classes, 400 examples (generated)"),
    "mnist1d": (_mnist1d, "MNIST-1D signals, 40 features, 10 classes, 4000 train + 1000 test (generated)"),
    "moons": (_moons, "2 interleaved half moons, 2 features, 2 classes, 400 examples (generated)"),
    "xor": (_xor, "XOR quadrants, 2 features, 2 classes, 400 examples (generated)"),
}
_ALIASES = {"planar": "flower"}
