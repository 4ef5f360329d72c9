"""Model files: exact round trips, atomic saves, and every refusal of a bad or hostile file."""

import json
import os
import pickle
import struct
import zipfile

import numpy as np
import pytest

pytest.importorskip("safetensors")

from safetensors.numpy import save as st_save  # noqa: E402

import vecprop  # noqa: E402
from vecprop.io import ModelFileError, load, read_model_file, save_network, write_model_file  # noqa: E402


def _tensors(dtype, seed=0):
    rng = np.random.default_rng(seed)
    info = np.finfo(dtype)
    return {
        "W1": rng.standard_normal((4, 3)).astype(dtype),
        "b1": rng.standard_normal((4, 1)).astype(dtype),
        "W2": np.asfortranarray(rng.standard_normal((2, 4)).astype(dtype)),  # not C-contiguous
        "b2": np.array([[info.max], [info.smallest_subnormal], [-0.0]], dtype=dtype),  # extremes, -0
        "W3": rng.standard_normal((3, 2)).astype(dtype).T,  # a strided view
        "empty": np.zeros((0, 3), dtype=dtype),
    }


def _raw_file(path, header, data=b""):
    """A safetensors-shaped file from a header dict and data bytes, written by hand."""
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + data)
    return path


VECPROP_META = {"format": "vecprop", "format_version": "1", "vecprop_version": "0.1.0", "metadata": "{}"}


# --------------------------------------------------------------------------- round trips


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_is_bit_exact(tmp_path, dtype):
    tensors = _tensors(dtype)
    tensors["other_precision"] = np.arange(3.0, dtype=np.float64 if dtype == np.float32 else np.float32)
    meta = {"classes": ["cat", "dog"], "scale": [0.1, 1e-300, 3.0], "nested": {"a": None, "b": True}, "n": 7}
    path = tmp_path / "model.safetensors"
    write_model_file(path, tensors, meta)
    loaded, loaded_meta = read_model_file(path)
    assert loaded_meta == meta
    assert set(loaded) == set(tensors)
    for name, array in tensors.items():
        assert loaded[name].dtype == array.dtype
        assert loaded[name].shape == array.shape
        assert loaded[name].tobytes() == np.ascontiguousarray(array).tobytes()
        assert loaded[name].flags.writeable


def test_header_records_format_and_versions(tmp_path):
    path = tmp_path / "m.safetensors"
    write_model_file(path, {"W1": np.ones((1, 1))}, {})
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])["__metadata__"]
    assert header["format"] == "vecprop"
    assert header["format_version"] == "1"
    assert header["vecprop_version"] == vecprop.__version__
    assert json.loads(header["metadata"]) == {}


def test_write_refuses_bad_inputs(tmp_path):
    path = tmp_path / "m.safetensors"
    with pytest.raises(TypeError, match="'W1' has dtype int64; model files store only float32 or float64"):
        write_model_file(path, {"W1": np.ones((2, 2), dtype=np.int64)}, {})
    with pytest.raises(ValueError, match="'W1' contains NaN or infinity; refusing to save"):
        write_model_file(path, {"W1": np.array([[np.nan]])}, {})
    with pytest.raises(ValueError, match="metadata is not JSON-serializable"):
        write_model_file(path, {"W1": np.ones((1, 1))}, {"a": np.ones(2)})
    with pytest.raises(FileNotFoundError, match="does not exist; create it first"):
        write_model_file(tmp_path / "nope" / "m.safetensors", {"W1": np.ones((1, 1))}, {})
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- atomic save


def test_failed_save_leaves_previous_file_and_no_litter(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    write_model_file(path, {"W1": np.ones((2, 2))}, {"version": "old"})
    before = path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="simulated"):
        write_model_file(path, {"W1": np.zeros((2, 2))}, {"version": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]
    assert read_model_file(path)[1] == {"version": "old"}


def test_interrupted_write_leaves_no_litter(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"

    def broken_fsync(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", broken_fsync)
    with pytest.raises(KeyboardInterrupt):
        write_model_file(path, {"W1": np.ones((2, 2))}, {})
    assert os.listdir(tmp_path) == []


def test_overwrite_keeps_permissions(tmp_path):
    path = tmp_path / "model.safetensors"
    write_model_file(path, {"W1": np.ones((1, 1))}, {})
    os.chmod(path, 0o640)
    write_model_file(path, {"W1": np.zeros((1, 1))}, {})
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert read_model_file(path)[0]["W1"][0, 0] == 0.0


# --------------------------------------------------------------------------- refusals


def test_missing_file(tmp_path):
    with pytest.raises(ModelFileError, match="nope.safetensors: no such model file"):
        read_model_file(tmp_path / "nope.safetensors")


def test_empty_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"")
    with pytest.raises(ModelFileError, match="m.safetensors: file is empty"):
        read_model_file(path)


@pytest.mark.parametrize("keep", [3, 8, 20, -1])
def test_truncated_file(tmp_path, keep):
    good = tmp_path / "good.safetensors"
    write_model_file(good, {"W1": np.ones((4, 4))}, {"a": 1})
    path = tmp_path / "cut.safetensors"
    path.write_bytes(good.read_bytes()[:keep])
    with pytest.raises(ModelFileError, match=r"cut.safetensors: .*(truncated|header length)"):
        read_model_file(path)


def test_random_bytes(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(np.random.default_rng(0).bytes(4096))
    with pytest.raises(ModelFileError, match="m.safetensors: header length field says"):
        read_model_file(path)


def test_absurd_header_length(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 2**62) + b"{}" + b"\0" * 1000)
    with pytest.raises(ModelFileError, match="header length field says 4611686018427387904 bytes, which is absurd"):
        read_model_file(path)


def test_header_longer_than_file(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(struct.pack("<Q", 1000) + b'{"a": 1}')
    with pytest.raises(ModelFileError, match="says 1000 bytes but only 8 follow"):
        read_model_file(path)


def test_header_not_json(tmp_path):
    path = tmp_path / "m.safetensors"
    text = b"{not json at all}"
    path.write_bytes(struct.pack("<Q", len(text)) + text)
    with pytest.raises(ModelFileError, match="header is not valid JSON"):
        read_model_file(path)


def test_duplicate_header_keys(tmp_path):
    path = tmp_path / "m.safetensors"
    text = b'{"W1": {"dtype": "F64", "shape": [], "data_offsets": [0, 8]}, "W1": {}}'
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"\0" * 8)
    with pytest.raises(ModelFileError, match="duplicate key 'W1'"):
        read_model_file(path)


def test_plain_safetensors_is_not_a_vecprop_file(tmp_path):
    path = tmp_path / "other.safetensors"
    path.write_bytes(st_save({"W1": np.ones((2, 2))}))
    with pytest.raises(ModelFileError, match="other.safetensors: not a vecprop model file"):
        read_model_file(path)


@pytest.mark.parametrize(
    "version, message",
    [
        ("2", "format_version 2 .* is newer"),
        ("0", "unknown format_version 0"),
        ("one", "format_version 'one' is not an integer"),
    ],
)
def test_unknown_format_version(tmp_path, version, message):
    path = tmp_path / "m.safetensors"
    path.write_bytes(st_save({"W1": np.ones((2, 2))}, metadata={**VECPROP_META, "format_version": version}))
    with pytest.raises(ModelFileError, match=message):
        read_model_file(path)


@pytest.mark.parametrize("dtype, name", [(np.int64, "I64"), (np.float16, "F16"), (np.uint8, "U8"), (np.bool_, "BOOL")])
def test_wrong_dtype(tmp_path, dtype, name):
    path = tmp_path / "m.safetensors"
    path.write_bytes(st_save({"W1": np.ones((2, 2), dtype=dtype)}, metadata=VECPROP_META))
    with pytest.raises(ModelFileError, match=f"tensor 'W1' has dtype '{name}'; .* only F32 or F64"):
        read_model_file(path)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_tensor(tmp_path, bad):
    path = tmp_path / "m.safetensors"
    W = np.ones((3, 3))
    W[1, 2] = bad
    path.write_bytes(st_save({"W1": W}, metadata=VECPROP_META))
    with pytest.raises(ModelFileError, match="tensor 'W1' contains NaN or infinity"):
        read_model_file(path)


def test_offsets_outside_data(tmp_path):
    header = {"__metadata__": VECPROP_META, "W1": {"dtype": "F64", "shape": [2, 2], "data_offsets": [0, 32]}}
    path = _raw_file(tmp_path / "m.safetensors", header, b"\0" * 16)
    with pytest.raises(ModelFileError, match=r"byte range \[0, 32\] outside the 16-byte data section"):
        read_model_file(path)


def test_offsets_disagree_with_shape(tmp_path):
    header = {"__metadata__": VECPROP_META, "W1": {"dtype": "F64", "shape": [3, 2], "data_offsets": [0, 32]}}
    path = _raw_file(tmp_path / "m.safetensors", header, b"\0" * 32)
    with pytest.raises(ModelFileError, match=r"shape \(3, 2\) needs 48 bytes"):
        read_model_file(path)


class _Hostile:
    """Unpickling this creates a marker file: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("protocol", [2, 3, 4, 5])
def test_hostile_pickle_is_never_unpickled(tmp_path, protocol):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps({"W1": _Hostile(marker)}, protocol=protocol))
    with pytest.raises(ModelFileError, match="model.safetensors: this is a pickle, not a vecprop model file"):
        read_model_file(path)
    with pytest.raises(ModelFileError, match="a pickle"):
        load(path)
    assert not marker.exists()
    # Control: the same bytes really are hostile when unpickled.
    control = tmp_path / "control"
    pickle.loads(pickle.dumps(_Hostile(control), protocol=protocol)).close()
    assert control.exists()


def test_hostile_protocol0_pickle_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(_Hostile(marker), protocol=0))
    with pytest.raises(ModelFileError, match="model.safetensors: "):
        read_model_file(path)
    assert not marker.exists()


def test_npz_archive_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    with open(path, "wb") as f:
        np.savez(f, W1=np.ones((2, 2)))
    assert zipfile.is_zipfile(path)
    with pytest.raises(ModelFileError, match="this is a zip archive .* not a vecprop model file"):
        read_model_file(path)


def test_npy_is_refused(tmp_path):
    path = tmp_path / "model.safetensors"
    with open(path, "wb") as f:
        np.save(f, np.ones((2, 2)))
    with pytest.raises(ModelFileError, match="this is a NumPy .npy array, not a vecprop model file"):
        read_model_file(path)


def test_model_file_error_is_a_value_error():
    assert issubclass(ModelFileError, ValueError)
    assert vecprop.ModelFileError is ModelFileError


# --------------------------------------------------------------------------- Network level


def _net(dtype="float64", seed=0):
    net = vecprop.Network([3, 5, 4, 1], ["leaky_relu", "tanh", "sigmoid"], seed=seed, dtype=dtype)
    net.metadata = {"target_names": ["no", "yes"], "standardizer": {"mean": [0.5, 1.0, -2.0], "scale": [1.0, 2.0, 3.0]}}
    return net


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_network_round_trip(tmp_path, dtype):
    net = _net(dtype)
    path = tmp_path / "net.safetensors"
    net.save(path)
    loaded = vecprop.load(path)
    assert isinstance(loaded, vecprop.Network)
    assert loaded.get_config() == net.get_config()
    assert loaded.metadata == net.metadata
    for name, W in net.params.items():
        assert loaded.params[name].dtype == np.dtype(dtype)
        assert loaded.params[name].tobytes() == W.tobytes()
    X = np.random.default_rng(1).standard_normal((3, 7))
    assert np.array_equal(loaded.predict_output(X), net.predict_output(X))


def test_training_state_travels_under_state_prefix(tmp_path, monkeypatch):
    net = _net()
    arrays = {"vdW1": np.full((5, 3), 0.25), "sdW1": np.full((5, 3), 1e-9)}
    info = {"optimizer": "adam", "t": 12, "epoch": 3, "rng": {"state": 123}}
    monkeypatch.setattr(net, "training_state", lambda: (arrays, info))
    restored = {}
    monkeypatch.setattr(vecprop.Network, "restore_training_state", lambda self, a, i: restored.update(arrays=a, info=i))
    path = tmp_path / "net.safetensors"
    save_network(net, path)
    tensors, meta = read_model_file(path)
    assert sorted(tensors) == ["W1", "W2", "W3", "b1", "b2", "b3", "state/sdW1", "state/vdW1"]
    assert meta["training_state"] == info
    load(path)
    assert restored["info"] == info
    assert {k: v.tobytes() for k, v in restored["arrays"].items()} == {k: v.tobytes() for k, v in arrays.items()}

    save_network(net, path, include_training_state=False)
    tensors, meta = read_model_file(path)
    assert not any(k.startswith("state/") for k in tensors) and meta["training_state"] is None


def test_saved_training_resumes_bit_for_bit(tmp_path):
    pytest.importorskip("vecprop.training")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 64))
    Y = (X[0:1] * X[1:2] > 0).astype(float)
    net = vecprop.Network([2, 8, 1], "tanh", seed=0)
    options = dict(optimizer="adam", learning_rate=0.01, batch_size=16, verbose=0)
    net.fit(X, Y, epochs=3, **options)
    path, bare = tmp_path / "net.safetensors", tmp_path / "bare.safetensors"
    net.save(path)
    net.save(bare, include_training_state=False)
    loaded, fresh = vecprop.load(path), vecprop.load(bare)
    for model in (net, loaded, fresh):
        model.fit(X, Y, epochs=2, **options)
    for name, W in net.params.items():
        assert loaded.params[name].tobytes() == W.tobytes(), name
    assert not np.array_equal(fresh.params["W1"], net.params["W1"])  # without the state it diverges
    assert loaded.training_state()[1]["epoch"] == net.training_state()[1]["epoch"]


def _rewrite(path, tensors=None, meta_update=None, config_update=None):
    """Re-save a model file with some tensors or metadata changed."""
    t, meta = read_model_file(path)
    if tensors is not None:
        t = tensors(t)
    meta.update(meta_update or {})
    if config_update:
        meta["config"].update(config_update)
    write_model_file(path, t, meta)


@pytest.mark.parametrize(
    "change, message",
    [
        (dict(tensors=lambda t: {k: v for k, v in t.items() if k != "b2"}), r"missing \['b2'\], unexpected none"),
        (dict(tensors=lambda t: {**t, "W9": np.ones((1, 1))}), r"missing none, unexpected \['W9'\]"),
        (
            dict(tensors=lambda t: {**t, "W2": np.ones((5, 4))}),
            r"W2 has shape \(5, 4\) but layer_dims \[3, 5, 4, 1\] needs \(4, 5\)",
        ),
        (
            dict(tensors=lambda t: {**t, "W1": t["W1"].astype(np.float32)}),
            "W1 has dtype float32 but the config says float64",
        ),
        (
            dict(config_update={"activations": ["relu", "relus", "sigmoid"]}),
            "invalid network config: unknown activation 'relus'",
        ),
        (dict(config_update={"loss": "hinge"}), "invalid network config: unknown loss 'hinge'"),
        (
            dict(config_update={"layer_dims": [3, 0, 1]}),
            r"layer_dims \[3, 0, 1\] must be a list of at least two positive ints",
        ),
        (dict(config_update={"dtype": "float16"}), "dtype 'float16' must be 'float32' or 'float64'"),
        (dict(config_update={"activations": "relu"}), "activations 'relu' must be a list"),
        (dict(config_update={"seed": "zero"}), "seed 'zero' must be an int or null"),
        (dict(meta_update={"config": {"layer_dims": [3, 1]}}), "network config lacks 'activations'"),
        (dict(meta_update={"config": None}), "no network config in the file"),
        (dict(meta_update={"estimator": "NoSuchEstimator"}), "NoSuchEstimator"),
    ],
)
def test_load_refuses_inconsistent_network_files(tmp_path, change, message):
    path = tmp_path / "net.safetensors"
    _net().save(path)
    _rewrite(path, **change)
    with pytest.raises(ModelFileError, match=message):
        load(path)
