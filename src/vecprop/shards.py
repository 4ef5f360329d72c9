"""Each rank's block of a data file, for ``mpiexec -n P vecprop train --data FILE --distributed``.

A rank reads only its own rows: a ``.npy`` is memory-mapped and only rows ``[start, stop)`` of
:func:`vecprop.distributed.block_range` are copied; a CSV/TSV is split by bytes at line starts (rank r
reads the lines that *begin* in its r-th share of the file's bytes, so no byte is read twice and
quoted fields must not hold newlines). What must be global is agreed over the communicator: the
task (classification or regression), the class labels, the row numbers in error messages, and the
standardization statistics (mean and standard deviation of every feature over all ranks' rows).
"""

from __future__ import annotations

import csv
import io
import os

import numpy as np

from .datasets import MAX_AUTO_CLASSES, DataFileError, Dataset, Standardizer
from .datasets.files import target_index
from .distributed import block_range

__all__ = ["load_block", "global_standardizer"]

_CSV = {".csv": ",", ".txt": ",", ".tsv": "\t", ".tab": "\t"}


def load_block(path, reducer, *, target=None) -> Dataset:
    """This rank's rows of a data file as a Dataset (``X`` of shape (n_x, m_r)), labels encoded globally.

    Parameters
    ----------
    path : a ``.npy`` (2-D, one example per row, the target in column ``target``, default last) or a
        ``.csv``/``.tsv`` with a header (target column by name or index, default last)
    reducer : MPIReducer — every rank of it calls this function (it is collective)
    target : str or int, optional

    Raises
    ------
    RankError
        On every rank, naming the rank whose rows were bad (``file:row:column`` with the file's row).
    """
    path = os.fspath(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in _CSV and suffix != ".npy":
        reducer.raise_any(
            DataFileError(
                f"{path}: --distributed reads .npy or .csv/.tsv files (each rank its "
                f"own rows), not {suffix or 'a file without a suffix'!r}"
            )
        )
    if suffix == ".npy":
        features, X, cells, column = reducer.agree(_npy_block, path, reducer, target)
    else:  # collectives stay outside agree(): a rank that fails still meets them
        header, lines = reducer.agree(_csv_lines, path, reducer)
        first_row = 2 + sum(reducer.allgather(len(lines))[: reducer.rank])  # file line of this rank's first row
        features, X, cells, column = reducer.agree(_csv_parse, path, header, lines, first_row, target)
    y, labels, task = reducer.agree(_encode_globally, path, cells, column, reducer)
    name = os.path.splitext(os.path.basename(path))[0]
    return Dataset(X, y, features, labels, task, name)


def global_standardizer(X, reducer) -> Standardizer:
    """The Standardizer of every rank's columns together: mean and population std over all M examples.

    Two reductions (Σx, then Σ(x − mean)²), as numerically sound as :meth:`Standardizer.fit` on the
    concatenated data, whose constant-feature rule it shares.
    """
    n_x = X.shape[0]
    sums = reducer.sum(np.append(X.sum(axis=1), X.shape[1]))  # (n_x + 1,): Σ_i x_i and M
    M = sums[-1]
    if M < 1:
        raise DataFileError("no rank holds any example; the data file has no rows")
    mean = (sums[:-1] / M).reshape(n_x, 1)
    std = np.sqrt(reducer.sum(((X - mean) ** 2).sum(axis=1)) / M).reshape(n_x, 1)
    constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
    return Standardizer(mean=mean, scale=np.where(constant, 1.0, std))


# ------------------------------------------------------------------------------------- .npy
def _npy_block(path, reducer, target):
    """(feature names, X (n_x, m_r), target values (m_r,), target column name) from a memory-mapped .npy."""
    try:
        A = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DataFileError(f"{path}: not a readable NumPy array file ({exc})") from None
    if A.ndim != 2 or A.shape[1] < 2 or A.dtype.kind not in "biuf":
        raise DataFileError(
            f"{path}: array has shape {A.shape} and dtype {A.dtype}; expected a numeric "
            "(m, n_x + 1) array with the target in a column"
        )
    t = -1 if target is None else target
    if not isinstance(t, int) or not -A.shape[1] <= t < A.shape[1]:
        raise DataFileError(f"{path}: target must be a column index in [-{A.shape[1]}, {A.shape[1]}) for a .npy file")
    t %= A.shape[1]
    start, stop = block_range(A.shape[0], reducer.rank, reducer.size)
    block = np.array(A[start:stop], dtype=np.float64)  # only these rows are read from disk
    bad = np.argwhere(~np.isfinite(block))
    if bad.size:
        i, j = bad[0]
        raise DataFileError(f"{path}:{start + i + 1}:{j + 1}: array value {block[i, j]} is not finite (missing value?)")
    features = [j for j in range(A.shape[1]) if j != t]
    X = np.ascontiguousarray(block[:, features].T)  # (n_x, m_r)
    return [f"x{j + 1}" for j in features], X, block[:, t], f"column {t + 1}"


# ------------------------------------------------------------------------------------- CSV
def _csv_lines(path, reducer):
    """(header line, this rank's data lines as bytes): the lines that begin in its share of the bytes."""
    with open(path, "rb") as handle:
        header = handle.readline()
        data_start, size = handle.tell(), os.fstat(handle.fileno()).st_size
        lo, hi = (data_start + (size - data_start) * r // reducer.size for r in (reducer.rank, reducer.rank + 1))
        handle.seek(max(lo - 1, data_start))
        if lo > data_start:
            handle.readline()  # the line holding byte lo − 1 belongs to the rank before
        lines = []
        while handle.tell() < hi:
            lines.append(handle.readline())
    if not header.strip():
        raise DataFileError(f"{path}: file is empty (no header row)")
    return header, lines


def _csv_parse(path, header_line, lines, first_row, target):
    """(feature names, X (n_x, m_r), target cells (m_r,) as str, target column name) from raw lines."""
    delimiter = _CSV[os.path.splitext(path)[1].lower()]
    try:
        header = [c.strip() for c in next(csv.reader([header_line.decode("utf-8-sig")], delimiter=delimiter))]
        text = b"".join(lines).decode("utf-8")
    except UnicodeDecodeError:
        raise DataFileError(f"{path}: not UTF-8 text; is it a binary file?") from None
    t = _target_column(path, header, target)
    features = [j for j in range(len(header)) if j != t]
    numbered = [
        (first_row + i, row) for i, row in enumerate(csv.reader(io.StringIO(text), delimiter=delimiter)) if row
    ]  # blank lines are skipped, as load_data_file does
    X = np.empty((len(features), len(numbered)))  # (n_x, m_r)
    cells = []
    for i, (line, row) in enumerate(numbered):
        if len(row) != len(header):
            raise DataFileError(f"{path}:{line}: row has {len(row)} fields, expected {len(header)}")
        try:
            X[:, i] = [float(row[j]) for j in features]
        except ValueError:
            j = next(j for j in features if not _is_float(row[j]))
            raise DataFileError(
                f"{path}:{line}:{j + 1}: non-numeric value {row[j].strip()!r} in feature column {header[j]!r}"
            ) from None
        cells.append(row[t].strip())
    if not np.all(np.isfinite(X)):
        r, i = np.argwhere(~np.isfinite(X))[0]
        raise DataFileError(f"{path}:{numbered[i][0]}:{features[r] + 1}: value is not finite (missing value?)")
    return [header[j] for j in features], X, np.array(cells, dtype=str), header[t]


def _is_float(cell):
    try:
        float(cell)
    except ValueError:
        return False
    return True


def _target_column(path, header, target):
    """The target's column index: the CLI's --target may be a name or an index written as text."""
    if isinstance(target, str) and target.lstrip("-").isdigit() and target not in header:
        target = int(target)
    return target_index(path, header, target)


# ------------------------------------------------------------------------------------- targets
def _encode_globally(path, cells, column, reducer):
    """(y (m_r,), labels, task): the task and the sorted class labels decided over every rank's targets."""
    try:
        values = cells.astype(np.float64)
        numeric = bool(np.all(np.isfinite(values)))
    except ValueError:
        values, numeric = None, False
    numeric = not reducer.any(not numeric)
    integer = numeric and not reducer.any(not np.all(values == np.round(values)))
    local = np.unique(values if numeric else cells)
    if numeric and not (integer and not reducer.any(local.size > MAX_AUTO_CLASSES)):
        return values, [column], "regression"  # the rule of load_data_file, over every rank
    labels = np.unique(np.concatenate([np.asarray(v) for v in reducer.allgather(local)]))
    if numeric and labels.size > MAX_AUTO_CLASSES:
        return values, [column], "regression"
    if labels.size < 2:
        raise DataFileError(f"{path}: target column {column!r} has only one class; classification needs two")
    y = np.searchsorted(labels, values if numeric else cells).astype(np.int64)
    names = [str(int(v)) for v in labels] if numeric else [str(v) for v in labels]
    return y, names, "classification"
