"""Gradient checking: BP1–BP4's gradients against central finite differences of J, in float64.

For every parameter entry θ_i, ĝ_i = (J(θ + ε e_i) − J(θ − ε e_i)) / (2ε); the check reports the
relative difference ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) overall and per parameter (W1, b1, ...), with the worst
entry located. The course calls a difference below ~1e-7 correct.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .engines.xp_propagation import to_host

__all__ = ["gradient_check", "numeric_gradient", "GradCheckResult", "ParameterCheck", "relative_difference"]


def numeric_gradient(J, params: dict, epsilon: float = 1e-7) -> dict:
    """Central differences ĝ = (J(θ + ε e_i) − J(θ − ε e_i)) / (2ε) for every entry of every parameter.

    Parameters
    ----------
    J : callable with no arguments returning the cost for the current values in ``params``
    params : dict ``{"W1": ..., "b1": ...}`` — perturbed in place, each entry restored afterwards

    Returns
    -------
    dict ``{"dW1": ĝ (same shape as W1), "db1": ..., ...}``
    """
    numeric = {}
    for name, theta in params.items():
        g_hat = np.empty(theta.shape, np.float64)  # on the host, also for a parameter on a device
        for idx in np.ndindex(theta.shape):
            saved = theta[idx] if isinstance(theta, np.ndarray) else float(theta[idx])  # a torch entry is a view
            theta[idx] = saved + epsilon
            J_plus = J()
            theta[idx] = saved - epsilon
            J_minus = J()
            theta[idx] = saved
            g_hat[idx] = (J_plus - J_minus) / (2 * epsilon)
        numeric["d" + name] = g_hat
    return numeric


def relative_difference(g: np.ndarray, g_hat: np.ndarray) -> float:
    """‖g − ĝ‖ / (‖g‖ + ‖ĝ‖), and 0.0 when both are zero."""
    denom = np.linalg.norm(g) + np.linalg.norm(g_hat)
    return 0.0 if denom == 0 else float(np.linalg.norm(g - g_hat) / denom)


@dataclass(frozen=True)
class ParameterCheck:
    """One parameter's check: its relative difference and the entry where |g − ĝ| is largest."""

    name: str  # "W1", "b1", ...
    difference: float  # ‖g − ĝ‖ / (‖g‖ + ‖ĝ‖) over this parameter
    worst_index: tuple  # (row, column) of the largest |g − ĝ|
    analytic: float  # g at that entry (backpropagation)
    numeric: float  # ĝ at that entry (finite differences)


@dataclass(frozen=True)
class GradCheckResult:
    """The overall relative difference and one :class:`ParameterCheck` per parameter."""

    difference: float
    parameters: dict
    epsilon: float
    threshold: float = 1e-7

    @property
    def passed(self) -> bool:
        return self.difference < self.threshold

    def __getitem__(self, name) -> ParameterCheck:
        return self.parameters[name]

    def table(self) -> str:
        """A plain-text table, one row per parameter, then the overall verdict."""
        lines = [f"{'param':<6} {'rel. difference':>16}  {'worst entry':<12} {'backprop':>13} {'numeric':>13}"]
        for p in self.parameters.values():
            lines.append(
                f"{p.name:<6} {p.difference:>16.3e}  {str(p.worst_index):<12} {p.analytic:>13.6e} {p.numeric:>13.6e}"
            )
        verdict = "PASSED" if self.passed else "FAILED"
        lines.append(
            f"overall {self.difference:.3e} ({verdict}: threshold {self.threshold:g}, epsilon {self.epsilon:g})"
        )
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def gradient_check(
    net, X, Y, epsilon: float = 1e-7, *, l2: float = 0.0, sample_weight=None, threshold: float = 1e-7
) -> GradCheckResult:
    """Check ``net.backward`` against central differences of ``net.cost``, in float64.

    Parameters
    ----------
    net : Network — any depth, any registered activations and loss (float32 networks are checked on a
        float64 copy); dropout is off during the check, as the course prescribes
    X : array of shape (n_0, m)
    Y : array of shape (n_L, m)
    epsilon : float — the finite-difference step
    l2 : float — check the L2-regularized cost and gradients with this λ
    sample_weight : array of shape (m,), optional — check the weighted cost and gradients

    Returns
    -------
    GradCheckResult — ``.difference``, ``.passed``, ``.parameters["W1"]`` ..., ``.table()``

    Raises
    ------
    ValueError
        For X or Y of the wrong shape or with NaN/inf, or a non-positive epsilon.
    """
    if not (np.isfinite(epsilon) and epsilon > 0):
        raise ValueError(f"epsilon must be a small positive number, got {epsilon!r}")
    net64 = net.copy()
    if net64.dtype != np.float64:
        net64.dtype = np.dtype(np.float64)
        net64.params = {k: to_host(v).astype(np.float64) for k, v in net.params.items()}
    X = net64.check_X(X)
    Y = net64.check_Y(Y, X.shape[1])
    net64.forward(X)  # the caches backward reads
    grads = net64.backward(Y, sample_weight=sample_weight, l2=l2)
    params = net64.params
    head, math = net64.head, net64._math(X)  # propagation, or its Array API twin for X's namespace

    def J():
        AL, caches = math.forward(X, params, net64.activations)
        ZL = head.cost_logits(caches[net64.L].Z)  # the logit-stable cost for a canonical output
        return math.cost(AL, Y, net64.loss, ZL=ZL, sample_weight=sample_weight, params=params, l2=l2)

    numeric = numeric_gradient(J, params, epsilon)
    checks, g_all, g_hat_all = {}, [], []
    for name in params:
        g, g_hat = to_host(grads["d" + name]), numeric["d" + name]
        worst = np.unravel_index(np.argmax(np.abs(g - g_hat)), g.shape)
        checks[name] = ParameterCheck(
            name, relative_difference(g, g_hat), tuple(int(i) for i in worst), float(g[worst]), float(g_hat[worst])
        )
        g_all.append(g.ravel())
        g_hat_all.append(g_hat.ravel())
    overall = relative_difference(np.concatenate(g_all), np.concatenate(g_hat_all))
    return GradCheckResult(overall, checks, epsilon, threshold)
