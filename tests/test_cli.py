"""The command line, run as a subprocess in temporary directories on real files."""

import os
import pickle
import struct
from pathlib import Path

import numpy as np
import pytest

import vecprop
from cli_helpers import run

pytest.importorskip("safetensors")
pytest.importorskip("matplotlib")

FAST = ["--epochs", "20", "--print-every", "10"]


def png_size(path):
    data = Path(path).read_bytes()[:32]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def one_error_line(proc, *fragments):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("vecprop: error: ")
    assert "Traceback" not in proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def iris_like(tmp_path):
    """A labelled CSV with string labels and three classes that a small network separates."""
    rng = np.random.default_rng(0)
    centers = {"setosa": (0, 0, 0), "versicolor": (3, 3, 0), "virginica": (0, 3, 3)}
    rows = ["a,b,c,species"]
    for name, center in centers.items():
        for x in rng.normal(center, 0.5, size=(60, 3)):
            rows.append(",".join(f"{v:.5f}" for v in x) + f",{name}")
    path = tmp_path / "flowers.csv"
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_with_no_arguments_reports_and_writes_model_and_plots(tmp_path):
    proc = run("train", *FAST, cwd=tmp_path)
    out = proc.stdout
    assert "flower" in out and "Cost after epoch 10" in out
    assert "train loss" in out and "val loss" in out and "val accuracy" in out
    assert "Model saved to runs/model.safetensors" in out and "Plots in runs/plots" in out
    model = vecprop.load(tmp_path / "runs" / "model.safetensors")
    assert model.network.layer_dims == [2, 8, 1]
    assert model.classes == ["red", "blue"]
    for name in ("costs.png", "decision_boundary.png", "confusion_matrix.png"):
        assert png_size(tmp_path / "runs" / "plots" / name) == (640, 480)


def test_train_evaluate_predict_on_a_csv_with_string_labels(tmp_path, iris_like):
    proc = run(
        "train",
        "--data",
        iris_like,
        "--target",
        "species",
        "--hidden",
        "16",
        "--activation",
        "relu",
        "--epochs",
        "60",
        "--out",
        "m.safetensors",
        "--plots",
        "plots",
        "--early-stopping",
        cwd=tmp_path,
    )
    assert "3 classes" in proc.stdout
    model = vecprop.load(tmp_path / "m.safetensors")
    assert model.network.layer_dims == [3, 16, 3]
    assert model.classes == ["setosa", "versicolor", "virginica"]
    assert model.standardizer.n_features == 3 and model.feature_names == ["a", "b", "c"]

    ev = run("evaluate", "m.safetensors", "--data", iris_like, cwd=tmp_path).stdout
    accuracy = float(ev.split("accuracy")[1].split()[0])
    assert accuracy > 0.95
    assert "precision" in ev and "virginica" in ev and "confusion matrix" in ev

    run("predict", "m.safetensors", "--data", iris_like, "--out", "pred.csv", cwd=tmp_path)
    lines = (tmp_path / "pred.csv").read_text().splitlines()
    assert lines[0] == "prediction,p_setosa,p_versicolor,p_virginica"
    assert len(lines) == 181
    predicted = [line.split(",")[0] for line in lines[1:]]
    assert predicted.count("setosa") > 50
    probs = np.array([[float(v) for v in line.split(",")[1:]] for line in lines[1:]])
    np.testing.assert_allclose(probs.sum(axis=1), 1, atol=1e-5)

    # new examples without the target column, columns in another order: same predictions
    rows = iris_like.read_text().splitlines()
    unlabeled = ["c,a,b"] + [",".join([r.split(",")[2], *r.split(",")[:2]]) for r in rows[1:]]
    (tmp_path / "new.csv").write_text("\n".join(unlabeled) + "\n")
    out = run("predict", "m.safetensors", "--data", "new.csv", cwd=tmp_path).stdout.splitlines()
    assert out == lines
    (tmp_path / "short.csv").write_text("a,b\n1,2\n")
    one_error_line(
        run("predict", "m.safetensors", "--data", "short.csv", cwd=tmp_path, expect=2),
        "short.csv",
        "missing feature column(s) c",
    )


def test_train_on_npz_regression(tmp_path):
    rng = np.random.default_rng(1)
    X = rng.standard_normal((200, 3))
    y = X @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.standard_normal(200)
    np.savez(tmp_path / "reg.npz", X=X, y=y)
    proc = run(
        "train",
        "--data",
        "reg.npz",
        "--hidden",
        "8",
        "--epochs",
        "80",
        "--out",
        "r.safetensors",
        "--plots",
        "p",
        cwd=tmp_path,
    )
    assert "accuracy" not in proc.stdout
    ev = run("evaluate", "r.safetensors", "--data", "reg.npz", cwd=tmp_path).stdout
    assert float(ev.split("R²")[1].split()[0]) > 0.9


def test_gradcheck_and_summary_and_datasets(tmp_path):
    out = run(
        "gradcheck", "--layers", "3,4,2", "--activation", "relu", "--loss", "categorical_cross_entropy", cwd=tmp_path
    ).stdout
    assert "PASSED" in out and "W1" in out and "b2" in out
    out = run("summary", "--layers", "2,3,1", "--m", "5", cwd=tmp_path).stdout
    assert "W[1]      (3, 2)" in out and "A[1]      (3, 5)" in out and "Total parameters: 13" in out
    out = run("datasets", cwd=tmp_path).stdout
    for name in ("digits", "mnist1d", "flower", "moons", "circles", "xor"):
        assert name in out


def test_gradcheck_of_a_saved_model(tmp_path):
    net = vecprop.Network([3, 5, 2], "tanh", "categorical_cross_entropy", seed=0)
    net.save(tmp_path / "n.safetensors")
    out = run("gradcheck", "n.safetensors", "--l2", "0.5", cwd=tmp_path).stdout
    assert "PASSED" in out
    assert "Network(layer_dims=[3, 5, 2]" in out
    assert "Variable" in run("summary", "n.safetensors", cwd=tmp_path).stdout


@pytest.mark.parametrize(
    "content, fragments",
    [
        ("", ["empty"]),
        ("a,b,label\n", ["bad.csv"]),
        ("a,b,label\n1,2,x\n3,4\n", ["bad.csv:3", "2 fields"]),
        ("a,b,label\n1,2,x\n3,abc,y\n", ["bad.csv:3", "abc"]),
        ("a,b,label\n1,2,x\n3,,y\n", ["bad.csv:3"]),
        ("a,b,label\n1,2,x\n3,nan,y\n", ["bad.csv:3"]),
        ("a,b,label\n1,2,x\n3,4,x\n", ["one class"]),
    ],
)
def test_bad_data_files_exit_2_with_one_line(tmp_path, content, fragments):
    (tmp_path / "bad.csv").write_text(content)
    proc = run("train", "--data", "bad.csv", *FAST, cwd=tmp_path, expect=2)
    one_error_line(proc, *fragments)


def test_unknown_column_and_bad_options_exit_2(tmp_path, iris_like):
    one_error_line(run("train", "--data", iris_like, "--target", "colour", cwd=tmp_path, expect=2), "colour")
    one_error_line(run("train", "--epochs", "0", cwd=tmp_path, expect=2), "--epochs")
    one_error_line(run("train", "--hidden", "4,x", cwd=tmp_path, expect=2), "--hidden")
    one_error_line(run("train", "--activation", "relus", *FAST, cwd=tmp_path, expect=2), "relus", "tanh")
    one_error_line(run("train", "--hidden", "64,,32", cwd=tmp_path, expect=2), "--hidden", "64,,32")
    one_error_line(run("train", "--optimizer", "adm", *FAST, cwd=tmp_path, expect=2), "adm")
    one_error_line(run("train", "--keep-prob", "1.5", *FAST, cwd=tmp_path, expect=2), "keep_prob")
    one_error_line(run("train", "--validation-fraction", "2", *FAST, cwd=tmp_path, expect=2), "validation")
    one_error_line(run("train", "--data", "nosuchdataset", cwd=tmp_path, expect=2), "nosuchdataset")
    one_error_line(run("frobnicate", cwd=tmp_path, expect=2), "frobnicate")


def test_debug_shows_the_traceback(tmp_path):
    proc = run("--debug", "train", "--data", "missing.csv", cwd=tmp_path, expect=1)
    assert "Traceback" in proc.stderr


def test_bad_model_files_exit_2_and_hostile_pickle_is_not_executed(tmp_path):
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self):
            return (open, (str(marker), "w"))

    (tmp_path / "evil.safetensors").write_bytes(pickle.dumps(Exploit()))
    (tmp_path / "junk.safetensors").write_bytes(os.urandom(300))
    for name in ("evil.safetensors", "junk.safetensors", "missing.safetensors"):
        proc = run("evaluate", name, "--data", "flower", cwd=tmp_path, expect=2)
        one_error_line(proc, name)
    assert not marker.exists()


def test_failed_run_does_not_overwrite_a_saved_model(tmp_path):
    run("train", *FAST, "--out", "keep.safetensors", "--no-plots", cwd=tmp_path)
    before = (tmp_path / "keep.safetensors").read_bytes()
    (tmp_path / "bad.csv").write_text("a,b,label\n1,2,x\n3,abc,y\n")
    run("train", "--data", "bad.csv", *FAST, "--out", "keep.safetensors", cwd=tmp_path, expect=2)
    assert (tmp_path / "keep.safetensors").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.csv", "keep.safetensors"]


def test_resume_from_checkpoint_equals_uninterrupted_training(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((4, 300))
    Y = vecprop.one_hot(rng.integers(0, 3, 300), 3)
    fit = dict(learning_rate=0.01, optimizer="adam", batch_size=32, keep_prob=0.8, schedule="inverse_time", verbose=0)

    def new():
        return vecprop.Network([4, 16, 3], "relu", "categorical_cross_entropy", seed=5, dtype=np.float32)

    straight = new()
    straight.fit(X, Y, epochs=6, **fit)
    first = new()
    first.fit(X, Y, epochs=3, **fit)
    first.save(tmp_path / "ck.safetensors")
    resumed = vecprop.load(tmp_path / "ck.safetensors")
    resumed.fit(X, Y, epochs=3, **fit)
    for key in straight.params:
        assert resumed.params[key].dtype == np.float32
        assert np.array_equal(straight.params[key], resumed.params[key]), key


def test_python_dash_m_and_console_script_agree(tmp_path):
    out = run("summary", "--layers", "4,2", cwd=tmp_path).stdout
    assert "W[1]" in out
