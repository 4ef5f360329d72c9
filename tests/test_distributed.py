"""Data-parallel training over MPI: each case runs under ``mpiexec -n P`` (P = 2 and 3) as a subprocess
with a timeout, so a hang fails the test instead of stalling the suite. tests/mpi_worker.py holds the
code the ranks run; rank 0 writes the numbers asserted here."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("mpi4py", reason="the distributed tests need the mpi extra: pip install 'vecprop[mpi]'")

WORKER = Path(__file__).with_name("mpi_worker.py")
MPIEXEC = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
TIMEOUT = 120  # seconds per mpiexec run: a hang fails the test, never the whole suite

if MPIEXEC is None:
    pytest.skip("no mpiexec (pip install 'vecprop[mpi]' brings MPICH's)", allow_module_level=True)


def mpirun(P, *args, timeout=TIMEOUT):
    """``mpiexec -n P`` the arguments; returns the CompletedProcess (a TimeoutExpired fails the test)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run(
        [MPIEXEC, "-n", str(P), *map(str, args)], capture_output=True, text=True, timeout=timeout, env=env
    )


def train_distributed(P, data, *args, timeout=TIMEOUT):
    """``mpiexec -n P vecprop train --data DATA --distributed ARGS``; returns the CompletedProcess."""
    return mpirun(P, sys.executable, "-m", "vecprop", "train", "--data", data, "--distributed", *args, timeout=timeout)


def run_case(P, case, tmp_path, *args):
    out = tmp_path / f"{case}_{P}.json"
    proc = mpirun(P, sys.executable, WORKER, case, out, *args)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(out.read_text())


@pytest.fixture(scope="module")
def data_files(tmp_path_factory):
    """A .npy (numeric, 3 classes) and a CSV (string labels), plus a CSV with a bad row near its end."""
    d = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    m = 101
    X = rng.standard_normal((m, 3)) * [1.0, 10.0, 0.1] + [0.0, 5.0, -2.0]
    y = rng.integers(0, 3, m)
    np.save(d / "data.npy", np.column_stack([X, y]))
    labels = np.array(["cat", "dog", "eel"])[y]
    rows = ["a,b,c,animal"] + [",".join([*(repr(float(v)) for v in x), k]) for x, k in zip(X, labels)]
    (d / "data.csv").write_text("\n".join(rows) + "\n")
    bad = list(rows)
    bad[-3] = bad[-3].replace(bad[-3].split(",")[1], "oops", 1)
    (d / "data_bad.csv").write_text("\n".join(bad) + "\n")
    return str(d / "data.npy"), str(d / "data.csv")


@pytest.mark.parametrize("P", [2, 3])
def test_reducer_plan_blocks_and_standardization(P, tmp_path, data_files):
    out = run_case(P, "basics", tmp_path, *data_files)
    assert out["size"] == P
    assert out["allreduce"] == [k * P * (P + 1) / 2 for k in range(5)]
    assert out["sum_int"] == [P * (P - 1) / 2, P]
    assert all(out["plan_covers"])
    sizes = out["plan_sizes"]
    if P == 2:
        assert sizes["100/32"] == [32, 32, 32, 4]  # equal shards, P | B: exactly B, the rest last
        assert sizes["60/12"] == [12] * 5  # uneven shards in the proportions of B
        assert sizes["7/5"] == [5, 2]  # an empty shard takes part with empty batches
    else:
        assert sizes["150/32"] == [30, 33, 33, 30, 24]  # P ∤ B: each global batch within P − 1 of B
        assert sizes["120/12"] == [12] * 10
        assert sizes["20/5"] == [4, 5, 5, 6]
    assert sizes["9/None" if P == 3 else "6/None"] == [9 if P == 3 else 6]
    assert "layer_dims differs across the" in out["mismatch"] and "rank 1: [2, 4, 1]" in out["mismatch"]
    assert out["raise_any"] == f"rank {P - 1} of {P}: bad shard"
    for name in ("npy", "csv"):
        block = out[name]
        assert block["X_equal"] and block["y_equal"], block
        assert block["labels"] == block["labels_whole"] and block["task"] == "classification"
        assert block["mean_err"] < 1e-12 and block["scale_err"] < 1e-12
    assert out["npy"]["m_local"] == 101 // P  # rank 0's block of rows
    assert f"of {P}: " in out["bad_csv"] and "data_bad.csv:100:2: non-numeric value 'oops'" in out["bad_csv"]


@pytest.mark.parametrize("P", [2, 3])
def test_a_failing_rank_ends_every_rank(P, tmp_path):
    t0 = time.perf_counter()
    proc = mpirun(P, sys.executable, WORKER, "raise_plain", tmp_path / "unused.json", timeout=60)
    assert proc.returncode != 0
    assert time.perf_counter() - t0 < 30
    assert f"vecprop: rank 1 of {P} failed: RuntimeError: deliberate failure on one rank" in proc.stderr


@pytest.mark.parametrize("P", [2, 3])
def test_p_ranks_fit_the_one_process_model(P, tmp_path):
    """shuffle=False: P ranks on uneven shards equal one process on the concatenated global batches."""
    out = run_case(P, "fit", tmp_path)
    for name in ("gd", "momentum", "adam", "l2", "sample_weight", "class_weight", "validation"):
        case = out[name]
        assert case["theta"] < 1e-12, (name, case)
        assert case["loss"] < 1e-12 and case["val_loss"] < 1e-12, (name, case)
        assert case["epochs"][0] == case["epochs"][1] and case["best_epoch"][0] == case["best_epoch"][1]
        assert case["history_same_on_every_rank"], name
    assert out["validation"]["epochs"][0] < 8  # early stopping decided the same on every rank
    assert out["ragged"]["theta"] < 1e-12 and out["ragged"]["rank0_sizes"] == [0, 0, 0, 0, 0, 1]
    assert out["shuffled_same"]
    assert "the fit option learning_rate differs across the" in out["mismatch"]
    assert "rank 0: 0.1; rank 1: 0.2" in out["mismatch"]
    assert out["diverged"] == ["the cost became NaN or infinite at epoch 0, batch 0 (learning rate 0.01)"] * P
    assert out["bad_shard"].startswith(f"rank {P - 1} of {P}: X contains NaN or inf")


def test_checkpoint_resumes_a_distributed_run_and_only_rank_0_prints(tmp_path):
    out_path = tmp_path / "checkpoint.json"
    proc = mpirun(2, sys.executable, WORKER, "checkpoint", out_path, tmp_path / "ckpt.safetensors")
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads(out_path.read_text())["resume"] < 1e-12
    assert proc.stdout.count("Cost after epoch") == 2  # print_every=1 over 2 epochs, rank 0 only


@pytest.mark.parametrize("case", ["fit_raise", "exit_mid_fit"])
def test_a_rank_failing_inside_fit_ends_the_job(case, tmp_path):
    t0 = time.perf_counter()
    proc = mpirun(2, sys.executable, WORKER, case, tmp_path / "unused.json", timeout=60)
    assert proc.returncode != 0
    assert time.perf_counter() - t0 < 30
    expected = (
        "MemoryError: deliberate failure in a callback" if case == "fit_raise" else "SystemExit: 0"
    )  # sys.exit inside fit is a failure too
    assert f"vecprop: rank 1 of 2 failed: {expected}" in proc.stderr


def _vecprop(*args, timeout=60, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "vecprop", *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


def test_cli_distributed_writes_one_model_that_predicts_in_one_process(tmp_path, data_files):
    npy, _ = data_files
    model = tmp_path / "model.safetensors"
    proc = train_distributed(
        3,
        npy,
        "--epochs",
        5,
        "--batch-size",
        12,
        "--print-every",
        0,
        "--no-plots",
        "--out",
        model,
        "--hidden",
        4,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.count("Training Network") == 1 and "101 examples over 3 ranks" in proc.stdout
    assert proc.stdout.count("Model saved to") == 1
    pred = _vecprop("predict", model, "--data", npy)
    assert pred.returncode == 0, pred.stderr
    assert len(pred.stdout.splitlines()) == 102  # a header and one row per example


def test_cli_distributed_bad_row_names_the_rank_and_exits_2(tmp_path, data_files):
    _, csv_path = data_files
    proc = train_distributed(
        2,
        csv_path.replace(".csv", "_bad.csv"),
        "--epochs",
        2,
        "--no-plots",
        "--out",
        tmp_path / "m.safetensors",
        timeout=60,
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("vecprop: error:")]
    assert len(errors) == 1 and "rank 1 of 2: " in errors[0] and ":100:2: non-numeric value 'oops'" in errors[0]
    assert not (tmp_path / "m.safetensors").exists()


def _train_cli(P, npy, out, epochs, *extra, timeout=TIMEOUT):
    """``mpiexec -n P vecprop train --distributed`` on the .npy with shuffled mini-batches and adam."""
    flags = ["--batch-size", 12, "--optimizer", "adam", "--print-every", 0, "--no-plots", "--hidden", 4]
    proc = train_distributed(
        P,
        npy,
        "--epochs",
        epochs,
        "--out",
        out,
        *flags,
        *extra,
        timeout=timeout,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


def _state(path):
    """(parameters, optimizer state arrays, epochs done) of a model file."""
    from vecprop.io import load_network

    net = load_network(path)
    arrays, info = net.training_state()
    return net.theta, arrays, info["epoch"]


def test_cli_distributed_checkpoint_resumes_bit_for_bit(tmp_path, data_files):
    """2 epochs with checkpoints, then --resume for 2 more: the model of 4 epochs straight, bit for bit
    (shuffled batches, adam's moments); the checkpoint is a one-process model file; resuming on another
    number of ranks continues with a note."""
    npy, _ = data_files
    ckpt, straight = tmp_path / "ckpt.safetensors", tmp_path / "straight.safetensors"
    first = _train_cli(2, npy, ckpt, 2, "--checkpoint-every", 1, "--resume")
    assert first.stdout.count(f"no checkpoint at {ckpt}; starting afresh") == 1  # rank 0 alone prints
    resumed = _train_cli(2, npy, ckpt, 4, "--checkpoint-every", 1, "--resume")
    assert resumed.stdout.count("resuming after epoch 2") == 1 and "Stopped after 2 epochs" in resumed.stdout
    _train_cli(2, npy, straight, 4)
    (theta, moments, done), (theta_ref, moments_ref, done_ref) = _state(ckpt), _state(straight)
    assert done == done_ref == 4
    assert np.array_equal(theta, theta_ref)
    assert moments.keys() == moments_ref.keys() and all(np.array_equal(moments[k], moments_ref[k]) for k in moments)
    done_already = _train_cli(2, npy, ckpt, 4, "--resume")
    assert "has already been trained for 4 epochs (--epochs 4); nothing to do" in done_already.stdout
    pred = _vecprop("predict", ckpt, "--data", npy)  # one process reads the distributed run's file
    assert pred.returncode == 0 and len(pred.stdout.splitlines()) == 102, pred.stderr
    three = _train_cli(3, npy, ckpt, 5, "--resume")
    assert "resuming after epoch 4 (the checkpoint was trained on 2 ranks: the run continues" in three.stdout
    assert _state(ckpt)[2] == 5
    flags = ["--batch-size", 12, "--optimizer", "adam", "--print-every", 0, "--no-plots", "--hidden", 4]
    one = _vecprop("train", "--data", npy, "--epochs", 6, "--out", ckpt, "--resume", *flags)  # one process
    assert one.returncode == 0 and "resuming after epoch 5" in one.stdout, one.stderr
    assert _state(ckpt)[2] == 6


def test_cli_distributed_killed_mid_run_resumes_from_rank_0s_checkpoint(tmp_path, data_files):
    """mpiexec -n 2 killed (SIGKILL to every process) after a checkpoint: the same command with --resume
    ends bit for bit at the parameters, optimizer moments and training state of an uninterrupted run."""
    pytest.importorskip("safetensors")
    from safetensors.numpy import load_file

    from vecprop.io import load_network

    npy, _ = data_files
    ckpt, straight = tmp_path / "ckpt.safetensors", tmp_path / "straight.safetensors"
    epochs = 300
    _train_cli(2, npy, straight, epochs)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    command = [MPIEXEC, "-n", "2", sys.executable, "-m", "vecprop", "train", "--data", npy, "--distributed"]
    command += ["--epochs", str(epochs), "--out", str(ckpt), "--batch-size", "12", "--optimizer", "adam"]
    command += ["--print-every", "0", "--no-plots", "--hidden", "4", "--checkpoint-every", "3", "--resume"]
    proc = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True
    )
    deadline = time.time() + TIMEOUT
    while not ckpt.exists() and proc.poll() is None:  # the first checkpoint, written by rank 0
        assert time.time() < deadline
        time.sleep(0.002)
    time.sleep(0.01)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)  # mpiexec and both ranks at once
    proc.wait(timeout=60)
    killed_at = int(load_network(ckpt).training_state()[1]["epoch"])
    assert killed_at % 3 == 0 and 0 < killed_at < epochs  # a whole checkpoint mid-run, never a torn file
    resumed = _train_cli(2, npy, ckpt, epochs, "--checkpoint-every", "3", "--resume")
    assert f"resuming after epoch {killed_at}" in resumed.stdout
    a, b = load_file(str(straight)), load_file(str(ckpt))
    assert sorted(a) == sorted(b) and any(k.startswith("state/") for k in a)
    for k in a:  # parameters and Adam moments, bit for bit
        assert np.array_equal(a[k], b[k]), k
    state, state_ref = load_network(ckpt).training_state()[1], load_network(straight).training_state()[1]
    assert state == state_ref  # epoch, schedule, step count t, random stream


def test_cli_distributed_resume_refuses_another_network(tmp_path, data_files):
    npy, _ = data_files
    ckpt = tmp_path / "ckpt.safetensors"
    _train_cli(2, npy, ckpt, 1)
    proc = train_distributed(
        2,
        npy,
        "--epochs",
        2,
        "--hidden",
        5,
        "--no-plots",
        "--resume",
        "--out",
        ckpt,
        timeout=60,
    )
    assert proc.returncode == 2
    errors = [ln for ln in proc.stderr.splitlines() if ln.startswith("vecprop: error:")]
    assert len(errors) == 1 and f"--resume: {ckpt} holds a different network than the options ask for" in errors[0]


@pytest.mark.parametrize("P", [2, 3])
def test_estimators_on_p_ranks_fit_the_one_process_estimator(P, tmp_path):
    """DNNClassifier/DNNRegressor fit(comm=) and partial_fit(comm=) with shuffle=False: P ranks' shards equal
    one process on the concatenated global batches (rank 0 alone holds the class "cat"); only rank 0 prints."""
    pytest.importorskip("sklearn")
    out_path = tmp_path / f"estimators_{P}.json"
    proc = mpirun(P, sys.executable, WORKER, "estimators", out_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(out_path.read_text())
    names = ["classifier_sgd", "classifier_adam", "classifier_balanced", "classifier_weights", "regressor_sgd"]
    for name in [*names, "regressor_adam", "partial_fit", "partial_fit_regressor", "warm_start"]:
        case = out[name]
        assert case["theta"] < 1e-12 and case["loss_curve"] < 1e-12, (name, case)
        assert case["n_iter"][0] == case["n_iter"][1] and case["t"][0] == case["t"][1], (name, case)
        assert case["classes"][0] == case["classes"][1] and case["same_on_every_rank"], (name, case)
    assert out["classifier_sgd"]["classes"][0] == ["ant", "bee", "cat"]
    for name in ("early_DNNClassifier", "early_DNNRegressor"):  # the score is global: the same everywhere
        assert out[name]["same_on_every_rank"] and len(out[name]["scores"]) == out[name]["n_iter"]
    iterations = out["early_DNNClassifier"]["n_iter"] + out["early_DNNRegressor"]["n_iter"]
    assert proc.stdout.count("Iteration ") == iterations  # verbose: rank 0 alone prints
    assert out["lbfgs"].startswith("DNNClassifier: solver='lbfgs' cannot train over MPI (comm=...)")
    assert out["n_features"].startswith(f"DNNClassifier: X has a different number of features on the {P} ranks")
    assert "(rank 0: 4; rank 1: 3" in out["n_features"] and "same feature columns" in out["n_features"]
    assert out["unknown_class"].startswith(f"rank {P - 1} of {P}: `y` has classes not in `self.classes_`")
    assert "partial_fit got different classes on the" in out["classes_differ"]
    assert "rank 0: ['ant', 'bee', 'cat']; rank 1: ['ant', 'bee']" in out["classes_differ"]
