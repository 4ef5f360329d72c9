"""ONNX export: ONNX Runtime's predictions equal vecprop's (1e-5 float32, 1e-12 float64, identical labels)."""

import subprocess
import sys
import warnings

import numpy as np
import pytest

import vecprop
from vecprop import Network
from vecprop.activations import ACTIVATIONS, get_activation
from vecprop.datasets import Standardizer

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from vecprop.onnx_export import OPSET, register_skl2onnx, to_onnx  # noqa: E402

BUILTIN = ("sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax")
TOL = {np.float32: 1e-5, np.float64: 1e-12}


def run(proto, X):
    """Every output of the model on rows X, from ONNX Runtime."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, {session.get_inputs()[0].name: X})


def close(actual, expected, dtype):
    assert actual.dtype == np.dtype(dtype)
    np.testing.assert_allclose(actual, expected, rtol=TOL[dtype], atol=TOL[dtype])


def rows(shape, dtype, seed=0, scale=3.0):
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


def test_builtin_list_is_the_registry():
    assert set(BUILTIN) <= set(ACTIVATIONS)
    assert len({type(get_activation(name)) for name in BUILTIN}) == len(BUILTIN)


# ------------------------------------------------------------------------------ Network
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("output", BUILTIN)
@pytest.mark.parametrize("hidden", BUILTIN)
def test_network_equals_onnx_runtime(hidden, output, dtype):
    net = Network([4, 6, 5, 3], [hidden, hidden, output], seed=1, dtype=dtype)
    X = rows((9, 4), dtype)  # (N, n_0): |Z| up to ~10
    proto = to_onnx(net)
    (AL,) = run(proto, X)
    assert AL.shape == (9, 3)
    close(AL, net.predict_output(X.T).T, dtype)


def test_leaky_relu_slope_is_exported():
    net = Network([3, 4, 2], [{"name": "leaky_relu", "slope": 0.3}, "linear"], seed=2)
    X = rows((5, 3), np.float64)
    close(run(to_onnx(net), X)[0], net.predict_output(X.T).T, np.float64)
    assert not np.allclose(
        net.predict_output(X.T), Network([3, 4, 2], ["leaky_relu", "linear"], seed=2).predict_output(X.T)
    )


def test_graph_contract_dynamic_batch_opset_and_dtype_override():
    net = Network([4, 3, 1], "tanh", seed=0)
    proto = to_onnx(net, dtype="float32")
    assert [o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")] == [OPSET]
    (x,) = proto.graph.input
    dims = x.type.tensor_type.shape.dim
    assert (x.name, dims[0].dim_param, dims[1].dim_value) == ("X", "N", 4)
    assert x.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [o.name for o in proto.graph.output] == ["AL"]
    for N in (1, 37):  # one graph serves any batch size
        X = rows((N, 4), np.float64, seed=N)
        close(run(proto, X.astype(np.float32))[0], net.predict_output(X.T).T, np.float32)


def test_standardizer_of_a_cli_model_is_in_the_graph():
    X_raw = rows((4, 20), np.float64) + 10.0  # (n_0, m), far from standardized
    stats = Standardizer.fit(X_raw)
    net = Network([4, 5, 3], "relu", "categorical_cross_entropy", seed=3)
    net.metadata["standardizer"] = stats.to_dict()
    (AL,) = run(to_onnx(net), np.ascontiguousarray(X_raw.T))
    close(AL, net.predict_output(stats.transform(X_raw)).T, np.float64)


def test_path_is_written_and_loads_back(tmp_path):
    net = Network([2, 3, 1], seed=0)
    proto = to_onnx(net, tmp_path / "net.onnx")
    assert onnx.load(str(tmp_path / "net.onnx")) == proto


def test_custom_activation_is_refused_with_the_fix():
    vecprop.register_activation("cube_for_onnx", lambda Z: Z**3, lambda Z: 3 * Z**2, overwrite=True)
    try:
        net = Network([2, 3, 1], ["cube_for_onnx", "sigmoid"], seed=0)
        with pytest.raises(
            ValueError,
            match=r"layer 1's activation 'cube_for_onnx' cannot be exported to ONNX: "
            r"only the built-in activations \(sigmoid, tanh",
        ):
            to_onnx(net)
    finally:
        ACTIVATIONS.pop("cube_for_onnx")


def test_bad_requests_are_refused():
    with pytest.raises(ValueError, match="dtype must be float32 or float64, got 'float16'"):
        to_onnx(Network([2, 1]), dtype="float16")
    with pytest.raises(ValueError, match="exports a vecprop Network, DNNClassifier or DNNRegressor, got dict"):
        to_onnx({"W1": np.ones((1, 2))})
    with pytest.raises(ValueError, match="not fitted"):
        to_onnx(vecprop.DNNClassifier())


def test_missing_onnx_package_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install 'vecprop\[onnx\]'"):
        to_onnx(Network([2, 1]))


# ------------------------------------------------------------------------------ estimators
def _fit(est, X, y):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: few epochs on purpose
        return est.fit(X, y)


X_TRAIN = rows((80, 4), np.float64, seed=5, scale=1.0)
TARGETS = {
    "binary_strings": np.where(X_TRAIN[:, 0] + X_TRAIN[:, 1] > 0, "spam", "ham"),
    "multiclass_ints": np.digitize(X_TRAIN[:, 0], [-0.5, 0.5]) * 10 - 5,  # labels -5, 5, 15
    "multilabel": (X_TRAIN[:, :3] > 0).astype(int),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("activation", ["relu", "tanh", "logistic", "identity", "leaky_relu"])
@pytest.mark.parametrize("target", sorted(TARGETS))
def test_classifier_equals_onnx_runtime(target, activation, dtype):
    X, y = X_TRAIN.astype(dtype), TARGETS[target]
    clf = _fit(vecprop.DNNClassifier((6, 5), activation, max_iter=30, random_state=0), X, y)
    label, proba = run(to_onnx(clf), X)
    np.testing.assert_array_equal(label, clf.predict(X))
    close(proba, clf.predict_proba(X), dtype)
    assert proba.shape == (80, 3 if target != "binary_strings" else 2)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_two_unit_softmax_classifier(dtype):
    X, y = X_TRAIN.astype(dtype), TARGETS["binary_strings"]
    clf = _fit(vecprop.DNNClassifier((5,), output_activation="softmax", max_iter=30, random_state=1), X, y)
    label, proba = run(to_onnx(clf), X)
    assert label.dtype == object and set(label) <= {"spam", "ham"}
    np.testing.assert_array_equal(label, clf.predict(X))
    close(proba, clf.predict_proba(X), dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n_outputs", [1, 2])
def test_regressor_equals_onnx_runtime(n_outputs, dtype):
    X = X_TRAIN.astype(dtype)
    y = X[:, 0] * 2 - X[:, 1] if n_outputs == 1 else X[:, :2] @ np.array([[1.0, -2.0], [0.5, 3.0]], dtype)
    reg = _fit(vecprop.DNNRegressor(hidden_layer_sizes=(6,), activation="tanh", max_iter=30, random_state=0), X, y)
    (variable,) = run(to_onnx(reg), X)
    assert variable.shape == (80, n_outputs)
    close(variable, reg.predict(X).reshape(80, n_outputs), dtype)


# ------------------------------------------------------------------------------ skl2onnx
@pytest.fixture(scope="module")
def skl2onnx():
    module = pytest.importorskip("skl2onnx")
    register_skl2onnx()
    return module


def _pipeline(est, X, y):
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return _fit(make_pipeline(StandardScaler(), est), X * 4 + 7, y)  # data the scaler has work to do on


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("target", ["binary_strings", "multiclass_ints"])
def test_pipeline_converts_with_zipmap_false(skl2onnx, target, dtype):
    X = (X_TRAIN * 4 + 7).astype(dtype)
    pipe = _pipeline(vecprop.DNNClassifier((6,), max_iter=30, random_state=0), X_TRAIN.astype(dtype), TARGETS[target])
    proto = skl2onnx.to_onnx(pipe, X[:1], options={"zipmap": False})
    assert [o.name for o in proto.graph.output] == ["label", "probabilities"]
    label, proba = run(proto, X)
    np.testing.assert_array_equal(label, pipe.predict(X))
    close(proba, pipe.predict_proba(X), dtype)


def test_pipeline_converts_with_zipmap(skl2onnx):
    X = (X_TRAIN * 4 + 7).astype(np.float32)
    pipe = _pipeline(
        vecprop.DNNClassifier((6,), max_iter=30, random_state=0), X_TRAIN.astype(np.float32), TARGETS["multiclass_ints"]
    )
    label, maps = run(skl2onnx.to_onnx(pipe, X[:1]), X)  # ZipMap: one {class: probability} per row
    np.testing.assert_array_equal(label, pipe.predict(X))
    proba = pipe.predict_proba(X)
    assert list(maps[0]) == [-5, 5, 15]
    close(np.array([[row[c] for c in (-5, 5, 15)] for row in maps], dtype=np.float32), proba, np.float32)


def test_float64_pipeline_with_zipmap_is_refused_with_the_fix(skl2onnx):
    pipe = _pipeline(vecprop.DNNClassifier((4,), max_iter=5, random_state=0), X_TRAIN, TARGETS["binary_strings"])
    with pytest.raises(
        ValueError,
        match=r"ZipMap takes float32 probabilities only: convert a float64 pipeline "
        r"with options=\{'zipmap': False\}",
    ):
        skl2onnx.to_onnx(pipe, X_TRAIN[:1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_regressor_pipeline_converts(skl2onnx, dtype):
    X = (X_TRAIN * 4 + 7).astype(dtype)
    pipe = _pipeline(
        vecprop.DNNRegressor(hidden_layer_sizes=(6,), max_iter=30, random_state=0),
        X_TRAIN.astype(dtype),
        X_TRAIN[:, 0] - X_TRAIN[:, 2],
    )
    (variable,) = run(skl2onnx.to_onnx(pipe, X[:1]), X)
    close(variable.ravel(), pipe.predict(X), dtype)


# ------------------------------------------------------------------------------ command line
def test_cli_export_serves_what_predict_prints(tmp_path):
    vp = [sys.executable, "-m", "vecprop"]
    model, out = tmp_path / "m.safetensors", tmp_path / "m.onnx"
    subprocess.run(
        [
            *vp,
            "train",
            "--data",
            "moons",
            "--hidden",
            "5",
            "--epochs",
            "3",
            "--no-plots",
            "--print-every",
            "0",
            "--out",
            str(model),
        ],
        check=True,
        capture_output=True,
    )
    done = subprocess.run([*vp, "export", str(model), str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "input X of shape (N, 2)" in done.stdout and "outputs label, probabilities" in done.stdout
    predictor = vecprop.load(model)  # what vecprop train saved
    rows = np.ascontiguousarray(vecprop.load_dataset("moons").X.T)  # (m, n_0), raw features
    label, proba = run(onnx.load(str(out)), rows)  # its standardization is in the graph
    assert label.tolist() == predictor.predict(rows).tolist()
    close(proba, predictor.predict_proba(rows), np.float64)
    bare = predictor.network  # the bare network's output, scaled inputs
    (AL,) = run(vecprop.to_onnx(bare), rows)
    stats = Standardizer.from_dict(bare.metadata["standardizer"])
    close(AL, bare.predict_output(stats.transform(rows.T)).T, np.float64)


def test_cli_export_errors_are_one_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "vecprop", "export", str(tmp_path / "none.safetensors"), str(tmp_path / "m.onnx")],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1 and "no such model file" in done.stderr
    assert not (tmp_path / "m.onnx").exists()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_exp_output_and_poisson_regressor_export(dtype):
    net = Network([4, 6, 2], ["tanh", "exp"], seed=1, dtype=dtype)  # the log link of Poisson regression
    X = rows((9, 4), dtype)
    close(run(to_onnx(net), X)[0], net.predict_output(X.T).T, dtype)
    y = np.random.default_rng(0).poisson(3.0, 40).astype(float)
    reg = vecprop.DNNRegressor(loss="poisson", hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    reg = _fit(reg, rows((40, 4), dtype, seed=1), y)
    (variable,) = run(to_onnx(reg), X)
    close(variable.ravel(), reg.predict(X), dtype)
