"""Preprocessing: per-feature standardization fitted on training data."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, eq=False)
class Standardizer:
    """Per-feature affine scaling ``(X - mean) / scale``, fitted on training data.

    Attributes
    ----------
    mean : ndarray of shape (n_x, 1)
    scale : ndarray of shape (n_x, 1)
        The standard deviation, or 1 for a (numerically) constant feature so
        that it maps to 0 instead of dividing by zero.
    """

    mean: np.ndarray  # (n_x, 1)
    scale: np.ndarray  # (n_x, 1), never 0

    @classmethod
    def fit(cls, X):
        """Fit on X of shape (n_x, m), columns are examples.

        Returns
        -------
        Standardizer

        Raises
        ------
        ValueError
            If X is not 2-D, has no examples, or holds NaN/inf.
        """
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] < 1:
            raise ValueError(f"X has shape {X.shape}; expected (n_x, m) with m >= 1 examples as columns")
        if not np.all(np.isfinite(X)):
            raise ValueError("X contains NaN or infinity; clean the data before fitting a Standardizer")
        mean = X.mean(axis=1, keepdims=True)  # (n_x, 1)
        std = X.std(axis=1, keepdims=True)  # (n_x, 1)
        # Rounding leaves a constant column a std of ~1e-17, not 0; treat that as 0.
        constant = std <= 1e-12 * np.maximum(1.0, np.abs(mean))
        return cls(mean=mean, scale=np.where(constant, 1.0, std))

    @property
    def n_features(self):
        """n_x, the number of features it was fitted on."""
        return self.mean.shape[0]

    def _check(self, X):
        """X as float64 (n_x, m), or a ValueError that says the fix."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[0] != self.n_features:
            hint = "; did you mean X.T?" if X.ndim == 2 and X.shape[1] == self.n_features else ""
            raise ValueError(
                f"X has shape {X.shape} but the Standardizer was fitted on {self.n_features} "
                f"features in rows (n_x, m){hint}"
            )
        return X

    def transform(self, X):
        """(X - mean) / scale for X of shape (n_x, m); returns (n_x, m) float64 with each example's column
        contiguous (Fortran order), the layout fit shuffles mini-batches from without a copy."""
        X = self._check(X)
        out = np.subtract(X, self.mean, out=np.empty(X.shape, np.float64, order="F"))
        out /= self.scale
        return out

    def inverse_transform(self, X):
        """X * scale + mean for X of shape (n_x, m); returns (n_x, m) float64."""
        return self._check(X) * self.scale + self.mean

    def to_dict(self):
        """A JSON-able dict ``{"mean": [...], "scale": [...]}`` (exact float round trip)."""
        return {"mean": self.mean.ravel().tolist(), "scale": self.scale.ravel().tolist()}

    @classmethod
    def from_dict(cls, d):
        """The inverse of :meth:`to_dict`; ValueError if the dict is malformed."""
        try:
            mean = np.asarray(d["mean"], dtype=np.float64).reshape(-1, 1)
            scale = np.asarray(d["scale"], dtype=np.float64).reshape(-1, 1)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Standardizer dict (need lists 'mean' and 'scale'): {exc}") from None
        finite = np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))
        if mean.shape != scale.shape or not (finite and np.all(scale > 0)):
            raise ValueError("Standardizer dict needs 'mean' and 'scale' of equal length, finite, scale > 0")
        return cls(mean=mean, scale=scale)
