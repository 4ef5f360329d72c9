"""Smoke test of bench/gpu.py on the CPU with the tiny regime (no GPU needed; nothing here is timed).

With PyTorch installed, vecprop-on-torch and PyTorch eager report positive seconds per epoch and a ratio;
without it (torch is not a test dependency) every framework is reported as skipped and the exit code is 1.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _gpu_module():
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location("bench_gpu", BENCH / "gpu.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(BENCH))
    return module


def test_gpu_bench_tiny_on_cpu(tmp_path):
    gpu = _gpu_module()
    out = tmp_path / "gpu.md"
    code = gpu.main(
        [
            "--device",
            "cpu",
            "--tiny",
            "-q",
            "--frameworks",
            "vecprop-torch,vecprop-cupy,torch-eager",
            "--write",
            str(out),
        ]
    )
    table = out.read_text(encoding="utf-8")
    assert table.count("| tiny | float32 |") == 3
    assert "vecprop-cupy | skipped: CuPy needs a CUDA device" in table
    try:
        import torch  # noqa: F401
    except ImportError:
        assert code == 1 and table.count("skipped: torch not installed") == 2
        return
    assert code == 0
    args = gpu.main.__globals__["argparse"].Namespace(
        regimes=["tiny"],
        dtypes=["float64"],
        frameworks=["vecprop-torch", "torch-eager"],
        device="cpu",
        epochs=1,
        repeats=1,
        peak_n=64,
        quiet=True,
    )
    rows = gpu.run(args)
    assert [r["framework"] for r in rows] == ["vecprop-torch", "torch-eager"]
    for r in rows:
        assert r["seconds_per_epoch"] > 0 and r["gflops"] > 0 and r["share_of_peak"] > 0
    assert rows[1]["vs_torch_eager"] == 1.0 and rows[0]["vs_torch_eager"] > 0
