"""Built-in datasets (all offline), data files, and input standardization.

Every dataset uses the library's layout: ``X`` has shape (n_x, m), one column
per example. Built-ins come from :func:`load_dataset`; files (.csv, .tsv,
.npy, .npz) from :func:`load_data_file`. Only NumPy is imported at module
level: ``digits`` imports scikit-learn and ``mnist1d`` imports mnist1d when
they are asked for. Nothing is downloaded and nothing is unpickled.
"""

from __future__ import annotations

import csv
import os
import random
from dataclasses import dataclass, field, replace
from functools import lru_cache

import numpy as np

TASKS = ("classification", "regression")
MAX_AUTO_CLASSES = 20  # an integer target with at most this many values is a class label
_MISSING = {"", "na", "n/a", "nan", "null", "?"}  # cells read as a missing value (any case)


class DataFileError(ValueError):
    """A data file is missing, malformed, or cannot be used for training."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """Examples as columns, with their names and the kind of task.

    Attributes
    ----------
    X : ndarray of shape (n_x, m), float64
        Features; column i is example i.
    y : ndarray of shape (m,) or (n_y, m)
        Class indices 0..K-1 (int64) for classification; float64 targets for
        regression, shape (n_y, m) when there are several outputs.
    feature_names : list of str
        n_x names, one per row of X.
    target_names : list of str
        Classification: the K class labels, ``target_names[y[i]]`` is example
        i's label. Regression: the name of each target.
    task : {"classification", "regression"}
    name : str
        The built-in's name or the file's stem.
    test : Dataset or None
        A held-out split that the source itself defines (``mnist1d``), else None.
    description : str
        One line for listings.
    """

    X: np.ndarray  # (n_x, m) float64
    y: np.ndarray  # (m,) or (n_y, m)
    feature_names: list
    target_names: list
    task: str
    name: str
    test: Dataset | None = None  # the source's own held-out split, if any
    description: str = field(default="", compare=False)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task {self.task!r} must be one of: {', '.join(TASKS)}")
        if self.X.ndim != 2 or self.y.shape[-1] != self.X.shape[1]:
            raise ValueError(
                f"X {self.X.shape} and y {self.y.shape} disagree: X must be (n_x, m) and y (m,) or (n_y, m)"
            )

    @property
    def n_features(self):
        """n_x, the number of rows of X."""
        return self.X.shape[0]

    @property
    def m(self):
        """The number of examples (columns of X)."""
        return self.X.shape[1]

    @property
    def n_classes(self):
        """K for classification, None for regression."""
        return len(self.target_names) if self.task == "classification" else None

    def subset(self, idx):
        """The examples at column indices ``idx`` (the test split is dropped)."""
        idx = np.asarray(idx)
        return replace(self, X=self.X[:, idx], y=self.y[..., idx], test=None)

    def split(self, test_fraction=0.2, *, seed=0):
        """Shuffle and split into (train, test) Datasets.

        Parameters
        ----------
        test_fraction : float in (0, 1)
            Share of the m examples that go to the test split (at least one).
        seed : int
            Seed of the ``numpy.random.Generator`` that shuffles.

        Returns
        -------
        train, test : Dataset
        """
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        if self.m < 2:
            raise ValueError(f"cannot split {self.m} example(s); need at least 2")
        order = np.random.default_rng(seed).permutation(self.m)
        n_test = min(max(1, round(self.m * test_fraction)), self.m - 1)
        return self.subset(order[n_test:]), self.subset(order[:n_test])


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
        raise ValueError(
            f"unknown dataset {name!r}; expected one of: {', '.join(sorted(_BUILTINS))}"
        )
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
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        data = make_dataset(get_dataset_args())
    finally:
        np.random.set_state(np_state)
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


# --------------------------------------------------------------------------- #
# Data files
# --------------------------------------------------------------------------- #


def load_data_file(path, *, target=None, task=None):
    """Load examples from a .csv, .tsv, .npy or .npz file.

    * ``.csv`` / ``.tsv``: a header row of column names, then one example per
      row. The target is the column named ``target`` (or at index
      ``target``), by default the last column; all other columns are
      features and must be numeric.
    * ``.npy``: a 2-D numeric array, one example per row; the target is
      column ``target`` (an int, default -1).
    * ``.npz``: arrays ``"X"`` of shape (m, n_x) and ``"y"`` of shape (m,) or
      (m, n_y); optional string arrays ``"feature_names"`` and
      ``"target_names"``.

    Files are read with ``allow_pickle=False``. Rows of the file become
    columns of ``Dataset.X``. The task is classification when the target is
    not numeric or is integer-valued with at most ``MAX_AUTO_CLASSES`` (20)
    distinct values, else regression; ``task`` overrides this. Class labels
    are sorted (numerically when numeric) and encoded as indices 0..K-1.

    Parameters
    ----------
    path : str or os.PathLike
    target : str or int, optional
        Target column name (CSV) or index (CSV, npy).
    task : {"classification", "regression"}, optional

    Returns
    -------
    Dataset
        ``X`` of shape (n_x, m) float64; ``y`` of shape (m,) int64 class
        indices with labels in ``target_names``, or float64 targets.

    Raises
    ------
    DataFileError
        With one line naming the file (and ``file:row:column`` where it
        applies; rows count file lines from 1, the header being line 1 in a
        CSV and the first array row being row 1 in a .npy): a missing or empty
        file, a header with no rows, a ragged row, a non-numeric feature, a
        missing or non-finite value, an unknown target column, a one-class
        target, an unsupported file type, or pickled content.
    """
    path = os.fspath(path)
    if task is not None and task not in TASKS:
        raise ValueError(f"task {task!r} must be one of: {', '.join(TASKS)} (or None to infer it)")
    if not os.path.isfile(path):
        what = "is a directory" if os.path.isdir(path) else "does not exist"
        raise DataFileError(f"{path}: file {what}; check the path")
    if os.path.getsize(path) == 0:
        raise DataFileError(f"{path}: file is empty")
    suffix = os.path.splitext(path)[1].lower()
    name = os.path.splitext(os.path.basename(path))[0]
    if suffix in (".csv", ".tsv", ".tab", ".txt"):
        return _load_csv(path, name, target, task, "," if suffix in (".csv", ".txt") else "\t")
    if suffix == ".npy":
        return _load_npy(path, name, target, task)
    if suffix == ".npz":
        return _load_npz(path, name, task)
    raise DataFileError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .npy or .npz")


def load_features(path, feature_names):
    """The feature columns of a data file, with or without its target: X of shape (n_x, m), float64.

    For prediction on new examples. A CSV/TSV's columns are picked by ``feature_names`` (any order,
    other columns such as the target ignored); a ``.npy`` holds n_x columns, or n_x + 1 with the target
    last; an ``.npz`` holds ``"X"`` of shape (m, n_x).

    Raises
    ------
    DataFileError
        One line naming the file (and ``file:row:column``): missing columns, a wrong column count,
        non-numeric, missing or non-finite values.
    """
    path = os.fspath(path)
    n_x = len(feature_names)
    if not os.path.isfile(path) or os.path.getsize(path) == 0:
        raise DataFileError(f"{path}: " + ("file is empty" if os.path.isfile(path) else "file does not exist; check the path"))
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".csv", ".tsv", ".tab", ".txt"):
        header, body = _read_rows(path, "\t" if suffix in (".tsv", ".tab") else ",")
        _check_header(path, header)
        missing = [f for f in feature_names if f not in header]
        if missing:
            raise DataFileError(f"{path}: missing feature column(s) {', '.join(missing)}; the model needs: "
                                f"{', '.join(feature_names)}")
        if not body:
            raise DataFileError(f"{path}: has a header but no data rows")
        columns = [header.index(f) for f in feature_names]
        X = np.empty((n_x, len(body)))  # (n_x, m)
        for i, (line, row) in enumerate(body):
            if len(row) != len(header):
                raise DataFileError(f"{path}:{line}: row has {len(row)} fields, expected {len(header)} "
                                    "(one per header column)")
            for r, j in enumerate(columns):
                X[r, i] = _parse_number(path, line, j, header[j], row[j])
        return X
    if suffix in (".npy", ".npz"):
        loaded = _np_load(path)
        if suffix == ".npz":
            with loaded as archive:
                if "X" not in archive.files:
                    raise DataFileError(f"{path}: needs an array 'X' of shape (m, n_x)")
                try:
                    A = archive["X"]
                except ValueError:
                    raise DataFileError(f"{path}: contains pickled Python objects; vecprop never unpickles "
                                        "data files") from None
        else:
            A = loaded
        if not isinstance(A, np.ndarray) or A.ndim != 2 or A.shape[1] not in (n_x, n_x + 1):
            shape = getattr(A, "shape", None)
            raise DataFileError(f"{path}: array has shape {shape}; expected (m, {n_x}) features, or "
                                f"(m, {n_x + 1}) with the target last")
        A = _check_numeric(path, A[:, :n_x], "array")
        _check_finite(path, A, "array")
        return np.ascontiguousarray(A.T, dtype=np.float64)
    raise DataFileError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .npy or .npz")


def _is_missing(cell):
    """True for an empty cell or a conventional missing-value marker."""
    return cell.strip().lower() in _MISSING


def _read_rows(path, delimiter):
    """(header, [(line_number, row), ...]) from a delimited text file."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as handle:
            reader = csv.reader(handle, delimiter=delimiter)
            rows = [(reader.line_num, row) for row in reader if row]
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not UTF-8 text; is it a binary file?") from None
    except csv.Error as exc:
        raise DataFileError(f"{path}: malformed CSV ({exc})") from None
    if not rows:
        raise DataFileError(f"{path}: file is empty (no header row)")
    (_, header), body = rows[0], rows[1:]
    return [c.strip() for c in header], body


def _check_header(path, header):
    """Refuse empty or repeated column names."""
    seen = set()
    for j, col in enumerate(header, start=1):
        if not col:
            raise DataFileError(f"{path}:1:{j}: column {j} has an empty name in the header")
        if col in seen:
            raise DataFileError(f"{path}:1:{j}: column name {col!r} appears twice in the header")
        seen.add(col)


def _target_index(path, header, target):
    """Column index of the target in a CSV header."""
    if target is None:
        return len(header) - 1
    if isinstance(target, int) and not isinstance(target, bool):
        if -len(header) <= target < len(header):
            return target % len(header)
        raise DataFileError(f"{path}: target column index {target} out of range for {len(header)} columns")
    if target in header:
        return header.index(target)
    raise DataFileError(f"{path}: no column named {target!r}; columns are: {', '.join(header)}")


def _load_csv(path, name, target, task, delimiter):
    """A Dataset from a delimited text file with a header."""
    header, body = _read_rows(path, delimiter)
    _check_header(path, header)
    if len(header) < 2:
        raise DataFileError(
            f"{path}: needs at least one feature column and a target column, found {len(header)} column"
        )
    if not body:
        raise DataFileError(f"{path}: has a header but no data rows")
    t = _target_index(path, header, target)
    n = len(header)
    features = [j for j in range(n) if j != t]
    X = np.empty((len(features), len(body)))  # (n_x, m)
    cells = []
    for i, (line, row) in enumerate(body):
        if len(row) != n:
            raise DataFileError(f"{path}:{line}: row has {len(row)} fields, expected {n} (one per header column)")
        for r, j in enumerate(features):
            X[r, i] = _parse_number(path, line, j, header[j], row[j])
        if _is_missing(row[t]):
            raise DataFileError(f"{path}:{line}:{t + 1}: missing target value in column {header[t]!r}")
        cells.append((line, row[t].strip()))
    y, target_names, task = _encode_target(path, cells, t, header[t], task)
    return Dataset(X, y, [header[j] for j in features], target_names, task, name)


def _parse_number(path, line, j, column, cell):
    """A finite float from a feature cell, or DataFileError at file:line:column."""
    where = f"{path}:{line}:{j + 1}"
    if _is_missing(cell):
        raise DataFileError(f"{where}: missing value in feature column {column!r}")
    try:
        value = float(cell)
    except ValueError:
        raise DataFileError(f"{where}: non-numeric value {cell.strip()!r} in feature column {column!r}") from None
    if not np.isfinite(value):
        raise DataFileError(f"{where}: value {cell.strip()!r} in feature column {column!r} is not finite")
    return value


def _encode_target(path, cells, t, column, task):
    """(y, target_names, task) from [(line, cell)] of a CSV target column."""
    numbers = []
    for line, cell in cells:
        try:
            value = float(cell)
        except ValueError:
            if task == "regression":
                raise DataFileError(
                    f"{path}:{line}:{t + 1}: non-numeric target {cell!r} in column {column!r}; "
                    "regression needs numbers (or pass task='classification')"
                ) from None
            numbers = None
            break
        if not np.isfinite(value):
            raise DataFileError(f"{path}:{line}:{t + 1}: target {cell!r} in column {column!r} is not finite")
        numbers.append(value)
    if numbers is None:
        labels = sorted({cell for _, cell in cells})
        index = {label: k for k, label in enumerate(labels)}
        y = np.array([index[cell] for _, cell in cells], dtype=np.int64)
        return _check_classes(path, column, y, labels), labels, "classification"
    return _numeric_target(path, column, np.array(numbers), task)


def _numeric_target(path, column, values, task):
    """(y, target_names, task) for a numeric target vector (m,)."""
    uniques = np.unique(values)
    if task is None:
        is_int = np.all(values == np.round(values))
        task = "classification" if is_int and len(uniques) <= MAX_AUTO_CLASSES else "regression"
    if task == "regression":
        return values.astype(np.float64), [column], task
    labels = [str(int(v)) if float(v).is_integer() else repr(float(v)) for v in uniques]
    y = np.searchsorted(uniques, values).astype(np.int64)
    return _check_classes(path, column, y, labels), labels, task


def _check_classes(path, column, y, labels):
    """Refuse a classification target with a single class."""
    if len(labels) < 2:
        raise DataFileError(
            f"{path}: target column {column!r} has only one class ({labels[0]!r}); "
            "classification needs at least two (or pass task='regression')"
        )
    return y


def _np_load(path):
    """np.load with allow_pickle=False; pickled or corrupt content -> DataFileError."""
    try:
        return np.load(path, allow_pickle=False)
    except ValueError as exc:
        if "pickle" in str(exc):
            raise DataFileError(
                f"{path}: contains pickled Python objects; vecprop never unpickles data "
                "files; save plain numeric arrays (np.save(path, X.astype(float)))"
            ) from None
        raise DataFileError(f"{path}: not a valid NumPy file ({exc})") from None
    except (OSError, EOFError) as exc:
        raise DataFileError(f"{path}: not a valid NumPy file ({exc})") from None


def _check_finite(path, A, what):
    """Refuse NaN/inf in a rows-as-examples array, naming row:column (from 1)."""
    bad = np.argwhere(~np.isfinite(A))
    if bad.size:
        i, j = (int(k) + 1 for k in (bad[0] if A.ndim == 2 else (bad[0][0], 0)))
        raise DataFileError(f"{path}:{i}:{j}: {what} value {float(A[tuple(bad[0])])} is not finite (missing value?)")


def _check_numeric(path, A, what):
    """Refuse non-numeric arrays; return A as float64."""
    if A.dtype.kind not in "biuf":
        raise DataFileError(f"{path}: {what} has dtype {A.dtype}; it must be numeric")
    return A.astype(np.float64)


def _load_npy(path, name, target, task):
    """A Dataset from a 2-D .npy array, one example per row."""
    A = _np_load(path)
    if not isinstance(A, np.ndarray):
        raise DataFileError(f"{path}: a .npy file must hold one array; use .npz for X and y")
    if A.ndim != 2 or A.shape[1] < 2 or A.shape[0] < 1:
        raise DataFileError(
            f"{path}: array has shape {A.shape}; expected 2-D (m, n_x + 1) with the target in a column"
        )
    A = _check_numeric(path, A, "array")
    _check_finite(path, A, "array")
    if target is None:
        target = -1
    if not isinstance(target, int) or not -A.shape[1] <= target < A.shape[1]:
        raise DataFileError(f"{path}: target must be a column index in [-{A.shape[1]}, {A.shape[1]}) for a .npy file")
    t = target % A.shape[1]
    features = [j for j in range(A.shape[1]) if j != t]
    y, target_names, task = _numeric_target(path, f"column {t + 1}", A[:, t], task)
    X = np.ascontiguousarray(A[:, features].T)  # (n_x, m)
    return Dataset(X, y, [f"x{j + 1}" for j in features], target_names, task, name)


def _load_npz(path, name, task):
    """A Dataset from an .npz with X (m, n_x) and y (m,) or (m, n_y)."""
    with _np_load(path) as archive:
        keys = sorted(archive.files)
        if "X" not in keys or "y" not in keys:
            raise DataFileError(f"{path}: needs arrays 'X' and 'y'; found: {', '.join(keys) or 'none'}")
        try:
            X, y = archive["X"], archive["y"]
            feature_names = archive["feature_names"].tolist() if "feature_names" in keys else None
            target_names = archive["target_names"].tolist() if "target_names" in keys else None
        except ValueError:
            raise DataFileError(
                f"{path}: contains pickled Python objects; vecprop never unpickles data files"
            ) from None
    if X.ndim != 2 or X.shape[0] < 1:
        raise DataFileError(f"{path}: X has shape {X.shape}; expected (m, n_x), one example per row")
    if y.ndim not in (1, 2) or y.shape[0] != X.shape[0]:
        raise DataFileError(f"{path}: y has shape {y.shape} but X has {X.shape[0]} rows; expected (m,) or (m, n_y)")
    X = _check_numeric(path, X, "X")
    _check_finite(path, X, "X")
    if feature_names is None or len(feature_names) != X.shape[1]:
        feature_names = [f"x{j + 1}" for j in range(X.shape[1])]
    y, names, task = _npz_target(path, y, task)
    if target_names is not None and len(target_names) == len(names):
        names = [str(v) for v in target_names]
    return Dataset(np.ascontiguousarray(X.T), y, [str(v) for v in feature_names], names, task, name)


def _npz_target(path, y, task):
    """(y, target_names, task) from an npz target array."""
    if y.dtype.kind in "US":
        if y.ndim != 1 or task == "regression":
            raise DataFileError(f"{path}: y holds strings; only a 1-D class-label y is supported")
        labels = sorted(set(y.astype(str).tolist()))
        y_idx = np.searchsorted(np.array(labels), y.astype(str)).astype(np.int64)
        return _check_classes(path, "y", y_idx, labels), labels, "classification"
    y = _check_numeric(path, y, "y")
    _check_finite(path, y, "y")
    if y.ndim == 2:
        if task == "classification":
            raise DataFileError(f"{path}: y has shape {y.shape}; classification needs a 1-D label vector")
        return np.ascontiguousarray(y.T), [f"y{k + 1}" for k in range(y.shape[1])], "regression"  # (n_y, m)
    return _numeric_target(path, "y", y, task)


# --------------------------------------------------------------------------- #
# Standardization
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-feature affine scaling ``(X - mean) / scale``, fitted on training data.

    Attributes
    ----------
    mean : ndarray of shape (n_x, 1)
    scale : ndarray of shape (n_x, 1)
        The standard deviation, or 1 for a (numerically) constant feature so
        that it maps to 0 instead of dividing by zero.
    """

    mean: np.ndarray  # (n_x, 1)
    scale: np.ndarray  # (n_x, 1), never 0

    @classmethod
    def fit(cls, X):
        """Fit on X of shape (n_x, m), columns are examples.

        Returns
        -------
        Standardizer

        Raises
        ------
        ValueError
            If X is not 2-D, has no examples, or holds NaN/inf.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] < 1:
            raise ValueError(f"X has shape {X.shape}; expected (n_x, m) with m >= 1 examples as columns")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity; clean the data before fitting a Standardizer")
        mean = X.mean(axis=1, keepdims=True)  # (n_x, 1)
        std = X.std(axis=1, keepdims=True)  # (n_x, 1)
        # Rounding leaves a constant column a std of ~1e-17, not 0; treat that as 0.
        constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
        return cls(mean=mean, scale=np.where(constant, 1.0, std))

    @property
    def n_features(self):
        """n_x, the number of features it was fitted on."""
        return self.mean.shape[0]

    def _check(self, X):
        """X as float64 (n_x, m), or a ValueError that says the fix."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != self.n_features:
            hint = "; did you mean X.T?" if X.ndim == 2 and X.shape[1] == self.n_features else ""
            raise ValueError(
                f"X has shape {X.shape} but the Standardizer was fitted on {self.n_features} "
                f"features in rows (n_x, m){hint}"
            )
        return X

    def transform(self, X):
        """(X - mean) / scale for X of shape (n_x, m); returns (n_x, m) float64 with each example's column
        contiguous (Fortran order), the layout fit shuffles mini-batches from without a copy."""
        X = self._check(X)
        out = np.subtract(X, self.mean, out=np.empty(X.shape, np.float64, order="F"))
        out /= self.scale
        return out

    def inverse_transform(self, X):
        """X * scale + mean for X of shape (n_x, m); returns (n_x, m) float64."""
        return self._check(X) * self.scale + self.mean

    def to_dict(self):
        """A JSON-able dict ``{"mean": [...], "scale": [...]}`` (exact float round trip)."""
        return {"mean": self.mean.ravel().tolist(), "scale": self.scale.ravel().tolist()}

    @classmethod
    def from_dict(cls, d):
        """The inverse of :meth:`to_dict`; ValueError if the dict is malformed."""
        try:
            mean = np.asarray(d["mean"], dtype=np.float64).reshape(-1, 1)
            scale = np.asarray(d["scale"], dtype=np.float64).reshape(-1, 1)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Standardizer dict (need lists 'mean' and 'scale'): {exc}") from None
        finite = np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))
        if mean.shape != scale.shape or not (finite and np.all(scale > 0)):
            raise ValueError("Standardizer dict needs 'mean' and 'scale' of equal length, finite, scale > 0")
        return cls(mean=mean, scale=scale)
