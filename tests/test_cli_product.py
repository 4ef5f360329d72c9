"""The command line and its model files as one product (issue 17): each numbered item is tested here, CLI
items as subprocess runs in a temporary directory."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

import vecprop
from cli_helpers import run
from vecprop.predictor import Predictor

pytest.importorskip("safetensors")

QUIET = ["--print-every", "5", "--no-plots"]


def error_line(proc, *fragments):
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vecprop: error: "), proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]


def csv_rows(path):
    lines = path.read_text().splitlines()
    return lines[0].split(","), [line.split(",") for line in lines[1:]]


@pytest.fixture
def flowers(tmp_path):
    """Three string classes; the target is the SECOND column, not the last."""
    rng = np.random.default_rng(0)
    centers = {"setosa": (0, 0, 0), "versicolor": (3, 3, 0), "virginica": (0, 3, 3)}
    lines = ["a,species,b,c"]
    for name, center in centers.items():
        for x in rng.normal(center, 0.6, size=(40, 3)):
            lines.append(f"{x[0]:.5f},{name},{x[1]:.5f},{x[2]:.5f}")
    (tmp_path / "flowers.csv").write_text("\n".join(lines) + "\n")
    new = ["c,b,a"] + [f"{x[2]:.4f},{x[1]:.4f},{x[0]:.4f}" for x in rng.normal(1.5, 2.0, size=(30, 3))]
    (tmp_path / "new.csv").write_text("\n".join(new) + "\n")  # no target, other column order
    return tmp_path


@pytest.fixture
def counts(tmp_path):
    """An integer-count target with 6 values (read as classes unless --task regression), last column."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((150, 2))
    y = np.clip(np.round(2.5 + X @ [1.0, -0.8]), 0, 5).astype(int)
    lines = ["u,v,count"] + [f"{a:.5f},{b:.5f},{c}" for (a, b), c in zip(X, y)]
    (tmp_path / "counts.csv").write_text("\n".join(lines) + "\n")
    return tmp_path


# ---------------------------------------------------------------------------------- item 1
def test_a_trained_model_file_predicts_in_python_exactly_what_the_cli_prints(flowers):
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--epochs",
        "15",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    run("predict", "m.safetensors", "--data", "new.csv", "--out", "p.csv", cwd=flowers)
    header, rows = csv_rows(flowers / "p.csv")
    model = vecprop.load(flowers / "m.safetensors")
    assert isinstance(model, Predictor) and model.feature_names == ["a", "b", "c"]
    assert header == ["prediction", "p_setosa", "p_versicolor", "p_virginica"]
    new = np.loadtxt(flowers / "new.csv", delimiter=",", skiprows=1)[:, [2, 1, 0]]  # as a, b, c
    labels = model.predict(new)
    assert labels.shape == (30,) and labels.dtype.kind == "U"
    assert list(labels) == [r[0] for r in rows]
    assert len(set(labels)) > 1  # a test that could fail
    np.testing.assert_array_equal(model.predict_proba(new), np.array([r[1:] for r in rows], dtype=float))
    # the same with named columns, in any order
    columns = {"c": new[:, 2], "a": new[:, 0], "b": new[:, 1], "extra": new[:, 0]}
    assert list(model.predict(columns)) == list(labels)
    # a bare network gives different answers: the standardization and labels matter
    raw = model.network.predict(new.T)[0]
    assert (np.array(model.classes)[raw] != labels).any()


def test_a_regressor_file_predicts_in_python_exactly_what_the_cli_prints(counts):
    run(
        "train",
        "--data",
        "counts.csv",
        "--task",
        "regression",
        "--epochs",
        "15",
        "--out",
        "r.safetensors",
        *QUIET,
        cwd=counts,
    )
    out = run("predict", "r.safetensors", "--data", "counts.csv", cwd=counts).stdout.splitlines()
    assert out[0] == "prediction"
    model = vecprop.load(counts / "r.safetensors")
    assert model.task == "regression" and model.network.loss.name == "mse"
    rows = np.loadtxt(counts / "counts.csv", delimiter=",", skiprows=1)[:, :2]
    pred = model.predict(rows)
    assert pred.shape == (150,)
    np.testing.assert_array_equal(pred, np.array(out[1:], dtype=float))
    with pytest.raises(ValueError, match="predict_proba is for classifiers"):
        model.predict_proba(rows)


def test_a_model_file_written_before_the_predictor_existed_loads_as_one(tmp_path):
    net = vecprop.Network([2, 4, 1], "tanh", seed=0)
    mean, scale = [10.0, -5.0], [2.0, 4.0]
    net.metadata.update(
        {
            "task": "classification",
            "dataset": "old",
            "target_names": ["no", "yes"],
            "feature_names": ["p", "q"],
            "standardizer": {"mean": mean, "scale": scale},
            "target": None,
        }
    )  # what the CLI wrote until issue 17
    net.save(tmp_path / "old.safetensors")
    model = vecprop.load(tmp_path / "old.safetensors")
    rows = np.array([[12.0, -1.0], [8.0, -9.0], [10.0, -5.0]])
    A = net.predict_output(((rows - mean) / scale).T)[0]
    np.testing.assert_allclose(model.predict_proba(rows)[:, 1], A, rtol=0, atol=1e-15)
    assert list(model.predict(rows)) == [["no", "yes"][int(a > 0.5)] for a in A]
    bare = vecprop.Network([2, 3, 1], seed=0)
    bare.save(tmp_path / "bare.safetensors")
    assert isinstance(vecprop.load(tmp_path / "bare.safetensors"), vecprop.Network)
    assert isinstance(vecprop.load_network(tmp_path / "old.safetensors"), vecprop.Network)


def test_predictor_input_errors_say_the_fix(flowers):
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "1",
        "--epochs",
        "2",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    model = vecprop.load(flowers / "m.safetensors")
    with pytest.raises(ValueError, match=r"rows have shape \(3, 5\).*\(m, 3\).*pass X.T"):
        model.predict(np.ones((3, 5)))
    with pytest.raises(ValueError, match=r"reshape\(1, -1\)"):
        model.predict(np.ones(3))
    with pytest.raises(ValueError, match="lack the feature column"):
        model.predict({"a": [1.0], "b": [2.0]})


# ---------------------------------------------------------------------------------- item 2
@pytest.mark.parametrize("target", ["1", "-3", "species"])
def test_target_by_index_or_name(flowers, target):
    out = run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        target,
        "--epochs",
        "2",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    ).stdout
    assert "3 features, 3 classes" in out
    assert vecprop.load(flowers / "m.safetensors").target == "species"


def test_target_index_on_a_npy_file(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((60, 3))
    np.save(tmp_path / "d.npy", np.column_stack([(X[:, 0] > 0).astype(float), X]))  # target first
    out = run(
        "train", "--data", "d.npy", "--target", "0", "--epochs", "2", "--out", "m.safetensors", *QUIET, cwd=tmp_path
    ).stdout
    assert "3 features, 2 classes" in out
    error_line(run("train", "--data", "d.npy", "--target", "first", *QUIET, cwd=tmp_path, expect=2), "column index")


# ---------------------------------------------------------------------------------- item 3
def test_evaluate_uses_the_trained_target_and_names_a_missing_one(flowers):
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--epochs",
        "30",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    ev = run("evaluate", "m.safetensors", "--data", "flowers.csv", cwd=flowers).stdout
    assert ev.splitlines()[0] == "examples   120"
    assert float(ev.split("accuracy")[1].split()[0]) > 0.9
    error_line(run("evaluate", "m.safetensors", "--data", "new.csv", cwd=flowers, expect=2), "new.csv", "species")


# ---------------------------------------------------------------------------------- item 4
def test_task_overrides_the_guess(counts):
    out = run("train", "--data", "counts.csv", "--epochs", "2", "--out", "c.safetensors", *QUIET, cwd=counts).stdout
    assert "6 classes" in out  # the guess: ≤ 20 integer values
    out = run(
        "train",
        "--data",
        "counts.csv",
        "--task",
        "regression",
        "--epochs",
        "2",
        "--out",
        "r.safetensors",
        *QUIET,
        cwd=counts,
    ).stdout
    assert "classes" not in out
    model = vecprop.load(counts / "r.safetensors")
    assert model.network.layer_dims[-1] == 1 and model.network.activations[-1].name == "linear"
    error_line(
        run(
            "train",
            "--data",
            "counts.csv",
            "--task",
            "regression",
            "--loss",
            "categorical_cross_entropy",
            *QUIET,
            cwd=counts,
            expect=2,
        ),
        "--loss",
        "--task",
    )
    (counts / "one.csv").write_text("a,b,level\n1,2,3\n3,4,3\n5,1,3\n")
    error_line(
        run("train", "--data", "one.csv", *QUIET, cwd=counts, expect=2), "only one class", "(or pass --task regression)"
    )
    run(
        "train",
        "--data",
        "one.csv",
        "--task",
        "regression",
        "--epochs",
        "1",
        "--validation-fraction",
        "0",
        "--out",
        "one.safetensors",
        *QUIET,
        cwd=counts,
    )


# ---------------------------------------------------------------------------------- item 5
def test_every_fit_option_is_a_flag_and_reaches_the_network(flowers):
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--hidden",
        "8,4",
        "--activation",
        "relu,tanh",
        "--loss",
        "categorical_cross_entropy",
        "--dtype",
        "float32",
        "--initializer",
        "xavier",
        "--optimizer",
        '{"name": "adam", "beta1": 0.8}',
        "--schedule",
        "cosine",
        "--clip-norm",
        "1.5",
        "--class-weight",
        "balanced",
        "--batch-size",
        "full",
        "--keep-prob",
        "0.9,0.8",
        "--early-stopping",
        "--monitor",
        "val_accuracy",
        "--min-delta",
        "0.001",
        "--patience",
        "3",
        "--epochs",
        "4",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    model = vecprop.load(flowers / "m.safetensors")
    net = model.network
    assert [g.name for g in net.activations] == ["relu", "tanh", "softmax"] and net.dtype == np.float32
    assert net.initializer == "xavier"
    fit = net.metadata["training"]
    assert fit["optimizer"] == {"name": "adam", "beta1": 0.8} and fit["schedule"] == "cosine"
    assert (fit["clip_norm"], fit["class_weight"], fit["batch_size"]) == (1.5, "balanced", None)
    assert (fit["keep_prob"], fit["monitor"], fit["min_delta"], fit["patience"]) == (
        [0.9, 0.8],
        "val_accuracy",
        0.001,
        3,
    )
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--class-weight",
        '{"virginica": 3}',
        "--epochs",
        "2",
        "--out",
        "w.safetensors",
        *QUIET,
        cwd=flowers,
    )
    assert vecprop.load(flowers / "w.safetensors").network.metadata["training"]["class_weight"] == {"2": 3.0}


# ---------------------------------------------------------------------------------- item 7
def test_evaluate_says_what_the_mse_loss_is(counts):
    run(
        "train",
        "--data",
        "counts.csv",
        "--task",
        "regression",
        "--epochs",
        "10",
        "--out",
        "r.safetensors",
        *QUIET,
        cwd=counts,
    )
    ev = run("evaluate", "r.safetensors", "--data", "counts.csv", cwd=counts).stdout
    assert "½(y − a)² per example" in ev
    loss = float(ev.split("loss")[1].split()[0])
    mse = float(ev.split("MSE")[1].split()[0])
    assert mse == pytest.approx(2 * loss, rel=1e-4)
    assert float(ev.split("RMSE")[1].split()[0]) == pytest.approx(mse**0.5, rel=1e-4)


# ---------------------------------------------------------------------------------- item 10
def test_defaults_agree_and_no_validation_means_none_held_out(tmp_path):
    from vecprop.training import FitConfig

    run(
        "train",
        "--epochs",
        "3",
        "--early-stopping",
        "--validation-fraction",
        "0",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=tmp_path,
    )
    model = vecprop.load(tmp_path / "m.safetensors")
    net = model.network
    assert net.activations[0].name == vecprop.Network([2, 3, 1]).activations[0].name == "relu"
    fit = net.metadata["training"]
    assert fit["patience"] == FitConfig().patience == 10
    assert (fit["validation_fraction"], fit["monitor"]) == (0.0, "loss")
    out = run("train", "--epochs", "3", "--early-stopping", "--validation-fraction", "0", *QUIET, cwd=tmp_path).stdout
    assert "val loss" not in out and "train accuracy" in out
    error_line(
        run("train", "--validation-fraction", "0", "--monitor", "val_loss", *QUIET, cwd=tmp_path, expect=2),
        "needs a validation set",
    )
    gradcheck = run("gradcheck", cwd=tmp_path).stdout
    assert "'relu', 'sigmoid'" in gradcheck


# ---------------------------------------------------------------------------------- item 11
def test_continuing_a_loaded_model_uses_its_saved_configuration(tmp_path, flowers):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((3, 90))
    Y = vecprop.one_hot(rng.integers(0, 3, 90), 3)
    options = dict(learning_rate=0.02, optimizer="adam", batch_size=16, keep_prob=0.8, l2=0.01, verbose=0)

    def new():
        return vecprop.Network([3, 6, 3], "relu", "categorical_cross_entropy", seed=2)

    straight = new()
    straight.fit(X, Y, epochs=6, **options)
    first = new()
    first.fit(X, Y, epochs=3, **options)
    first.save(tmp_path / "ck.safetensors")
    resumed = vecprop.load(tmp_path / "ck.safetensors")
    resumed.fit(X, Y, epochs=3)  # nothing repeated
    np.testing.assert_array_equal(resumed._flat_params(), straight._flat_params())

    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--optimizer",
        "rmsprop",
        "--batch-size",
        "8",
        "--epochs",
        "2",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    model = vecprop.load(flowers / "m.safetensors")
    data = np.genfromtxt(flowers / "flowers.csv", delimiter=",", names=True, dtype=None, encoding="utf-8")
    rows = np.column_stack([data["a"], data["b"], data["c"]])
    history = model.fit(rows, data["species"], epochs=2, verbose=0)
    assert len(history.loss) == 2
    assert model.network.metadata["training"]["optimizer"] == "rmsprop"
    assert model.network.metadata["training"]["batch_size"] == 8
    with pytest.raises(ValueError, match=r"labels \['daisy'\] were not seen in training"):
        model.fit(rows[:2], ["setosa", "daisy"])


# ---------------------------------------------------------------------------------- item 12
def test_divergence_says_what_the_estimator_keeps_as_docs_sklearn_md_does():
    pytest.importorskip("sklearn")
    from sklearn.exceptions import NotFittedError

    from vecprop.training import DivergenceError

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((50, 3)), rng.standard_normal(50)
    est = vecprop.DNNRegressor(
        hidden_layer_sizes=(5,), solver="sgd", learning_rate_init=10.0, max_iter=50, random_state=0
    )
    with pytest.raises(DivergenceError, match="^Solver produced non-finite parameter weights"):  # sklearn's
        est.fit(X * 1e3, y * 1e6)
    with pytest.raises(NotFittedError):
        est.predict(X)
    est.set_params(learning_rate_init=1e-3, max_iter=2, warm_start=True).fit(X, y)
    with pytest.raises(DivergenceError, match="^Solver produced non-finite parameter weights"):
        est.set_params(learning_rate_init=10.0, max_iter=50).fit(X * 1e3, y * 1e6)
    assert all(np.isfinite(c).all() for c in est.coefs_) and est.predict(X).shape == (50,)
    with open(os.path.join(os.path.dirname(__file__), "..", "docs", "sklearn.md")) as handle:
        docs = handle.read()
    assert "a first fit leaves the estimator unfitted" in " ".join(docs.split())
    assert "keeps the last finite weights" in " ".join(docs.split())


# ---------------------------------------------------------------------------------- item 13
def test_debug_after_the_command_and_options_checked_before_the_data_loads(tmp_path):
    proc = run("train", "--data", "missing.csv", "--debug", cwd=tmp_path, expect=1)
    assert "Traceback" in proc.stderr
    error_line(run("train", "--data", "missing.csv", "--optimizer", "adm", cwd=tmp_path, expect=2), "adm")
    error_line(
        run("train", "--data", "missing.csv", "--keep-prob", "0.5,0.5", cwd=tmp_path, expect=2),
        "keep_prob has 2 values",
    )
    error_line(run("train", "--hidden", "64,,32", cwd=tmp_path, expect=2), "64,,32")


def _core_only(tmp_path, blocked, code):
    """Run code with the given modules made unimportable (as on a core-only install)."""
    prelude = "import sys\n" + "".join(f"sys.modules[{m!r}] = None\n" for m in blocked)
    return subprocess.run(
        [sys.executable, "-c", prelude + code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )


def test_missing_optional_dependencies_fail_first_naming_the_extra(tmp_path):
    proc = _core_only(
        tmp_path,
        ["safetensors", "safetensors.numpy"],
        "from vecprop.cli import main\nsys.exit(main(['train', '--epochs', '2']))",
    )
    assert proc.returncode == 2 and "Training" not in proc.stdout
    assert proc.stderr.strip() == (
        'vecprop: error: vecprop train (to save the model) needs safetensors: pip install "vecprop[io]"'
    )
    proc = _core_only(
        tmp_path, ["matplotlib"], "from vecprop.cli import main\nsys.exit(main(['train', '--epochs', '2']))"
    )
    assert proc.returncode == 2 and "Training" not in proc.stdout and "vecprop[cli]" in proc.stderr
    assert "--no-plots" in proc.stderr
    proc = _core_only(tmp_path, ["sklearn"], "import vecprop\nvecprop.DNNClassifier()")
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1] == (
        'ImportError: vecprop.DNNClassifier needs sklearn, which is not installed: pip install "vecprop[sklearn]"'
    )


def test_evaluate_labels_the_confusion_matrix(flowers):
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--epochs",
        "30",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    ev = run("evaluate", "m.safetensors", "--data", "flowers.csv", cwd=flowers).stdout
    matrix = ev.split("confusion matrix (rows: true, columns: predicted)\n")[1].splitlines()
    assert matrix[0].split() == ["setosa", "versicolor", "virginica"]
    assert [row.split()[0] for row in matrix[1:4]] == ["setosa", "versicolor", "virginica"]
    assert sum(int(v) for row in matrix[1:4] for v in row.split()[1:]) == 120


# ---------------------------------------------------------------------------------- --config
def test_config_file_takes_every_option_and_summary_prints_the_effective_one(flowers):
    (flowers / "run.toml").write_text(
        'data = "flowers.csv"\ntarget = "species"\nhidden = [6, 5]\n'
        'activation = ["tanh", "relu"]\nkeep_prob = [0.9, 1.0]\n'
        'optimizer = { name = "momentum", beta = 0.8 }\nlearning_rate = 0.05\n'
        "epochs = 50\nearly_stopping = true\nno_plots = true\nprint_every = 10\n"
        'out = "c.safetensors"\n'
    )
    run("train", "--config", "run.toml", "--epochs", "3", cwd=flowers)  # a flag overrides the file
    model = vecprop.load(flowers / "c.safetensors")
    assert model.network.layer_dims == [3, 6, 5, 3]
    assert [g.name for g in model.network.activations] == ["tanh", "relu", "softmax"]
    config = model.run_config
    assert config["epochs"] == 3 and config["optimizer"] == {"name": "momentum", "beta": 0.8}
    assert config["early_stopping"] is True and config["task"] == "classification"
    assert config["loss"] == "categorical_cross_entropy" and config["target"] == "species"
    summary = run("summary", "c.safetensors", cwd=flowers).stdout
    assert "Task: classification, target 'species', 3 classes: setosa, versicolor, virginica" in summary
    toml = summary.split("a valid `vecprop train --config` file\n")[1]
    assert 'optimizer = { "beta" = 0.8, "name" = "momentum" }' in toml and "hidden = [6, 5]" in toml
    # the printed configuration is itself a config file that reproduces the run
    (flowers / "again.toml").write_text(toml.replace('"c.safetensors"', '"d.safetensors"'))
    run("train", "--config", "again.toml", cwd=flowers)
    again = vecprop.load(flowers / "d.safetensors")
    for key in model.network.params:
        np.testing.assert_array_equal(again.network.params[key], model.network.params[key])
    assert json.dumps({k: v for k, v in again.run_config.items() if k != "out"}, sort_keys=True) == json.dumps(
        {k: v for k, v in config.items() if k != "out"}, sort_keys=True
    )


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("epochs = \n", "not valid TOML"),
        ("epoch = 3\n", "unknown option 'epoch'"),
        ("epochs = 0\n", "--epochs"),
        ("early_stopping = 1\n", "early_stopping must be true or false"),
    ],
)
def test_bad_config_files_exit_2_with_one_line(tmp_path, text, fragment):
    (tmp_path / "bad.toml").write_text(text)
    error_line(run("train", "--config", "bad.toml", cwd=tmp_path, expect=2), fragment)


def test_a_bare_network_file_predicts_and_evaluates_by_position(tmp_path):
    net = vecprop.Network([2, 4, 1], "tanh", seed=0)
    net.save(tmp_path / "bare.safetensors")
    out = run("predict", "bare.safetensors", "--data", "flower", cwd=tmp_path).stdout.splitlines()
    X = vecprop.load_dataset("flower").X
    assert out[0] == "prediction,p_0,p_1" and len(out) == X.shape[1] + 1
    np.testing.assert_array_equal([float(line.split(",")[2]) for line in out[1:]], net.predict_output(X)[0])
    ev = run("evaluate", "bare.safetensors", "--data", "flower", cwd=tmp_path).stdout
    assert ev.splitlines()[0] == f"examples   {X.shape[1]}"


def test_a_checkpoint_of_the_network_alone_is_the_predictors_file(flowers):
    run(
        "train",
        "--data",
        "flowers.csv",
        "--target",
        "species",
        "--epochs",
        "2",
        "--out",
        "m.safetensors",
        *QUIET,
        cwd=flowers,
    )
    model = vecprop.load(flowers / "m.safetensors")
    model.network.save(flowers / "net-only.safetensors")  # what a training checkpoint writes
    again = vecprop.load(flowers / "net-only.safetensors")
    assert isinstance(again, Predictor) and again.classes == model.classes
    rows = np.array([[0.0, 1.0, 2.0], [3.0, 0.0, 0.0]])
    np.testing.assert_array_equal(again.predict_proba(rows), model.predict_proba(rows))


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"feature_names": ["p"]}, "1 feature names for a network with n_0 = 2 inputs"),
        ({"target_names": ["a", "b", "c"]}, "got 1 sigmoid unit"),
        ({"task": "ranking"}, "task must be one of classification, regression"),
        ({"standardizer": {"mean": [0.0], "scale": [1.0]}}, "the standardizer has 1 features, the network 2"),
    ],
)
def test_inconsistent_predictor_metadata_is_a_model_file_error(tmp_path, bad, message):
    net = vecprop.Network([2, 3, 1], seed=0)
    net.metadata.update({"task": "classification", "target_names": ["no", "yes"], "feature_names": ["p", "q"], **bad})
    net.save(tmp_path / "m.safetensors")
    with pytest.raises(vecprop.ModelFileError, match="invalid predictor metadata.*" + message):
        vecprop.load(tmp_path / "m.safetensors")
