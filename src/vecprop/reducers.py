"""Reducers: how the Trainer sums a batch's buffer over processes (the identity in one process).

A reducer is any object with ``reducer(buf)`` (sum ``buf`` in place over every process),
``reducer.sum(array)`` (the same for other global sums, returning the array), ``rank``, ``size`` and
``is_root`` (only the root process prints, shows progress, saves and checkpoints). Data-parallel training
over MPI plugs in an ``MPIReducer`` whose ``__call__`` is ``Allreduce(IN_PLACE, buf, SUM)``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["Reducer", "LocalReducer"]


@runtime_checkable
class Reducer(Protocol):
    """What the Trainer needs from a reducer (see the module docstring)."""

    rank: int
    size: int

    @property
    def is_root(self) -> bool: ...

    def __call__(self, buf: np.ndarray) -> None: ...

    def sum(self, array: np.ndarray) -> np.ndarray: ...


class LocalReducer:
    """One process: the sums are already global. rank 0, size 1, root."""

    rank = 0
    size = 1
    is_root = True

    def __call__(self, buf: np.ndarray) -> None:
        return None

    def sum(self, array: np.ndarray) -> np.ndarray:
        return array

    def __repr__(self):
        return "LocalReducer()"
