"""The memory guard: estimate the bytes an operation needs and refuse it, with the fix, before allocating.

A request larger than the memory available (``MemAvailable`` and the cgroup's headroom on Linux) or
than the user's limit ``VECPROP_MAX_MEMORY`` (bytes, or a size such as ``512M``, ``2G``, ``1.5GiB``)
raises :class:`MemoryLimitError`, a ValueError naming the size, what needs it and what to change,
instead of a NumPy ``MemoryError`` deep inside the network (or the kernel's OOM killer).

The estimates are upper bounds of what vecprop itself allocates for a network with layer sizes
``layer_dims = [n_0, ..., n_L]``; P = Σ_l n_l (n_{l-1} + 1) parameters and S = Σ_{l≥1} n_l units.
This module imports NumPy only, so every layer of the package may call it.
"""

from __future__ import annotations

import math
import os
import re

import numpy as np

__all__ = [
    "MemoryLimitError",
    "parse_size",
    "format_bytes",
    "memory_limit",
    "check_bytes",
    "n_params",
    "network_bytes",
    "check_network",
    "fit_bytes",
    "check_fit",
    "predict_chunk",
]

ENV = "VECPROP_MAX_MEMORY"
PREDICT_CHUNK_BYTES = 256 * 2**20  # predict's working set per chunk of columns, at most
OPTIMIZER_SLOTS = 3  # moments an optimizer keeps per parameter, at most (v, s, and a max)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}
_FIX = "use smaller layers, a smaller batch_size, or dtype=float32"


class MemoryLimitError(ValueError):
    """An operation would need more memory than is available or allowed by VECPROP_MAX_MEMORY."""


def parse_size(text) -> int:
    """Bytes from ``"1048576"``, ``"512K"``, ``"64M"``, ``"2G"``, ``"1.5GiB"`` or ``"1T"`` (powers of 1024).

    Raises
    ------
    ValueError
        If the text is not a positive size.
    """
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([kmgt]?)(?:i?b)?\s*", str(text), re.IGNORECASE)
    value = float(match.group(1)) * _UNITS[match.group(2).lower()] if match else 0.0
    if not (math.isfinite(value) and value >= 1):
        raise ValueError(f"{ENV}={text!r} is not a size; give bytes or a size like 512M, 2G, 1.5GiB")
    return int(value)


def format_bytes(n) -> str:
    """``n`` bytes as a short human size, e.g. ``298.0 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024:
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _available_bytes():
    """Memory the OS can still give this process (Linux: MemAvailable and cgroup headroom), or None."""
    candidates = []
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except (OSError, ValueError, IndexError):
        pass
    try:
        with open("/sys/fs/cgroup/memory.max", encoding="ascii") as handle:
            limit = handle.read().strip()
        if limit != "max":
            with open("/sys/fs/cgroup/memory.current", encoding="ascii") as handle:
                candidates.append(max(0, int(limit) - int(handle.read().strip())))
    except (OSError, ValueError):
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (AttributeError, OSError, ValueError):
            return None
    return min(candidates)


def memory_limit():
    """``(bytes, where)``: the smaller of VECPROP_MAX_MEMORY and the memory available, and which it is."""
    available = _available_bytes()
    limit = (available, "available") if available is not None else (None, "")
    text = os.environ.get(ENV)
    if text:
        user = parse_size(text)
        if limit[0] is None or user < limit[0]:
            limit = (user, f"allowed by {ENV}={text}")
    return limit


def check_bytes(nbytes, what, fix=_FIX, error=MemoryLimitError) -> None:
    """Raise ``error`` (a ValueError) if ``nbytes`` exceed :func:`memory_limit`; ``what`` names the need."""
    limit, where = memory_limit()
    if limit is not None and nbytes > limit:
        raise error(f"{what} needs about {format_bytes(nbytes)} but only {format_bytes(limit)} is {where}; {fix}")


def n_params(layer_dims) -> int:
    """P = Σ_l n_l (n_{l-1} + 1): the entries of W[1..L] and b[1..L] (Python ints: no overflow)."""
    return sum(int(n) * (int(p) + 1) for p, n in zip(layer_dims[:-1], layer_dims[1:]))


def network_bytes(layer_dims, dtype) -> int:
    """Bytes to build a Network: the flat parameter vector and the initializer's arrays."""
    return 2 * n_params(layer_dims) * np.dtype(dtype).itemsize


def check_network(layer_dims, dtype) -> None:
    """Refuse a Network whose parameters do not fit (called before they are allocated)."""
    check_bytes(
        network_bytes(layer_dims, dtype),
        f"a network with layer_dims {list(layer_dims)} ({n_params(layer_dims):,} parameters)",
        "use smaller layers or dtype=float32",
    )


def fit_bytes(layer_dims, batch_size, m, dtype):
    """``(state, workspaces, data)`` bytes of a fit: gradients, copies and optimizer moments of the
    parameters; Z, A, dZ, dA and dropout buffers for two batch sizes; the columns-contiguous X and Y."""
    size = np.dtype(dtype).itemsize
    S = sum(int(n) for n in layer_dims[1:])
    n_io = int(layer_dims[0]) + int(layer_dims[-1])
    state = (4 + OPTIMIZER_SLOTS) * n_params(layer_dims) * size
    workspaces = 2 * (6 * S + n_io) * int(batch_size) * size
    return state, workspaces, n_io * int(m) * size


def check_fit(layer_dims, batch_size, m, dtype) -> None:
    """Refuse a fit whose state and workspaces do not fit (called before any is allocated)."""
    state, workspaces, data = fit_bytes(layer_dims, batch_size or m, m, dtype)
    check_bytes(
        state + workspaces + data,
        f"training layer_dims {list(layer_dims)} with batches of {batch_size or m} "
        f"(parameter state {format_bytes(state)}, batch workspaces {format_bytes(workspaces)})",
    )


def predict_chunk(layer_dims, m, dtype) -> int:
    """Columns per chunk for a forward pass over m examples: m itself unless the pass's Z and A
    (2 S m entries) exceed PREDICT_CHUNK_BYTES or a quarter of the memory limit."""
    per_column = 2 * sum(int(n) for n in layer_dims[1:]) * np.dtype(dtype).itemsize
    limit, _ = memory_limit()
    budget = PREDICT_CHUNK_BYTES if limit is None else min(PREDICT_CHUNK_BYTES, limit // 4)
    check_bytes(
        int(layer_dims[-1]) * int(m) * np.dtype(dtype).itemsize + per_column,
        f"predicting {m} examples with layer_dims {list(layer_dims)}",
        "predict fewer examples at a time",
    )
    return int(max(1, min(m, budget // max(per_column, 1))))
