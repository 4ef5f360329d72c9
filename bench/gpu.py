"""vecprop on a GPU (issue #14 item 6): vecprop on PyTorch CUDA and on CuPy against PyTorch eager and JAX jit.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE .venv/bin/python bench/gpu.py --write gpu.md
    .venv/bin/python bench/gpu.py --device cpu --tiny          # smoke test without a GPU (no meaningful times)

Identical work for every framework: the same random data, ReLU hidden layers, softmax + cross-entropy,
plain mini-batch SGD (learning rate 0.01) over a fresh permutation every epoch. vecprop:
``Network(...).fit(X_device, Y_device, optimizer="gd", batch_size=B, verbose=0)`` (the ``xp`` engine; one
4-scalar transfer per batch); PyTorch eager: ``nn.Sequential`` of ``Linear``/``ReLU``,
``CrossEntropyLoss``, ``torch.optim.SGD``, ``X[idx]`` per batch and the batch loss read per batch as the
usual loop does; JAX: one ``jax.jit`` step (value_and_grad + SGD) per batch. Seconds per epoch are the
median over ``--repeats`` timed fits of ``--epochs`` epochs after a warm-up, with the device synchronized
before the clock stops. The share of peak divides the training FLOPs per second (6·m·Σ n_l n_{l−1} less
dA[0]'s 2·m·n_1·n_0, as bench/workers.py counts) by the best ``A @ B`` of two 8192² matrices (4096² on
the CPU) of the same dtype measured on the same device in the same run.

Regimes: large 784-512-512-10 (batch 256, 60000 examples) and wide 4096-4096-4096-10 (batch 1024,
60000 examples); ``--tiny`` 20-32-32-10 (batch 64, 512 examples). Frameworks that are not installed (or
have no GPU) are reported as skipped, never as failures.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from workers import training_flops  # noqa: E402  (the FLOP count of bench/run.py)

REGIMES = {
    "large": dict(layer_dims=[784, 512, 512, 10], batch_size=256, m=60000),
    "wide": dict(layer_dims=[4096, 4096, 4096, 10], batch_size=1024, m=60000),
    "tiny": dict(layer_dims=[20, 32, 32, 10], batch_size=64, m=512),
}
FRAMEWORKS = ("vecprop-torch", "vecprop-cupy", "torch-eager", "jax-jit")
LR = 0.01


class Skip(Exception):
    """A framework that cannot run here (not installed, no GPU)."""


def _data(regime, dtype):
    rng = np.random.default_rng(0)
    n0, nL, m = regime["layer_dims"][0], regime["layer_dims"][-1], regime["m"]
    X = rng.standard_normal((m, n0)).astype(dtype)  # rows; vecprop takes X.T (columns)
    y = rng.integers(0, nL, m)
    return X, y


def _torch(device):
    try:
        import torch
    except ImportError:
        raise Skip("torch not installed") from None
    if device == "cuda" and not torch.cuda.is_available():
        raise Skip("no CUDA device")
    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    return torch, sync


def _cupy():
    try:
        import cupy
    except ImportError:
        raise Skip("cupy not installed") from None
    try:
        cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # noqa: BLE001  (no driver/device)
        raise Skip(f"no CUDA device for CuPy ({exc})") from None
    return cupy, cupy.cuda.Device().synchronize


def _timed(run_epochs, sync, epochs, repeats):
    """Warm-up (1 epoch), then the median seconds per epoch of ``repeats`` fits of ``epochs`` epochs."""
    run_epochs(1)
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        run_epochs(epochs)
        sync()
        times.append((time.perf_counter() - t0) / epochs)
    return statistics.median(times)


def bench_vecprop(regime, dtype, device, epochs, repeats, library):
    from vecprop import Network

    if library == "torch":
        torch, sync = _torch(device)
        put = lambda a: torch.asarray(a, device=device)
    else:
        if device != "cuda":
            raise Skip("CuPy needs a CUDA device")
        cupy, sync = _cupy()
        put = cupy.asarray
    X, y = _data(regime, dtype)
    Xd, Yd = put(np.ascontiguousarray(X.T)), put(np.eye(regime["layer_dims"][-1], dtype=dtype)[:, y])
    net = Network(regime["layer_dims"], "relu", "categorical_cross_entropy", seed=0, dtype=dtype)
    fit = lambda e: net.fit(
        Xd, Yd, epochs=e, learning_rate=LR, batch_size=regime["batch_size"], optimizer="gd", verbose=0
    )
    return _timed(fit, sync, epochs, repeats)


def bench_torch_eager(regime, dtype, device, epochs, repeats):
    torch, sync = _torch(device)
    X, y = _data(regime, dtype)
    Xt, yt = torch.asarray(X, device=device), torch.asarray(y, device=device)
    dims = regime["layer_dims"]
    layers = []
    for l in range(1, len(dims)):
        layers += [torch.nn.Linear(dims[l - 1], dims[l])] + ([torch.nn.ReLU()] if l < len(dims) - 1 else [])
    model = torch.nn.Sequential(*layers).to(device=device, dtype=Xt.dtype)
    opt, crit = torch.optim.SGD(model.parameters(), lr=LR), torch.nn.CrossEntropyLoss()
    B, m = regime["batch_size"], X.shape[0]

    def run(e):
        for _ in range(e):
            perm = torch.randperm(m, device=device)
            for k in range(0, m, B):
                idx = perm[k : k + B]
                opt.zero_grad(set_to_none=True)
                loss = crit(model(Xt[idx]), yt[idx])
                loss.backward()
                opt.step()
                float(loss.detach())  # the loop's per-batch loss read

    return _timed(run, sync, epochs, repeats)


def bench_jax(regime, dtype, device, epochs, repeats):
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise Skip("jax not installed") from None
    if dtype == np.float64:
        jax.config.update("jax_enable_x64", True)
    platform = "gpu" if device == "cuda" else "cpu"
    try:
        dev = jax.devices(platform)[0]
    except RuntimeError:
        raise Skip(f"no JAX {platform} device") from None
    X, y = _data(regime, dtype)
    Xj, yj = jax.device_put(X, dev), jax.device_put(y, dev)
    dims, key = regime["layer_dims"], jax.random.PRNGKey(0)
    params = []
    for l in range(1, len(dims)):
        key, sub = jax.random.split(key)
        params.append(
            (
                jax.random.normal(sub, (dims[l - 1], dims[l]), dtype) * np.sqrt(2.0 / dims[l - 1]),
                jnp.zeros(dims[l], dtype),
            )
        )
    params = jax.device_put(params, dev)

    def loss_fn(p, xb, yb):
        a = xb
        for W, b in p[:-1]:
            a = jax.nn.relu(a @ W + b)
        logits = a @ p[-1][0] + p[-1][1]
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), yb[:, None], axis=1))

    @jax.jit
    def step(p, xb, yb):
        loss, g = jax.value_and_grad(loss_fn)(p, xb, yb)
        return jax.tree_util.tree_map(lambda w, d: w - LR * d, p, g), loss

    B, m, state = regime["batch_size"], X.shape[0], {"p": params, "rng": np.random.default_rng(0)}

    def run(e):
        for _ in range(e):
            perm = jax.device_put(state["rng"].permutation(m), dev)
            for k in range(0, m, B):
                idx = perm[k : k + B]
                state["p"], loss = step(state["p"], Xj[idx], yj[idx])
                float(loss)

    return _timed(run, lambda: jax.block_until_ready(state["p"]), epochs, repeats)


def matmul_peak(dtype, device, n):
    """Best A @ B FLOP/s on ``device`` (torch, else CuPy), None when neither can run there."""
    for get in (lambda: _torch(device), _cupy):
        try:
            lib, sync = get()
        except Skip:
            continue
        if lib.__name__ == "cupy" and device != "cuda":
            continue
        A = lib.asarray(
            np.random.default_rng(1).standard_normal((n, n)).astype(dtype),
            **({"device": device} if lib.__name__ == "torch" else {}),
        )
        best = float("inf")
        for _ in range(5):
            sync()
            t0 = time.perf_counter()
            A @ A
            sync()
            best = min(best, time.perf_counter() - t0)
        return 2.0 * n**3 / best
    return None


def run(args) -> list[dict]:
    rows = []
    for name in args.regimes:
        regime = REGIMES[name]
        for dtype in args.dtypes:
            dt = np.dtype(dtype).type
            peak = matmul_peak(dt, args.device, args.peak_n or (8192 if args.device == "cuda" else 1024))
            flops = training_flops(regime["layer_dims"], regime["m"])
            for fw in args.frameworks:
                bench = {
                    "vecprop-torch": lambda *a: bench_vecprop(*a, library="torch"),
                    "vecprop-cupy": lambda *a: bench_vecprop(*a, library="cupy"),
                    "torch-eager": bench_torch_eager,
                    "jax-jit": bench_jax,
                }[fw]
                row = {"regime": name, "dtype": dtype, "framework": fw, "device": args.device}
                try:
                    sec = bench(regime, dt, args.device, args.epochs, args.repeats)
                except Skip as why:
                    row["skipped"] = str(why)
                else:
                    row.update(
                        seconds_per_epoch=sec,
                        gflops=flops / sec / 1e9,
                        share_of_peak=None if peak is None else flops / sec / peak,
                    )
                rows.append(row)
                if not args.quiet:
                    print(_line(row), file=sys.stderr)
    for row in rows:  # vecprop-torch's time relative to PyTorch eager
        ref = next(
            (
                r
                for r in rows
                if r["framework"] == "torch-eager"
                and r["regime"] == row["regime"]
                and r["dtype"] == row["dtype"]
                and "seconds_per_epoch" in r
            ),
            None,
        )
        row["vs_torch_eager"] = (
            row["seconds_per_epoch"] / ref["seconds_per_epoch"] if ref and "seconds_per_epoch" in row else None
        )
    return rows


def _line(row) -> str:
    if "skipped" in row:
        return f"{row['regime']} {row['dtype']} {row['framework']}: skipped ({row['skipped']})"
    return f"{row['regime']} {row['dtype']} {row['framework']}: {row['seconds_per_epoch']:.4g} s/epoch"


def markdown(rows, device_name: str) -> str:
    lines = [
        f"GPU benchmark ({device_name}): seconds per epoch (median), time relative to PyTorch eager "
        "(lower is faster), share of the device's measured matrix-multiply peak.",
        "",
        "| regime | dtype | framework | s/epoch | × PyTorch eager time | GFLOP/s | share of matmul peak |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        if "skipped" in r:
            lines.append(f"| {r['regime']} | {r['dtype']} | {r['framework']} | skipped: {r['skipped']} | | | |")
            continue
        vs = "" if r["vs_torch_eager"] is None else f"{r['vs_torch_eager']:.2f}"
        share = "" if r["share_of_peak"] is None else f"{100 * r['share_of_peak']:.0f} %"
        lines.append(
            f"| {r['regime']} | {r['dtype']} | {r['framework']} | {r['seconds_per_epoch']:.4g} | {vs} "
            f"| {r['gflops']:.1f} | {share} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--device", default="cuda", choices=("cuda", "cpu"))
    p.add_argument("--regimes", default="large,wide", type=lambda s: s.split(","))
    p.add_argument("--dtypes", default="float32", type=lambda s: s.split(","))
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS), type=lambda s: s.split(","))
    p.add_argument("--epochs", type=int, default=2)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--peak-n", type=int, default=None, help="matrix size of the peak measurement")
    p.add_argument("--tiny", action="store_true", help="the tiny regime, 1 epoch, 1 repeat: a smoke test")
    p.add_argument("--write", type=Path, help="write the Markdown table to this file")
    p.add_argument("-q", "--quiet", action="store_true")
    args = p.parse_args(argv)
    if args.tiny:
        args.regimes, args.epochs, args.repeats, args.peak_n = ["tiny"], 1, 1, args.peak_n or 256
    for name in (*args.regimes, *args.frameworks):
        if name not in REGIMES and name not in FRAMEWORKS:
            p.error(f"unknown regime or framework {name!r}; regimes {sorted(REGIMES)}, frameworks {FRAMEWORKS}")
    rows = run(args)
    device_name = args.device
    try:
        import torch

        if args.device == "cuda" and torch.cuda.is_available():
            device_name = torch.cuda.get_device_name()
    except ImportError:
        pass
    table = markdown(rows, device_name)
    if args.write:
        args.write.write_text(table, encoding="utf-8")
    print(table)
    return 0 if any("seconds_per_epoch" in r for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
