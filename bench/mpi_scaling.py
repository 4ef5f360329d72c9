"""Data-parallel scaling over MPI: measured for P = 1, 2 here, projected to 8, 64 and 512 ranks.

Usage (from the repository root, on a quiet machine)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/mpi_scaling.py --write BENCHMARKS.md
    .venv/bin/python bench/mpi_scaling.py --quick          # the tiny regime, seconds; writes nothing

What it does (every measurement under ``mpiexec -n P``, one BLAS thread per rank):

1. **Allreduce** of float64 buffers from 1 element to the network's whole gradient buffer, P = 2:
   the median time per call, fitted by least squares to ``T(N) = α + β·N`` (N bytes).
2. **Strong scaling**: the regime's M examples and global batch B split over P ranks (local batch B/P).
   **Weak scaling**: M and B per rank (global M·P and B·P). Seconds per epoch (the slowest rank), and
   per step the allreduce time and bytes (``MPIReducer.seconds / calls``, ``nbytes / calls``).
3. **Projection** for P = 8, 64, 512 on 10 and 100 Gb/s networks: the step is compute then one
   allreduce (vecprop does not overlap them), ``T_step(P) = T_c(b) + T_ar(P, N)`` with Rabenseifner's
   allreduce (reduce-scatter + allgather, Thakur, Rabenseifner & Gropp 2005):
   ``T_ar = 2·log2(P)·α + 2·(P−1)/P·N/BW``; T_c(b) = c0 + c1·b is fitted to the compute time per step
   (step time less allreduce time) measured in one process at local batches B and B/8. The network's α and
   BW are stated assumptions (``NETWORKS``); this machine's α and β are reported beside them.
   Weak-scaling efficiency = T_step(1) / T_step(P); strong speedup = T_epoch(1) / T_epoch(P).

The Markdown section (with the plot ``bench/mpi_scaling.png``) replaces the text between
``<!-- mpi-scaling -->`` and ``<!-- /mpi-scaling -->`` in the ``--write`` file, or is appended.
Only the standard library is imported by the driver; the workers import NumPy, mpi4py and vecprop.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve()
RESULT = "MPI_BENCH "
STRIPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
REGIMES = {  # as bench/run.py: ReLU hidden layers, softmax output; m and batch are per rank for weak scaling
    "large": {"layer_dims": [784, 512, 512, 10], "m": 60000, "batch_size": 256, "epochs": 1},
    "small": {"layer_dims": [40, 100, 100, 10], "m": 4000, "batch_size": 100, "epochs": 10},
    "tiny": {"layer_dims": [20, 32, 32, 10], "m": 512, "batch_size": 64, "epochs": 2},
}
NETWORKS = {  # assumed per-message latency α (s) and link bandwidth (bytes/s) of a cluster network
    "10 Gb/s Ethernet (α = 30 µs)": (30e-6, 10e9 / 8),
    "100 Gb/s InfiniBand (α = 2 µs)": (2e-6, 100e9 / 8),
}
PROJECTED = (8, 64, 512)
MARK = ("<!-- mpi-scaling -->", "<!-- /mpi-scaling -->")


# ------------------------------------------------------------------------------------- the model
def allreduce_time(P: int, nbytes: float, alpha: float, bandwidth: float) -> float:
    """Rabenseifner's allreduce: 2·log2(P)·α + 2·(P−1)/P·N/BW seconds (0 for one rank)."""
    if P <= 1:
        return 0.0
    return 2 * math.log2(P) * alpha + 2 * (P - 1) / P * nbytes / bandwidth


def fit_line(xs, ys):
    """Least squares ``y = a + b·x``; returns (a, b)."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    return my - b * mx, b


def project(compute, nbytes: float, batch: int, networks=NETWORKS, ranks=PROJECTED) -> list:
    """Rows (network, P, weak step s, weak efficiency, strong step s, strong speedup) of the model.

    ``compute`` = (c0, c1): compute seconds per step for a local batch b is c0 + c1·b. Weak scaling
    keeps b = ``batch`` per rank; strong scaling splits a global ``batch`` (b = batch/P, at least 1).
    """
    c0, c1 = compute
    t1 = c0 + c1 * batch
    rows = []
    for name, (alpha, bw) in networks.items():
        for P in ranks:
            weak = t1 + allreduce_time(P, nbytes, alpha, bw)
            strong = c0 + c1 * max(batch / P, 1) + allreduce_time(P, nbytes, alpha, bw)
            rows.append(
                {
                    "network": name,
                    "P": P,
                    "weak_step": weak,
                    "weak_efficiency": t1 / weak,
                    "strong_step": strong,
                    "strong_speedup": t1 / strong,
                }
            )
    return rows


# ------------------------------------------------------------------------------------- workers
def worker(args) -> None:
    """Runs on every rank: an allreduce sweep, or one timed fit; rank 0 prints the JSON result."""
    import time

    import numpy as np
    from mpi4py import MPI

    from vecprop import Network, one_hot
    from vecprop.distributed import get_reducer

    reducer = get_reducer(MPI.COMM_WORLD)
    spec = REGIMES[args.regime]
    n_params = sum(n * p + n for p, n in zip(spec["layer_dims"][:-1], spec["layer_dims"][1:])) + 4
    if args.worker == "allreduce":
        sizes = sorted({1, 128, 8192, 65536, n_params})
        rows = []
        for n in sizes:
            buf = np.ones(n)
            reps = 50 if n < 100000 else 10
            for _ in range(3):
                reducer(buf)
            times = []
            for _ in range(reps):
                reducer.comm.Barrier()
                t0 = time.perf_counter()
                reducer(buf)
                times.append(time.perf_counter() - t0)
            times = reducer.allgather(sorted(times)[len(times) // 2])
            rows.append({"elements": n, "bytes": 8 * n, "seconds": max(times)})
        result = {"allreduce": rows}
    else:
        P, r = reducer.size, reducer.rank
        m = {"strong": spec["m"] // P, "weak": spec["m"], "calibrate": spec["m"] // 8}[args.worker]
        batch = {"strong": spec["batch_size"], "weak": spec["batch_size"] * P, "calibrate": spec["batch_size"] // 8}[
            args.worker
        ]
        rng = np.random.default_rng(1000 + r)
        n_0, n_L = spec["layer_dims"][0], spec["layer_dims"][-1]
        X = rng.standard_normal((m, n_0)).T  # (n_0, m), columns contiguous
        Y = one_hot(rng.integers(0, n_L, m), n_L)
        net = Network(spec["layer_dims"], "relu", "categorical_cross_entropy", seed=0)
        net.fit(
            X[:, : 4 * batch // P],
            Y[:, : 4 * batch // P],
            epochs=1,
            batch_size=batch,
            optimizer="gd",
            verbose=0,
            comm=reducer,
        )  # warm-up: 4 steps
        reducer.calls, reducer.seconds, reducer.nbytes = 0, 0.0, 0
        reducer.comm.Barrier()
        t0 = time.perf_counter()
        net.fit(
            X, Y, epochs=spec["epochs"], batch_size=batch, learning_rate=0.01, optimizer="gd", verbose=0, comm=reducer
        )
        seconds = reducer.allgather(time.perf_counter() - t0)
        ar = reducer.allgather(reducer.seconds / max(reducer.calls, 1))
        steps = reducer.calls
        result = {
            "mode": args.worker,
            "P": P,
            "epoch_seconds": max(seconds) / spec["epochs"],
            "steps_per_epoch": steps / spec["epochs"],
            "step_seconds": max(seconds) / steps,
            "allreduce_seconds": sum(ar) / P,
            "allreduce_bytes": reducer.nbytes / max(steps, 1),
            "local_batch": batch // P,
        }
    if reducer.is_root:
        print(RESULT + json.dumps(result), flush=True)


# ------------------------------------------------------------------------------------- driver
def _env():
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    env.update({k: "1" for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")})
    return env


def run(P: int, what: str, regime: str, timeout: float) -> dict:
    """``mpiexec -n P`` one worker; its JSON result."""
    mpiexec = shutil.which("mpiexec", path=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]))
    if mpiexec is None:
        raise SystemExit("mpiexec not found: pip install 'vecprop[mpi]'")
    cmd = [mpiexec, "-n", str(P), sys.executable, str(HERE), "--worker", what, "--regime", regime]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=_env())
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT)]
    if proc.returncode or not lines:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1][len(RESULT) :])


def measure(regime: str, timeout: float, say) -> dict:
    """Every measurement of one regime: the allreduce sweep at P = 2, strong and weak fits at P = 1, 2."""
    say(f"allreduce sweep, P = 2 ({regime})")
    sweep = run(2, "allreduce", regime, timeout)["allreduce"]
    fits = []
    for mode in ("strong", "weak"):
        for P in (1, 2):
            say(f"{mode} scaling, P = {P}")
            fits.append(run(P, mode, regime, timeout))
    say("compute calibration, P = 1, local batch B/8")
    calibration = run(1, "calibrate", regime, timeout)
    return {
        "regime": regime,
        "spec": REGIMES[regime],
        "allreduce": sweep,
        "fits": fits,
        "calibration": calibration,
        "blas": _blas(),
    }


def _blas() -> str:
    try:
        import numpy as np
        from threadpoolctl import threadpool_info

        np.ones(1)
        return (
            ", ".join(
                f"{i.get('internal_api')} {i.get('version')} ({i.get('architecture')})"
                for i in threadpool_info()
                if i.get("user_api") == "blas"
            )
            or "unknown"
        )
    except ImportError:
        return "unknown (threadpoolctl not installed)"


def analyse(results: dict) -> dict:
    """The fitted α, β, compute line and projection from the measurements."""
    sweep = results["allreduce"]
    alpha, beta = fit_line([r["bytes"] for r in sweep], [r["seconds"] for r in sweep])
    by = {(f["mode"], f["P"]): f for f in results["fits"]}
    # compute seconds per step (step less allreduce) against the local batch, in one process: b = B, B/8
    ones = [by[("weak", 1)], results["calibration"]]
    compute = fit_line([f["local_batch"] for f in ones], [f["step_seconds"] - f["allreduce_seconds"] for f in ones])
    nbytes = by[("weak", 2)]["allreduce_bytes"]
    return {
        "alpha": alpha,
        "beta": beta,
        "compute": compute,
        "nbytes": nbytes,
        "weak_efficiency_2": by[("weak", 1)]["step_seconds"] / by[("weak", 2)]["step_seconds"],
        "strong_speedup_2": by[("strong", 1)]["epoch_seconds"] / by[("strong", 2)]["epoch_seconds"],
        "projection": project(compute, nbytes, results["spec"]["batch_size"]),
    }


def report(results: dict, model: dict, plot: str | None) -> str:
    spec = results["spec"]
    lines = [
        MARK[0],
        f"## Data-parallel scaling over MPI ({results['regime']} regime)",
        "",
        f"`bench/mpi_scaling.py`: {spec['layer_dims']}, batch {spec['batch_size']} per rank (weak) or "
        f"global (strong), {spec['m']} examples per rank (weak) or in all (strong), plain SGD, float64, "
        f"one BLAS thread per rank ({results['blas']}), MPICH shared memory on this machine.",
        "",
        "| scaling | P | local batch | s / epoch | steps / epoch | allreduce ms / step | MB / step |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for f in results["fits"]:
        lines.append(
            f"| {f['mode']} | {f['P']} | {f['local_batch']} | {f['epoch_seconds']:.3f} | "
            f"{f['steps_per_epoch']:.0f} | {1e3 * f['allreduce_seconds']:.3f} | "
            f"{f['allreduce_bytes'] / 1e6:.2f} |"
        )
    lines += [
        "",
        f"**Weak-scaling efficiency at P = 2: {100 * model['weak_efficiency_2']:.1f} %** (time per step "
        f"at P = 1 / at P = 2); strong-scaling speedup at P = 2: {model['strong_speedup_2']:.2f}×.",
        "",
        f"Allreduce here (P = 2, fitted over {len(results['allreduce'])} sizes): α = "
        f"{1e6 * model['alpha']:.1f} µs, β = {1e9 * model['beta']:.3f} ns/byte "
        f"({1 / model['beta'] / 1e9 if model['beta'] > 0 else float('inf'):.2f} GB/s). Compute per step: "
        f"{1e3 * model['compute'][0]:.2f} ms + {1e6 * model['compute'][1]:.1f} µs per example.",
        "",
        "Projection (the model in the script's docstring; network α and bandwidth assumed):",
        "",
        "| network | P | weak: ms / step | weak efficiency | strong: ms / step | strong speedup |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for r in model["projection"]:
        lines.append(
            f"| {r['network']} | {r['P']} | {1e3 * r['weak_step']:.2f} | {100 * r['weak_efficiency']:.1f} % | "
            f"{1e3 * r['strong_step']:.2f} | {r['strong_speedup']:.1f}× |"
        )
    lines += [
        "",
        "Strong scaling with a global batch of "
        f"{spec['batch_size']} leaves under one example per rank beyond P = {spec['batch_size']}; the "
        "model then counts one example per rank (and the speedup only falls).",
    ]
    if plot:
        lines += ["", f"![weak-scaling efficiency and strong speedup]({plot})"]
    lines.append(MARK[1])
    return "\n".join(lines) + "\n"


def plot(results: dict, model: dict, path: Path) -> bool:
    """Weak efficiency and strong speedup against P (measured points, projected lines); False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    ranks = [1, 2, *PROJECTED]
    for name, net in NETWORKS.items():
        rows = project(model["compute"], model["nbytes"], results["spec"]["batch_size"], {name: net}, ranks)
        ax1.plot(ranks, [100 * r["weak_efficiency"] for r in rows], "o-", label=name)
        ax2.plot(ranks, [r["strong_speedup"] for r in rows], "o-", label=name)
    ax1.plot([2], [100 * model["weak_efficiency_2"]], "k*", markersize=12, label="measured here (P = 2)")
    ax2.plot([2], [model["strong_speedup_2"]], "k*", markersize=12, label="measured here (P = 2)")
    ax2.plot(ranks, ranks, ":", color="gray", label="ideal")
    for ax, title in ((ax1, "weak-scaling efficiency (%)"), (ax2, "strong-scaling speedup")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("ranks P")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7)
    ax2.set_yscale("log", base=2)
    fig.suptitle(f"vecprop data-parallel, {results['regime']} regime {results['spec']['layer_dims']}")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write_section(path: Path, section: str) -> None:
    """Replace the marked section of ``path`` (or append it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    if MARK[0] in text and MARK[1] in text:
        head, rest = text.split(MARK[0], 1)
        text = head + section.rstrip("\n") + rest.split(MARK[1], 1)[1]
    else:
        text = text.rstrip("\n") + ("\n\n" if text else "") + section
    path.write_text(text, encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--regime", choices=sorted(REGIMES), default=None, help="default large (--quick: tiny)")
    p.add_argument("--quick", action="store_true", help="the tiny regime; prints the section, writes nothing")
    p.add_argument("--write", metavar="PATH", help="put the Markdown section into PATH (e.g. BENCHMARKS.md)")
    p.add_argument("--json", metavar="PATH", help="also write the raw measurements and model as JSON")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per mpiexec run (default 1800)")
    p.add_argument("--worker", choices=("allreduce", "strong", "weak", "calibrate"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.regime = args.regime or ("tiny" if args.quick else "large")
    if args.worker:
        worker(args)
        return 0
    results = measure(args.regime, args.timeout, lambda msg: print(msg, file=sys.stderr, flush=True))
    model = analyse(results)
    png = None
    if args.write:
        target = Path(args.write)
        image = HERE.with_name("mpi_scaling.png")
        if plot(results, model, image):
            png = os.path.relpath(image, target.resolve().parent)
    section = report(results, model, png)
    if args.write:
        write_section(Path(args.write), section)
    if args.json:
        Path(args.json).write_text(json.dumps({"results": results, "model": model}, indent=1), encoding="utf-8")
    print(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
