"""The seed's forward, cost and backward (``propagation.py``) on any Array API namespace, and the array helpers
that let ``Network`` follow its input's namespace and device ("everything follows X").

``propagation`` is the NumPy reference; this module has the same functions with the same signatures —
``forward``, ``cost``, ``backward`` — written against ``xp = array_api_compat.array_namespace(X)`` (PyTorch
on CPU or CUDA, CuPy, array-api-strict), so ``Network`` calls one or the other by the type of its input.
NumPy input never reaches this module's Array API path and never imports array-api-compat.

Array helpers: :func:`is_foreign` (a supported non-NumPy array?), :func:`namespace`, :func:`device`,
:func:`to_host` (an explicit copy to NumPy), :func:`move` (to a namespace/device), :func:`finite_array` and
:func:`check_sample_weight` (the boundary checks of ``checks.py``, done in the array's own namespace),
:func:`take_columns`, :func:`predict` and :func:`n_correct` (the head's decoding in the namespace).
"""

from __future__ import annotations

import numpy as np

from .. import checks
from ..propagation import LayerCache, param_layout
from .xp_engine import ACTIVATIONS_XP, LOSSES_XP

__all__ = [
    "is_foreign",
    "namespace",
    "device",
    "to_host",
    "move",
    "target",
    "param_views",
    "finite_array",
    "check_sample_weight",
    "take_columns",
    "forward",
    "cost",
    "backward",
    "predict",
    "n_correct",
    "INSTALL_HINT",
]

INSTALL_HINT = 'pip install "vecprop[array]"'
_FOREIGN_MODULES = ("torch", "cupy", "jax", "jaxlib", "array_api_strict", "dask", "ndonnx", "sparse")


# ------------------------------------------------------------------------------------- arrays
def is_foreign(a) -> bool:
    """Whether ``a`` is an array of a non-NumPy library (decided without importing array-api-compat)."""
    if isinstance(a, (np.ndarray, np.generic)) or a is None:
        return False
    return hasattr(a, "__array_namespace__") or type(a).__module__.split(".")[0] in _FOREIGN_MODULES


def namespace(*arrays):
    """The Array API namespace of ``arrays`` (array-api-compat's); ImportError naming the extra if missing."""
    try:
        from array_api_compat import array_namespace
    except ImportError:
        raise ImportError(
            f"non-NumPy arrays ({type(arrays[0]).__module__}) need array-api-compat: {INSTALL_HINT}"
        ) from None
    try:
        return array_namespace(*arrays)
    except TypeError as exc:
        raise ValueError(
            f"arrays of different libraries cannot be mixed ({exc}); give X, Y and "
            "sample_weight in one namespace on one device"
        ) from None


def device(a):
    from array_api_compat import device as _device

    return _device(a)


def to_host(a):
    """``a`` as a NumPy array: the same object for NumPy input, an explicit copy from any device otherwise."""
    if not is_foreign(a):
        return a
    from array_api_compat import is_array_api_strict_namespace, is_cupy_array, is_torch_array

    if is_torch_array(a):
        return a.detach().cpu().numpy()
    if is_cupy_array(a):
        return a.get()
    if is_array_api_strict_namespace(namespace(a)):
        import array_api_strict

        a = a.to_device(array_api_strict.Device("CPU_DEVICE"))
    return np.from_dlpack(a)


def target(like, dev=None):
    """(xp, device) from a namespace module or an array (and an optional device); xp is None for NumPy."""
    if like is None or like is np or isinstance(like, (np.ndarray, np.generic)):
        return None, None
    if not is_foreign(like):  # a namespace module: torch, cupy, array_api_strict
        if not hasattr(like, "asarray"):
            raise ValueError(
                f"expected an array or an array namespace (numpy, torch, cupy, array_api_strict) "
                f"with an optional device, got {like!r}; e.g. net.to(torch, device='cuda')"
            )
        if getattr(like, "__name__", "").split(".")[-1] == "numpy" and dev in (None, "cpu"):
            return None, None
        like = like.asarray(0.0) if dev is None else like.asarray(0.0, device=dev)
    xp = namespace(like)
    return xp, device(like) if dev is None else dev


def move(a, xp, dev):
    """``a`` (any namespace) in ``xp`` on ``dev`` (xp None: NumPy); the same object when it already is."""
    if xp is None:
        return to_host(a)
    if is_foreign(a) and namespace(a) is xp:
        return a if device(a) == dev else xp.asarray(_to_device(a, dev))
    return xp.asarray(to_host(a), device=dev, copy=True)


def _to_device(a, dev):
    from array_api_compat import to_device

    return to_device(a, dev)


def param_views(theta, layer_dims) -> dict:
    """``{"W1": (n_1, n_0), "b1": (n_1, 1), ...}`` views of the flat vector ``theta`` in its namespace."""
    if not is_foreign(theta):
        from ..propagation import param_views as numpy_views

        return numpy_views(theta, layer_dims)
    xp, layout = namespace(theta), param_layout(layer_dims)
    views = {}
    for key in (f"{p}{l}" for l in range(1, len(layer_dims)) for p in "Wb"):
        start, (rows, cols) = layout[key]
        views[key] = xp.reshape(theta[start : start + rows * cols], (rows, cols))
    return views


def relink(theta, params, layer_dims) -> dict:
    """Write ``params``' values into ``theta`` and return fresh views of it: after a deep copy (which may copy
    views as separate arrays) or ``params["W1"] = array`` they are views of the flat vector again."""
    xp, dev = namespace(theta), device(theta)
    for key, (start, (rows, cols)) in param_layout(layer_dims).items():
        theta[start : start + rows * cols] = xp.reshape(move(params[key], xp, dev), (rows * cols,))
    return param_views(theta, layer_dims)


def finite_array(a, name, dtype, like):
    """``a`` checked as ``checks.finite_array`` does, in the namespace and on the device of ``like`` (the
    parameters). Host data (NumPy, lists) is moved there; an array of another library or device is refused."""
    if not is_foreign(like):
        if is_foreign(a):
            raise ValueError(
                f"{name} is a {type(a).__module__} array but the network's parameters are NumPy; "
                "give X, Y and sample_weight in one namespace (or call net.to(X) first)"
            )
        return checks.finite_array(a, name, dtype)
    xp, dev = namespace(like), device(like)
    if is_foreign(a):
        if namespace(a) is not xp or device(a) != dev:
            raise ValueError(
                f"{name} is on {device(a)!r} ({type(a).__module__}) but the parameters are on "
                f"{dev!r}; give X, Y and sample_weight in one namespace on one device"
            )
        if not xp.isdtype(a.dtype, ("real floating", "integral", "bool")):
            raise ValueError(f"{name} must be a numeric array, got dtype {a.dtype}")
        a = xp.astype(a, getattr(xp, np.dtype(dtype).name))
    else:
        a = xp.asarray(checks.finite_array(a, name, dtype), device=dev)
    if not bool(xp.all(xp.isfinite(a))):
        raise ValueError(f"{name} contains NaN or inf; remove or impute those values first")
    return a


def check_sample_weight(sample_weight, m, dtype, like):
    """Per-example weights (m,) as ``checks.check_sample_weight``, in the parameters' namespace."""
    if sample_weight is None or not is_foreign(like):
        if is_foreign(sample_weight):
            finite_array(sample_weight, "sample_weight", dtype, like)  # raises: NumPy parameters
        return checks.check_sample_weight(sample_weight, m, dtype)
    w = finite_array(sample_weight, "sample_weight", dtype, like)
    if tuple(w.shape) not in ((m,), (1, m)):
        raise ValueError(f"sample_weight has shape {tuple(w.shape)}; expected one weight per example, shape ({m},)")
    xp = namespace(w)
    if bool(xp.any(w < 0)) or not bool(xp.sum(w) > 0):
        raise ValueError("sample_weight must be non-negative with a positive sum")
    return xp.reshape(w, (m,))


def take_columns(A, idx):
    """Columns ``idx`` (a NumPy int array) of A (n, m) or entries of w (m,), in A's namespace."""
    if A is None or not is_foreign(A):
        return None if A is None else A[..., idx]
    xp = namespace(A)
    return xp.take(A, xp.asarray(np.asarray(idx, dtype=np.int64), device=device(A)), axis=A.ndim - 1)


def reshape(a, shape):
    return namespace(a).reshape(a, shape) if is_foreign(a) else a.reshape(shape)


# ------------------------------------------------------------------------------------- the seed
def forward(X, params, activations, *, keep_prob=None, rng=None):
    """Eqs. (2)(1) for l = 1..L as ``propagation.forward``: (A[L], {l: LayerCache(A_prev, Z, A, D)}).
    [dropout] masks ``U < keep_prob[l]`` from ``rng.random((n_l, m))`` drawn on the host (same on every backend)."""
    xp, dev = namespace(X), device(X)
    caches, A = {}, X
    for l, g in enumerate(activations, start=1):
        A_prev = A
        Z = params[f"W{l}"] @ A_prev + params[f"b{l}"]  # eq. (2)
        A = ACTIVATIONS_XP[g.name][0](xp, Z, g)  # eq. (1)
        D = None
        if keep_prob is not None and keep_prob[l - 1] < 1.0:  # [dropout]
            D = xp.asarray(rng.random((Z.shape[0], Z.shape[1])) < keep_prob[l - 1], device=dev)
            caches[l] = LayerCache(A_prev, Z, A, D)
            A = A * xp.astype(D, A.dtype) / keep_prob[l - 1]
        else:
            caches[l] = LayerCache(A_prev, Z, A, D)
    return A, caches


def _weights(xp, sample_weight, m):
    """[weights] scaled to mean one, (1, m), as ``propagation.normalized_weights``."""
    if sample_weight is None:
        return None
    w = xp.reshape(sample_weight, (1, m))
    total = xp.sum(w)
    return w * (m / total) if bool(total > 0) else w


def cost(AL, Y, loss, *, ZL=None, sample_weight=None, params=None, l2: float = 0.0) -> float:
    """Eq. (3) as ``propagation.cost`` (from the logits ZL when given); a Python float."""
    xp, m = namespace(AL), Y.shape[1]
    losses = LOSSES_XP[loss.name][0](xp, AL, Y, ZL)
    w = _weights(xp, sample_weight, m)
    if w is not None:
        losses = w[0, :] * losses
    J = xp.sum(losses) / m
    if l2:
        J = J + l2 / (2 * m) * sum(xp.sum(W * W) for k, W in params.items() if k[0] == "W")
    return float(J)


def _output_delta(xp, AL, Y, ZL, g, loss, w):
    if g.name == loss.canonical_activation:
        dZ = LOSSES_XP[loss.name][2](xp, AL, Y)  # dZ[L] = A[L] − Y
        return dZ if w is None else dZ * w
    dA = LOSSES_XP[loss.name][1](xp, AL, Y)
    if w is not None:
        dA = dA * w
    return ACTIVATIONS_XP[g.name][1](xp, dA, ZL, AL, g)  # BP4


def backward(
    AL,
    Y,
    caches,
    params,
    activations,
    loss,
    *,
    keep_prob=None,
    sample_weight=None,
    l2: float = 0.0,
    need_dA0: bool = True,
) -> dict:
    """BP1–BP4 from layer L down, as ``propagation.backward`` (same keys: dW, db, dZ per layer, dA)."""
    xp, L, m = namespace(AL), len(activations), Y.shape[1]
    w = _weights(xp, sample_weight, m)
    grads, dA = {}, None
    dZ = _output_delta(xp, AL, Y, caches[L].Z, activations[-1], loss, w)
    for l in range(L, 0, -1):
        W, cache = params[f"W{l}"], caches[l]
        if l < L:
            if cache.D is not None:  # [dropout]
                dA = dA * xp.astype(cache.D, dA.dtype) / keep_prob[l - 1]
            grads[f"dA{l}"] = dA
            g = activations[l - 1]
            dZ = ACTIVATIONS_XP[g.name][1](xp, dA, cache.Z, cache.A, g)  # BP4
        dW = dZ @ xp.matrix_transpose(cache.A_prev) / m  # BP1
        db = xp.sum(dZ, axis=1, keepdims=True) / m  # BP2
        if need_dA0 or l > 1:
            dA = xp.matrix_transpose(W) @ dZ  # BP3
        if l2:  # [L2]
            dW = dW + (l2 / m) * W
        grads[f"dZ{l}"], grads[f"dW{l}"], grads[f"db{l}"] = dZ, dW, db
    if need_dA0:
        grads["dA0"] = dA
    return grads


def predict(head, AL):
    """``OutputHead.predict`` in AL's namespace: class indices (1, m), 0/1 (n_L, m) or A[L]."""
    if not is_foreign(AL):
        return head.predict(AL)
    xp = namespace(AL)
    if head.activation.name == "softmax":
        return xp.reshape(xp.argmax(AL, axis=0), (1, AL.shape[1]))
    if head.activation.name == "sigmoid":
        return xp.astype(AL > 0.5, xp.int64)
    return AL


def n_correct(head, AL, Y) -> int:
    """``OutputHead.n_correct`` in AL's namespace (one number back to the host)."""
    if not is_foreign(AL):
        return head.n_correct(AL, Y)
    xp = namespace(AL)
    if head.activation.name == "softmax":
        return int(xp.sum(xp.astype(xp.argmax(AL, axis=0) == xp.argmax(Y, axis=0), xp.int64)))
    if head.activation.name == "sigmoid":
        return int(xp.sum(xp.astype(xp.all((AL > 0.5) == (Y > 0.5), axis=0), xp.int64)))
    return 0
