"""Safe model files: safetensors tensors plus a JSON header, never pickle.

A vecprop model file is an ordinary safetensors file. Its tensors are the
parameters ``"W1", "b1", ..., "WL", "bL"`` and, when saved, the training state
under names prefixed ``"state/"``. Its ``__metadata__`` (a str -> str map)
holds::

    format          "vecprop"
    format_version  "1"
    vecprop_version the version that wrote the file
    metadata        a JSON document: the caller's metadata dict

Reading validates the raw bytes (header length, JSON header, dtypes, offsets)
before safetensors sees them; nothing in a file is ever unpickled or executed.
Only ``float32`` and ``float64`` tensors are accepted and every value must be
finite. safetensors is imported lazily, so ``import vecprop`` needs only NumPy.
"""

from __future__ import annotations

import json
import math
import os
import re

import numpy as np

from .memory import check_bytes

# the writer half lives one layer down (the model saves through it); re-exported here unchanged
from .modelfile import (  # noqa: F401
    _DTYPES,
    _INSTALL_HINT,
    FORMAT,
    FORMAT_VERSION,
    STATE_PREFIX,
    ModelFileError,
    _check_tensors_to_write,
    _file_metadata,
    _fsync_directory,
    _safetensors_numpy,
    _target_mode,
    _vecprop_version,
    atomic_write,
    save_network,
    write_model_file,
)

_MAX_HEADER_BYTES = 100_000_000  # safetensors' own limit; anything larger is corrupt
_MAX_JSON_DEPTH = 64  # nesting of the header and metadata JSON; vecprop writes at most ~6
_MAX_NDIM = 8  # a vecprop tensor has 1 or 2 axes; more is corrupt
_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')


# --------------------------------------------------------------------------- #
# File layer: tensors + JSON metadata
# --------------------------------------------------------------------------- #


def read_model_file(path):
    """Read and validate a vecprop model file written by :func:`write_model_file`.

    Parameters
    ----------
    path : str or os.PathLike
        A ``.safetensors`` file.

    Returns
    -------
    tensors : dict of str to ndarray
        Writable, native-byte-order float32/float64 arrays, bit-identical to
        what was written.
    metadata : dict
        The metadata dict that was written.

    Raises
    ------
    ModelFileError
        If the file is missing, empty, truncated, not safetensors (a pickle, a
        NumPy archive, random bytes), not a vecprop file, from a newer
        vecprop, holds a dtype other than F32/F64, or holds non-finite values.
    ImportError
        If safetensors is not installed.
    """
    path = os.fspath(path)
    data = _read_bytes(path)
    header = _parse_header(path, data)
    metadata = _check_file_metadata(path, header.pop("__metadata__", None))
    _check_tensor_entries(path, header, len(data) - 8 - _header_length(data))
    load = _safetensors_numpy().load
    try:
        raw = load(data)
    except Exception as exc:  # safetensors' own validation; its errors are not ValueErrors
        raise ModelFileError(f"{path}: corrupt safetensors data ({exc})") from None
    tensors = {}
    for name, array in raw.items():
        array = np.array(array, dtype=array.dtype.newbyteorder("="), copy=True)
        if not np.all(np.isfinite(array)):
            raise ModelFileError(
                f"{path}: tensor {name!r} contains NaN or infinity; the file is corrupt "
                "or was written by a diverged run; retrain or restore a good copy"
            )
        tensors[name] = array
    return tensors, metadata


def _read_bytes(path):
    """The whole file, or ModelFileError if it is missing or unreadable."""
    if not os.path.exists(path):
        raise ModelFileError(f"{path}: no such model file; check the path")
    if os.path.isdir(path):
        raise ModelFileError(f"{path}: is a directory, not a model file")
    try:
        # the bytes, the tensors copied out of them and the network built from those
        check_bytes(
            3 * os.path.getsize(path),
            f"loading the model file {path}",
            "load it on a larger machine or raise VECPROP_MAX_MEMORY",
            error=ModelFileError,
        )
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read model file ({exc.strerror})") from None


def _header_length(data):
    """The 8-byte little-endian header length at the start of a safetensors file."""
    return int.from_bytes(data[:8], "little")


def _foreign_format(data):
    """A description of a known non-safetensors format, or None."""
    if data[:1] == b"\x80" and data[1:2] in (b"\x02", b"\x03", b"\x04", b"\x05"):
        return "a pickle"
    if data[:4] == b"PK\x03\x04":
        return "a zip archive (NumPy .npz or PyTorch checkpoint, which may hold pickles)"
    if data[:6] == b"\x93NUMPY":
        return "a NumPy .npy array"
    return None


def _parse_header(path, data):
    """Check the header length and JSON header; return the header dict."""
    if not data:
        raise ModelFileError(f"{path}: file is empty; it is not a model file (was the save interrupted?)")
    n = _header_length(data) if len(data) >= 8 else None
    plausible = n is not None and 2 <= n <= min(len(data) - 8, _MAX_HEADER_BYTES) and data[8:9] == b"{"
    if not plausible:
        foreign = _foreign_format(data)
        if foreign is not None:
            raise ModelFileError(
                f"{path}: this is {foreign}, not a vecprop model file; vecprop never loads "
                "pickles or NumPy archives because they can run code; re-save the model "
                "with vecprop.save"
            )
        if n is None:
            raise ModelFileError(f"{path}: file is truncated ({len(data)} bytes); not a model file")
        if n > _MAX_HEADER_BYTES:
            raise ModelFileError(
                f"{path}: header length field says {n} bytes, which is absurd; "
                "the file is corrupt or not a safetensors file"
            )
        if n > len(data) - 8:
            raise ModelFileError(
                f"{path}: header length field says {n} bytes but only {len(data) - 8} follow; "
                "the file is truncated or not a safetensors file"
            )
        raise ModelFileError(f"{path}: header does not start with a JSON object; not a safetensors file")
    _check_json_depth(path, data[8 : 8 + n], "header")
    try:
        header = json.loads(data[8 : 8 + n].decode("utf-8"), object_pairs_hook=_no_duplicates)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise ModelFileError(f"{path}: header is not valid JSON ({exc}); the file is corrupt") from None
    if not isinstance(header, dict):
        raise ModelFileError(f"{path}: header is not a JSON object; the file is corrupt")
    return header


def _check_json_depth(path, text: bytes, what):
    """Refuse JSON nested deeper than _MAX_JSON_DEPTH before parsing it (no RecursionError, no stack)."""
    brackets = np.frombuffer(_JSON_STRING.sub(b"", text), dtype=np.uint8)
    step = np.isin(brackets, (ord("["), ord("{"))).astype(np.int64) - np.isin(brackets, (ord("]"), ord("}"))).astype(
        np.int64
    )
    depth = int(np.cumsum(step).max(initial=0))
    if depth > _MAX_JSON_DEPTH:
        raise ModelFileError(
            f"{path}: {what} JSON is nested {depth} levels deep (at most {_MAX_JSON_DEPTH}); "
            "the file is corrupt or hostile"
        )


def _no_duplicates(pairs):
    """JSON object hook that refuses repeated keys (an ambiguity attack)."""
    result = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _check_file_metadata(path, header_metadata):
    """Check format/format_version and return the caller's metadata dict."""
    if not isinstance(header_metadata, dict) or header_metadata.get("format") != FORMAT:
        raise ModelFileError(
            f"{path}: not a vecprop model file (no format='vecprop' in its safetensors "
            "metadata); save models with vecprop.save"
        )
    raw_version = header_metadata.get("format_version")
    try:
        version = int(raw_version)
    except (TypeError, ValueError):
        raise ModelFileError(f"{path}: format_version {raw_version!r} is not an integer; the file is corrupt") from None
    if version > FORMAT_VERSION:
        writer = header_metadata.get("vecprop_version", "a newer vecprop")
        raise ModelFileError(
            f"{path}: format_version {version} (written by vecprop {writer}) is newer than "
            f"this vecprop reads (format_version {FORMAT_VERSION}); upgrade vecprop"
        )
    if version < 1:
        raise ModelFileError(f"{path}: unknown format_version {version}; expected {FORMAT_VERSION}")
    text = header_metadata.get("metadata", "")
    if not isinstance(text, str):
        raise ModelFileError(f"{path}: its metadata is not a JSON string; the file is corrupt")
    _check_json_depth(path, text.encode("utf-8", "surrogatepass"), "metadata")
    try:
        metadata = json.loads(text)
    except (ValueError, RecursionError):
        raise ModelFileError(f"{path}: its metadata is not valid JSON; the file is corrupt") from None
    if not isinstance(metadata, dict):
        raise ModelFileError(f"{path}: its metadata is not a JSON object; the file is corrupt")
    return metadata


def _check_tensor_entries(path, header, data_bytes):
    """Check each tensor's dtype, shape and byte range against the data section."""
    for name, entry in header.items():
        if not isinstance(entry, dict):
            raise ModelFileError(f"{path}: header entry {name!r} is not an object; the file is corrupt")
        dtype = entry.get("dtype")
        if not isinstance(dtype, str) or dtype not in _DTYPES:
            raise ModelFileError(
                f"{path}: tensor {name!r} has dtype {dtype!r}; vecprop model files hold only F32 or F64 tensors"
            )
        shape, offsets = entry.get("shape"), entry.get("data_offsets")
        if not (
            isinstance(shape, list)
            and len(shape) <= _MAX_NDIM
            and all(type(d) is int and 0 <= d <= data_bytes for d in shape)
        ):
            raise ModelFileError(f"{path}: tensor {name!r} has invalid shape {shape!r}")
        if not (
            isinstance(offsets, list)
            and len(offsets) == 2
            and all(type(o) is int for o in offsets)
            and 0 <= offsets[0] <= offsets[1] <= data_bytes
        ):
            raise ModelFileError(
                f"{path}: tensor {name!r} has byte range {offsets!r} outside the "
                f"{data_bytes}-byte data section; the file is truncated or corrupt"
            )
        expected = math.prod(shape) * _DTYPES[dtype].itemsize  # Python ints: no overflow
        if offsets[1] - offsets[0] != expected:
            raise ModelFileError(
                f"{path}: tensor {name!r} of shape {tuple(shape)} needs {expected} bytes but "
                f"its byte range holds {offsets[1] - offsets[0]}; the file is corrupt"
            )


# --------------------------------------------------------------------------- #
# Network layer
# --------------------------------------------------------------------------- #


def load(path):
    """Load a model saved by :func:`save_network`, by ``vecprop train`` or by a vecprop estimator.

    Parameters
    ----------
    path : str or os.PathLike
        A vecprop ``.safetensors`` model file.

    Returns
    -------
    vecprop.Network, vecprop.predictor.Predictor or estimator
        A Network with the saved config, parameters, metadata and (if saved)
        training state; for a file written by ``vecprop train``, a Predictor
        (that Network with its standardization, feature names and class labels:
        ``predict(rows)`` gives what ``vecprop predict`` prints); for a file
        written by a ``vecprop.estimators`` class, an instance of that class.

    Raises
    ------
    ModelFileError
        If the file fails any check of :func:`read_model_file`, or its config,
        parameter names, shapes or dtypes do not describe a valid network.
    """
    path = os.fspath(path)
    tensors, metadata = read_model_file(path)
    if "estimator" in metadata:
        return _load_estimator(path, tensors, metadata)
    net = _network_from(path, tensors, metadata)
    from vecprop.predictor import Predictor, describes

    if not describes(net.metadata):
        return net
    try:
        return Predictor.from_network(net)
    except (ValueError, TypeError, KeyError) as exc:
        raise ModelFileError(f"{path}: invalid predictor metadata (vecprop train's): {exc}") from None


def load_network(path):
    """The bare Network in a model file, whatever else the file holds (see :func:`load`)."""
    model = load(path)
    return getattr(model, "network", None) or getattr(model, "network_", None) or model


def _network_from(path, tensors, metadata):
    """The Network described by a validated file's tensors and metadata."""
    from vecprop.network import Network

    config = _check_config(path, metadata.get("config"))
    params = {k: v for k, v in tensors.items() if not k.startswith(STATE_PREFIX)}
    _check_params(path, params, config)  # the tensors, which fit in the file, bound the network's size
    try:
        net = Network.from_config(config)
    except _DECODE_ERRORS as exc:
        raise ModelFileError(f"{path}: invalid network config: {exc}") from None
    net.params = params
    net_metadata = metadata.get("metadata", {})
    if not isinstance(net_metadata, dict):
        raise ModelFileError(f"{path}: 'metadata' must be a JSON object, got {type(net_metadata).__name__}")
    net.metadata = net_metadata
    _restore_state(path, net, tensors, metadata.get("training_state"))
    return net


# What decoding a well-formed header's JSON values into objects can raise when the values are wrong
# (a number where a dict belongs, an out-of-range RNG state, a missing key): each becomes ModelFileError.
_DECODE_ERRORS = (ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class UnregisteredEstimatorError(ModelFileError):
    """The file holds an estimator whose class has not registered itself (vecprop.sklearn not imported)."""


# Estimator classes, by the name their files carry. The layer above registers them when it is imported
# (vecprop.sklearn does, for DNNClassifier and DNNRegressor): files never import upward.
ESTIMATORS: dict = {}


def register_estimator(name: str, cls) -> None:
    """Let :func:`load` build files whose metadata names ``name`` with ``cls._from_model_file``."""
    ESTIMATORS[name] = cls


def _load_estimator(path, tensors, metadata):
    """Dispatch to the registered <name>._from_model_file (vecprop.load imports vecprop.sklearn first)."""
    name = metadata["estimator"]
    cls = ESTIMATORS.get(name) if isinstance(name, str) else None
    if cls is None:
        raise UnregisteredEstimatorError(
            f"{path} holds a vecprop estimator ({name!r}) of no registered class; load it with "
            "vecprop.load(path), which imports vecprop.sklearn (pip install 'vecprop[sklearn]')"
        )
    config = _check_config(path, metadata.get("config"))  # its network, checked before it is built
    _check_params(path, {k: v for k, v in tensors.items() if not k.startswith(STATE_PREFIX)}, config)
    try:
        return cls._from_model_file(tensors, metadata)
    except ModelFileError:
        raise
    except _DECODE_ERRORS as exc:
        raise ModelFileError(f"{path}: invalid {name} in the file: {exc}") from None


def _check_config(path, config):
    """Check the config's keys and types before the core sees it."""
    if not isinstance(config, dict):
        raise ModelFileError(f"{path}: no network config in the file; it was not written by vecprop.save")
    for key in ("layer_dims", "activations", "loss", "dtype"):
        if key not in config:
            raise ModelFileError(f"{path}: network config lacks {key!r}; the file is corrupt")
    dims = config["layer_dims"]
    if not (isinstance(dims, list) and len(dims) >= 2 and all(type(n) is int and n >= 1 for n in dims)):
        raise ModelFileError(f"{path}: layer_dims {dims!r} must be a list of at least two positive ints")
    activations = config["activations"]
    if not (isinstance(activations, list) and all(_is_spec(a) for a in activations)):
        raise ModelFileError(f"{path}: activations {activations!r} must be a list of names or {{'name': ...}} specs")
    if not _is_spec(config["loss"]):
        raise ModelFileError(f"{path}: loss {config['loss']!r} must be a name or a {{'name': ...}} spec")
    if config["dtype"] not in ("float32", "float64"):
        raise ModelFileError(f"{path}: dtype {config['dtype']!r} must be 'float32' or 'float64'")
    seed = config.get("seed")
    if seed is not None and type(seed) is not int:
        raise ModelFileError(f"{path}: seed {seed!r} must be an int or null")
    return config


def _is_spec(spec):
    """True for a component spec: a name or a dict with a string 'name'."""
    return isinstance(spec, str) or (isinstance(spec, dict) and isinstance(spec.get("name"), str))


def _check_params(path, params, config):
    """Check W1..WL, b1..bL: exact names, shapes from layer_dims, config dtype."""
    dims = config["layer_dims"]
    L = len(dims) - 1
    expected = {}
    for l in range(1, L + 1):
        expected[f"W{l}"] = (dims[l], dims[l - 1])  # (n_l, n_{l-1})
        expected[f"b{l}"] = (dims[l], 1)  # (n_l, 1)
    missing = sorted(set(expected) - set(params))
    extra = sorted(set(params) - set(expected))
    if missing or extra:
        raise ModelFileError(
            f"{path}: parameters do not match layer_dims {dims}: "
            f"missing {missing or 'none'}, unexpected {extra or 'none'}"
        )
    dtype = np.dtype(config["dtype"])
    for name, shape in expected.items():
        array = params[name]
        if array.shape != shape:
            raise ModelFileError(f"{path}: {name} has shape {array.shape} but layer_dims {dims} needs {shape}")
        if array.dtype != dtype:
            raise ModelFileError(f"{path}: {name} has dtype {array.dtype} but the config says {dtype}")


def _restore_state(path, net, tensors, info):
    """Hand "state/..." tensors and the state info back to the network."""
    arrays = {k[len(STATE_PREFIX) :]: v for k, v in tensors.items() if k.startswith(STATE_PREFIX)}
    if info is None:
        if arrays:
            raise ModelFileError(f"{path}: training-state tensors present but no training_state info")
        return
    if not isinstance(info, dict):
        raise ModelFileError(f"{path}: training_state must be a JSON object, got {type(info).__name__}")
    try:
        net.restore_training_state(arrays, info)
    except _DECODE_ERRORS as exc:
        raise ModelFileError(f"{path}: invalid training state: {exc}") from None
