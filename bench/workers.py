"""One measurement per process: ``python bench/workers.py '<json spec>'`` prints one result line.

bench/run.py starts this file in a fresh interpreter for every measurement, so no framework's
imports, thread pools, allocator state or JIT caches leak into the next one. The result is the
last stdout line, ``BENCH_RESULT {json}``; anything else printed (warnings) is ignored.

Kinds of spec (``spec["kind"]``):

``info``      BLAS libraries, kernels and thread counts (threadpoolctl), library versions.
``gemm``      GFLOP/s of a NumPy ``A @ B`` on an (n, n) matrix, best of ``repeats``: the peak
              the training rows are compared against.
``train``     seconds for ``epochs`` epochs of plain mini-batch SGD on random data, for one of
              the frameworks vecprop (Network.fit), vecprop-dnn (DNNClassifier), sklearn
              (MLPClassifier) or torch.
``data``      MNIST-1D generated offline (mnist1d's make_dataset, never get_dataset) into an .npz.
``accuracy``  test accuracy and training time of one framework's configuration on MNIST-1D or
              scikit-learn's digits (also L-BFGS: vecprop-lbfgs and sklearn-lbfgs on digits).
"""

from __future__ import annotations

import json
import os
import re
import resource
import sys
import time
import warnings

RESULT_PREFIX = "BENCH_RESULT "

# ------------------------------------------------------------------------------------------------
# Configurations reported beside the accuracy numbers (run.py prints them in BENCHMARKS.md).
# MNIST-1D: 4000 training and 1000 test series of 40 points, 10 classes; inputs standardized with
# the training set's per-feature mean and standard deviation.
ACCURACY_CONFIGS = {
    "mnist1d": {
        # vecprop and PyTorch share this architecture and schedule; keep_prob = 1 - torch's Dropout p.
        # Found by sweeps (float32, seeds 0, 1, 2): two hidden layers of 256-512 units reach 70-75 % with
        # any keep_prob in 0.5-0.9. Three layers (adam 2e-3, 150 epochs, keep_prob 0.7) gave DNNClassifier
        # 73.9, 75.8, 76.6 % -- too close to 75 %; keep_prob 0.5 or 0.8, or L2 (alpha 0.5) did worse.
        # Four layers at learning rate 1e-3 for 200 epochs: DNNClassifier 77.1, 77.5, 78.0 %.
        "hidden": [256, 256, 256, 256],
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "batch_size": 100,
        "epochs": 200,
        "keep_prob": 0.7,
        "dtype": "float32",
        "seed": 0,
    },
    "digits": {
        # load_digits (1797 8x8 images), 25 % held out (stratified, random_state=0), pixels / 16
        # then standardized.
        "hidden": [128],
        "activation": "relu",
        "optimizer": "adam",
        "learning_rate": 1e-3,
        "batch_size": 32,
        "epochs": 100,
        "keep_prob": 0.9,
        "dtype": "float32",
        "seed": 0,
    },
}
# MLPClassifier is run with its defaults (hidden (100,), relu, adam 1e-3, batch 200, max_iter 200,
# early stopping off), random_state=0, on the same standardized inputs.
SKLEARN_ACCURACY_KWARGS = {"random_state": 0}
# L-BFGS on digits: DNNClassifier and MLPClassifier with these same parameters (float64), so both start
# from the same initial weights and minimize the same cost with SciPy's L-BFGS-B.
LBFGS_ACCURACY_KWARGS = {"solver": "lbfgs", "hidden_layer_sizes": (100,), "max_iter": 200, "random_state": 0}


def dnn_accuracy_kwargs(cfg: dict) -> dict:
    """The DNNClassifier (MLPClassifier's parameter names) with ``cfg``'s settings: no L2 (alpha=0), a fixed
    number of epochs (tol=0, never stopping early). It follows scikit-learn's conventions where Network.fit
    follows the course's (initial weights, ε of adam, the shuffling generator), so the runs are alike, not equal."""
    return {
        "hidden_layer_sizes": tuple(cfg["hidden"]),
        "activation": cfg["activation"],
        "solver": cfg["optimizer"],
        "learning_rate_init": cfg["learning_rate"],
        "batch_size": cfg["batch_size"],
        "max_iter": cfg["epochs"],
        "keep_prob": cfg["keep_prob"],
        "alpha": cfg.get("l2", 0.0),
        "tol": 0.0,
        "n_iter_no_change": cfg["epochs"],
        "random_state": cfg["seed"],
    }


def _emit(result: dict) -> None:
    result["maxrss_mb"] = _maxrss_mb()
    print(RESULT_PREFIX + json.dumps(result), flush=True)


def _maxrss_mb() -> float:
    """Peak resident set size of this process so far, in MiB (Linux reports KiB, macOS bytes)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def training_flops(layer_dims, m: int) -> float:
    """FLOPs of one training epoch over m examples: forward W A (2 m n_l n_{l-1} per layer), BP1 dW and
    BP3 dA_prev (2 m n_l n_{l-1} each), less dA[0] = W[1]^T dZ[1], which no framework computes."""
    pairs = sum(n * p for p, n in zip(layer_dims[:-1], layer_dims[1:]))
    return 6.0 * m * pairs - 2.0 * m * layer_dims[1] * layer_dims[0]


# ------------------------------------------------------------------------------------------------ info
def info(spec):
    import platform

    import numpy as np
    import threadpoolctl

    out = {"python": platform.python_version(), "numpy": np.__version__, "blas": []}
    try:
        import sklearn

        out["sklearn"] = sklearn.__version__
    except ImportError:
        out["sklearn"] = None
    wanted = spec.get("frameworks", ["vecprop", "vecprop-dnn", "sklearn", "torch"])
    try:
        if "torch" not in wanted:
            raise ImportError("not asked for")
        import torch

        torch.set_num_threads(spec["threads"])
        out["torch"] = torch.__version__
        out["torch_threads"] = torch.get_num_threads()
        out["torch_mkl"] = bool(torch.backends.mkl.is_available())
        out["torch_mkldnn"] = bool(torch.backends.mkldnn.is_available())
        cfg = torch.__config__.show()
        blas = re.search(r"BLAS_INFO=([^,\s]+)", cfg)
        mkl = re.search(r"Math Kernel Library Version ([^\s]+)", cfg)
        out["torch_blas"] = (
            (blas.group(1) if blas else None) if not mkl else f"{blas.group(1) if blas else 'mkl'} {mkl.group(1)}"
        )
        out["torch_cpu_capability"] = next(
            (line.split(":", 1)[1].strip() for line in cfg.splitlines() if "CPU capability" in line), None
        )
    except Exception:  # noqa: BLE001 - not installed, or broken: either way no torch rows
        out["torch"] = None
    try:
        if "jax" not in wanted:
            raise ImportError("not asked for")
        jax = _jax_setup({"threads": spec["threads"], "dtype": "float32"})
        out["jax"] = jax.__version__
        out["jax_backend"] = jax.default_backend()
    except Exception:  # noqa: BLE001 - not installed, or broken: either way no JAX rows
        out["jax"] = None
    try:
        import numba

        out["numba"] = numba.__version__
        out["numba_threads"] = numba.get_num_threads()
        out["numba_threading_layer"] = numba.config.THREADING_LAYER
    except Exception:  # noqa: BLE001
        out["numba"] = None
    try:
        if "vecprop-dnn" not in wanted:
            raise ImportError("not asked for")
        from vecprop import DNNClassifier  # noqa: F401

        out["dnn_classifier"] = True
    except Exception:  # noqa: BLE001
        out["dnn_classifier"] = False
    try:
        import vecprop

        out["vecprop"] = vecprop.__version__
    except ImportError:
        out["vecprop"] = None
    for lib in threadpoolctl.threadpool_info():
        out["blas"].append(
            {
                k: lib.get(k)
                for k in (
                    "user_api",
                    "internal_api",
                    "prefix",
                    "version",
                    "architecture",
                    "num_threads",
                    "threading_layer",
                    "filepath",
                )
            }
        )
    out["env"] = {
        k: os.environ.get(k)
        for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
    }
    return out


# ------------------------------------------------------------------------------------------------ gemm
def gemm(spec):
    import numpy as np

    n, dtype = spec["n"], np.dtype(spec["dtype"])
    rng = np.random.default_rng(spec.get("seed", 0))
    A = rng.standard_normal((n, n)).astype(dtype)
    B = rng.standard_normal((n, n)).astype(dtype)
    C = np.empty((n, n), dtype)
    np.matmul(A, B, out=C)  # warm the BLAS threads and pages
    best = float("inf")
    for _ in range(spec.get("repeats", 5)):
        t0 = time.perf_counter()
        np.matmul(A, B, out=C)
        best = min(best, time.perf_counter() - t0)
    return {"gflops": 2.0 * n**3 / best / 1e9, "seconds": best}


# ------------------------------------------------------------------------------------------------ train
def _random_data(spec, np):
    """X (m, n_0) standard normal and labels y (m,) in 0..n_L-1 from one seeded Generator: the same
    numbers for every framework (each then takes them in its own layout)."""
    dims, m = spec["layer_dims"], spec["m"]
    rng = np.random.default_rng(spec.get("data_seed", 1234))
    X = rng.standard_normal((m, dims[0]), dtype=np.dtype(spec["dtype"]).type)
    y = rng.integers(0, dims[-1], size=m)
    return X, y


def _train_vecprop(spec, data, np):
    import vecprop

    dims, dtype = spec["layer_dims"], spec["dtype"]
    X, y = data.pop()
    XT = X.T  # (n_0, m): columns are examples, as the course builds X
    Y = vecprop.one_hot(y, dims[-1], dtype=dtype)  # (X_rows.T: no copy; each example's column contiguous)
    net = vecprop.Network(dims, "relu", "categorical_cross_entropy", seed=0, dtype=dtype)
    kw = dict(learning_rate=spec["learning_rate"], batch_size=spec["batch_size"], optimizer="gd", verbose=0)
    if spec["framework"] == "vecprop-numpy":
        kw["engine"] = "numpy"  # the default engine is numba when it imports
    warm = min(XT.shape[1], 4 * spec["batch_size"])
    net.fit(XT[:, :warm], Y[:, :warm], epochs=1, **kw)  # imports, BLAS threads, first-touch
    rss0 = _maxrss_mb()
    t0, c0 = time.perf_counter(), _cpu()
    hist = net.fit(XT, Y, epochs=spec["epochs"], **kw)
    seconds = time.perf_counter() - t0
    cpu = _cpu() - c0
    out = {"seconds": seconds, "cpu_seconds": cpu, "final_loss": float(hist.loss[-1]), "rss_before_mb": rss0}
    if spec.get("tracemalloc"):
        out["traced_peak_mb"] = _traced_peak(lambda: net.fit(XT, Y, epochs=1, **kw))
    return out


def _dnn_kwargs(spec, epochs):
    """DNNClassifier (MLPClassifier's parameters) set for plain mini-batch gd, as _sklearn_mlp asks of sklearn."""
    return dict(
        hidden_layer_sizes=tuple(spec["layer_dims"][1:-1]),
        activation="relu",
        solver="gd",
        alpha=0.0,
        batch_size=spec["batch_size"],
        learning_rate="constant",
        learning_rate_init=spec["learning_rate"],
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        shuffle=True,
        random_state=0,
        early_stopping=False,
    )


def _train_vecprop_dnn(spec, data, np):
    from vecprop import DNNClassifier

    X, y = data.pop()
    warm = min(X.shape[0], 4 * spec["batch_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning: max_iter ends every fit here
        DNNClassifier(**_dnn_kwargs(spec, 1)).fit(X[:warm], y[:warm])
        clf = DNNClassifier(**_dnn_kwargs(spec, spec["epochs"]))
        rss0 = _maxrss_mb()
        t0, c0 = time.perf_counter(), _cpu()
        clf.fit(X, y)
        seconds = time.perf_counter() - t0
        cpu = _cpu() - c0
        loss = getattr(clf, "loss_", None)
        out = {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "final_loss": None if loss is None else float(loss),
            "rss_before_mb": rss0,
            "coef_dtype": str(clf.coefs_[0].dtype),
        }
        if spec.get("tracemalloc"):
            out["traced_peak_mb"] = _traced_peak(lambda: DNNClassifier(**_dnn_kwargs(spec, 1)).fit(X, y))
    return out


def _sklearn_mlp(spec, epochs):
    from sklearn.neural_network import MLPClassifier

    return MLPClassifier(
        hidden_layer_sizes=tuple(spec["layer_dims"][1:-1]),
        activation="relu",
        solver="sgd",
        alpha=0.0,
        batch_size=spec["batch_size"],
        learning_rate="constant",
        learning_rate_init=spec["learning_rate"],
        momentum=0.0,
        nesterovs_momentum=False,
        max_iter=epochs,
        tol=0.0,
        n_iter_no_change=10**9,
        shuffle=True,
        random_state=0,
        early_stopping=False,
    )


def _train_sklearn(spec, data, np):
    from sklearn.exceptions import ConvergenceWarning

    X, y = data.pop()
    warm = min(X.shape[0], 4 * spec["batch_size"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        _sklearn_mlp(spec, 1).fit(X[:warm], y[:warm])
        clf = _sklearn_mlp(spec, spec["epochs"])
        rss0 = _maxrss_mb()
        t0, c0 = time.perf_counter(), _cpu()
        clf.fit(X, y)
        seconds = time.perf_counter() - t0
        cpu = _cpu() - c0
        out = {
            "seconds": seconds,
            "cpu_seconds": cpu,
            "final_loss": float(clf.loss_),
            "rss_before_mb": rss0,
            "coef_dtype": str(clf.coefs_[0].dtype),
        }
        if spec.get("tracemalloc"):
            out["traced_peak_mb"] = _traced_peak(lambda: _sklearn_mlp(spec, 1).fit(X, y))
    return out


def _torch_mlp(dims, torch, dropout=0.0):
    layers = []
    for l in range(1, len(dims)):
        layers.append(torch.nn.Linear(dims[l - 1], dims[l]))
        if l < len(dims) - 1:
            layers.append(torch.nn.ReLU())
            if dropout:
                layers.append(torch.nn.Dropout(dropout))
    return torch.nn.Sequential(*layers)


def _torch_epochs(model, opt, Xt, yt, epochs, batch_size, gen, torch):
    """Plain mini-batch training: a torch.randperm per epoch, X[idx] per batch (no DataLoader)."""
    crit = torch.nn.CrossEntropyLoss()
    m = Xt.shape[0]
    loss = None
    model.train()
    for _ in range(epochs):
        perm = torch.randperm(m, generator=gen)
        total = 0.0
        for k in range(0, m, batch_size):
            idx = perm[k : k + batch_size]
            opt.zero_grad(set_to_none=True)
            loss = crit(model(Xt[idx]), yt[idx])
            loss.backward()
            opt.step()
            total += float(loss.detach()) * idx.numel()
        loss = total / m
    return loss


def _train_torch(spec, data, np):
    import torch

    X, y = data.pop()
    torch.set_num_threads(spec["threads"])
    torch.manual_seed(0)
    dtype = {"float32": torch.float32, "float64": torch.float64}[spec["dtype"]]
    Xt = torch.from_numpy(X)
    yt = torch.from_numpy(y.astype(np.int64))
    model = _torch_mlp(spec["layer_dims"], torch).to(dtype)
    opt = torch.optim.SGD(model.parameters(), lr=spec["learning_rate"], momentum=0.0)
    gen = torch.Generator().manual_seed(0)
    warm = min(X.shape[0], 4 * spec["batch_size"])
    _torch_epochs(model, opt, Xt[:warm], yt[:warm], 1, spec["batch_size"], gen, torch)
    rss0 = _maxrss_mb()
    t0, c0 = time.perf_counter(), _cpu()
    loss = _torch_epochs(model, opt, Xt, yt, spec["epochs"], spec["batch_size"], gen, torch)
    seconds = time.perf_counter() - t0
    cpu = _cpu() - c0
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "final_loss": float(loss),
        "rss_before_mb": rss0,
        "torch_threads": torch.get_num_threads(),
    }


def _jax_setup(spec):
    """Import JAX for the CPU with ``spec["threads"]`` (one thread: XLA's Eigen pool off) and x64 for float64."""
    if spec.get("threads") == 1:
        os.environ["XLA_FLAGS"] = (
            os.environ.get("XLA_FLAGS", "") + " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        ).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax

    jax.config.update("jax_enable_x64", spec["dtype"] == "float64")
    return jax


def _jax_sgd_step(jax, learning_rate):
    """The whole training step under one jax.jit: the batch gather X[idx] by index, forward (ReLU hidden
    layers, softmax output), the mean cross-entropy, jax.grad and the SGD update W -= lr dW."""
    jnp = jax.numpy

    def loss_fn(params, Xb, yb):
        A = Xb  # (batch, n_0): rows are examples
        for W, b in params[:-1]:
            A = jax.nn.relu(A @ W.T + b)  # W (n_l, n_{l-1}) as vecprop holds it
        W, b = params[-1]
        logp = jax.nn.log_softmax(A @ W.T + b, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, yb[:, None], axis=1))

    @jax.jit
    def step(params, X, y, idx):
        Xb, yb = X[idx], y[idx]
        loss, grads = jax.value_and_grad(loss_fn)(params, Xb, yb)
        params = jax.tree_util.tree_map(lambda p, g: p - learning_rate * g, params, grads)
        return params, loss

    return step


def _train_jax(spec, data, np):
    """Plain mini-batch SGD in JAX: vecprop's initial weights (Network(..., seed=0)), vecprop's warm-up fit and
    vecprop's batches (each epoch's permutation drawn from that network's Generator, as Network.fit draws
    it), one jitted step per batch; the loss is read back after every batch, as the other frameworks do.
    So the final loss equals vecprop's to rounding: the same training, step for step."""
    import vecprop

    jax = _jax_setup(spec)
    jnp = jax.numpy
    dims, B = spec["layer_dims"], spec["batch_size"]
    X, y = data.pop()
    m = X.shape[0]
    net = vecprop.Network(dims, "relu", "categorical_cross_entropy", seed=0, dtype=spec["dtype"])
    params = [(jnp.asarray(net.params[f"W{l}"]), jnp.asarray(net.params[f"b{l}"][:, 0])) for l in range(1, net.L + 1)]
    Xj, yj = jnp.asarray(X), jnp.asarray(y.astype(np.int32))
    step = _jax_sgd_step(jax, spec["learning_rate"])

    def epochs(n, params, m):
        loss = None
        for _ in range(n):
            perm = net.rng.permutation(m).astype(np.int32)
            total = 0.0
            for k in range(0, m, B):
                idx = perm[k : k + B]
                params, loss = step(params, Xj, yj, idx)
                total += float(loss) * idx.size
            loss = total / m
        return params, loss

    for size in sorted({B, m % B} - {0}):  # compile both batch shapes (full and ragged last);
        jax.block_until_ready(step(params, Xj, yj, np.arange(size, dtype=np.int32)))  # results dropped
    params, _ = epochs(1, params, min(m, 4 * B))  # vecprop's warm-up fit: its first 4 B examples
    rss0 = _maxrss_mb()
    t0, c0 = time.perf_counter(), _cpu()
    params, loss = epochs(spec["epochs"], params, m)
    jax.block_until_ready(params)
    seconds = time.perf_counter() - t0
    cpu = _cpu() - c0
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "final_loss": float(loss),
        "rss_before_mb": rss0,
        "jax_backend": jax.default_backend(),
    }


def _train_gemm_floor(spec, data, np):
    """Only the matrix products of training, nothing else: per batch Z[l] = W[l] A[l-1] (l = 1..L),
    dW[l] = dZ[l] A[l-1]^T (l = 1..L) and dA[l-1] = W[l]^T dZ[l] (l = 2..L), on preallocated arrays of
    the shapes and memory orders vecprop's trainer uses, with its BLAS thread policy. No bias, activation,
    loss, gather or update: the time below which no NumPy + BLAS trainer of this network can go."""
    from vecprop.engines.numpy_engine import blas_threads as _blas_threads

    dims, dt, B = spec["layer_dims"], np.dtype(spec["dtype"]), spec["batch_size"]
    X, _ = data.pop()
    m, L = X.shape[0], len(dims) - 1
    rng = np.random.default_rng(0)
    W = {l: (rng.standard_normal((dims[l], dims[l - 1])) / np.sqrt(dims[l - 1])).astype(dt) for l in range(1, L + 1)}
    dW = {l: np.empty_like(W[l]) for l in W}
    A = {0: np.empty((dims[0], B), dt, order="F")}  # a gathered batch of X_rows.T: columns contiguous
    A.update({l: np.empty((dims[l], B), dt) for l in range(1, L + 1)})
    dA = {l: np.empty((dims[l], B), dt) for l in range(1, L + 1)}
    A[0][...] = X[:B].T
    for l in range(1, L + 1):
        A[l][...] = rng.standard_normal(A[l].shape)
        dA[l][...] = rng.standard_normal(dA[l].shape)
    batches = -(-m // B)

    def epochs(n):
        for _ in range(n * batches):
            for l in range(1, L + 1):
                np.matmul(W[l], A[l - 1], out=A[l])  # eq. (2)'s product
            for l in range(L, 0, -1):
                np.matmul(dA[l], A[l - 1].T, out=dW[l])  # BP1's product (dA stands in for dZ)
                if l > 1:
                    np.matmul(W[l].T, dA[l], out=dA[l - 1])  # BP3

    with _blas_threads(dims, B):
        epochs(1)  # warm-up: BLAS threads, pages
        rss0 = _maxrss_mb()
        t0, c0 = time.perf_counter(), _cpu()
        epochs(spec["epochs"])
        seconds, cpu = time.perf_counter() - t0, _cpu() - c0
    return {"seconds": seconds, "cpu_seconds": cpu, "final_loss": None, "rss_before_mb": rss0}


def _cpu() -> float:
    """CPU seconds of this process so far, all threads (user + system)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _traced_peak(fn) -> float:
    """Peak MiB of Python and NumPy allocations (tracemalloc) made while fn runs, above the start."""
    import tracemalloc

    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return (peak - base) / 2**20


TRAINERS = {
    "vecprop": _train_vecprop,
    "vecprop-numpy": _train_vecprop,
    "vecprop-dnn": _train_vecprop_dnn,
    "sklearn": _train_sklearn,
    "torch": _train_torch,
    "jax": _train_jax,
    "gemm-floor": _train_gemm_floor,
}


def train(spec):
    import numpy as np

    data = [_random_data(spec, np)]  # the trainer pops it, so it alone holds the arrays
    out = TRAINERS[spec["framework"]](spec, data, np)
    out["flops_per_epoch"] = training_flops(spec["layer_dims"], spec["m"])
    out["seconds_per_epoch"] = out["seconds"] / spec["epochs"]
    out["cpu_seconds_per_epoch"] = out["cpu_seconds"] / spec["epochs"]
    return out


# ------------------------------------------------------------------------------------------------ accuracy
def make_mnist1d(spec):
    """MNIST-1D from mnist1d's own generator (no download, no pickle), saved to spec["path"]."""
    import numpy as np
    from mnist1d.data import get_dataset_args, make_dataset

    t0 = time.perf_counter()
    d = make_dataset(get_dataset_args())
    np.savez(spec["path"], x=d["x"], y=d["y"], x_test=d["x_test"], y_test=d["y_test"])
    return {
        "seconds": time.perf_counter() - t0,
        "train": int(d["x"].shape[0]),
        "test": int(d["x_test"].shape[0]),
        "features": int(d["x"].shape[1]),
    }


def _load_task(spec, np):
    """(X, y, X_test, y_test) as float64 rows, standardized with the training set's statistics."""
    if spec["task"] == "mnist1d":
        d = np.load(spec["path"])
        X, y, Xs, ys = d["x"], d["y"], d["x_test"], d["y_test"]
    else:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split

        X, y = load_digits(return_X_y=True)
        X, Xs, y, ys = train_test_split(X / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    mu, sd = X.mean(axis=0), X.std(axis=0)
    sd[sd == 0] = 1.0
    return (X - mu) / sd, y.astype(np.int64), (Xs - mu) / sd, ys.astype(np.int64)


def accuracy(spec):
    import numpy as np

    X, y, Xs, ys = _load_task(spec, np)
    cfg = ACCURACY_CONFIGS[spec["task"]]
    fw = spec["framework"]
    n_classes = int(max(y.max(), ys.max())) + 1
    dims = [X.shape[1], *cfg["hidden"], n_classes]
    if fw == "vecprop":
        import vecprop

        dt = cfg["dtype"]
        net = vecprop.Network(dims, cfg["activation"], "categorical_cross_entropy", seed=cfg["seed"], dtype=dt)
        XT = X.astype(dt).T
        Y = vecprop.one_hot(y, n_classes, dtype=dt)
        t0 = time.perf_counter()
        net.fit(
            XT,
            Y,
            epochs=cfg["epochs"],
            learning_rate=cfg["learning_rate"],
            optimizer=cfg["optimizer"],
            batch_size=cfg["batch_size"],
            keep_prob=cfg["keep_prob"],
            verbose=0,
        )
        seconds = time.perf_counter() - t0
        pred = net.predict(Xs.astype(dt).T)[0]
        train_pred = net.predict(XT)[0]
        config = {"layer_dims": dims, **cfg}
    elif fw == "vecprop-dnn":
        from vecprop import DNNClassifier

        kwargs = dnn_accuracy_kwargs(cfg)
        clf = DNNClassifier(**kwargs)
        dt = cfg["dtype"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning: a fixed number of epochs ends every fit
            t0 = time.perf_counter()
            clf.fit(X.astype(dt), y)
            seconds = time.perf_counter() - t0
        pred, train_pred = clf.predict(Xs.astype(dt)), clf.predict(X.astype(dt))
        config = {"DNNClassifier": ", ".join(f"{k}={v!r}" for k, v in kwargs.items()), "dtype": dt}
    elif fw == "sklearn":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        clf = MLPClassifier(**SKLEARN_ACCURACY_KWARGS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            t0 = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - t0
        pred, train_pred = clf.predict(Xs), clf.predict(X)
        config = {"MLPClassifier": "defaults", **SKLEARN_ACCURACY_KWARGS, "n_iter_": int(clf.n_iter_)}
    elif fw in ("vecprop-lbfgs", "sklearn-lbfgs"):
        if fw == "vecprop-lbfgs":
            from vecprop import DNNClassifier as cls
        else:
            from sklearn.neural_network import MLPClassifier as cls
        clf = cls(**LBFGS_ACCURACY_KWARGS)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # ConvergenceWarning when max_iter ends the fit
            cls(**{**LBFGS_ACCURACY_KWARGS, "max_iter": 2}).fit(X, y)  # warm-up: imports, compiled code loaded
            t0 = time.perf_counter()
            clf.fit(X, y)
            seconds = time.perf_counter() - t0
        pred, train_pred = clf.predict(Xs), clf.predict(X)
        config = {
            type(clf).__name__: ", ".join(f"{k}={v!r}" for k, v in LBFGS_ACCURACY_KWARGS.items()),
            "n_iter_": int(clf.n_iter_),
            "dtype": "float64",
        }
    elif fw == "torch":
        import torch

        torch.set_num_threads(spec["threads"])
        torch.manual_seed(cfg["seed"])
        dtype = {"float32": torch.float32, "float64": torch.float64}[cfg["dtype"]]
        model = _torch_mlp(dims, torch, dropout=1.0 - cfg["keep_prob"]).to(dtype)
        opt = {"adam": torch.optim.Adam, "gd": torch.optim.SGD}[cfg["optimizer"]](
            model.parameters(), lr=cfg["learning_rate"]
        )
        Xt = torch.from_numpy(X).to(dtype)
        gen = torch.Generator().manual_seed(cfg["seed"])
        t0 = time.perf_counter()
        _torch_epochs(model, opt, Xt, torch.from_numpy(y), cfg["epochs"], cfg["batch_size"], gen, torch)
        seconds = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            pred = model(torch.from_numpy(Xs).to(dtype)).argmax(1).numpy()
            train_pred = model(Xt).argmax(1).numpy()
        config = {"layer_dims": dims, **cfg, "dropout_p": round(1.0 - cfg["keep_prob"], 6)}
    else:
        raise ValueError(f"unknown framework {fw!r}")
    return {
        "test_accuracy": float((pred == ys).mean()),
        "train_accuracy": float((train_pred == y).mean()),
        "seconds": seconds,
        "config": config,
        "m_train": int(X.shape[0]),
        "m_test": int(Xs.shape[0]),
    }


def plot_scaling(spec):
    """The scaling sweeps as one log-log PNG: seconds per epoch against m, width and depth, a line per framework."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    points, labels = spec["points"], spec["labels"]
    sweeps = [s for s in ("m", "width", "depth") if any(p["sweep"] == s for p in points)]
    fig, axes = plt.subplots(1, len(sweeps), figsize=(4.2 * len(sweeps), 3.8), squeeze=False)
    for ax, sweep in zip(axes[0], sweeps):
        for fw in dict.fromkeys(p["framework"] for p in points):
            xy = sorted(
                (p["x"], p["seconds_per_epoch"]) for p in points if p["sweep"] == sweep and p["framework"] == fw
            )
            if xy:
                ax.plot(*zip(*xy), marker="o", label=labels.get(fw, fw))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel({"m": "examples m", "width": "hidden width n_l", "depth": "hidden layers L - 1"}[sweep])
        ax.set_ylabel("seconds per epoch")
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(spec["path"], dpi=110)
    return {"path": spec["path"]}


KINDS = {"info": info, "gemm": gemm, "train": train, "data": make_mnist1d, "accuracy": accuracy, "plot": plot_scaling}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    spec = json.loads(argv[0])
    _emit(KINDS[spec["kind"]](spec))
    return 0


if __name__ == "__main__":
    sys.exit(main())
