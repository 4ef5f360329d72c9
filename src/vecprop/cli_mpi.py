"""``mpiexec -n P vecprop train --data FILE --distributed``: the train command, data-parallel over MPI.

Every rank reads only its block of rows (:mod:`vecprop.shards`), the standardization statistics are
reduced over every rank, the network trains with ``fit(comm=...)``, and rank 0 alone prints, saves the
one model file (loadable by a one-process ``vecprop predict``) and draws the cost plot.

Failures: an error every rank sees at once (a bad row on some rank, mismatched options) is printed
once, by rank 0, naming the rank, and every rank exits 2. Any other failure on one rank aborts the
whole job (``MPI_Abort``) with a message naming that rank — never a hang.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from .distributed import RankError, abort, block_range, get_reducer

__all__ = ["train_distributed"]


def train_distributed(args, is_file, network_for, fit_options, report, checkpoint_for) -> int:
    """Run ``vecprop train`` on every rank of ``MPI.COMM_WORLD``; returns the exit status.

    ``is_file(data)``, ``network_for(args, ds)``, ``fit_options(args, ds, done)``, ``report(history, model, ds)``
    and ``checkpoint_for(args, net)`` are the CLI's own helpers ("is --data a file", the Network for a
    Dataset, Network.fit's options, the final report's lines, the checked network of --resume's
    checkpoint), passed in so this module does not import the CLI: the same options mean the same
    network, training, report and checkpoint on one rank or many.
    """
    reducer = get_reducer("mpi")
    try:
        return _train(args, reducer, is_file, network_for, fit_options, report, checkpoint_for)
    except RankError as exc:  # raised on every rank at once: say it once
        if getattr(args, "debug", False):
            raise
        if reducer.is_root:
            print(f"vecprop: error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2
    except BaseException as exc:  # one rank only: the others must not wait for it
        if reducer.size > 1:
            abort(f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", comm=reducer.comm, code=2)
        raise


def _load(args, reducer, is_file):
    """This rank's Dataset: its block of a data file, or of a built-in dataset."""
    from .datasets import load_dataset
    from .shards import load_block

    if is_file(args.data):
        return load_block(args.data, reducer, target=args.target)
    ds = reducer.agree(load_dataset, args.data)
    start, stop = block_range(ds.m, reducer.rank, reducer.size)
    return ds.subset(np.arange(start, stop))


def _train(args, reducer, is_file, network_for, fit_options, report, checkpoint_for):
    from .predictor import Predictor, targets
    from .shards import global_standardizer

    ds = _load(args, reducer, is_file)
    stats = reducer.agree(global_standardizer, ds.X, reducer)
    X = stats.transform(ds.X)
    classify = ds.task == "classification"
    Y = targets(ds.y, ds.n_classes, ds.task)
    net = network_for(args, ds)
    target = args.target if is_file(args.data) else None
    model = Predictor(
        net,
        feature_names=ds.feature_names,
        task=ds.task,
        standardizer=stats,
        target=target,
        classes=ds.target_names if classify else None,
        run_config={k: v for k, v in vars(args).items() if k not in ("command", "debug", "config", "resume")},
    )
    net.metadata["dataset"] = ds.name
    net.metadata["ranks"] = reducer.size  # how many ranks trained it: a resumed run says when that changes
    net, done, note = _resumed(args, reducer, net, checkpoint_for) if args.resume else (net, 0, "")
    model.network = net
    m_global = int(reducer.sum(np.array([ds.m]))[0])
    if reducer.is_root:
        ranks = f"{reducer.size} rank" + ("s" if reducer.size > 1 else "")
        print(
            f"Training {net} on {ds.name}: {m_global} examples over {ranks}, {ds.n_features} features"
            + (f", {ds.n_classes} classes" if classify else "")
            + (f"; resuming after epoch {done}" if done else "")
            + note
        )
    if done >= args.epochs:
        if reducer.is_root:
            print(f"{args.out} has already been trained for {done} epochs (--epochs {args.epochs}); nothing to do")
        return 0
    history = net.fit(X, Y, **fit_options(args, ds, done), comm=reducer)  # a Checkpoint writes on rank 0 alone
    if not reducer.is_root:
        return 0
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    lines = report(history, model, ds)  # the train command's own report (losses are over all ranks)
    lines.append(f"Model saved to {out}")
    if not args.no_plots:
        from . import plots

        directory = Path(args.plots)
        directory.mkdir(parents=True, exist_ok=True)
        plots.plot_costs(history, directory / "costs.png")
        lines.append(f"Cost plot in {directory / 'costs.png'}")
    print("\n".join(lines))
    return 0


def _resumed(args, reducer, net, checkpoint_for):
    """(network, epochs done, a note) from the checkpoint at --out, read by every rank; collective.

    The checkpoint must exist on every rank or on none (a file system every rank reads), be the same file
    everywhere, hold the network the options ask for and have been trained on the same data (the same
    global standardization, to rounding). Another number of ranks than the checkpoint's is allowed: the
    run continues from the same parameters and optimizer state, but its global batches are made of other
    examples than an uninterrupted run's, so it is not that run bit for bit (the note says so).
    """
    exists = reducer.allgather(os.path.exists(args.out))
    if not any(exists):
        if reducer.is_root:
            print(f"no checkpoint at {args.out}; starting afresh")
        return net, 0, ""
    if not all(exists):
        missing = ", ".join(str(r) for r, e in enumerate(exists) if not e)
        reducer.raise_any(
            ValueError(
                f"--resume: {args.out} exists on some ranks but not on rank(s) {missing}; every rank reads "
                "the checkpoint, so put --out on a file system every rank sees"
            )
        )
    saved = reducer.agree(checkpoint_for, args, net)  # the one-process CLI's checks, on every rank
    state = saved.training_state()
    done = 0 if state is None else int(state[1]["epoch"])
    reducer.check_same(f"the checkpoint {args.out} (parameters, epochs done)", [saved.theta, done])
    before = int(saved.metadata.get("ranks", 1))
    saved.metadata = net.metadata
    note = ""
    if before != reducer.size:
        note = (
            f" (the checkpoint was trained on {before} rank{'s' if before > 1 else ''}: the run continues, "
            f"but its batches differ from an uninterrupted {before}-rank run's)"
        )
    return saved, done, note
