"""scikit-learn's ``array_api_dispatch`` for the estimators: X decides where the network trains and predicts.

With ``sklearn.config_context(array_api_dispatch=True)`` and X an array of another library (PyTorch,
CuPy, array-api-strict), ``fit`` validates X in its own namespace (scikit-learn's ``validate_data``),
trains with the ``xp`` engine on X's device, and the fitted weights stay there; ``predict``,
``predict_proba`` and ``score`` take X of that namespace and device and answer in it. The targets (and
sample weights) are small: labels are encoded from a host copy of y, then moved to X's device.
With dispatch off nothing here changes the NumPy path.

Functions take and return arrays in scikit-learn's row layout (n_samples, n_features); the estimators
transpose to the course's columns (n_x, m) themselves.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from sklearn import get_config

from vecprop.engines import xp_propagation as xpp

__all__ = [
    "dispatch_target",
    "float_dtypes",
    "host_dtype",
    "astype",
    "take_rows",
    "to_columns",
    "to_host",
    "check_same_place",
    "label_array",
]

to_host = xpp.to_host


def dispatch_target(X):
    """(xp, device) of X when ``array_api_dispatch`` is on and X is not a NumPy array; None otherwise.

    Raises ValueError for sparse X with dispatch on: sparse matrices are NumPy-only (SciPy) and the
    network is dense on X's device.
    """
    if not get_config()["array_api_dispatch"]:
        return None
    if sp.issparse(X):
        raise ValueError(
            "sparse input is not supported with sklearn.config_context(array_api_dispatch=True): the "
            "network computes on dense arrays of X's namespace and device. Pass a dense array "
            "(e.g. X.toarray(), then torch.asarray(...)) or fit without array_api_dispatch"
        )
    if not xpp.is_foreign(X):
        return None
    from sklearn.utils._array_api import get_namespace  # scikit-learn's checks (SCIPY_ARRAY_API=1)

    get_namespace(X)
    return xpp.target(X)


def float_dtypes(where):
    """The dtypes ``validate_data`` may keep: NumPy's, or those of the namespace in ``where``."""
    if where is None:
        return (np.float64, np.float32)
    xp = where[0]
    return (xp.float64, xp.float32)


def host_dtype(X) -> np.dtype:
    """X's floating dtype as a NumPy dtype (the network's dtype, and that of the host-side targets)."""
    if not xpp.is_foreign(X):
        return np.dtype(X.dtype)
    return np.dtype(np.float64) if X.dtype == xpp.namespace(X).float64 else np.dtype(np.float32)


def astype(X, dtype):
    """X in the NumPy dtype ``dtype`` (float32/float64), in X's own namespace; X itself when it already is."""
    if not xpp.is_foreign(X):
        return X.astype(dtype, copy=False)
    if host_dtype(X) == dtype:
        return X
    xp = xpp.namespace(X)
    return xp.astype(X, getattr(xp, np.dtype(dtype).name))


def take_rows(X, idx):
    """Rows ``idx`` (a NumPy int array) of X (n_samples, ...), in X's namespace and on its device."""
    if not xpp.is_foreign(X):
        return X[idx]
    xp = xpp.namespace(X)
    return xp.take(X, xp.asarray(np.asarray(idx, dtype=np.int64), device=xpp.device(X)), axis=0)


def to_columns(X):
    """Rows (n_samples, n_features) as the course's columns (n_x, m): contiguous for NumPy."""
    return np.ascontiguousarray(X.T) if not xpp.is_foreign(X) else X.T


def _describe(where) -> str:
    return "NumPy" if where == (None, None) else f"{where[0].__name__} on device {where[1]!r}"


def check_same_place(X, est, method: str) -> None:
    """ValueError unless X is in the namespace and on the device of the fitted weights.

    Under dispatch this is scikit-learn's ``check_same_namespace`` (same words); without it, a network
    fitted under dispatch on another library's arrays cannot take NumPy input silently either.
    """
    W1 = est.network_.params["W1"]  # where every parameter is (theta would re-link read-only unpickled views)
    fitted = xpp.target(W1) if xpp.is_foreign(W1) else (None, None)
    dispatch = get_config()["array_api_dispatch"]
    given = xpp.target(X) if (dispatch and xpp.is_foreign(X)) else (None, None)
    if fitted == given:
        return
    name = type(est).__name__
    if not dispatch:
        raise ValueError(
            f"{name}.{method}(): this estimator was fitted under sklearn.config_context(array_api_dispatch="
            f"True) and its weights live in {_describe(fitted)}; call {method} inside that context with X "
            "there, or move the weights to NumPy first with est.network_.to(numpy)"
        )
    raise ValueError(
        f"Inputs passed to {name}.{method}() must use the same namespace and the same device as those "
        f"passed to fit(). The weights live in {_describe(fitted)}, X in {_describe(given)}. Move X there, "
        "or the weights to X with est.network_.to(X)"
    )


def label_array(labels: np.ndarray, where):
    """Class labels for ``classes_``/``predict``: numeric labels in X's namespace on its device (as
    scikit-learn's Array API classifiers keep them), strings or objects as the NumPy array they are."""
    if where is None or labels.dtype.kind not in "biuf":
        return labels
    return xpp.move(labels, *where)
