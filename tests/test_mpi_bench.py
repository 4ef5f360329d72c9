"""bench/mpi_scaling.py: the latency/bandwidth model by hand, and a --quick smoke run under mpiexec
(nothing timed is asserted: only that every number it promises is there and consistent)."""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "mpi_scaling.py"
spec = importlib.util.spec_from_file_location("mpi_scaling", SCRIPT)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_rabenseifner_allreduce_time_by_hand():
    assert bench.allreduce_time(1, 1e6, 1e-6, 1e9) == 0.0
    assert bench.allreduce_time(2, 1e6, 1e-6, 1e9) == pytest.approx(2 * 1e-6 + 1e-3)  # 2·1·α + 2·(1/2)·N/BW
    assert bench.allreduce_time(8, 8e6, 2e-6, 1e9) == pytest.approx(6 * 2e-6 + 2 * 7 / 8 * 8e-3)


def test_fit_line_and_projection():
    assert bench.fit_line([1, 2, 3], [3, 5, 7]) == pytest.approx((1, 2))
    rows = bench.project((1e-3, 1e-4), 4e6, 100, {"net": (1e-5, 1e9)}, (8, 64))
    t1 = 1e-3 + 1e-4 * 100
    ar8 = 2 * 3 * 1e-5 + 2 * 7 / 8 * 4e6 / 1e9
    assert rows[0]["weak_step"] == pytest.approx(t1 + ar8)
    assert rows[0]["weak_efficiency"] == pytest.approx(t1 / (t1 + ar8))
    assert rows[0]["strong_step"] == pytest.approx(1e-3 + 1e-4 * 100 / 8 + ar8)
    assert rows[1]["weak_efficiency"] < rows[0]["weak_efficiency"]  # more ranks, more latency
    assert rows[1]["strong_step"] == pytest.approx(1e-3 + 1e-4 * 100 / 64 + 2 * 6 * 1e-5 + 2 * 63 / 64 * 4e-3)


def test_write_section_replaces_only_its_marked_part(tmp_path):
    path = tmp_path / "B.md"
    path.write_text("# Bench\n\nother text\n")
    bench.write_section(path, f"{bench.MARK[0]}\nfirst\n{bench.MARK[1]}\n")
    bench.write_section(path, f"{bench.MARK[0]}\nsecond\n{bench.MARK[1]}\n")
    text = path.read_text()
    assert text.startswith("# Bench\n\nother text\n") and "second" in text and "first" not in text
    assert text.count(bench.MARK[0]) == 1


def test_quick_run_reports_scaling_and_projection(tmp_path):
    pytest.importorskip("mpi4py")
    if shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]])) is None:
        pytest.skip("no mpiexec")
    proc = subprocess.run(
        [
            sys.executable,
            str(SCRIPT),
            "--quick",
            "--repeat",
            "2",
            "--json",
            str(tmp_path / "r.json"),
            "--timeout",
            "120",
        ],
        capture_output=True,
        text=True,
        timeout=400,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    import json

    data = json.loads((tmp_path / "r.json").read_text())
    fits = {(f["mode"], f["P"]): f for f in data["results"]["fits"]}
    assert set(fits) == {("strong", 1), ("strong", 2), ("weak", 1), ("weak", 2)}
    n_params = 20 * 32 + 32 + 32 * 32 + 32 + 32 * 10 + 10
    assert fits[("weak", 2)]["allreduce_bytes"] == 8 * (n_params + 4)  # one float64 buffer per step
    assert fits[("weak", 1)]["steps_per_epoch"] == fits[("weak", 2)]["steps_per_epoch"] == 8
    assert fits[("strong", 2)]["local_batch"] == 32 and fits[("strong", 2)]["steps_per_epoch"] == 8
    assert all(f["epoch_seconds"] > 0 for f in fits.values())
    assert len(data["model"]["projection"]) == 6 and all(
        0 < r["weak_efficiency"] <= 1 and math.isfinite(r["strong_speedup"]) for r in data["model"]["projection"]
    )
    assert "Weak-scaling efficiency at P = 2" in proc.stdout
    assert "| 100 Gb/s InfiniBand (α = 2 µs) | 512 |" in proc.stdout
    # --repeat 2: every run twice, interleaved (P = 1, P = 2, P = 1, P = 2), summarized as median and range
    order = [(f["repeat"], f["mode"], f["P"]) for f in data["results"]["fits"]]
    assert order == [(i, mode, P) for i in (0, 1) for mode in ("strong", "weak") for P in (1, 2)]
    assert len(data["results"]["calibrations"]) == 2 and len(data["results"]["allreduce_runs"]) == 2
    for f in data["results"]["fits"]:  # every part of the step is a time within it; a rank alone never waits
        assert 0 < f["compute_seconds"] <= f["step_seconds"]
        assert f["transfer_seconds"] >= 0 and f["wait_seconds"] >= 0
        assert f["P"] == 2 or f["wait_seconds"] == 0
    for summary in (data["model"]["weak_efficiency_2"], data["model"]["strong_speedup_2"]):
        assert summary["min"] <= summary["seconds"] <= summary["max"]
    runs = data["model"]["runs"]
    assert set(runs) == {"strong 1", "strong 2", "weak 1", "weak 2"}
    steps = [f["step_seconds"] for f in data["results"]["fits"] if (f["mode"], f["P"]) == ("weak", 2)]
    assert runs["weak 2"]["step_seconds"] == {"seconds": sum(steps) / 2, "min": min(steps), "max": max(steps)}
    assert "2 repetitions interleaved" in proc.stdout
    assert "| scaling | P | compute | allreduce | wait for the slower rank | step |" in proc.stdout
    assert sum(line.startswith(("| strong |", "| weak |")) for line in proc.stdout.splitlines()) == 8


def test_median_and_spread_by_hand():
    assert bench.median([3.0, 1.0, 2.0]) == 2.0 and bench.median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert bench.spread([0.3, 0.1, 0.2]) == {"seconds": 0.2, "min": 0.1, "max": 0.3}
    assert bench._ms({"seconds": 0.0196, "min": 0.019, "max": 0.0201}) == "19.60 (19.00–20.10)"


def test_repeat_must_be_positive(capsys):
    with pytest.raises(SystemExit) as exc:
        bench.main(["--repeat", "0"])
    assert exc.value.code == 2 and "--repeat must be at least 1, got 0" in capsys.readouterr().err


def _fit(mode, P, repeat, step, allreduce, wait):
    """One fabricated worker result: 10 steps per epoch of ``step`` seconds."""
    transfer = allreduce - wait
    return {
        "mode": mode,
        "P": P,
        "repeat": repeat,
        "epoch_seconds": 10 * step,
        "steps_per_epoch": 10,
        "step_seconds": step,
        "allreduce_seconds": allreduce,
        "allreduce_bytes": 8000.0,
        "local_batch": 64 if mode == "weak" or P == 1 else 32,
        "wait_seconds": wait,
        "transfer_seconds": transfer,
        "compute_seconds": step - allreduce,
    }


def test_analyse_takes_efficiencies_within_each_repetition_and_reports_medians():
    steps = {("weak", 1): [0.020, 0.030, 0.022], ("weak", 2): [0.025, 0.030, 0.020]}
    steps |= {("strong", 1): [0.020, 0.020, 0.020], ("strong", 2): [0.010, 0.016, 0.012]}
    fits = [
        _fit(mode, P, i, steps[(mode, P)][i], 0.002 * (P - 1) + 1e-5, 0.0005 * (P - 1))
        for i in range(3)
        for mode in ("strong", "weak")
        for P in (1, 2)
    ]
    calibrations = [{**_fit("calibrate", 1, i, 0.004, 1e-5, 0.0), "local_batch": 8} for i in range(3)]
    sweep = [{"elements": n, "bytes": 8 * n, **bench.spread([1e-5 + 1e-9 * 8 * n] * 3)} for n in (1, 1000)]
    results = {
        "regime": "tiny",
        "spec": bench.REGIMES["tiny"],
        "repeat": 3,
        "allreduce": sweep,
        "allreduce_runs": [sweep] * 3,
        "fits": fits,
        "calibrations": calibrations,
        "blas": "test",
    }
    model = bench.analyse(results)
    weak = [0.020 / 0.025, 0.030 / 0.030, 0.022 / 0.020]  # each repetition's own pair, not medians' ratio
    assert model["weak_efficiency_2"] == pytest.approx({"seconds": 1.0, "min": 0.8, "max": 1.1})
    assert model["weak_efficiency_2"]["seconds"] == pytest.approx(sorted(weak)[1])
    assert model["strong_speedup_2"] == pytest.approx({"seconds": 0.020 / 0.012, "min": 1.25, "max": 2.0})
    assert model["runs"]["weak 2"]["step_seconds"] == pytest.approx({"seconds": 0.025, "min": 0.020, "max": 0.030})
    assert model["runs"]["weak 2"]["wait_seconds"]["seconds"] == pytest.approx(0.0005)
    text = bench.report(results, model, None)
    assert "**Weak-scaling efficiency at P = 2: 100.0 %** (80.0–110.0 % over the repetitions" in text
    assert "| weak | 2 | 64 | 25.00 (20.00–30.00) |" in text
    assert "| weak | 2 | 22.99 (17.99–27.99) | 1.51 (1.51–1.51) | 0.50 (0.50–0.50) | 25.00 (20.00–30.00) |" in text
    assert "whole 0.01 MB buffer, repeated on a buffer warm in cache, takes 0.02 (0.02–0.02) ms" in text
    assert "the same allreduce takes 1.51 (1.51–1.51) ms per step" in text
