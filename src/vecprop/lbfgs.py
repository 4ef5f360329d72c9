"""Full-batch L-BFGS: SciPy's ``minimize(method="L-BFGS-B")`` on the network's flat parameter vector.

The cost J(θ) and its gradient are the package's own: forward (eqs. 1–2), the cost (eq. 3, with the
course's L2 term λ/(2m)·Σ‖W[l]‖² and sample weights) and BP1–BP4, evaluated at a trial vector θ laid
out as ``net.theta`` (``[W1..WL, b1..bL]``, :func:`vecprop.propagation.param_layout`). One evaluation is
one full-batch ``batch_sums`` of an engine (the seam the mini-batch Trainer uses, so ``engine=`` chooses
the same numpy, compiled or reference code); J and ∇J are its sums over the m examples divided by Σw,
plus the L2 term. SciPy is imported on first use (the ``sklearn`` extra installs it).
"""

from __future__ import annotations

import copy
import time

import numpy as np

from vecprop import propagation
from vecprop.engines import N_SCALARS, get_engine
from vecprop.training import History

__all__ = ["cost_and_gradient", "minimize_lbfgs"]


class _Objective:
    """θ -> (J(θ), ∇J(θ)) on a private copy of the network, so the network itself is not touched."""

    def __init__(self, net, X, Y, sample_weight, l2, engine):
        self.trial = copy.deepcopy(net)
        self.theta = self.trial.theta  # the engine reads the parameters as views of this vector
        self.n_W = propagation.param_layout(net.layer_dims)["b1"][0]  # the biases start where weights end
        self.engine = get_engine(engine, self.trial)
        self.engine.bind(X, Y, sample_weight)
        self.buf = self.engine.zeros(self.theta.size + N_SCALARS)
        self.cols = slice(0, X.shape[1])
        self.l2 = float(l2)

    def __call__(self, theta):
        n, n_W, buf = self.theta.size, self.n_W, self.buf
        self.theta[...] = theta  # SciPy's float64 θ, in the network's dtype
        with np.errstate(over="ignore", invalid="ignore"):
            self.engine.batch_sums(self.cols, buf)  # Σ_i w_i ∂L_i/∂θ, Σ w L, Σ w, m, #right
        loss_sum, w_sum, count, _ = self.engine.scalars(buf[n:])
        J = loss_sum / w_sum  # eq. (3), the weighted average
        grad = np.divide(buf[:n], w_sum, dtype=np.float64)  # BP1–BP2's 1/m
        if self.l2:  # [L2]: λ/(2m) Σ‖W‖² and its gradient (λ/m) W
            W = self.theta[:n_W]
            J += self.l2 / (2 * count) * float(np.vdot(W, W))
            grad[:n_W] += (self.l2 / count) * W
        return float(J), grad


def cost_and_gradient(net, X, Y, *, sample_weight=None, l2: float = 0.0, engine="auto"):
    """The function θ -> (J(θ), ∇J(θ)) that L-BFGS minimizes, for validated (X, Y).

    Parameters
    ----------
    net : Network — its layer sizes, activations and loss (its parameters are not touched)
    X : ndarray of shape (n_0, m); Y : ndarray of shape (n_L, m)
    sample_weight : ndarray of shape (m,), optional
    l2 : float — λ of the course's L2 term
    engine : str or Engine — who computes the full-batch sums ("auto", "numpy", "numba", "reference")

    Returns
    -------
    callable ``f(theta) -> (float, ndarray of shape (n_params,))``, theta of shape (n_params,)
    """
    return _Objective(net, X, Y, sample_weight, l2, engine)


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
    engine="auto",
):
    """Minimize J over the network's parameters with L-BFGS-B, starting from (and writing back to) them.

    Parameters
    ----------
    net : Network; X : (n_0, m); Y : (n_L, m); sample_weight : (m,) or None; l2 : λ
    max_iter : int — L-BFGS iterations (scikit-learn's ``max_iter``)
    max_fun : int — evaluations of J (scikit-learn's ``max_fun``)
    tol : float — stop when the projected gradient's largest entry is below tol (SciPy's ``gtol``)
    callback : callable ``callback(iteration, J)``, optional — after every iteration
    engine : str or Engine — as in :func:`cost_and_gradient`

    Returns
    -------
    scipy.optimize.OptimizeResult — ``x`` (the final θ, also written into ``net.params`` when finite),
    ``fun``, ``nit``, ``nfev``, ``status`` (0 converged, 1 a limit reached), ``message``
    """
    from scipy.optimize import minimize  # optional: only L-BFGS needs SciPy

    f = _Objective(net, X, Y, sample_weight, l2, engine)
    iteration = [0]

    def each_iteration(intermediate_result):
        iteration[0] += 1
        if callback is not None:
            callback(iteration[0], float(intermediate_result.fun))

    with f.engine.session(X.shape[1]):
        result = minimize(
            f,
            net.theta.astype(np.float64),
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
        "engine": "auto",
    }
    for key, value in options.items():
        if key not in ignored:
            raise ValueError(f"fit(optimizer='lbfgs') got an unexpected option {key!r}")
        if value != ignored[key] and key not in ("optimizer", "reset", "shuffle", "learning_rate", "engine"):
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
        net,
        X,
        Y,
        sample_weight=sample_weight,
        l2=float(l2),
        max_iter=epochs,
        max_fun=max_fun,
        tol=tol,
        callback=record,
        engine=options.get("engine", "auto"),
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
