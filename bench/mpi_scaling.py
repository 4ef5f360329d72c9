"""Data-parallel scaling over MPI: measured for P = 1, 2 here, projected to 8, 64 and 512 ranks.

Usage (from the repository root, on a quiet machine)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/mpi_scaling.py --write BENCHMARKS.md
    .venv/bin/python bench/mpi_scaling.py --quick          # the tiny regime, seconds; writes nothing

What it does (every measurement under ``mpiexec -n P``, one BLAS thread per rank), ``--repeat R`` times
(default 3), the runs interleaved — sweep, strong P = 1, strong P = 2, weak P = 1, weak P = 2,
calibration, then again — so that a slow spell of a shared machine falls on both P alike; every number
reported is the median over the R repetitions with its min–max spread:

1. **Allreduce** of float64 buffers from 1 element to the network's whole gradient buffer, P = 2:
   the median time per call, fitted by least squares to ``T(N) = α + β·N`` (N bytes).
2. **Strong scaling**: the regime's M examples and global batch B split over P ranks (local batch B/P).
   **Weak scaling**: M and B per rank (global M·P and B·P). Seconds per epoch (the slowest rank), and
   per step the allreduce time and bytes (``MPIReducer.seconds / calls``, ``nbytes / calls``).
   **Per-step breakdown**: every rank stamps the entry to and exit from each step's ``Allreduce``
   (``time.perf_counter``, one clock for every process of one machine); at step k the last rank to arrive
   sets the start, so rank r *waits for the slower rank* (last entry − its entry), then *allreduces* (its
   exit − last entry); *compute* is the rest of the step (forward, backward, update). Means per step over
   the steps and ranks. Efficiencies are taken within a repetition (P = 1 and P = 2 run back to back).
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
    from vecprop.distributed import MPIReducer

    class StampedReducer(MPIReducer):
        """The step's reduce, with the entry and exit time of every Allreduce (the per-step breakdown)."""

        def __init__(self, comm):
            super().__init__(comm)
            self.entries, self.exits = [], []

        def __call__(self, buf):
            self.entries.append(time.perf_counter())
            super().__call__(buf)
            self.exits.append(time.perf_counter())

    reducer = StampedReducer(MPI.COMM_WORLD)
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
        reducer.entries, reducer.exits = [], []
        reducer.comm.Barrier()
        t0 = time.perf_counter()
        net.fit(
            X, Y, epochs=spec["epochs"], batch_size=batch, learning_rate=0.01, optimizer="gd", verbose=0, comm=reducer
        )
        seconds = reducer.allgather(time.perf_counter() - t0)
        ar = reducer.allgather(reducer.seconds / max(reducer.calls, 1))
        steps = reducer.calls
        entries = np.array(reducer.allgather(reducer.entries))  # (P, steps): every rank's stamps
        exits = np.array(reducer.allgather(reducer.exits))
        last = entries.max(axis=0)  # (steps,) when the slowest rank arrived
        wait = float((last - entries).mean()) if steps else 0.0  # per step, mean over ranks
        transfer = float((exits - last).mean()) if steps else 0.0
        result = {
            "mode": args.worker,
            "P": P,
            "epoch_seconds": max(seconds) / spec["epochs"],
            "steps_per_epoch": steps / spec["epochs"],
            "step_seconds": max(seconds) / steps,
            "allreduce_seconds": sum(ar) / P,
            "allreduce_bytes": reducer.nbytes / max(steps, 1),
            "local_batch": batch // P,
            "wait_seconds": wait,  # per step: waiting in the Allreduce for the slower rank
            "transfer_seconds": transfer,  # per step: the Allreduce once every rank has arrived
            "compute_seconds": max(seconds) / steps - wait - transfer,  # per step: the rest
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


def measure(regime: str, timeout: float, say, repeat: int = 3) -> dict:
    """Every measurement of one regime, ``repeat`` times interleaved: the allreduce sweep at P = 2, strong
    and weak fits at P = 1 then 2, the compute calibration. Each fit's dict gets its ``repeat`` index."""
    sweeps, fits, calibrations = [], [], []
    for i in range(repeat):
        say(f"repetition {i + 1} of {repeat}: allreduce sweep, P = 2 ({regime})")
        sweeps.append(run(2, "allreduce", regime, timeout)["allreduce"])
        for mode in ("strong", "weak"):
            for P in (1, 2):
                say(f"repetition {i + 1} of {repeat}: {mode} scaling, P = {P}")
                fits.append({**run(P, mode, regime, timeout), "repeat": i})
        say(f"repetition {i + 1} of {repeat}: compute calibration, P = 1, local batch B/8")
        calibrations.append({**run(1, "calibrate", regime, timeout), "repeat": i})
    allreduce = [  # per size: the median over the repetitions, and its spread
        {**rows[0], **spread([r["seconds"] for r in rows])} for rows in zip(*sweeps)
    ]
    return {
        "regime": regime,
        "spec": REGIMES[regime],
        "repeat": repeat,
        "allreduce": allreduce,
        "allreduce_runs": sweeps,
        "fits": fits,
        "calibrations": calibrations,
        "blas": _blas(),
    }


def median(xs) -> float:
    """The median of a non-empty list (the mean of the middle two for an even count)."""
    xs = sorted(xs)
    n = len(xs)
    return xs[n // 2] if n % 2 else (xs[n // 2 - 1] + xs[n // 2]) / 2


def spread(xs) -> dict:
    """``{"seconds": median, "min": ..., "max": ...}`` — what every reported number carries."""
    return {"seconds": median(xs), "min": min(xs), "max": max(xs)}


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


KEYS = ("step_seconds", "epoch_seconds", "allreduce_seconds", "compute_seconds", "transfer_seconds", "wait_seconds")


def analyse(results: dict) -> dict:
    """The fitted α, β, compute line and projection, and the medians and spreads over the repetitions.

    ``runs[(mode, P)][key]`` is the spread (median, min, max) of each of :data:`KEYS`; the weak efficiency
    and strong speedup at P = 2 are computed within each repetition, then summarized the same way.
    """
    sweep = results["allreduce"]
    alpha, beta = fit_line([r["bytes"] for r in sweep], [r["seconds"] for r in sweep])
    groups = {}
    for f in results["fits"]:
        groups.setdefault((f["mode"], f["P"]), []).append(f)
    runs = {
        key: {k: spread([f[k] for f in fs]) for k in KEYS} | {"local_batch": fs[0]["local_batch"]}
        for key, fs in groups.items()
    }
    by = {(f["mode"], f["P"], f["repeat"]): f for f in results["fits"]}
    reps = sorted({f["repeat"] for f in results["fits"]})
    weak = [by[("weak", 1, i)]["step_seconds"] / by[("weak", 2, i)]["step_seconds"] for i in reps]
    strong = [by[("strong", 1, i)]["epoch_seconds"] / by[("strong", 2, i)]["epoch_seconds"] for i in reps]
    # compute seconds per step (step less allreduce) against the local batch, in one process: b = B, B/8
    full = median([by[("weak", 1, i)]["step_seconds"] - by[("weak", 1, i)]["allreduce_seconds"] for i in reps])
    calibration = results["calibrations"]
    eighth = median([c["step_seconds"] - c["allreduce_seconds"] for c in calibration])
    compute = fit_line([by[("weak", 1, reps[0])]["local_batch"], calibration[0]["local_batch"]], [full, eighth])
    nbytes = by[("weak", 2, reps[0])]["allreduce_bytes"]
    return {
        "alpha": alpha,
        "beta": beta,
        "compute": compute,
        "nbytes": nbytes,
        "runs": {f"{mode} {P}": v for (mode, P), v in runs.items()},
        "weak_efficiency_2": spread(weak),
        "strong_speedup_2": spread(strong),
        "projection": project(compute, nbytes, results["spec"]["batch_size"]),
    }


def _ms(s: dict) -> str:
    """A spread in milliseconds: ``median (min–max)``."""
    return f"{1e3 * s['seconds']:.2f} ({1e3 * s['min']:.2f}–{1e3 * s['max']:.2f})"


def report(results: dict, model: dict, plot: str | None) -> str:
    spec = results["spec"]
    R = results["repeat"]
    lines = [
        MARK[0],
        f"## Data-parallel scaling over MPI ({results['regime']} regime)",
        "",
        f"`bench/mpi_scaling.py --repeat {R}`: {spec['layer_dims']}, batch {spec['batch_size']} per rank (weak) "
        f"or global (strong), {spec['m']} examples per rank (weak) or in all (strong), plain SGD, float64, "
        f"one BLAS thread per rank ({results['blas']}), MPICH shared memory on this machine. {R} repetitions "
        "interleaved (P = 1, P = 2, P = 1, P = 2, …); each number is the median over them, the min–max in "
        "parentheses.",
        "",
        "| scaling | P | local batch | ms / step | s / epoch | steps / epoch | allreduce+wait ms / step | MB / step |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    first = {(f["mode"], f["P"]): f for f in results["fits"] if f["repeat"] == 0}
    for (mode, P), f in first.items():
        run_ = model["runs"][f"{mode} {P}"]
        lines.append(
            f"| {mode} | {P} | {f['local_batch']} | {_ms(run_['step_seconds'])} | "
            f"{run_['epoch_seconds']['seconds']:.3f} | {f['steps_per_epoch']:.0f} | "
            f"{_ms(run_['allreduce_seconds'])} | {f['allreduce_bytes'] / 1e6:.2f} |"
        )
    weak, strong = model["weak_efficiency_2"], model["strong_speedup_2"]
    lines += [
        "",
        f"**Weak-scaling efficiency at P = 2: {100 * weak['seconds']:.1f} %** ({100 * weak['min']:.1f}–"
        f"{100 * weak['max']:.1f} % over the repetitions; time per step at P = 1 / at P = 2, each repetition's "
        f"pair); strong-scaling speedup at P = 2: {strong['seconds']:.2f}× ({strong['min']:.2f}–"
        f"{strong['max']:.2f}×).",
        "",
        "Per step, where the time goes (ms, median over the repetitions; means over the steps and ranks of "
        "each run): *compute* is forward, backward and update; *allreduce* the `Allreduce` once both ranks "
        "have arrived; *wait* the time a rank spends in it waiting for the slower rank. vecprop does not "
        "overlap the allreduce with backpropagation: with one core per rank here, an overlapped reduction "
        "would run on the core that computes.",
        "",
        "| scaling | P | compute | allreduce | wait for the slower rank | step |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for mode, P in first:
        run_ = model["runs"][f"{mode} {P}"]
        lines.append(
            f"| {mode} | {P} | {_ms(run_['compute_seconds'])} | {_ms(run_['transfer_seconds'])} | "
            f"{_ms(run_['wait_seconds'])} | {_ms(run_['step_seconds'])} |"
        )
    lines += [
        "",
        f"Allreduce here (P = 2, fitted over {len(results['allreduce'])} sizes, medians): α = "
        f"{1e6 * model['alpha']:.1f} µs, β = {1e9 * model['beta']:.3f} ns/byte "
        f"({1 / model['beta'] / 1e9 if model['beta'] > 0 else float('inf'):.2f} GB/s). Compute per step: "
        f"{1e3 * model['compute'][0]:.2f} ms + {1e6 * model['compute'][1]:.1f} µs per example.",
        "",
        *_warm_and_cold(results, model),
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


def _warm_and_cold(results: dict, model: dict) -> list:
    """A line comparing the sweep's whole-buffer allreduce (the same buffer again and again: warm in cache)
    with the weak P = 2 run's allreduce per step (a buffer the step has just written past: colder)."""
    whole = max(results["allreduce"], key=lambda r: r["bytes"])
    step = model["runs"].get("weak 2", {}).get("transfer_seconds")
    if step is None:
        return []
    return [
        f"The sweep's allreduce of the whole {whole['bytes'] / 1e6:.2f} MB buffer, repeated on a buffer warm "
        f"in cache, takes {_ms(whole)} ms; inside training (weak, P = 2) the same allreduce takes "
        f"{_ms(step)} ms per step once both ranks have arrived.",
        "",
    ]


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
    for ax, s, scale in ((ax1, model["weak_efficiency_2"], 100), (ax2, model["strong_speedup_2"], 1)):
        ax.errorbar(
            [2],
            [scale * s["seconds"]],
            yerr=[[scale * (s["seconds"] - s["min"])], [scale * (s["max"] - s["seconds"])]],
            fmt="k*",
            markersize=12,
            capsize=4,
            label="measured here (P = 2, median and range)",
        )
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


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--regime", choices=sorted(REGIMES), default=None, help="default large (--quick: tiny)")
    p.add_argument("--quick", action="store_true", help="the tiny regime; prints the section, writes nothing")
    p.add_argument("--write", metavar="PATH", help="put the Markdown section into PATH (e.g. BENCHMARKS.md)")
    p.add_argument("--json", metavar="PATH", help="also write the raw measurements and model as JSON")
    p.add_argument("--timeout", type=float, default=1800, help="seconds per mpiexec run (default 1800)")
    p.add_argument(
        "--repeat", type=int, default=3, metavar="R", help="interleaved repetitions, medians reported (default 3)"
    )
    p.add_argument("--worker", choices=("allreduce", "strong", "weak", "calibrate"), help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    args.regime = args.regime or ("tiny" if args.quick else "large")
    if args.worker:
        worker(args)
        return 0
    if args.repeat < 1:
        p.error(f"--repeat must be at least 1, got {args.repeat}")
    results = measure(args.regime, args.timeout, _say, args.repeat)
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
