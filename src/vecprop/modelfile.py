"""Writing vecprop model files (safetensors tensors plus a JSON header, never pickle): the bottom layer.

The model (``Network.save``) writes through this module; :mod:`vecprop.io` (reading, validation and
``load``, a layer above the model) imports it and re-exports every name, so ``vecprop.io.save_network``,
``vecprop.io.write_model_file``, ``vecprop.io.ModelFileError`` and ``vecprop.io.atomic_write`` keep working.
The file format is described in :mod:`vecprop.io`. Moved out of io.py unchanged (issue #10: it broke the
network <-> io import circle).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib import import_module

import numpy as np

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "STATE_PREFIX",
    "ModelFileError",
    "write_model_file",
    "atomic_write",
    "save_network",
]

FORMAT = "vecprop"
FORMAT_VERSION = 1
STATE_PREFIX = "state/"
_DTYPES = {"F32": np.dtype("<f4"), "F64": np.dtype("<f8")}  # safetensors name -> dtype
_INSTALL_HINT = "pip install 'vecprop[io]' (or: pip install safetensors)"


class ModelFileError(ValueError):
    """A model file is missing, corrupt, unsafe or not a vecprop model file."""


def write_model_file(path, tensors, metadata):
    """Write tensors and JSON metadata to a safetensors file, atomically.

    The bytes go to a temporary file in the destination directory, which is
    flushed, fsynced and then renamed over ``path`` with :func:`os.replace`.
    If anything fails, the temporary file is removed and any previous file at
    ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        Destination, conventionally ending in ``.safetensors``.
    tensors : dict of str to ndarray
        Arrays of dtype float32 or float64, any shape, all values finite.
        Names must be non-empty strings.
    metadata : dict
        Any JSON-serializable dict; :func:`read_model_file` returns an equal one.

    Raises
    ------
    TypeError
        If a tensor is not a float32/float64 array or metadata is not a dict.
    ValueError
        If a tensor holds NaN or infinity, or metadata is not JSON-serializable.
    ImportError
        If safetensors is not installed.
    """
    path = os.fspath(path)
    arrays = _check_tensors_to_write(tensors)
    header = _file_metadata(metadata)
    save = _safetensors_numpy().save
    atomic_write(path, save(arrays, metadata=header))


def _safetensors_numpy():
    """Import safetensors.numpy, or say how to install it."""
    try:
        return import_module("safetensors.numpy")
    except ImportError:
        raise ImportError(f"vecprop model files need safetensors: {_INSTALL_HINT}") from None


def _vecprop_version():
    """The running vecprop's version string, best effort."""
    try:
        version = getattr(sys.modules.get("vecprop"), "__version__", None)  # the package, always loaded first
        if isinstance(version, str):
            return version
    except ImportError:
        pass
    try:
        from importlib.metadata import version as dist_version

        return dist_version("vecprop")
    except Exception:
        return "0+unknown"


def _check_tensors_to_write(tensors):
    """Validate tensors for writing; return contiguous little-endian copies."""
    if not isinstance(tensors, dict):
        raise TypeError(f"tensors must be a dict of name -> ndarray, got {type(tensors).__name__}")
    arrays = {}
    for name, array in tensors.items():
        if not isinstance(name, str) or not name or name == "__metadata__":
            raise ValueError(f"tensor name {name!r} is not allowed; use a non-empty string")
        array = np.asarray(array)
        if array.dtype not in (np.float32, np.float64):
            raise TypeError(
                f"tensor {name!r} has dtype {array.dtype}; model files store only float32 "
                f"or float64; convert it with .astype(np.float64)"
            )
        if not np.all(np.isfinite(array)):
            raise ValueError(
                f"tensor {name!r} contains NaN or infinity; refusing to save a model "
                "that could not be loaded (did training diverge? lower the learning rate)"
            )
        # safetensors reads raw memory: a strided view would be written scrambled.
        arrays[name] = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<"))
    return arrays


def _file_metadata(metadata):
    """The safetensors __metadata__ map (str -> str) for a metadata dict."""
    if not isinstance(metadata, dict):
        raise TypeError(f"metadata must be a dict, got {type(metadata).__name__}")
    try:
        text = json.dumps(metadata, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"metadata is not JSON-serializable ({exc}); store plain dicts, lists, "
            "str, int, finite float, bool and None (convert arrays with .tolist())"
        ) from None
    return {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "vecprop_version": _vecprop_version(),
        "metadata": text,
    }


def atomic_write(path, payload: bytes) -> None:
    """Write bytes to path via a fsynced temp file in the same directory, then os.replace.

    A failure at any moment leaves the previous file (if any) intact and no temporary file behind.
    """
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"cannot save {path}: directory {directory} does not exist; create it first")
    if os.path.isdir(path):
        raise IsADirectoryError(f"cannot save {path}: it is a directory; give a file name")
    mode = _target_mode(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:  # noqa: SIM105 (moved unchanged from io.py)
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    _fsync_directory(directory)


def _target_mode(path):
    """Permission bits for the new file: the old file's, else 0o666 minus umask."""
    try:
        return os.stat(path).st_mode & 0o777
    except OSError:
        umask = os.umask(0o022)
        os.umask(umask)
        return 0o666 & ~umask


def _fsync_directory(directory):
    """Make the rename durable where the platform allows fsync on a directory."""
    if not hasattr(os, "O_DIRECTORY"):
        return
    try:
        fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def save_network(net, path, *, include_training_state=True):
    """Save a Network's config, parameters, metadata and training state.

    Parameters
    ----------
    net : vecprop.Network
        The network; its ``params`` hold ``W[l]`` of shape (n_l, n_{l-1}) and
        ``b[l]`` of shape (n_l, 1) for l = 1..L.
    path : str or os.PathLike
        Destination, conventionally ``model.safetensors``. Written atomically.
    include_training_state : bool, default True
        Also store ``net.training_state()`` (optimizer moments under
        ``"state/..."`` tensors, RNG state and epoch in the metadata) so that
        training can resume where it stopped.

    Raises
    ------
    TypeError, ValueError
        If a parameter is not a finite float32/float64 array or the config or
        metadata is not JSON-serializable.
    """
    tensors = {name: np.asarray(value) for name, value in net.params.items()}
    info = None
    state = net.training_state() if include_training_state else None
    if state is not None:
        arrays, info = state
        for name, value in arrays.items():
            tensors[STATE_PREFIX + name] = np.asarray(value)
    metadata = {
        "config": net.get_config(),
        "metadata": dict(net.metadata or {}),
        "training_state": info,
    }
    write_model_file(path, tensors, metadata)
