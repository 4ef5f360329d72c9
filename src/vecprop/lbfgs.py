"""Full-batch L-BFGS: SciPy's ``minimize(method="L-BFGS-B")`` on the network's flat parameter vector.

The cost J(θ) and its gradient are the package's own: forward (eqs. 1–2), the cost (eq. 3, with the
course's L2 term λ/(2m)·Σ‖W[l]‖² and sample weights) and BP1–BP4, evaluated at a trial vector θ laid
out as :func:`vecprop.propagation.param_layout` (``[W1..WL, b1..bL]``). SciPy is imported on first use
(the ``sklearn`` extra installs it).
"""

from __future__ import annotations

import time

import numpy as np

from vecprop import propagation
from vecprop.training import History

__all__ = ["cost_and_gradient", "minimize_lbfgs"]


def cost_and_gradient(net, X, Y, *, sample_weight=None, l2: float = 0.0):
    """The function θ -> (J(θ), ∇J(θ)) that L-BFGS minimizes, for validated (X, Y).

    Parameters
    ----------
    net : Network — its layer sizes, activations and loss (its parameters are not touched)
    X : ndarray of shape (n_0, m); Y : ndarray of shape (n_L, m)
    sample_weight : ndarray of shape (m,), optional
    l2 : float — λ of the course's L2 term

    Returns
    -------
    callable ``f(theta) -> (float, ndarray of shape (n_params,))``, theta of shape (n_params,)
    """
    layout = propagation.param_layout(net.layer_dims)
    canonical = net.activations[-1].name == net.loss.canonical_activation
    L = net.L

    def f(theta):
        theta = np.asarray(theta, dtype=net.dtype)
        params = propagation.param_views(theta, net.layer_dims)
        with np.errstate(over="ignore", invalid="ignore"):
            AL, caches = propagation.forward(X, params, net.activations)
            J = propagation.cost(
                AL,
                Y,
                net.loss,
                ZL=caches[L].Z if canonical else None,
                sample_weight=sample_weight,
                params=params,
                l2=l2,
            )
            grads = propagation.backward(
                AL, Y, caches, params, net.activations, net.loss, sample_weight=sample_weight, l2=l2, need_dA0=False
            )
        grad = np.empty(theta.size, dtype=np.float64)
        for key, (start, (rows, cols)) in layout.items():
            grad[start : start + rows * cols] = grads["d" + key].ravel()
        return J, grad

    return f


def minimize_lbfgs(
    net,
    X,
    Y,
    *,
    sample_weight=None,
    l2: float = 0.0,
    max_iter: int = 200,
    max_fun: int = 15000,
    tol: float = 1e-5,
    callback=None,
):
    """Minimize J over the network's parameters with L-BFGS-B, starting from (and writing back to) them.

    Parameters
    ----------
    net : Network; X : (n_0, m); Y : (n_L, m); sample_weight : (m,) or None; l2 : λ
    max_iter : int — L-BFGS iterations (scikit-learn's ``max_iter``)
    max_fun : int — evaluations of J (scikit-learn's ``max_fun``)
    tol : float — stop when the projected gradient's largest entry is below tol (SciPy's ``gtol``)
    callback : callable ``callback(iteration, J)``, optional — after every iteration

    Returns
    -------
    scipy.optimize.OptimizeResult — ``x`` (the final θ, also written into ``net.params`` when finite),
    ``fun``, ``nit``, ``nfev``, ``status`` (0 converged, 1 a limit reached), ``message``
    """
    from scipy.optimize import minimize  # optional: only L-BFGS needs SciPy

    layout = propagation.param_layout(net.layer_dims)
    theta0 = np.empty(net.n_params, dtype=np.float64)
    for key, (start, (rows, cols)) in layout.items():
        theta0[start : start + rows * cols] = net.params[key].ravel()
    f = cost_and_gradient(net, X, Y, sample_weight=sample_weight, l2=l2)
    iteration = [0]

    def each_iteration(intermediate_result):
        iteration[0] += 1
        if callback is not None:
            callback(iteration[0], float(intermediate_result.fun))

    result = minimize(
        f,
        theta0,
        method="L-BFGS-B",
        jac=True,
        callback=each_iteration,
        options={"maxfun": int(max_fun), "maxiter": int(max_iter), "gtol": float(tol)},
    )
    if np.all(np.isfinite(result.x)):
        net.params = propagation.param_views(result.x.astype(net.dtype), net.layer_dims)
    return result


def fit_lbfgs(
    net,
    X,
    Y,
    *,
    epochs: int = 100,
    l2: float = 0.0,
    sample_weight=None,
    verbose: int = 0,
    tol: float = 1e-5,
    max_fun: int = 15000,
    **options,
):
    """``Network.fit(optimizer="lbfgs")``: full-batch L-BFGS for up to ``epochs`` iterations.

    Returns a :class:`vecprop.training.History` with the cost after each iteration. Options of the
    mini-batch trainer that have no meaning here (batch_size, learning_rate, schedule, dropout, ...)
    raise ValueError when set.
    """
    ignored = {
        "optimizer": "lbfgs",
        "learning_rate": 0.01,
        "batch_size": None,
        "shuffle": True,
        "schedule": None,
        "keep_prob": 1.0,
        "clip_norm": None,
        "callbacks": (),
        "reset": False,
        "print_every": None,
    }
    for key, value in options.items():
        if key not in ignored:
            raise ValueError(f"fit(optimizer='lbfgs') got an unexpected option {key!r}")
        if value != ignored[key] and key not in ("optimizer", "reset", "shuffle", "learning_rate"):
            raise ValueError(
                f"fit(optimizer='lbfgs') is full-batch L-BFGS: {key}={value!r} does not apply; "
                f"leave it at {ignored[key]!r} or use a gradient-descent optimizer"
            )
    if not (isinstance(epochs, (int, np.integer)) and epochs >= 1):
        raise ValueError(f"epochs must be an integer >= 1 (L-BFGS iterations), got {epochs!r}")
    X = net.check_X(X)
    Y = net.check_Y(Y, X.shape[1])
    if sample_weight is not None:
        sample_weight = np.asarray(sample_weight, dtype=net.dtype).reshape(-1)
        if (
            sample_weight.shape != (X.shape[1],)
            or not np.all(np.isfinite(sample_weight))
            or (sample_weight < 0).any()
            or sample_weight.sum() <= 0
        ):
            raise ValueError(f"sample_weight must hold {X.shape[1]} finite non-negative weights with a positive sum")
    if not (np.isfinite(l2) and l2 >= 0):
        raise ValueError(f"l2 (λ) must be a finite number >= 0, got {l2!r}")
    history = History()
    t0 = [time.perf_counter()]

    def record(iteration, J):
        now = time.perf_counter()
        history.append(iteration - 1, {"loss": J, "seconds": now - t0[0]})
        t0[0] = now
        if verbose:
            print(f"Iteration {iteration}, cost = {J:.8f}")

    result = minimize_lbfgs(
        net, X, Y, sample_weight=sample_weight, l2=float(l2), max_iter=epochs, max_fun=max_fun, tol=tol, callback=record
    )
    history.stop_reason = "converged" if result.status == 0 else "epochs"
    net.metadata["training"] = {
        "optimizer": "lbfgs",
        "epochs": int(epochs),
        "l2": float(l2),
        "tol": float(tol),
        "max_fun": int(max_fun),
    }
    return history
