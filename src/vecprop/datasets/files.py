"""Data files: .csv, .tsv, .npy and .npz parsed into a :class:`Dataset`, never unpickled.

Rows of a file are examples; they become columns of ``Dataset.X`` (n_x, m). Every problem a file can
have is a :class:`DataFileError` (a ValueError) with one line naming the file, and ``file:row:column``
where it applies.
"""

from __future__ import annotations

import csv
import math
import os
import zipfile

import numpy as np
from numpy.lib import format as npy_format

from ..memory import check_bytes
from .dataset import TASKS, Dataset

MAX_AUTO_CLASSES = 20  # an integer target with at most this many values is a class label
_MISSING = {"", "na", "n/a", "nan", "null", "?"}  # cells read as a missing value (any case)
_NPY_MAGIC, _ZIP_MAGIC = b"\x93NUMPY", (b"PK\x03\x04", b"PK\x05\x06")
_NPY_HEADER_MAX = 10_000  # bytes of a .npy header, NumPy's own default limit
_MEMORY_FIX = "use a smaller file or raise VECPROP_MAX_MEMORY"


class DataFileError(ValueError):
    """A data file is missing, malformed, or cannot be used for training."""


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
        raise DataFileError(
            f"{path}: " + ("file is empty" if os.path.isfile(path) else "file does not exist; check the path")
        )
    suffix = os.path.splitext(path)[1].lower()
    if suffix in (".csv", ".tsv", ".tab", ".txt"):
        header, body = _read_rows(path, "\t" if suffix in (".tsv", ".tab") else ",")
        _check_header(path, header)
        missing = [f for f in feature_names if f not in header]
        if missing:
            raise DataFileError(
                f"{path}: missing feature column(s) {', '.join(missing)}; the model needs: {', '.join(feature_names)}"
            )
        if not body:
            raise DataFileError(f"{path}: has a header but no data rows")
        columns = [header.index(f) for f in feature_names]
        X = np.empty((n_x, len(body)))  # (n_x, m)
        for i, (line, row) in enumerate(body):
            if len(row) != len(header):
                raise DataFileError(
                    f"{path}:{line}: row has {len(row)} fields, expected {len(header)} (one per header column)"
                )
            for r, j in enumerate(columns):
                X[r, i] = _parse_number(path, line, j, header[j], row[j])
        return X
    if suffix in (".npy", ".npz"):
        loaded = _np_load(path, suffix)
        if suffix == ".npz":
            with loaded as archive:
                if "X" not in archive.files:
                    raise DataFileError(f"{path}: needs an array 'X' of shape (m, n_x)")
                A = _npz_array(path, archive, "X")
        else:
            A = loaded
        if not isinstance(A, np.ndarray) or A.ndim != 2 or A.shape[1] not in (n_x, n_x + 1):
            shape = getattr(A, "shape", None)
            raise DataFileError(
                f"{path}: array has shape {shape}; expected (m, {n_x}) features, or (m, {n_x + 1}) with the target last"
            )
        A = _check_numeric(path, A[:, :n_x], "array")
        _check_finite(path, A, "array")
        return np.ascontiguousarray(A.T, dtype=np.float64)
    raise DataFileError(f"{path}: unsupported file type {suffix!r}; use .csv, .tsv, .npy or .npz")


def _is_missing(cell):
    """True for an empty cell or a conventional missing-value marker."""
    return cell.strip().lower() in _MISSING


def _read_rows(path, delimiter):
    """(header, [(line_number, row), ...]) from a delimited text file."""
    # each cell becomes a Python str in a list (~8x its text) and then a float64
    check_bytes(
        8 * os.path.getsize(path),
        f"{path}: reading a {os.path.getsize(path)}-byte text file",
        "convert it to .npy (np.save) or raise VECPROP_MAX_MEMORY",
        error=DataFileError,
    )
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


def target_index(path, header, target):
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
    t = target_index(path, header, target)
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


def _np_load(path, kind):
    """An .npy array or an open .npz archive (``kind``), read with allow_pickle=False after every array
    header has been checked against the bytes the file holds and the memory limit; DataFileError else."""
    with open(path, "rb") as handle:
        magic = handle.read(6)
    if kind == ".npy" and magic != _NPY_MAGIC or kind == ".npz" and magic[:4] not in _ZIP_MAGIC:
        found = (
            "a NumPy .npy array"
            if magic == _NPY_MAGIC
            else ("a zip archive (.npz)" if magic[:4] in _ZIP_MAGIC else "neither .npy nor .npz data")
        )
        raise DataFileError(
            f"{path}: not a valid NumPy file (it holds {found}, not what its {kind} suffix "
            "says); rename it or save it with np.save / np.savez"
        )
    if kind == ".npy":
        with open(path, "rb") as handle:
            _check_npy_header(path, handle, os.path.getsize(path))
    else:
        _check_npz_members(path)
    try:
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # NumPy's and zipfile's parsers raise many types for damaged bytes
        raise DataFileError(f"{path}: not a valid NumPy file ({type(exc).__name__}: {exc})") from None


def _check_npy_header(path, handle, size, member=""):
    """Check one array header (dtype, shape) against the ``size`` bytes its array may occupy; the
    array's bytes, as float64 too, must fit in memory. Nothing is allocated from the header."""
    where = f"{path}" + (f" (array {member!r})" if member else "")
    try:
        version = npy_format.read_magic(handle)
        read = {(1, 0): npy_format.read_array_header_1_0, (2, 0): npy_format.read_array_header_2_0}[version]
        shape, _, dtype = read(handle, max_header_size=_NPY_HEADER_MAX)
    except Exception as exc:  # a damaged header: ValueError, KeyError, tokenize/SyntaxError, ...
        raise DataFileError(f"{where}: damaged .npy header ({type(exc).__name__}: {exc})") from None
    if dtype.hasobject:
        raise DataFileError(
            f"{path}: contains pickled Python objects{where[len(path) :]}; vecprop never unpickles data "
            "files; save plain numeric arrays (np.save(path, X.astype(float)))"
        )
    if dtype.kind not in "biufUS" or dtype.itemsize == 0:
        raise DataFileError(f"{where}: has dtype {dtype}; it must be numeric (or strings for names and labels)")
    count = math.prod(shape)
    if count * dtype.itemsize > size - handle.tell():
        raise DataFileError(
            f"{where}: header declares shape {shape} of {dtype} ({count * dtype.itemsize} bytes) "
            f"but only {size - handle.tell()} bytes follow; the file is truncated or corrupt"
        )
    check_bytes(count * (dtype.itemsize + 8), f"{where}: an array of shape {shape}", _MEMORY_FIX, error=DataFileError)


def _check_npz_members(path):
    """Check every .npy member's header of an .npz archive against its declared size."""
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.filename.endswith(".npy"):
                    with archive.open(info) as member:
                        _check_npy_header(path, member, info.file_size, info.filename[:-4])
    except DataFileError:
        raise
    except Exception as exc:  # zipfile.BadZipFile, zlib.error, EOFError, encrypted or odd members, ...
        raise DataFileError(f"{path}: not a valid .npz archive ({type(exc).__name__}: {exc})") from None


def _npz_array(path, archive, key, names_only=False):
    """archive[key] as an ndarray, or DataFileError (a damaged member, or bytes that are no array)."""
    try:
        A = archive[key]
    except Exception as exc:  # zlib.error, BadZipFile (CRC), EOFError, ValueError, ...
        raise DataFileError(f"{path}: cannot read array {key!r} ({type(exc).__name__}: {exc})") from None
    if not isinstance(A, np.ndarray):
        raise DataFileError(f"{path}: member {key!r} is not a NumPy array; save the archive with np.savez")
    if names_only and A.ndim != 1:
        raise DataFileError(f"{path}: {key} has shape {A.shape}; expected a 1-D array of names")
    return A


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
    A = _np_load(path, ".npy")
    if A.ndim != 2 or A.shape[1] < 2 or A.shape[0] < 1:
        raise DataFileError(f"{path}: array has shape {A.shape}; expected 2-D (m, n_x + 1) with the target in a column")
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
    with _np_load(path, ".npz") as archive:
        keys = sorted(archive.files)
        if "X" not in keys or "y" not in keys:
            raise DataFileError(f"{path}: needs arrays 'X' and 'y'; found: {', '.join(keys) or 'none'}")
        X, y = _npz_array(path, archive, "X"), _npz_array(path, archive, "y")
        names = {
            k: _npz_array(path, archive, k, names_only=True).tolist() if k in keys else None
            for k in ("feature_names", "target_names")
        }
        feature_names, target_names = names["feature_names"], names["target_names"]
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
