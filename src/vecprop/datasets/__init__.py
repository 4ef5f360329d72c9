"""Built-in datasets (all offline), data files, and input standardization.

Every dataset uses the library's layout: ``X`` has shape (n_x, m), one column
per example. Built-ins come from :func:`load_dataset` (:mod:`.builtin`); files
(.csv, .tsv, .npy, .npz) from :func:`load_data_file` (:mod:`.files`); the
:class:`Standardizer` from :mod:`.preprocessing`. Only NumPy is imported at
module level: ``digits`` imports scikit-learn and ``mnist1d`` imports mnist1d
when they are asked for. Nothing is downloaded and nothing is unpickled.
"""

from __future__ import annotations

# private names too, so that every vecprop.datasets.<name> of the one-module version still resolves
from .builtin import _ALIASES, _BUILTINS, _mnist1d_arrays, list_datasets, load_dataset  # noqa: F401
from .dataset import TASKS, Dataset
from .files import (  # noqa: F401
    _MISSING,
    MAX_AUTO_CLASSES,
    DataFileError,
    _load_csv,
    _load_npy,
    _load_npz,
    _np_load,
    load_data_file,
    load_features,
)
from .preprocessing import Standardizer

__all__ = [
    "TASKS",
    "MAX_AUTO_CLASSES",
    "DataFileError",
    "Dataset",
    "Standardizer",
    "list_datasets",
    "load_dataset",
    "load_data_file",
    "load_features",
]
