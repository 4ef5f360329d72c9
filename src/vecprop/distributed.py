"""Data-parallel training over MPI (mpi4py): one ``Allreduce`` of the step's flat buffer per step.

Every rank holds the whole network and *its own shard* of the examples. One step (the engine seam,
docs/architecture.md): each rank's engine writes the sums over its local batch — Σ w_i ∂L/∂θ, the
loss sum, the weight sum, the count, the number right — into one flat buffer; :class:`MPIReducer`
sums that buffer over every rank in place (one ``MPI_Allreduce``); every rank then divides by the
*global* weight sum and applies the identical update, so parameters stay identical everywhere
(Horovod's pattern: allreduce gradients, rank 0 writes).

This module imports NumPy only; mpi4py is imported when a communicator is asked for
(``pip install "vecprop[mpi]"``). It holds the pieces the trainer and the CLI need:

* :func:`get_reducer` — ``comm=None | "mpi" | mpi4py communicator`` to a reducer;
* :class:`MPIReducer` — the reduce of the seam, plus global sums, agreement and broadcast;
* :func:`batch_plan` — each rank's local batches of a global batch size B (see its docstring);
* :func:`block_range` — the contiguous block of rows a rank reads from a data file;
* the fault machinery — an exception on one rank aborts every rank (``MPI_Abort``) with a message
  naming the rank, instead of leaving the others waiting forever in a collective.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import sys
import time
import traceback
import zlib

import numpy as np

__all__ = [
    "MPIReducer",
    "RankError",
    "RankMismatchError",
    "get_reducer",
    "batch_plan",
    "block_range",
    "abort",
    "install_abort_handler",
    "start_fit",
    "local_batches",
    "rank_stream",
]


class RankError(ValueError):
    """Raised on EVERY rank at once (a collective check failed), so no rank is left waiting."""


class RankMismatchError(RankError):
    """The ranks of a distributed fit disagree on something that must be the same everywhere."""


# ------------------------------------------------------------------------------------- communicator
def _mpi():
    """The mpi4py ``MPI`` module, or an ImportError that says how to install it."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise ImportError(
            f"distributed training needs mpi4py ({exc}); install it with "
            'pip install "vecprop[mpi]" (mpi4py and the mpich wheel), or mpi4py '
            "built against your cluster's MPI (see docs/distributed.md)"
        ) from None
    return MPI


def get_reducer(comm):
    """The reducer for ``comm``: None (one process) when ``comm`` is None.

    Parameters
    ----------
    comm : None, "mpi" (``MPI.COMM_WORLD``), an mpi4py intracommunicator, or an ``MPIReducer``

    Returns
    -------
    MPIReducer or None

    Raises
    ------
    ValueError
        For anything else; ImportError when mpi4py is missing.
    """
    if comm is None:
        return None
    if isinstance(comm, MPIReducer):
        return comm
    if isinstance(comm, str):
        if comm.lower() != "mpi":
            raise ValueError(f"comm must be None, 'mpi' or an mpi4py communicator, got {comm!r}")
        return MPIReducer(_mpi().COMM_WORLD)
    if all(hasattr(comm, a) for a in ("Allreduce", "Get_rank", "Get_size", "Abort")):
        if getattr(comm, "Is_inter", lambda: False)():
            raise ValueError(
                "comm must be an intracommunicator (e.g. MPI.COMM_WORLD or comm.Split(...)), not an intercommunicator"
            )
        return MPIReducer(comm)
    raise ValueError(f"comm must be None, 'mpi' or an mpi4py communicator, got {type(comm).__name__}")


class MPIReducer:
    """The seam's ``reduce`` over an MPI communicator: ``reducer(buf)`` sums ``buf`` over every rank.

    Attributes
    ----------
    comm : the mpi4py communicator
    rank, size : this process's rank and the number of ranks
    is_root : rank == 0 — the only rank that prints, shows progress, saves and checkpoints
    calls, seconds, nbytes : step allreduces so far, the seconds spent in them and the bytes reduced
        (per rank; for the bench's time-per-step and bytes-per-step)

    Creating one with more than one rank installs the abort handler (:func:`install_abort_handler`).
    """

    def __init__(self, comm):
        self.comm = comm
        self.rank, self.size = int(comm.Get_rank()), int(comm.Get_size())
        self.is_root = self.rank == 0
        self.calls, self.seconds, self.nbytes = 0, 0.0, 0
        self._in_place = _mpi().IN_PLACE
        if self.size > 1:
            install_abort_handler(comm)

    def __repr__(self):
        return f"MPIReducer(rank={self.rank}, size={self.size})"

    def __call__(self, buf: np.ndarray) -> None:
        """Sum the contiguous array ``buf`` over every rank, in place (``MPI_Allreduce(IN_PLACE, SUM)``)."""
        t0 = time.perf_counter()
        self.comm.Allreduce(self._in_place, buf)  # op defaults to MPI.SUM
        self.seconds += time.perf_counter() - t0
        self.calls += 1
        self.nbytes += buf.nbytes

    def sum(self, array) -> np.ndarray:
        """A new array: ``array`` (any shape, float or int) summed over every rank."""
        a = np.array(array, order="C")  # a copy: the caller's array is left alone
        if a.dtype.kind not in "fiu":
            a = a.astype(np.int64 if a.dtype.kind == "b" else np.float64)
        self.comm.Allreduce(self._in_place, a)
        return a

    def any(self, flag: bool) -> bool:
        """True on every rank when ``flag`` is true on any rank (stop requests, Ctrl-C)."""
        return bool(self.sum(np.array([1 if flag else 0], np.int64))[0])

    def allgather(self, obj) -> list:
        """Every rank's ``obj`` (picklable, small), in rank order."""
        return self.comm.allgather(obj)

    def bcast(self, obj):
        """The root's ``obj`` on every rank (small Python objects)."""
        return self.comm.bcast(obj, root=0)

    def Bcast(self, array: np.ndarray) -> None:
        """Overwrite the contiguous ``array`` on every rank with the root's, in place."""
        self.comm.Bcast(array, root=0)

    def check_same(self, what: str, value) -> None:
        """Raise :class:`RankMismatchError` on every rank unless ``value`` is equal on every rank.

        ``value`` is compared through its JSON text (or bytes' CRC-32 for arrays); the message names the
        ranks and their values.
        """
        values = self.allgather(_comparable(value))
        if any(v != values[0] for v in values[1:]):
            shown = "; ".join(f"rank {r}: {v}" for r, v in enumerate(values))
            raise RankMismatchError(
                f"{what} differs across the {self.size} ranks ({shown}); every rank "
                "must run the same network and options (only the data shards differ)"
            )

    def raise_any(self, error: BaseException | None) -> None:
        """Collective: if any rank passes an error, raise :class:`RankError` on every rank, naming the
        first such rank.

        Lets per-rank validation (each rank checks its own shard) fail the same way everywhere, with a
        ValueError every rank can catch, instead of one rank leaving while the others wait.
        """
        if error is not None and not isinstance(error, ValueError):
            error = f"{type(error).__name__}: {error}"
        messages = self.allgather(None if error is None else str(error))
        failed = [(r, m) for r, m in enumerate(messages) if m is not None]
        if not failed:
            return
        r, message = failed[0]
        more = f" (and {len(failed) - 1} more rank{'s' if len(failed) > 2 else ''})" if len(failed) > 1 else ""
        raise RankError(f"rank {r} of {self.size}{more}: {message}")

    def agree(self, fn, *args, **kwargs):
        """Collective: ``fn(*args, **kwargs)`` on this rank; if it raises on any rank, every rank raises
        :class:`RankError` naming that rank (see :meth:`raise_any`).

        ``fn`` may call collectives only where it cannot have failed on some ranks before (a rank that
        raised would meet the others' collective with this one's allgather).
        """
        try:
            result, error = fn(*args, **kwargs), None
        except Exception as exc:  # noqa: BLE001 — reported on every rank below
            result, error = None, exc
        self.raise_any(error)
        return result

    @contextlib.contextmanager
    def guard(self, passing=()):
        """Inside: an exception on this rank aborts every rank (the others would wait in a collective),
        except those of the types ``passing``, which every rank raises at once (e.g. DivergenceError:
        the cost is global)."""
        global _ACTIVE
        _ACTIVE += 1
        try:
            yield self
        except BaseException as exc:  # noqa: BLE001 — every failure of one rank must end the job
            if self.size > 1 and not isinstance(exc, passing):
                traceback.print_exc()
                abort(f"{type(exc).__name__}: {exc}", comm=self.comm, code=1)
            raise
        finally:
            _ACTIVE -= 1


def _comparable(value):
    if isinstance(value, np.ndarray):
        return f"{value.dtype}{list(value.shape)} crc32={zlib.crc32(np.ascontiguousarray(value).view(np.uint8))}"
    return json.dumps(value, sort_keys=True, default=repr)


# ------------------------------------------------------------------------------------- faults
_HOOKED = {}  # id(comm) -> comm, for the excepthook and atexit handler
_ACTIVE = 0  # > 0 while a distributed fit runs on this rank


def abort(message: str, *, comm=None, code: int = 1) -> None:
    """Print ``vecprop: rank r of P failed: message; aborting all P ranks`` and ``MPI_Abort`` the job.

    Use it instead of ``sys.exit(code)`` on one rank of a distributed script: a rank that merely exits
    leaves the others waiting forever in their next collective. Returns only if ``comm`` has one rank.
    """
    if comm is None:
        comm = _mpi().COMM_WORLD
    rank, size = comm.Get_rank(), comm.Get_size()
    sys.stdout.flush()
    sys.stderr.write(f"vecprop: rank {rank} of {size} failed: {message}; aborting all {size} ranks\n")
    sys.stderr.flush()
    if size > 1:
        comm.Abort(code)


def install_abort_handler(comm) -> None:
    """Make an uncaught exception on this rank abort every rank of ``comm`` (idempotent).

    Wraps ``sys.excepthook`` (the traceback is printed first, then the one-line message naming the
    rank, then ``MPI_Abort``), and registers an ``atexit`` handler that aborts if the process exits in
    the middle of a distributed fit (e.g. ``sys.exit`` in a callback). Without this a failing rank
    exits and every other rank hangs in its next ``Allreduce``: plain ``python train.py`` under
    ``mpiexec`` gets the same protection as ``python -m mpi4py train.py``.
    """
    if not _HOOKED:
        previous = sys.excepthook

        def hook(exc_type, exc, tb):
            previous(exc_type, exc, tb)
            for c in list(_HOOKED.values()):
                abort(f"{exc_type.__name__}: {exc}", comm=c, code=1)

        sys.excepthook = hook
        atexit.register(_abort_if_mid_fit)
    _HOOKED.setdefault(id(comm), comm)


def _abort_if_mid_fit():
    if _ACTIVE:
        for c in list(_HOOKED.values()):
            abort("the process exited in the middle of a distributed fit", comm=c, code=1)


# ------------------------------------------------------------------------------------- the batch plan
def block_range(m: int, rank: int, size: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of ``m`` that rank ``rank`` of ``size`` reads: contiguous blocks whose
    sizes differ by at most one (``start = rank·m // size``)."""
    return rank * m // size, (rank + 1) * m // size


def batch_plan(m_local: int, m_global: int, batch_size: int | None) -> list[slice]:
    """This rank's local batches (slices of its shard's columns) for a global batch size B.

    Every rank takes the same number of steps per epoch, ``S = ceil(M / B)`` (M = Σ_r m_r, every
    shard's examples). After step k rank r has used the first ``c_r(k) = floor(m_r · k·B / M)`` of its
    (possibly shuffled) columns, and all ``m_r`` after the last step: its local batch k is columns
    ``[c_r(k−1), c_r(k))``. So

    * shards are any size (even empty) and every example is used exactly once per epoch;
    * rank r's local batches hold ``floor`` or ``ceil`` of ``B · m_r / M`` examples — B/P for equal shards;
    * the global batch k (the union of local batches k) holds exactly B examples, the last one the
      rest, whenever every ``B · m_r / M`` is an integer (equal shards and P | B, or shards in the
      proportions of B); otherwise each global batch is within P − 1 examples of B.

    The step's gradient is always the weighted mean over every example of the global batch, because
    the trainer divides the reduced gradient sum by the reduced weight sum. ``batch_size=None`` (or
    B ≥ M) is batch gradient descent: one step over every shard.
    """
    if batch_size is None or batch_size >= m_global:
        return [slice(0, m_local)]
    steps = -(-m_global // batch_size)
    k = np.arange(1, steps, dtype=object)  # exact integers, any size
    cut = [0, *(m_local * k * batch_size // m_global), m_local]
    return [slice(int(a), int(b)) for a, b in zip(cut[:-1], cut[1:])]


# ------------------------------------------------------------------------------------- the trainer's hooks
_PER_RANK_OPTIONS = ("verbose", "print_every")  # only the root prints: these may differ


def start_fit(reducer, model, config: dict, given: dict) -> int:
    """The start of a distributed fit; collective. Returns the shuffling seed every rank shares.

    Checks that every rank runs the same network (layer_dims, activations, loss, dtype), the same fit
    options (``config``, FitConfig's JSON) and passed the same kinds of arguments (``given``, e.g.
    whether sample weights or validation data came), raising :class:`RankMismatchError` on every rank
    otherwise; then broadcasts the root's parameters (``model.theta``, in place), so ranks agree even
    for a network built without a seed.
    """
    acts = [getattr(g, "name", repr(g)) for g in model.activations]
    reducer.check_same(
        "the network (layer_dims, activations, loss, dtype)",
        [list(model.layer_dims), acts, model.loss.name, np.dtype(model.dtype).name],
    )
    for key, value in config.items():
        if key not in _PER_RANK_OPTIONS:
            reducer.check_same(f"the fit option {key}", value)
    reducer.check_same("the arguments given", given)
    reducer.Bcast(model.theta)
    seed = getattr(model, "seed", None)
    return reducer.bcast(int(np.random.SeedSequence().entropy) if seed is None else int(seed)) % 2**63


def local_batches(reducer, m: int, m_global: int, batch_size, shuffle: bool, seed: int, epoch: int):
    """(permutation of this rank's m columns or None, list of slices) for one epoch: :func:`batch_plan`,
    shuffled by a Generator seeded by (seed, epoch, rank) — the distributed counterpart of
    :func:`vecprop.training.mini_batches`."""
    plan = batch_plan(m, m_global, batch_size)
    if not shuffle or len(plan) == 1:
        return None, plan
    return np.random.default_rng([seed, epoch, reducer.rank]).permutation(m), plan


def rank_stream(reducer, rng):
    """The Generator rank r draws dropout masks from: ``rng``'s stream jumped ahead r times (rng itself on
    the root, or when its bit generator cannot jump)."""
    if reducer.rank == 0 or not hasattr(rng.bit_generator, "jumped"):
        return rng
    return np.random.Generator(rng.bit_generator.jumped(reducer.rank))
