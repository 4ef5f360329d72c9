"""Benchmark harness: vecprop beside scikit-learn's MLPClassifier and PyTorch on identical work.

Usage (from the repository root)::

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/run.py --write BENCHMARKS.md
    .venv/bin/python bench/run.py --quick                       # a tiny configuration, seconds

Every measurement runs in a fresh subprocess (bench/workers.py), and the frameworks take turns
(A B C A B C ...) so that a slow spell of a shared machine hits all of them alike; the table shows
medians of the repetitions. OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the
subprocesses' environment (forcing them slows NumPy's GEMM), and all frameworks get the same
thread count (OpenBLAS/OpenMP/MKL variables and torch.set_num_threads).

Only the standard library is imported here; NumPy, scikit-learn and PyTorch live in the workers.
:func:`main` is what ``vecprop bench`` calls.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as _dt
import json
import os
import platform
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WORKER = Path(__file__).resolve().with_name("workers.py")
RESULT_PREFIX = "BENCH_RESULT "
STRIPPED_ENV = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

# Work per regime: layer_dims [n_0, ..., n_L] (ReLU hidden layers, softmax output, cross-entropy),
# m examples, mini-batch size, epochs timed per measurement, SGD learning rate.
REGIMES = {
    "small": {"layer_dims": [40, 100, 100, 10], "m": 4000, "batch_size": 100, "epochs": 10, "learning_rate": 0.01},
    "large": {"layer_dims": [784, 512, 512, 10], "m": 60000, "batch_size": 256, "epochs": 1, "learning_rate": 0.01},
    # --quick: seconds in all, for the smoke test and for trying the harness out
    "tiny": {"layer_dims": [20, 32, 32, 10], "m": 512, "batch_size": 64, "epochs": 2, "learning_rate": 0.01},
}
FRAMEWORKS = ("vecprop", "vecprop-numpy", "vecprop-dnn", "sklearn", "torch", "jax", "gemm-floor")
ACCURACY_FRAMEWORKS = ("vecprop", "vecprop-dnn", "sklearn", "torch")
# full-batch L-BFGS on digits: DNNClassifier(solver="lbfgs") beside MLPClassifier(solver="lbfgs"), same parameters
LBFGS_FRAMEWORKS = ("vecprop-lbfgs", "sklearn-lbfgs")
LABELS = {
    "vecprop": "vecprop Network.fit",
    "vecprop-numpy": "vecprop Network.fit, numpy engine",
    "vecprop-dnn": "vecprop DNNClassifier",
    "sklearn": "sklearn MLPClassifier",
    "torch": "PyTorch",
    "jax": "JAX (jit step)",
    "gemm-floor": "GEMMs only (floor)",
    "vecprop-lbfgs": "vecprop DNNClassifier(lbfgs)",
    "sklearn-lbfgs": "sklearn MLPClassifier(lbfgs)",
}
PEERS = ("sklearn", "torch", "jax")
PEER_LABELS = {"sklearn": "MLPClassifier", "torch": "PyTorch", "jax": "JAX"}  # summary column titles
GEMM_N = {"full": 2048, "quick": 256}
# How cost grows with the work (--scaling): one quantity varied per sweep, the rest as in "base";
# ReLU hidden layers, softmax output, float32, enough epochs for about SCALING_FLOPS of training each.
SCALING = {
    "full": {
        "base": {"n_0": 40, "width": 256, "depth": 2, "m": 8000, "batch_size": 128},
        "m": [1000, 4000, 16000, 64000],
        "width": [32, 128, 512, 2048],
        "depth": [1, 2, 4, 8],
    },
    "quick": {
        "base": {"n_0": 8, "width": 16, "depth": 1, "m": 256, "batch_size": 64},
        "m": [128, 256],
        "width": [8, 16],
        "depth": [1, 2],
    },
}
SCALING_FLOPS = {"full": 4e9, "quick": 1e6}


def scaling_specs(size: str) -> list:
    """(sweep, x, training spec) for every point of the scaling sweeps."""
    cfg = SCALING[size]
    out = []
    for sweep in ("m", "width", "depth"):
        for x in cfg[sweep]:
            p = {**cfg["base"], sweep: x}
            dims = [p["n_0"], *[p["width"]] * p["depth"], 10]
            flops = 6.0 * p["m"] * sum(a * b for a, b in zip(dims[:-1], dims[1:]))
            epochs = max(1, round(SCALING_FLOPS[size] / flops))
            out.append(
                (
                    sweep,
                    x,
                    {
                        "layer_dims": dims,
                        "m": p["m"],
                        "batch_size": p["batch_size"],
                        "epochs": epochs,
                        "learning_rate": 0.01,
                    },
                )
            )
    return out


def run_scaling(size: str, frameworks, threads: int, repeats: int, quiet: bool, guard: dict) -> list:
    """Seconds per epoch of every framework at every point of the sweeps (float32, medians of ``repeats``)."""
    env = worker_env(threads)
    points = []
    for sweep, x, cfg in scaling_specs(size):
        for fw in frameworks:
            runs = []
            for _ in range(repeats):
                res = measure(
                    {"kind": "train", "framework": fw, "dtype": "float32", "threads": threads, **cfg}, env, **guard
                )
                if "error" in res:
                    _say(f"  scaling {sweep}={x} {fw}: ERROR {res['error']}", quiet)
                    break
                runs.append(res["seconds_per_epoch"])
            if runs:
                points.append(
                    {
                        "sweep": sweep,
                        "x": x,
                        "framework": fw,
                        "seconds_per_epoch": statistics.median(runs),
                        "layer_dims": cfg["layer_dims"],
                        "m": cfg["m"],
                        "batch_size": cfg["batch_size"],
                    }
                )
                _say(f"  scaling {sweep}={x} {fw}: {points[-1]['seconds_per_epoch']:.4g} s/epoch", quiet)
    return points


def scaling_lines(points: list, png: str | None) -> list:
    """The report's scaling section: the PNG and one table per sweep (seconds per epoch)."""
    base = SCALING["full"]["base"]
    lines = [
        "## How cost grows with the work",
        "",
        f"Seconds per epoch (float32, plain SGD, log-log) as one quantity grows and the rest stay at m = "
        f"{base['m']}, {base['depth']} hidden layers of {base['width']} ReLU units, {base['n_0']} inputs, "
        f"10 classes, batch {base['batch_size']} (the --quick sweep is smaller). Slope 1 in m is linear cost; "
        "in width, slope 2 is the GEMMs' n² and slope 1 the per-unit work; in depth, slope 1.",
        "",
    ]
    if png:
        lines += [f"![seconds per epoch against m, width and depth]({png})", ""]
    fws = [f for f in FRAMEWORKS if any(p["framework"] == f for p in points)]
    for sweep in ("m", "width", "depth"):
        xs = sorted({p["x"] for p in points if p["sweep"] == sweep})
        if not xs:
            continue
        lines += [f"| {sweep} | " + " | ".join(LABELS[f] for f in fws) + " |", "|---:|" + "---:|" * len(fws)]
        for x in xs:
            cell = {p["framework"]: p["seconds_per_epoch"] for p in points if p["sweep"] == sweep and p["x"] == x}
            lines.append(f"| {x} | " + " | ".join(_f(cell.get(f), ".4g") for f in fws) + " |")
        lines.append("")
    return lines


# ------------------------------------------------------------------------------------------------ running
def worker_env(threads: int) -> dict:
    """The subprocesses' environment: OPENBLAS_CORETYPE/L2_SIZE removed, thread counts pinned."""
    env = {k: v for k, v in os.environ.items() if k not in STRIPPED_ENV}
    for k in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
        env[k] = str(threads)
    return env


def _cpu_busy():
    """(busy, total) CPU seconds of the whole machine from /proc/stat, or None where there is none."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = [int(x) for x in fh.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    tick = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    total = sum(fields[:8])  # guest time is already in user
    return (total - idle) / tick, total / tick


def background_load(seconds: float = 0.5):
    """Cores kept busy by other processes over the next ``seconds`` (this process sleeps meanwhile)."""
    a = _cpu_busy()
    if a is None:
        return None
    time.sleep(seconds)
    b = _cpu_busy()
    return (b[0] - a[0]) / seconds


def settle(max_background: float, max_wait: float) -> float | None:
    """Wait (up to max_wait seconds) until other processes use fewer than max_background cores."""
    deadline = time.monotonic() + max_wait
    load = background_load()
    while load is not None and load > max_background and time.monotonic() < deadline:
        time.sleep(1.0)
        load = background_load()
    return load


def measure(spec: dict, env: dict, max_background: float, max_wait: float, retries: int) -> dict:
    """run_worker, guarded against other jobs on the machine.

    Before the run it waits (``settle``) for the machine to be quiet; during the run it measures the
    CPU time of everything else (machine busy time less this child's): the ``background`` cores. A
    measurement taken beside more than ``max_background`` busy cores is repeated, up to ``retries``
    times; the last one is kept either way, with its background load and the number of retries.
    """
    for attempt in range(retries + 1):
        before_load = settle(max_background, max_wait)
        busy0, child0, t0 = _cpu_busy(), _children_cpu(), time.perf_counter()
        res = run_worker(spec, env)
        busy1, child1, wall = _cpu_busy(), _children_cpu(), time.perf_counter() - t0
        bg = None
        if busy0 is not None and busy1 is not None:
            bg = max(0.0, ((busy1[0] - busy0[0]) - (child1 - child0)) / wall)
        res.update(background_cores=bg, background_before=before_load, retries=attempt)
        if bg is None or bg <= max_background or "error" in res:
            break
    return res


def _children_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_worker(spec: dict, env: dict, timeout: float | None = None) -> dict:
    """Run one measurement in a fresh interpreter; return its result dict (``error`` on failure)."""
    proc = subprocess.run(
        [sys.executable, str(WORKER), json.dumps(spec)], env=env, capture_output=True, text=True, timeout=timeout
    )
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
    return {"error": f"exit {proc.returncode}: " + " | ".join(tail)}


def _command() -> str:
    """The command line as run, with the interpreter relative to the working directory when inside it."""
    exe = sys.executable
    with contextlib.suppress(ValueError):  # another drive (Windows): keep the absolute path
        exe = os.path.relpath(exe) if not os.path.relpath(exe).startswith("..") else exe
    args = (
        [exe, *sys.argv] if sys.argv and sys.argv[0].endswith(".py") else [exe, "-m", "vecprop", "bench", *sys.argv[1:]]
    )
    return "env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE " + " ".join(shlex.quote(a) for a in args)


def git_revision() -> str:
    """The repository's commit, and whether src/ differs from it (the vecprop that was measured)."""
    root = Path(__file__).resolve().parents[1]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "src"], cwd=root, capture_output=True, text=True, timeout=10
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (rev or "unknown") + (" with uncommitted changes in src/" if dirty else "")


def _loadavg() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "n/a"


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _say(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def run_bench(
    regimes,
    dtypes,
    repeats: int,
    frameworks,
    threads: int,
    gemm_n: int,
    accuracy: bool,
    quiet: bool = False,
    max_background: float = 0.5,
    max_wait: float = 30.0,
    retries: int = 2,
) -> dict:
    """Measure everything; returns a JSON-able dict (summary rows, raw measurements, machine info)."""
    env = worker_env(threads)
    t_start = time.perf_counter()
    results = {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "command": _command(),
        "threads": threads,
        "gemm_n": gemm_n,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "loadavg_start": _loadavg(),
        "revision": git_revision(),
        "stripped_env": {k: os.environ.get(k) for k in STRIPPED_ENV},
        "regimes": {r: REGIMES[r] for r in regimes},
        "repeats": repeats,
        "guard": {"max_background": max_background, "max_wait": max_wait, "retries": retries},
    }
    guard = dict(max_background=max_background, max_wait=max_wait, retries=retries)
    results["info"] = run_worker({"kind": "info", "threads": threads, "frameworks": list(frameworks)}, env)
    info = results["info"]
    avail = {
        "vecprop": info.get("vecprop") is not None,
        "sklearn": info.get("sklearn") is not None,
        "vecprop-dnn": bool(info.get("dnn_classifier")),
        "torch": info.get("torch") is not None,
        "jax": info.get("jax") is not None,
        "vecprop-numpy": info.get("vecprop") is not None,
        "gemm-floor": info.get("vecprop") is not None,
    }
    frameworks = [f for f in frameworks if avail.get(f)]
    results["frameworks"] = frameworks
    results["skipped"] = sorted(set(FRAMEWORKS) - set(frameworks))
    _say(f"frameworks: {', '.join(frameworks)}; skipped: {', '.join(results['skipped']) or 'none'}", quiet)
    for lib in results["info"].get("blas", []):
        _say(
            f"  {lib['internal_api']} {lib.get('version')} kernel={lib.get('architecture')} "
            f"threads={lib.get('num_threads')} ({Path(lib.get('filepath') or '').name})",
            quiet,
        )

    gemm = {d: [] for d in dtypes}
    raw = []
    for rep in range(repeats):
        for d in dtypes:
            g = measure({"kind": "gemm", "n": gemm_n, "dtype": d, "repeats": 4}, env, **guard)
            if "gflops" in g:
                gemm[d].append(g["gflops"])
            _say(f"[rep {rep + 1}/{repeats}] GEMM {gemm_n}^2 {d}: {g.get('gflops', float('nan')):.1f} GFLOP/s", quiet)
        for r in regimes:
            for d in dtypes:
                for fw in frameworks:  # interleaved: A B C, A B C, ...
                    spec = {
                        "kind": "train",
                        "framework": fw,
                        "dtype": d,
                        "threads": threads,
                        "tracemalloc": r != "large",
                        **REGIMES[r],
                    }
                    res = measure(spec, env, **guard)
                    res.update(regime=r, dtype=d, framework=fw, rep=rep)
                    raw.append(res)
                    if "error" in res:
                        _say(f"  {r} {d} {fw}: ERROR {res['error']}", quiet)
                    else:
                        bg = res.get("background_cores")
                        _say(
                            f"  {r} {d} {fw}: {res['seconds_per_epoch']:.4f} s/epoch"
                            + (f"  (other jobs: {bg:.2f} cores, {res['retries']} retries)" if bg is not None else ""),
                            quiet,
                        )
    results["gemm_gflops"] = {d: (max(v) if v else None) for d, v in gemm.items()}
    results["gemm_all"] = gemm
    results["raw"] = raw
    results["rows"] = summarize(raw, regimes, dtypes, frameworks, results["gemm_gflops"])
    if accuracy:
        results["accuracy"] = run_accuracy(frameworks, threads, env, quiet, repeats)
    results["loadavg_end"] = _loadavg()
    results["wall_seconds"] = time.perf_counter() - t_start
    return results


def summarize(raw, regimes, dtypes, frameworks, peaks) -> list:
    """One row per (regime, dtype, framework): medians over repetitions, and vecprop's speedups."""
    rows = []
    for r in regimes:
        cfg = REGIMES[r]
        for d in dtypes:
            med = {}
            for fw in frameworks:
                ok = [
                    x for x in raw if x["regime"] == r and x["dtype"] == d and x["framework"] == fw and "error" not in x
                ]
                if not ok:
                    continue
                spe = [x["seconds_per_epoch"] for x in ok]
                s = statistics.median(spe)
                cpu = statistics.median(x["cpu_seconds_per_epoch"] for x in ok)
                flops = ok[0]["flops_per_epoch"]
                traced = [x["traced_peak_mb"] for x in ok if x.get("traced_peak_mb") is not None]
                bgs = [x["background_cores"] for x in ok if x.get("background_cores") is not None]
                row = {
                    "regime": r,
                    "dtype": d,
                    "framework": fw,
                    "n": len(ok),
                    "seconds_per_epoch": s,
                    "min": min(spe),
                    "max": max(spe),
                    "cpu_seconds_per_epoch": cpu,
                    "examples_per_second": cfg["m"] / s,
                    "gflops": flops / s / 1e9,
                    "peak_share": (flops / s / 1e9 / peaks[d]) if peaks.get(d) else None,
                    "maxrss_mb": statistics.median(x["maxrss_mb"] for x in ok),
                    "train_rss_mb": statistics.median(x["maxrss_mb"] - x["rss_before_mb"] for x in ok),
                    "traced_peak_mb": statistics.median(traced) if traced else None,
                    "background_max": max(bgs) if bgs else None,
                    "retries": sum(x.get("retries", 0) for x in ok),
                    "final_loss": statistics.median(x["final_loss"] for x in ok if x.get("final_loss") is not None)
                    if any(x.get("final_loss") is not None for x in ok)
                    else None,
                }
                med[fw] = (s, cpu, min(spe))
                rows.append(row)
            for row in rows:
                if row["regime"] == r and row["dtype"] == d:
                    for peer in PEERS:
                        # speedup of this row over the peer: > 1 means this row is faster
                        row[f"vs_{peer}"] = (med[peer][0] / row["seconds_per_epoch"]) if peer in med else None
                        row[f"cpu_vs_{peer}"] = (med[peer][1] / row["cpu_seconds_per_epoch"]) if peer in med else None
                        # best run against best run: each process's fast mode, steadier on a noisy machine
                        row[f"best_vs_{peer}"] = (med[peer][2] / row["min"]) if peer in med else None
    return rows


def run_accuracy(frameworks, threads: int, env: dict, quiet: bool, repeats: int = 1) -> dict:
    """MNIST-1D (generated offline) and digits: test accuracy and training time per framework; the L-BFGS
    pair on digits (:func:`run_lbfgs`) ``repeats`` times interleaved."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="vecprop-bench-") as tmp:
        path = str(Path(tmp) / "mnist1d.npz")
        made = run_worker({"kind": "data", "path": path}, env)
        tasks = []
        if "error" in made:
            out["mnist1d_error"] = made["error"]
            _say(f"MNIST-1D unavailable: {made['error']}", quiet)
        else:
            out["mnist1d_data"] = made
            tasks.append("mnist1d")
        tasks.append("digits")
        for task in tasks:
            out[task] = {}
            for fw in ACCURACY_FRAMEWORKS:
                if fw not in frameworks:
                    continue
                res = run_worker(
                    {"kind": "accuracy", "task": task, "framework": fw, "path": path, "threads": threads}, env
                )
                out[task][fw] = res
                if "error" in res:
                    _say(f"accuracy {task} {fw}: ERROR {res['error']}", quiet)
                else:
                    _say(f"accuracy {task} {fw}: test {res['test_accuracy']:.4f} in {res['seconds']:.1f} s", quiet)
        if task == "digits" and {"vecprop-dnn", "sklearn"} <= set(frameworks):
            out[task].update(run_lbfgs(threads, env, quiet, repeats))
    return out


def run_lbfgs(threads: int, env: dict, quiet: bool, repeats: int) -> dict:
    """DNNClassifier(solver="lbfgs") and MLPClassifier(solver="lbfgs") on digits, ``repeats`` times
    interleaved (A B A B …), each in a fresh process after a warm-up fit: the first repetition's result
    with ``seconds`` the median and ``seconds_all`` every repetition's time."""
    runs = {fw: [] for fw in LBFGS_FRAMEWORKS}
    for _ in range(repeats):
        for fw in LBFGS_FRAMEWORKS:
            runs[fw].append(
                run_worker({"kind": "accuracy", "task": "digits", "framework": fw, "path": "", "threads": threads}, env)
            )
    out = {}
    for fw, results in runs.items():
        failed = [r for r in results if "error" in r]
        if failed:
            out[fw] = failed[0]
            _say(f"accuracy digits {fw}: ERROR {failed[0]['error']}", quiet)
            continue
        times = [r["seconds"] for r in results]
        out[fw] = {**results[0], "seconds": statistics.median(times), "seconds_all": times}
        _say(f"accuracy digits {fw}: test {results[0]['test_accuracy']:.4f} in {out[fw]['seconds']:.2f} s", quiet)
    return out


# ------------------------------------------------------------------------------------------------ report
def _f(x, fmt):
    return "—" if x is None else format(x, fmt)


def _versions(info: dict) -> str:
    parts = [f"Python {info.get('python')}", f"NumPy {info.get('numpy')}", f"scikit-learn {info.get('sklearn')}"]
    parts.append(f"PyTorch {info['torch']}" if info.get("torch") else "PyTorch not installed")
    parts.append(f"JAX {info['jax']}" if info.get("jax") else "JAX not installed")
    parts.append(f"numba {info['numba']}" if info.get("numba") else "numba not installed")
    parts.append(f"vecprop {info.get('vecprop')}")
    return ", ".join(parts)


def _summary_table(rows, floors) -> list:
    """vecprop's row per (regime, dtype) with its speedup over each peer: medians, CPU time, best runs, and
    the ceilings the GEMMs-only floor sets."""
    head = (
        ["regime", "dtype", "vecprop s/epoch"]
        + [f"× {PEER_LABELS[p]}" for p in PEERS]
        + ["GFLOP/s", "share of GEMM peak"]
        + [f"× {PEER_LABELS[p]} (CPU time)" for p in PEERS]
        + [f"× {PEER_LABELS[p]} (best runs)" for p in PEERS]
        + ["GEMMs-only s/epoch"]
        + [f"ceiling × {PEER_LABELS[p]}" for p in PEERS]
    )
    lines = ["| " + " | ".join(head) + " |", "|---|---|" + "---:|" * (len(head) - 2)]
    for row in rows:
        if row["framework"] != "vecprop":
            continue
        floor = floors.get((row["regime"], row["dtype"]), {})
        cells = (
            [row["regime"], row["dtype"], f"{row['seconds_per_epoch']:.4f}"]
            + [_f(row.get(f"vs_{p}"), ".2f") for p in PEERS]
            + [f"{row['gflops']:.1f}", f"{_f(row['peak_share'] and 100 * row['peak_share'], '.0f')} %"]
            + [_f(row.get(f"cpu_vs_{p}"), ".2f") for p in PEERS]
            + [_f(row.get(f"best_vs_{p}"), ".2f") for p in PEERS]
            + [_f(floor.get("seconds_per_epoch"), ".4f")]
            + [_f(floor.get(f"vs_{p}"), ".2f") for p in PEERS]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def report(results: dict) -> str:
    """The Markdown report: ratios first, then every row, the machine, accuracy and how to rerun."""
    info = results.get("info", {})
    rows = results["rows"]
    peaks = results["gemm_gflops"]
    lines = [
        "# vecprop benchmarks",
        "",
        f"Generated by `bench/run.py` on {results['date']}. Command:",
        "",
        "```",
        results["command"],
        "```",
        "",
    ]
    lines += [
        "Plain mini-batch SGD (no momentum, no L2, shuffled each epoch) on the same random data "
        "(one seeded NumPy Generator), ReLU hidden layers, softmax output, cross-entropy. Each "
        "measurement is a fresh subprocess; frameworks take turns (A B C A B C …); the numbers are "
        f"medians of {results['repeats']} repetitions. Seconds per epoch = wall time of one `fit` of "
        "`epochs` epochs (after a short warm-up fit) / epochs. Training FLOPs per epoch = "
        "6·m·Σ n_l·n_{l−1} − 2·m·n_1·n_0 (no framework computes dA[0]). Peak = the best NumPy "
        f"`A @ B` on {results['gemm_n']}² "
        "matrices in the same run. Speedup = peer's seconds per epoch / this row's (> 1: faster).",
        "",
    ]
    floors = {(r["regime"], r["dtype"]): r for r in rows if r["framework"] == "gemm-floor"}
    lines += ["## Summary: vecprop (Network.fit) speedup over each peer", ""]
    lines += _summary_table(rows, floors)
    lines += [
        "",
        "The CPU-time columns divide process CPU seconds (all threads, `getrusage`) instead of wall "
        "seconds: on a shared machine they are less sensitive to other jobs, though spinning BLAS threads "
        "count as CPU time too. The best-runs columns divide the peer's fastest repetition by this row's "
        "fastest: on a machine whose processes run in a fast or a slow mode they compare like with like.",
        "",
        "GEMMs only (floor): the matrix products of training and nothing else — per batch W[l] A[l−1], "
        "dZ[l] A[l−1]ᵀ and W[l]ᵀ dZ[l] on preallocated arrays of vecprop's shapes, memory orders and BLAS "
        "thread policy; no bias, activation, loss, batch gather or update. No NumPy + BLAS trainer of this "
        "network can be faster, so its speedups (the ceiling columns) bound what any such trainer can "
        "reach over each peer on this machine.",
    ]
    lines += [
        "",
        "## All rows",
        "",
        "| regime | dtype | framework | s/epoch (min–max) | CPU s/epoch | examples/s | GFLOP/s | "
        "% of GEMM peak | peak RSS MiB | RSS growth in fit MiB | traced peak MiB | "
        + "".join(f"× {PEER_LABELS[p]} | " for p in PEERS)
        + "other jobs (cores, max) | retries |",
        "|---|---|---|" + "---:|" * (9 + len(PEERS) + 2),
    ]
    for row in rows:
        lines.append(
            f"| {row['regime']} | {row['dtype']} | {LABELS[row['framework']]} | "
            f"{row['seconds_per_epoch']:.4f} ({row['min']:.4f}–{row['max']:.4f}) | "
            f"{row['cpu_seconds_per_epoch']:.4f} | "
            f"{row['examples_per_second']:,.0f} | {row['gflops']:.1f} | "
            f"{_f(row['peak_share'] and 100 * row['peak_share'], '.0f')} | {row['maxrss_mb']:.0f} | "
            f"{row['train_rss_mb']:.0f} | {_f(row['traced_peak_mb'], '.1f')} | "
            + "".join(f"{_f(row.get('vs_' + p), '.2f')} | " for p in PEERS)
            + f"{_f(row.get('background_max'), '.2f')} | {row.get('retries', 0)} |"
        )
    g = results.get("guard", {})
    lines += [
        "",
        f"Other jobs: the machine's busy CPU time (/proc/stat) less the measuring subprocess's own, per "
        f"second of the measurement. A measurement beside more than {g.get('max_background')} busy cores was "
        f"repeated (up to {g.get('retries')} times; the last one counts), and each one first waited up to "
        f"{g.get('max_wait')} s for the machine to quiet down.",
        "",
        "Peak RSS: `resource.getrusage(RUSAGE_SELF).ru_maxrss` of the measuring subprocess "
        "(interpreter, libraries and data included). RSS growth in fit: how much that peak rose during "
        "the timed fit. Traced peak: tracemalloc's peak of Python and NumPy allocations during one "
        "more (untimed) epoch, above the level before it (small regimes only; not meaningful for PyTorch, "
        "whose allocator tracemalloc does not see).",
        "",
    ]
    for regime, cfg in results["regimes"].items():
        lines.append(
            f"- **{regime}**: layer_dims {cfg['layer_dims']}, m = {cfg['m']}, batch {cfg['batch_size']}, "
            f"{cfg['epochs']} epoch(s) per measurement, learning rate {cfg['learning_rate']}."
        )
    lines += [
        "",
        "## Machine",
        "",
        f"- CPU: {results['cpu']}, {results['cores']} cores (os.cpu_count); threads per framework: "
        f"{results['threads']}",
        f"- {_versions(info)}; repository at {results.get('revision', 'unknown')}",
        "- GEMM peak (best NumPy matmul): "
        + ", ".join(f"{d} {_f(v, '.1f')} GFLOP/s" for d, v in peaks.items())
        + " — all measurements: "
        + "; ".join(f"{d}: " + ", ".join(f"{x:.1f}" for x in v) for d, v in results["gemm_all"].items()),
    ]
    for lib in info.get("blas", []):
        lines.append(
            f"- {lib['user_api']}: {lib['internal_api']} {lib.get('version') or ''} "
            f"kernel {lib.get('architecture') or '—'}, {lib.get('num_threads')} threads "
            f"(`{Path(lib.get('filepath') or '').name}`)"
        )
    if info.get("torch"):
        lines.append(
            f"- PyTorch: {info.get('torch_threads')} threads, BLAS {info.get('torch_blas') or '?'}, "
            f"MKL {info.get('torch_mkl')}, oneDNN {info.get('torch_mkldnn')}, "
            f"CPU capability {info.get('torch_cpu_capability') or '?'}"
        )
    lines.append(
        "- Environment of the parent: "
        + ", ".join(f"{k}={v!r}" for k, v in results["stripped_env"].items())
        + " (removed for every subprocess)"
    )
    lines.append(
        f"- Load average at start / end: {results['loadavg_start']} / {results['loadavg_end']} "
        "(a shared machine: concurrent jobs slow every framework, OpenBLAS's spinning threads most)"
    )
    lines.append(
        f"- Frameworks measured: {', '.join(results['frameworks'])}; skipped (not importable): "
        f"{', '.join(results['skipped']) or 'none'}; whole run {results['wall_seconds']:.0f} s"
    )
    if results.get("scaling"):
        lines += [""] + scaling_lines(results["scaling"], results.get("scaling_png"))
    acc = results.get("accuracy")
    if acc:
        lines += ["", "## Accuracy on data nobody here made", ""]
        lines += _accuracy_lines(acc)
    lines.append("")
    return "\n".join(lines)


def _accuracy_lines(acc: dict) -> list:
    lines = []
    for task, title in (
        (
            "mnist1d",
            "MNIST-1D (mnist1d's make_dataset(get_dataset_args()), generated offline: "
            "4000 train / 1000 test, 40 features, 10 classes)",
        ),
        ("digits", "scikit-learn digits (1797 8×8 images; 25 % held out, stratified, random_state=0)"),
    ):
        if task not in acc:
            if f"{task}_error" in acc:
                lines += [f"**{title}**: not run ({acc[task + '_error']})", ""]
            continue
        lines += [
            f"**{title}**",
            "",
            "| framework | test accuracy | train accuracy | training time s | configuration |",
            "|---|---:|---:|---:|---|",
        ]
        for fw, res in acc[task].items():
            if "error" in res:
                lines.append(f"| {LABELS[fw]} | error | | | {res['error'][:120]} |")
                continue
            cfg = ", ".join(f"{k}={v}" for k, v in res["config"].items())
            lines.append(
                f"| {LABELS[fw]} | {100 * res['test_accuracy']:.1f} % | "
                f"{100 * res['train_accuracy']:.1f} % | {res['seconds']:.1f} | {cfg} |"
            )
        lbfgs = [acc[task].get(fw, {}) for fw in LBFGS_FRAMEWORKS]
        if all("seconds_all" in r for r in lbfgs):
            ratio = lbfgs[1]["seconds"] / lbfgs[0]["seconds"]
            spread = [f" ({min(r['seconds_all']):.2f}–{max(r['seconds_all']):.2f})" for r in lbfgs]
            n = len(lbfgs[0]["seconds_all"])
            lines += [
                "",
                f"L-BFGS (same parameters, same random_state, so the same initial weights; median of {n} "
                f"interleaved fresh processes, each timed after a warm-up fit, min–max in parentheses): "
                f"vecprop {lbfgs[0]['seconds']:.3f} s{spread[0]}, MLPClassifier {lbfgs[1]['seconds']:.3f} s"
                f"{spread[1]}: vecprop {ratio:.2f}× as fast; test accuracy "
                f"{100 * lbfgs[0]['test_accuracy']:.1f} % vs {100 * lbfgs[1]['test_accuracy']:.1f} %.",
            ]
        lines.append("")
    lines.append(
        "Inputs standardized with the training set's mean and standard deviation for every framework. "
        "vecprop's configuration is `ACCURACY_CONFIGS` in bench/workers.py, trained by Network.fit and "
        "by DNNClassifier with the same settings in scikit-learn's names (`dnn_accuracy_kwargs`); "
        "PyTorch uses the same architecture, optimizer, schedule and dropout p = 1 − keep_prob; "
        "MLPClassifier runs with its defaults."
    )
    return lines


def _print_summary(results: dict) -> None:
    print(
        f"{'regime':<6} {'dtype':<8} {'framework':<33} {'s/epoch':>9} {'CPU s/ep':>9} {'ex/s':>10} {'GFLOP/s':>8} "
        f"{'%peak':>6} {'RSS MiB':>8} {'vs_sklearn':>10} {'vs_torch':>9} {'vs_jax':>7}"
    )
    for row in results["rows"]:
        print(
            f"{row['regime']:<6} {row['dtype']:<8} {LABELS[row['framework']]:<33} "
            f"{row['seconds_per_epoch']:>9.4f} {row['cpu_seconds_per_epoch']:>9.4f} "
            f"{row['examples_per_second']:>10.0f} {row['gflops']:>8.2f} "
            f"{_f(row['peak_share'] and 100 * row['peak_share'], '.0f'):>6} {row['maxrss_mb']:>8.0f} "
            f"{_f(row.get('vs_sklearn'), '.2f'):>10} {_f(row.get('vs_torch'), '.2f'):>9} "
            f"{_f(row.get('vs_jax'), '.2f'):>7}"
        )
    acc = results.get("accuracy") or {}
    for task in ("mnist1d", "digits"):
        for fw, res in (acc.get(task) or {}).items():
            if "error" not in res:
                print(
                    f"accuracy {task:<8} {LABELS[fw]:<22} test {100 * res['test_accuracy']:.1f} %  "
                    f"({res['seconds']:.1f} s)"
                )


# ------------------------------------------------------------------------------------------------ CLI
def _csv(choices):
    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        bad = [t for t in items if t not in choices]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {', '.join(choices)}; got {text!r}")
        return items

    return parse


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bench/run.py", description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--quick",
        action="store_true",
        help="a tiny configuration (regime 'tiny', one repetition, 256² GEMM, no accuracy): seconds",
    )
    p.add_argument(
        "--regimes",
        type=_csv(tuple(REGIMES)),
        default=None,
        help="comma-separated regimes (default small,large; --quick: tiny)",
    )
    p.add_argument(
        "--dtypes",
        type=_csv(("float32", "float64")),
        default=["float32", "float64"],
        help="comma-separated dtypes (default float32,float64)",
    )
    p.add_argument(
        "--frameworks",
        type=_csv(FRAMEWORKS),
        default=list(FRAMEWORKS),
        help="comma-separated subset of " + ",".join(FRAMEWORKS) + " (missing ones are skipped)",
    )
    p.add_argument("--repeats", type=int, default=None, help="repetitions per measurement (default 3; --quick 1)")
    p.add_argument("--threads", type=int, default=2, help="BLAS/OpenMP/torch threads for every framework (default 2)")
    p.add_argument(
        "--accuracy",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also train on MNIST-1D and digits and report test accuracy (default on; off with --quick)",
    )
    p.add_argument(
        "--max-background",
        type=float,
        default=0.5,
        metavar="CORES",
        help="repeat a measurement taken while other processes kept more than CORES cores busy "
        "(default 0.5), and wait for the machine to calm down before each one",
    )
    p.add_argument(
        "--max-wait",
        type=float,
        default=30.0,
        metavar="S",
        help="longest wait for a quiet machine before each measurement (default 30 s)",
    )
    p.add_argument("--retries", type=int, default=2, help="repetitions of a disturbed measurement (default 2)")
    p.add_argument(
        "--scaling",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also sweep m, width and depth (float32) and plot seconds per epoch, log-log, into a PNG "
        "beside the report (default on; --quick: a tiny sweep only when asked)",
    )
    p.add_argument("--write", metavar="PATH", help="write the Markdown report to PATH (e.g. BENCHMARKS.md)")
    p.add_argument("--json", metavar="PATH", help="write every measurement as JSON to PATH")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines on stderr")
    return p


def main(argv=None) -> int:
    """Run the benchmark; print a summary table; optionally write the Markdown report and JSON."""
    args = build_parser().parse_args(argv)
    regimes = args.regimes or (["tiny"] if args.quick else ["small", "large"])
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        raise SystemExit("--repeats must be >= 1")
    accuracy = args.accuracy if args.accuracy is not None else not args.quick
    gemm_n = GEMM_N["quick"] if args.quick else GEMM_N["full"]
    results = run_bench(
        regimes,
        args.dtypes,
        repeats,
        args.frameworks,
        args.threads,
        gemm_n,
        accuracy,
        quiet=args.quiet,
        max_background=args.max_background,
        max_wait=args.max_wait,
        retries=max(0, args.retries),
    )
    if args.scaling if args.scaling is not None else not args.quick:
        guard = dict(max_background=args.max_background, max_wait=args.max_wait, retries=max(0, args.retries))
        results["scaling"] = run_scaling(
            "quick" if args.quick else "full", results["frameworks"], args.threads, repeats, args.quiet, guard
        )
        if args.write:
            png = Path(args.write).with_name(Path(args.write).stem + "_scaling.png")
            made = run_worker(
                {"kind": "plot", "points": results["scaling"], "path": str(png), "labels": LABELS},
                worker_env(args.threads),
            )
            results["scaling_png"] = png.name if "error" not in made else None
            if "error" in made:
                _say(f"scaling plot not written: {made['error']}", args.quiet)
    _print_summary(results)
    if args.write:
        Path(args.write).write_text(report(results), encoding="utf-8")
        print(f"wrote {args.write}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
