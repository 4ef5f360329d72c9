"""Fuzzing as tests: mutated model files and data files raise only ModelFileError / DataFileError.

Each case mutates a valid file (header JSON, offsets, dtypes, shapes, truncation, trailing bytes, huge
declared sizes, deep nesting; CSV/TSV cells, encodings, quoting, ragged rows, NaN/inf spellings; .npy
headers and .npz members) and loads it. Properties checked on every case:

* the only exception that escapes is ModelFileError (model files) or DataFileError (data files);
* nothing in a file is executed: the seeds hold pickles that would set an environment variable;
* allocation is bounded: with VECPROP_MAX_MEMORY=16M, tracemalloc's peak stays under 48 MiB.

CI runs a few hundred cases (reproducible); ``make fuzz`` runs thousands of new ones
(VECPROP_FUZZ_EXAMPLES, VECPROP_HYPOTHESIS=random) and prints how many ran.
"""

import contextlib
import json
import os
import pickle
import tracemalloc
import warnings
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vecprop
from vecprop.datasets import DataFileError, load_data_file, load_features
from vecprop.io import ModelFileError

pytest.importorskip("safetensors")

EXAMPLES = int(os.environ.get("VECPROP_FUZZ_EXAMPLES", "0")) or None
FUZZ = settings(
    max_examples=EXAMPLES or 150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
PEAK_BYTES = 48 * 2**20
PWNED = "VECPROP_FUZZ_PWNED"
CASES = {"model": 0, "data": 0}


class _Evil:
    """Unpickling this sets os.environ[PWNED]: proof that something in a file was executed."""

    def __reduce__(self):
        return exec, (f"import os; os.environ[{PWNED!r}] = '1'",)


EVIL = pickle.dumps(_Evil(), protocol=2)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    old = os.environ.get("VECPROP_MAX_MEMORY")
    os.environ["VECPROP_MAX_MEMORY"] = "16M"
    with contextlib.suppress(ImportError):  # importing scikit-learn is not loading a file: do it first
        __import__("vecprop.estimators")
    tracemalloc.start()
    yield tmp_path_factory.mktemp("fuzz")
    tracemalloc.stop()
    if old is None:
        os.environ.pop("VECPROP_MAX_MEMORY", None)
    else:
        os.environ["VECPROP_MAX_MEMORY"] = old
    if EXAMPLES:
        print(f"\nfuzz cases run: {CASES}")


def _allocated(load, allowed):
    """Run load(), letting only `allowed` escape; the peak bytes traced above those held before."""
    tracemalloc.reset_peak()
    before = tracemalloc.get_traced_memory()[0]
    with contextlib.suppress(allowed):
        load()
    return tracemalloc.get_traced_memory()[1] - before


def _check_case(load, allowed, kind):
    """Only `allowed` escapes load(); nothing is executed; the allocation is bounded."""
    CASES[kind] += 1
    peak = _allocated(load, allowed)
    assert PWNED not in os.environ, "a file's pickle was executed"
    assert peak < PEAK_BYTES, f"loading allocated {peak} bytes"


# ------------------------------------------------------------------------------------ model files
def _model_seeds(directory):
    """Bytes of valid model files: a trained Network with Adam state, and one without state."""
    X = np.random.default_rng(0).standard_normal((3, 20))
    Y = (X[:1] > 0).astype(float)
    net = vecprop.Network([3, 4, 1], "relu", seed=0)
    net.fit(X, Y, epochs=2, optimizer="adam", batch_size=8, verbose=0)
    net.metadata["note"] = {"nested": [1, 2, {"k": "v"}]}
    seeds = []
    for state in (True, False):
        path = directory / f"seed{int(state)}.safetensors"
        net.save(path, include_training_state=state)
        seeds.append(path.read_bytes())
    try:  # an estimator's file: its own JSON to decode
        from vecprop.estimators import DNNClassifier
    except ImportError:
        return seeds
    with warnings.catch_warnings():  # two iterations do not converge, on purpose
        warnings.simplefilter("ignore")
        est = DNNClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X.T, np.arange(20) % 3)
    est.save(directory / "seed_estimator.safetensors")
    return [*seeds, (directory / "seed_estimator.safetensors").read_bytes()]


def _split(data):
    n = int.from_bytes(data[:8], "little")
    return json.loads(data[8 : 8 + n]), data[8 + n :]


def _join(header_text, body):
    raw = header_text.encode("utf-8", "surrogatepass")
    return len(raw).to_bytes(8, "little") + raw + body


HOSTILE = st.sampled_from(
    [
        2**64,
        2**63 - 1,
        -1,
        10**9,
        1e308,
        -0.0,
        "F16",
        "I64",
        "BOOL",
        ["F64"],
        {"F64": 1},
        [2**64],
        [2**31] * 8,
        [10**9, 10**9],
        [0, 2**64],
        [5, 1],
        [],
        "",
        None,
        True,
        3,
        [[[[]]]],
        "x" * 300,
        {"name": "relu"},
        {"state": {"state": 2**200, "inc": -5}, "bit_generator": "PCG64"},
    ]
)
JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8)
    | HOSTILE,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)


def _mutate_json(obj, data):
    """Walk a random path into obj and replace what is there (or add a key) with a drawn value."""
    if isinstance(obj, dict) and obj and data.draw(st.booleans()):
        key = data.draw(st.sampled_from(sorted(obj)))
        obj[key] = _mutate_json(obj[key], data)
        return obj
    if isinstance(obj, list) and obj and data.draw(st.booleans()):
        i = data.draw(st.integers(0, len(obj) - 1))
        obj[i] = _mutate_json(obj[i], data)
        return obj
    if isinstance(obj, dict) and data.draw(st.booleans()):
        obj[data.draw(st.sampled_from(["estimator", "config", "training_state", "x", "__metadata__"]))] = data.draw(
            JSON
        )
        return obj
    return data.draw(JSON)


def _mutate_model(data, seed):
    header, body = _split(seed)
    op = data.draw(
        st.sampled_from(
            [
                "header",
                "metadata",
                "deep",
                "duplicate",
                "truncate",
                "append",
                "flip",
                "length",
                "body_pickle",
                "foreign",
            ]
        )
    )
    if op == "header":
        return _join(json.dumps(_mutate_json(header, data)), body)
    if op == "metadata":
        inner = json.loads(header["__metadata__"]["metadata"])
        header["__metadata__"]["metadata"] = json.dumps(_mutate_json(inner, data))
        return _join(json.dumps(header), body)
    if op == "deep":
        depth = data.draw(st.integers(50, 20_000))
        deep = "[" * depth + "]" * depth
        if data.draw(st.booleans()):
            return _join(json.dumps(header).replace('"__metadata__"', f'"x": {deep}, "__metadata__"'), body)
        header["__metadata__"]["metadata"] = header["__metadata__"]["metadata"][:-1] + f', "deep": {deep}}}'
        return _join(json.dumps(header), body)
    if op == "duplicate":
        text = json.dumps(header)
        return _join(text[:-1] + ', "W1": {"dtype": "F64", "shape": [1], "data_offsets": [0, 8]}}', body)
    if op == "truncate":
        return seed[: data.draw(st.integers(0, len(seed) - 1))]
    if op == "append":
        return seed + data.draw(st.binary(min_size=1, max_size=64))
    if op == "flip":
        out = bytearray(seed)
        for _ in range(data.draw(st.integers(1, 8))):
            out[data.draw(st.integers(0, len(out) - 1))] = data.draw(st.integers(0, 255))
        return bytes(out)
    if op == "length":
        return data.draw(st.integers(0, 2**64 - 1)).to_bytes(8, "little") + seed[8:]
    if op == "body_pickle":
        return _join(json.dumps(header), EVIL + body[len(EVIL) :])
    return data.draw(st.sampled_from([EVIL, b"PK\x03\x04" + EVIL, b"\x93NUMPY" + EVIL, b""]))


@FUZZ
@given(data=st.data())
def test_fuzzed_model_files_raise_only_model_file_error(fuzz_dir, data):
    seeds = _model_seeds_cached(fuzz_dir)
    payload = _mutate_model(data, data.draw(st.sampled_from(seeds)))
    path = fuzz_dir / "model.safetensors"
    path.write_bytes(payload)

    def load():
        model = vecprop.load(path)
        if isinstance(model, vecprop.Network):  # what loads is usable
            assert model.predict_output(np.zeros((model.layer_dims[0], 2))).shape == (model.layer_dims[-1], 2)

    _check_case(load, ModelFileError, "model")


_SEEDS = {}


def _model_seeds_cached(directory):
    if "model" not in _SEEDS:
        _SEEDS["model"] = _model_seeds(directory)
    return _SEEDS["model"]


def test_model_fuzz_rejects_known_hostile_files(fuzz_dir):
    """The cases the issue's fuzz found, each as a fixed file: all ModelFileError, before allocating."""
    header, body = _split(_model_seeds_cached(fuzz_dir)[0])
    meta = json.loads(header["__metadata__"]["metadata"])
    hostile = []
    big = json.loads(json.dumps(meta))
    big["config"]["layer_dims"] = [3, 10**6, 10**6, 1]  # terabytes if built first
    hostile.append({**header, "__metadata__": {**header["__metadata__"], "metadata": json.dumps(big)}})
    shape = json.loads(json.dumps(header))
    shape["W1"]["shape"] = [2**64]
    hostile.append(shape)
    dtype = json.loads(json.dumps(header))
    dtype["W1"]["dtype"] = ["F64"]
    hostile.append(dtype)
    for field, value in (
        ("optimizer_scalars", 3),
        ("rng_state", {"state": {"state": 2**200, "inc": 1}, "bit_generator": "PCG64"}),
    ):
        bad = json.loads(json.dumps(meta))
        bad["training_state"][field] = value
        hostile.append({**header, "__metadata__": {**header["__metadata__"], "metadata": json.dumps(bad)}})
    path = fuzz_dir / "hostile.safetensors"
    for h in hostile:
        path.write_bytes(_join(json.dumps(h), body))
        with pytest.raises(ModelFileError):
            vecprop.load(path)
        assert _allocated(lambda: vecprop.load(path), ModelFileError) < PEAK_BYTES
    deep = "[" * 5000 + "]" * 5000
    path.write_bytes(_join(json.dumps(header).replace('"__metadata__"', f'"x": {deep}, "__metadata__"'), body))
    with pytest.raises(ModelFileError, match="nested 5001 levels deep"):
        vecprop.load(path)


# ------------------------------------------------------------------------------------- data files
CELLS = st.sampled_from(
    [
        "1",
        "-2.5",
        "3e8",
        "0",
        "1e309",
        "-1e309",
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "-Infinity",
        "NA",
        "n/a",
        "?",
        "",
        " ",
        "null",
        "a",
        "b",
        "cat",
        '"1,2"',
        '"x""y"',
        '"unterminated',
        "1_000",
        "0x10",
        "१२",
        "\u00e9",
        "\x00",
        "1\r",
        " 7 ",
        "x" * 200,
        "9" * 400,
    ]
)


@st.composite
def text_files(draw):
    """(suffix, bytes) of a CSV/TSV: a header and ragged or regular rows of hostile cells."""
    suffix = draw(st.sampled_from([".csv", ".tsv", ".txt"]))
    sep = "\t" if suffix == ".tsv" else ","
    n_cols = draw(st.integers(1, 5))
    header = draw(
        st.lists(st.sampled_from(["x1", "x2", "x3", "target", "y", "", "x1 "]), min_size=n_cols, max_size=n_cols)
    )
    rows = draw(st.lists(st.lists(CELLS, min_size=max(0, n_cols - 1), max_size=n_cols + 1), max_size=12))
    text = "\n".join(sep.join(r) for r in [header, *rows]) + draw(st.sampled_from(["", "\n", "\r\n", "\n\n"]))
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1"]))
    return suffix, text.encode(encoding, "replace")


def _npy_bytes(array):
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


def _npz_bytes(members):
    import io

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, payload in members.items():
            archive.writestr(name, payload)
    return buffer.getvalue()


A = np.column_stack([np.arange(6.0), np.arange(6.0) % 2])  # (m, n_x + 1), target last
NPY_SEEDS = [_npy_bytes(A), _npy_bytes(A.astype(np.int8)), _npy_bytes(np.array([[_Evil(), 1]], dtype=object))]
NPZ_MEMBERS = {
    "X.npy": _npy_bytes(A[:, :1]),
    "y.npy": _npy_bytes(A[:, 1]),
    "feature_names.npy": _npy_bytes(np.array(["x1"])),
    "target_names.npy": _npy_bytes(np.array(["a", "b"])),
}


def _hostile_npy_header(draw, payload):
    """Rewrite a .npy header's dict with a drawn descr/shape, keeping or breaking the 64-byte padding."""
    descr = draw(st.sampled_from(["'<f8'", "'|O'", "'<U0'", "'|V8'", "[('a', '<f8')]", "'<c16'", "'xyz'", "1"]))
    shape = draw(
        st.sampled_from(
            [
                "(6, 2)",
                "(2**40,)",
                "(100000000, 8)",
                "(-1, 2)",
                "()",
                "(6, 2, 2)",
                "(1e3,)",
                "(" + "(" * 300 + ")" * 300 + ",)",
                "(6 2)",
            ]
        )
    )
    header = (
        f"{{'descr': {descr}, 'fortran_order': {draw(st.sampled_from(['False', 'True', '0']))}, 'shape': {shape}, }}"
    )
    header = header.ljust(((len(header) + 11) // 64 + 1) * 64 - 11) + "\n"
    raw = header.encode("latin-1")
    return b"\x93NUMPY\x01\x00" + len(raw).to_bytes(2, "little") + raw + payload[128:]


def _mutate_bytes(draw, payload):
    op = draw(st.sampled_from(["none", "truncate", "append", "flip"]))
    if op == "truncate":
        return payload[: draw(st.integers(0, max(0, len(payload) - 1)))]
    if op == "append":
        return payload + draw(st.binary(min_size=1, max_size=64))
    if op == "flip":
        out = bytearray(payload)
        for _ in range(draw(st.integers(1, 6))):
            out[draw(st.integers(0, len(out) - 1))] = draw(st.integers(0, 255))
        return bytes(out)
    return payload


@st.composite
def binary_files(draw):
    """(suffix, bytes) of a .npy or .npz, mutated in its headers, members or bytes."""
    kind = draw(st.sampled_from(["npy", "npy_header", "npz", "npz_member", "swapped"]))
    if kind == "npy":
        return ".npy", _mutate_bytes(draw, draw(st.sampled_from(NPY_SEEDS)))
    if kind == "npy_header":
        return ".npy", _hostile_npy_header(draw, NPY_SEEDS[0])
    members = dict(NPZ_MEMBERS)
    if kind == "npz_member":
        name = draw(st.sampled_from(sorted(members) + ["X"]))
        choice = draw(st.sampled_from(["raw", "header", "object", "scalar_names", "mutated"]))
        members.pop(name if name in members else "X.npy")
        members[name if choice == "raw" else name.removesuffix(".npy") + ".npy"] = {
            "raw": b"not an array",
            "header": _hostile_npy_header(draw, NPY_SEEDS[0]),
            "object": NPY_SEEDS[2],
            "scalar_names": _npy_bytes(np.array("x1")),
            "mutated": _mutate_bytes(draw, members.get(name, NPZ_MEMBERS["X.npy"])),
        }[choice]
    payload = _npz_bytes(members)
    if kind == "swapped":
        return draw(st.sampled_from([(".npz", NPY_SEEDS[0]), (".npy", payload)]))
    return ".npz", _mutate_bytes(draw, payload)


@FUZZ
@given(
    file=st.one_of(text_files(), binary_files()),
    target=st.sampled_from([None, 0, -1, "target", 9]),
    task=st.sampled_from([None, "classification", "regression"]),
)
def test_fuzzed_data_files_raise_only_data_file_error(fuzz_dir, file, target, task):
    suffix, payload = file
    path = fuzz_dir / f"data{suffix}"
    path.write_bytes(payload)

    def load():
        try:
            ds = load_data_file(path, target=target, task=task)
        except DataFileError:
            ds = None
        if ds is not None:  # what loads is a consistent Dataset
            assert ds.X.shape == (len(ds.feature_names), ds.m) and np.isfinite(ds.X).all()
        load_features(path, ["x1"])

    _check_case(load, DataFileError, "data")


def test_data_fuzz_rejects_known_hostile_files(fuzz_dir):
    """The cases the issue's fuzz found, each as a fixed file: all DataFileError, nothing allocated."""
    cases = {
        "truncated.npz": _npz_bytes(NPZ_MEMBERS)[:100],
        "raw_member.npz": _npz_bytes({**NPZ_MEMBERS, "X": b"bytes", "X.npy": b""}),
        "huge.npy": b"\x93NUMPY\x01\x00v\x00"
        + "{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000,), }".ljust(117).encode()
        + b"\n"
        + bytes(4000),
        "huge.npz": _npz_bytes(
            {
                "X.npy": b"\x93NUMPY\x01\x00v\x00"
                + "{'descr': '<f8', 'fortran_order': False, 'shape': (100000, 8000), }".ljust(117).encode()
                + b"\n",
                "y.npy": NPZ_MEMBERS["y.npy"],
            }
        ),
        "bomb.npz": _npz_bytes({"X.npy": _npy_bytes(np.zeros((5_000_000, 1))), "y.npy": NPZ_MEMBERS["y.npy"]}),
        "names0d.npz": _npz_bytes({**NPZ_MEMBERS, "feature_names.npy": _npy_bytes(np.array("x1"))}),
        "pickled.npy": NPY_SEEDS[2],
        "really_npy.npz": NPY_SEEDS[0],
        "damaged.npy": NPY_SEEDS[0][:10] + b"{'descr': '<f8', 'shape': (((" + NPY_SEEDS[0][40:],
    }
    for name, payload in cases.items():
        path = fuzz_dir / name
        path.write_bytes(payload)
        with pytest.raises(DataFileError, match=name):
            load_data_file(path)
        assert _allocated(lambda path=path: load_data_file(path), DataFileError) < PEAK_BYTES, name
        assert PWNED not in os.environ
