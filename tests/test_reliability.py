"""Reliability: the memory guard, concurrent writers, crash-safe resume (kill -9) and a soak loop."""

import gc
import os
import signal
import subprocess
import sys
import textwrap
import time
import tracemalloc

import numpy as np
import pytest

import vecprop
from vecprop import Network
from vecprop.memory import MemoryLimitError, fit_bytes, memory_limit, parse_size, predict_chunk

VECPROP = [sys.executable, "-m", "vecprop"]


# ------------------------------------------------------------------------------------ memory guard
def test_parse_size_units_and_errors():
    assert parse_size("1048576") == 2**20
    assert parse_size("512K") == 512 * 2**10
    assert parse_size("64M") == parse_size("64MiB") == parse_size("64mb") == 64 * 2**20
    assert parse_size("1.5GiB") == 3 * 2**29
    for bad in ("", "lots", "-1G", "0", "1X"):
        with pytest.raises(ValueError, match="VECPROP_MAX_MEMORY"):
            parse_size(bad)


def test_user_limit_is_used_when_smaller(monkeypatch):
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "3M")
    assert memory_limit() == (3 * 2**20, "allowed by VECPROP_MAX_MEMORY=3M")


def test_network_too_large_for_memory_names_size_and_fix():
    with pytest.raises(MemoryLimitError) as info:
        Network([2, 200_000, 200_000, 1])
    message = str(info.value)
    assert isinstance(info.value, ValueError)
    assert "layer_dims [2, 200000, 200000, 1]" in message and "40,001,000,001 parameters" in message
    assert "596.1 GiB" in message and "float32" in message


def test_network_respects_user_limit(monkeypatch):
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "1M")
    Network([10, 1000, 1])  # 12,001 parameters: 192 KB
    with pytest.raises(MemoryLimitError, match=r"1\.0 MiB is allowed by VECPROP_MAX_MEMORY=1M"):
        Network([10, 10_000, 1])  # 120,001 parameters: 1.8 MiB


def test_fit_refuses_workspaces_before_allocating(monkeypatch):
    net = Network([4, 64, 64, 1], seed=0)
    X = np.random.default_rng(0).standard_normal((4, 4000))
    Y = (X[:1] > 0).astype(float)
    state, workspaces, data = fit_bytes(net.layer_dims, 4000, 4000, net.dtype)
    assert workspaces == 2 * (6 * 129 + 5) * 4000 * 8  # Z, A, dZ, dA, dropout for two batch sizes
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "2M")
    before = {k: v.copy() for k, v in net.params.items()}
    with pytest.raises(
        MemoryLimitError,
        match=r"training layer_dims \[4, 64, 64, 1\] with batches of 4000 .*"
        r"batch workspaces 47\.5 MiB.*smaller batch_size",
    ):
        net.fit(X, Y, epochs=1, verbose=0)
    assert net.training_state() is None and all(np.array_equal(before[k], net.params[k]) for k in before)
    net.fit(X, Y, epochs=1, batch_size=32, verbose=0)  # small batches fit in the same limit


def test_predict_in_chunks_equals_one_pass(monkeypatch):
    net = Network([3, 50, 20, 4], "relu", "categorical_cross_entropy", seed=0)
    X = np.random.default_rng(1).standard_normal((3, 5000))
    whole, labels = net.predict_output(X), net.predict(X)
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "1M")
    assert predict_chunk(net.layer_dims, 5000, net.dtype) == 2**18 // (2 * 74 * 8)  # a quarter of 1 MiB
    np.testing.assert_allclose(net.predict_output(X), whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(net.predict(X), labels)


def test_estimator_predicts_in_chunks_equal_to_one_pass(monkeypatch):
    pytest.importorskip("sklearn")
    from vecprop.estimators import DNNClassifier

    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((5000, 3)), rng.integers(0, 4, 5000)
    clf = DNNClassifier(hidden_layer_sizes=(50, 20), max_iter=2, random_state=0).fit(X[:200], y[:200])
    whole, labels = clf.predict_proba(X), clf.predict(X)
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "1M")
    assert predict_chunk(clf.network_.layer_dims, 5000, clf.network_.dtype) < 5000  # chunks now
    np.testing.assert_allclose(clf.predict_proba(X), whole, rtol=1e-12, atol=1e-15)
    np.testing.assert_array_equal(clf.predict(X), labels)


def test_estimator_too_large_is_a_value_error():
    pytest.importorskip("sklearn")
    from vecprop.estimators import DNNClassifier

    X = np.random.default_rng(0).standard_normal((20, 3))
    with pytest.raises(MemoryLimitError, match="GiB"):
        DNNClassifier(hidden_layer_sizes=(200_000, 200_000)).fit(X, np.arange(20) % 2)


def test_model_file_larger_than_the_limit_is_refused_before_reading(tmp_path, monkeypatch):
    pytest.importorskip("safetensors")
    path = tmp_path / "big.safetensors"
    Network([100, 1000, 1], seed=0).save(path)  # 0.8 MB
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "1M")
    with pytest.raises(vecprop.io.ModelFileError, match=r"loading the model file .* needs about 2\.3 MiB"):
        vecprop.load(path)


def test_data_files_larger_than_the_limit_are_refused_before_parsing(tmp_path, monkeypatch):
    from vecprop.datasets import DataFileError, load_data_file

    csv_path, npy_path = tmp_path / "big.csv", tmp_path / "big.npy"
    csv_path.write_text("a,b\n" + "0.5,1\n" * 40_000)  # 240 KB of text
    np.save(npy_path, np.zeros((40_000, 2)))  # 640 KB of float64
    monkeypatch.setenv("VECPROP_MAX_MEMORY", "1M")
    with pytest.raises(DataFileError, match=r"big\.csv: reading a 240004-byte text file needs about 1\.8 MiB"):
        load_data_file(csv_path)
    with pytest.raises(DataFileError, match=r"big\.npy: an array of shape \(40000, 2\) needs about 1\.2 MiB"):
        load_data_file(npy_path)


def test_cli_one_line_exit_2_for_a_network_too_large(tmp_path):
    result = subprocess.run(
        [*VECPROP, "train", "--hidden", "200000,200000", "--no-plots", "--out", str(tmp_path / "m.safetensors")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("vecprop: error: a network with layer_dims")
    assert "GiB" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "m.safetensors").exists()


# ------------------------------------------------------------------------------- concurrent writers
WRITER = textwrap.dedent("""
    import sys, numpy as np, vecprop
    path, k, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    net = vecprop.Network([3, 40, 40, 2], "tanh", "categorical_cross_entropy", seed=k)
    for _ in range(rounds):
        net.save(path)
""")
READER = textwrap.dedent("""
    import sys, time, numpy as np, vecprop
    path, seconds = sys.argv[1], float(sys.argv[2])
    expected = [vecprop.Network([3, 40, 40, 2], "tanh", "categorical_cross_entropy", seed=k).params
                for k in range(4)]
    loads, end = 0, time.time() + seconds
    while time.time() < end:
        net = vecprop.load(path)                           # any partial file raises ModelFileError
        assert any(all(np.array_equal(net.params[n], e[n]) for n in e) for e in expected), "mixed params"
        loads += 1
    print(loads)
""")


def test_concurrent_writers_leave_a_whole_file(tmp_path):
    pytest.importorskip("safetensors")
    path = tmp_path / "shared.safetensors"
    Network([3, 40, 40, 2], "tanh", "categorical_cross_entropy", seed=0).save(path)
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), str(k), "40"]) for k in range(4)]
    reader = subprocess.run(
        [sys.executable, "-c", READER, str(path), "1.5"], capture_output=True, text=True, timeout=120
    )
    assert [w.wait(timeout=120) for w in writers] == [0, 0, 0, 0]
    assert reader.returncode == 0, reader.stderr
    assert int(reader.stdout) > 0
    final = vecprop.load(path)
    assert final.layer_dims == [3, 40, 40, 2]
    assert sorted(os.listdir(tmp_path)) == ["shared.safetensors"]  # no temporary file left behind


# ------------------------------------------------------------------------------ crash-safe resume
def _classes_csv(path, m=1500, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((m, 4))
    y = (X[:, 0] + X[:, 1] ** 2 > 1).astype(int) + (X[:, 2] > 0.5)
    rows = [",".join(f"{v:.6f}" for v in x) + f",c{c}" for x, c in zip(X, y)]
    path.write_text("a,b,c,d,label\n" + "\n".join(rows) + "\n")


def _train(data, out, *extra):
    return [
        *VECPROP,
        "train",
        "--data",
        str(data),
        "--hidden",
        "16,16",
        "--epochs",
        "40",
        "--batch-size",
        "8",
        "--keep-prob",
        "0.9",
        "--l2",
        "0.001",
        "--no-plots",
        "--print-every",
        "0",
        "--out",
        str(out),
        *extra,
    ]


def _tensors(path):
    from safetensors.numpy import load_file

    return load_file(str(path))


def test_train_survives_kill_9_and_resumes_bit_for_bit(tmp_path):
    pytest.importorskip("safetensors")
    data = tmp_path / "d.csv"
    _classes_csv(data)
    full, ckpt = tmp_path / "full.safetensors", tmp_path / "runs" / "ckpt.safetensors"  # runs/ made by train
    subprocess.run(_train(data, full), check=True, capture_output=True, timeout=300)

    rng = np.random.default_rng(0)
    killed_at = []
    for _ in range(2):  # killed twice, at random moments after a checkpoint
        before = os.stat(ckpt).st_mtime_ns if ckpt.exists() else None
        proc = subprocess.Popen(
            _train(data, ckpt, "--checkpoint-every", "2", "--resume"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 120
        while (not ckpt.exists() or os.stat(ckpt).st_mtime_ns == before) and proc.poll() is None:
            assert time.time() < deadline
            time.sleep(0.002)
        time.sleep(rng.uniform(0, 0.02))
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        killed_at.append(int(vecprop.load_network(ckpt).training_state()[1]["epoch"]))
    assert killed_at[0] < 40 and killed_at[0] % 2 == 0 and killed_at[1] >= killed_at[0]

    result = subprocess.run(
        _train(data, ckpt, "--checkpoint-every", "2", "--resume"), capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr
    assert f"resuming after epoch {killed_at[1]}" in result.stdout or killed_at[1] == 40
    a, b = _tensors(full), _tensors(ckpt)
    assert sorted(a) == sorted(b) and any(k.startswith("state/") for k in a)
    for k in a:  # parameters and Adam moments, bit for bit
        assert np.array_equal(a[k], b[k]), k
    state_a, state_b = vecprop.load_network(full).training_state()[1], vecprop.load_network(ckpt).training_state()[1]
    assert state_a == state_b  # epoch, schedule, step count t, RNG stream


def test_resume_refuses_a_different_network(tmp_path):
    pytest.importorskip("safetensors")
    data = tmp_path / "d.csv"
    _classes_csv(data, m=60)
    out = tmp_path / "m.safetensors"
    subprocess.run(_train(data, out, "--epochs", "2"), check=True, capture_output=True, timeout=300)
    cmd = _train(data, out, "--resume")
    cmd[cmd.index("16,16")] = "8"
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.count("\n") == 1
    assert "--resume:" in result.stderr and "different network" in result.stderr


# ----------------------------------------------------------------------------------------- soak
def _open_fds():
    return len(os.listdir("/proc/self/fd"))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="counts file handles through /proc")
def test_soak_train_save_load_predict_no_growth_no_leak(tmp_path):
    pytest.importorskip("safetensors")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((5, 64))
    Y = (X[:1] * X[1:2] > 0).astype(float)
    path = tmp_path / "soak.safetensors"
    net = Network([5, 16, 1], "tanh", seed=0)
    tracemalloc.start()
    try:
        for round_ in range(300):
            net.fit(X, Y, epochs=1, batch_size=16, optimizer="adam", verbose=0)
            net.save(path)
            net = vecprop.load(path)
            assert net.predict(X).shape == (1, 64)
            if round_ == 99:  # after warm-up: caches, imports, free lists
                gc.collect()
                fds, (current, _) = _open_fds(), tracemalloc.get_traced_memory()
        gc.collect()
        grown = tracemalloc.get_traced_memory()[0] - current
    finally:
        tracemalloc.stop()
    assert _open_fds() == fds
    assert grown < 64 * 1024, f"memory grew by {grown} bytes over 200 rounds"
    assert net.training_state()[1]["epoch"] == 300
