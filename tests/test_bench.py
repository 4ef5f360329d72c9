"""Smoke test of the benchmark harness (bench/run.py) on its tiny --quick configuration.

Nothing here is timed: the test only checks that the harness runs end to end in subprocesses and
reports what it promises (positive seconds per epoch, throughput, the ratio columns, the Markdown
report). PyTorch is left out so the test behaves the same with or without it installed.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RUN = ROOT / "bench" / "run.py"

pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    """Run ``bench/run.py --quick`` once (vecprop, MLPClassifier, the GEMM floor; both dtypes); load its outputs."""
    tmp = tmp_path_factory.mktemp("bench")
    report, data = tmp / "BENCH.md", tmp / "bench.json"
    env = {**os.environ, "OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"}
    proc = subprocess.run(
        [
            sys.executable,
            str(RUN),
            "--quick",
            "--frameworks",
            "vecprop,sklearn,gemm-floor",
            "--no-accuracy",
            "-q",
            "--write",
            str(report),
            "--json",
            str(data),
        ],
        cwd=tmp,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc, report.read_text(encoding="utf-8"), json.loads(data.read_text(encoding="utf-8"))


def test_quick_reports_one_row_per_framework_and_dtype(quick):
    _, _, results = quick
    got = sorted((r["regime"], r["dtype"], r["framework"]) for r in results["rows"])
    assert got == [("tiny", d, f) for d in ("float32", "float64") for f in ("gemm-floor", "sklearn", "vecprop")]
    assert not [r for r in results["raw"] if "error" in r]
    for raw in results["raw"]:  # the guard against other jobs reports what it saw
        assert raw["background_cores"] is None or raw["background_cores"] >= 0
        assert 0 <= raw["retries"] <= results["guard"]["retries"]


def test_rows_have_positive_times_throughput_and_ratios(quick):
    _, _, results = quick
    m = results["regimes"]["tiny"]["m"]
    for row in results["rows"]:
        assert row["seconds_per_epoch"] > 0
        assert row["cpu_seconds_per_epoch"] > 0
        assert row["examples_per_second"] == pytest.approx(m / row["seconds_per_epoch"])
        assert row["gflops"] > 0 and row["maxrss_mb"] > 0
        assert row["vs_sklearn"] > 0 and math.isfinite(row["vs_sklearn"])
        assert row["vs_torch"] is None  # torch not asked for: no ratio, no crash
        assert row["best_vs_torch"] is None
    sk = next(r for r in results["rows"] if r["framework"] == "sklearn" and r["dtype"] == "float64")
    assert sk["vs_sklearn"] == pytest.approx(1.0)
    vp = next(r for r in results["rows"] if r["framework"] == "vecprop" and r["dtype"] == "float64")
    assert vp["vs_sklearn"] == pytest.approx(sk["seconds_per_epoch"] / vp["seconds_per_epoch"])
    assert vp["best_vs_sklearn"] == pytest.approx(sk["min"] / vp["min"])


def test_flops_follow_the_formula(quick):
    _, _, results = quick
    assert results["regimes"]["tiny"]["layer_dims"] == [20, 32, 32, 10]
    m = results["regimes"]["tiny"]["m"]
    expected = 6 * m * (20 * 32 + 32 * 32 + 32 * 10) - 2 * m * 32 * 20
    for raw in results["raw"]:
        assert raw["flops_per_epoch"] == expected


def test_workers_run_without_the_forced_openblas_settings(quick):
    _, _, results = quick
    assert results["stripped_env"] == {"OPENBLAS_CORETYPE": "Haswell", "OPENBLAS_L2_SIZE": "1048576"}
    env = results["info"]["env"]
    assert env["OPENBLAS_CORETYPE"] is None and env["OPENBLAS_L2_SIZE"] is None
    assert env["OPENBLAS_NUM_THREADS"] == str(results["threads"])
    assert results["gemm_gflops"]["float32"] > 0 and results["gemm_gflops"]["float64"] > 0


def test_markdown_report_has_the_ratio_table_and_the_machine(quick):
    proc, report, _ = quick
    assert "× MLPClassifier" in report and "× PyTorch" in report
    assert "| tiny | float64 | vecprop Network.fit |" in report
    assert "## Machine" in report and "GEMM peak" in report
    assert "vs_sklearn" in proc.stdout
    # the GEMMs-only floor: its own row, and the ceiling columns of the summary filled from it
    assert "| tiny | float32 | GEMMs only (floor) |" in report
    header = next(line for line in report.splitlines() if line.startswith("| regime | dtype | vecprop s/epoch"))
    summary = next(
        line for line in report.splitlines() if line.startswith("| tiny | float32 | ") and "ceiling" not in line
    )
    column = header.split("|").index(" ceiling × MLPClassifier ")
    assert "—" not in summary.split("|")[column], summary  # ceiling × MLPClassifier present
    assert "best runs" in report


def test_bad_option_is_rejected():
    proc = subprocess.run(
        [sys.executable, str(RUN), "--quick", "--dtypes", "float16"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2
    assert "float32, float64" in proc.stderr


def test_accuracy_worker_trains_the_documented_dnn_classifier_configuration():
    """The BENCHMARKS.md accuracy row for DNNClassifier uses ACCURACY_CONFIGS through dnn_accuracy_kwargs."""
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        import workers
    finally:
        sys.path.remove(str(ROOT / "bench"))
    cfg = {**workers.ACCURACY_CONFIGS["digits"], "epochs": 20}
    kwargs = workers.dnn_accuracy_kwargs(cfg)
    assert kwargs["hidden_layer_sizes"] == tuple(cfg["hidden"]) and kwargs["keep_prob"] == cfg["keep_prob"]
    assert kwargs["max_iter"] == 20 and kwargs["tol"] == 0.0 and kwargs["alpha"] == 0.0
    original = workers.ACCURACY_CONFIGS["digits"]
    workers.ACCURACY_CONFIGS["digits"] = cfg
    try:
        res = workers.accuracy({"task": "digits", "framework": "vecprop-dnn"})
    finally:
        workers.ACCURACY_CONFIGS["digits"] = original
    assert res["test_accuracy"] > 0.9 and res["train_accuracy"] > 0.9
    assert "keep_prob=0.9" in res["config"]["DNNClassifier"] and res["seconds"] > 0


def _bench_module(name):
    sys.path.insert(0, str(ROOT / "bench"))
    try:
        return __import__(name)
    finally:
        sys.path.remove(str(ROOT / "bench"))


def test_jax_peer_trains_exactly_what_vecprop_trains():
    """Same initial weights, warm-up and batches: the JAX step's final loss is vecprop's (float64)."""
    pytest.importorskip("jax")
    workers = _bench_module("workers")
    spec = {
        "kind": "train",
        "dtype": "float64",
        "threads": 1,
        "layer_dims": [6, 9, 4],
        "m": 70,
        "batch_size": 16,
        "epochs": 2,
        "learning_rate": 0.05,
    }
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); import workers; "
        "print(json.dumps(workers.train(json.loads(sys.argv[2]))))"
    )
    losses = {}
    for fw in ("vecprop", "jax"):  # separate processes: JAX's x64 flag is global
        proc = subprocess.run(
            [sys.executable, "-c", code, str(ROOT / "bench"), json.dumps({**spec, "framework": fw})],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        losses[fw] = json.loads(proc.stdout.splitlines()[-1])["final_loss"]
    assert losses["jax"] == pytest.approx(losses["vecprop"], rel=1e-10)
    assert workers.TRAINERS["jax"] is workers._train_jax


def test_scaling_sweeps_vary_one_quantity_and_plot_log_log(tmp_path):
    run = _bench_module("run")
    specs = run.scaling_specs("quick")
    base = run.SCALING["quick"]["base"]
    assert [(s, x) for s, x, _ in specs] == [
        ("m", 128),
        ("m", 256),
        ("width", 8),
        ("width", 16),
        ("depth", 1),
        ("depth", 2),
    ]
    depth2 = next(cfg for s, x, cfg in specs if s == "depth" and x == 2)
    assert depth2["layer_dims"] == [base["n_0"], base["width"], base["width"], 10] and depth2["epochs"] >= 1
    points = [
        {"sweep": s, "x": x, "framework": fw, "seconds_per_epoch": 0.001 * x * (2 if fw == "sklearn" else 1)}
        for s, x, _ in specs
        for fw in ("vecprop", "sklearn")
    ]
    lines = run.scaling_lines(points, "B_scaling.png")
    assert "![seconds per epoch against m, width and depth](B_scaling.png)" in lines
    assert "| 256 | 0.256 | 0.512 |" in lines
    workers = _bench_module("workers")
    png = tmp_path / "s.png"
    workers.plot_scaling({"points": points, "path": str(png), "labels": run.LABELS})
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
