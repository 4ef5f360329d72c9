"""The Dataset record every loader returns: examples as columns, their names and the task."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

TASKS = ("classification", "regression")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Examples as columns, with their names and the kind of task.

    Attributes
    ----------
    X : ndarray of shape (n_x, m), float64
        Features; column i is example i.
    y : ndarray of shape (m,) or (n_y, m)
        Class indices 0..K-1 (int64) for classification; float64 targets for
        regression, shape (n_y, m) when there are several outputs.
    feature_names : list of str
        n_x names, one per row of X.
    target_names : list of str
        Classification: the K class labels, ``target_names[y[i]]`` is example
        i's label. Regression: the name of each target.
    task : {"classification", "regression"}
    name : str
        The built-in's name or the file's stem.
    test : Dataset or None
        A held-out split that the source itself defines (``mnist1d``), else None.
    description : str
        One line for listings.
    """

    X: np.ndarray  # (n_x, m) float64
    y: np.ndarray  # (m,) or (n_y, m)
    feature_names: list
    target_names: list
    task: str
    name: str
    test: Dataset | None = None  # the source's own held-out split, if any
    description: str = field(default="", compare=False)

    def __post_init__(self):
        if self.task not in TASKS:
            raise ValueError(f"task {self.task!r} must be one of: {', '.join(TASKS)}")
        if self.X.ndim != 2 or self.y.shape[-1] != self.X.shape[1]:
            raise ValueError(
                f"X {self.X.shape} and y {self.y.shape} disagree: X must be (n_x, m) and y (m,) or (n_y, m)"
            )

    @property
    def n_features(self):
        """n_x, the number of rows of X."""
        return self.X.shape[0]

    @property
    def m(self):
        """The number of examples (columns of X)."""
        return self.X.shape[1]

    @property
    def n_classes(self):
        """K for classification, None for regression."""
        return len(self.target_names) if self.task == "classification" else None

    def subset(self, idx):
        """The examples at column indices ``idx`` (the test split is dropped)."""
        idx = np.asarray(idx)
        return replace(self, X=self.X[:, idx], y=self.y[..., idx], test=None)

    def split(self, test_fraction=0.2, *, seed=0):
        """Shuffle and split into (train, test) Datasets.

        Parameters
        ----------
        test_fraction : float in (0, 1)
            Share of the m examples that go to the test split (at least one).
        seed : int
            Seed of the ``numpy.random.Generator`` that shuffles.

        Returns
        -------
        train, test : Dataset
        """
        if not 0 < test_fraction < 1:
            raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
        if self.m < 2:
            raise ValueError(f"cannot split {self.m} example(s); need at least 2")
        order = np.random.default_rng(seed).permutation(self.m)
        n_test = min(max(1, round(self.m * test_fraction)), self.m - 1)
        return self.subset(order[n_test:]), self.subset(order[:n_test])
