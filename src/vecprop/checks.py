"""Validation helpers shared by every layer (the bottom of the import graph: NumPy only).

Each raises ValueError with a message that says what was wrong and how to fix it.
"""

from __future__ import annotations

import numpy as np

__all__ = ["finite_array", "check_sample_weight", "check_l2"]


def finite_array(a, name, dtype):
    """``a`` as an array of ``dtype``; ValueError if it is not numeric or holds NaN/inf."""
    try:
        arr = np.asarray(a, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be a numeric array: {exc}") from None
    # a sum is NaN/inf whenever an entry is, and needs no array of the data's size (an overflowing sum of
    # finite values only sends it to the exact check)
    with np.errstate(over="ignore", invalid="ignore"):
        total = np.sum(arr, dtype=np.float64)
    if not np.isfinite(total) and not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        raise ValueError(
            f"{name} contains NaN or inf (first at index {tuple(int(i) for i in bad)}); "
            "remove or impute those values first"
        )
    return arr


def check_sample_weight(sample_weight, m, dtype):
    """Per-example weights of shape (m,) (None stays None): finite, non-negative, positive sum."""
    if sample_weight is None:
        return None
    w = finite_array(sample_weight, "sample_weight", dtype)
    if w.shape not in ((m,), (1, m)):
        raise ValueError(f"sample_weight has shape {w.shape}; expected one weight per example, shape ({m},)")
    if (w < 0).any() or w.sum() <= 0:
        raise ValueError("sample_weight must be non-negative with a positive sum")
    return w.reshape(m)


def check_l2(l2):
    """λ as a float; ValueError unless finite and >= 0."""
    if not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 (λ) must be a finite number >= 0, got {l2!r}")
    return float(l2)
