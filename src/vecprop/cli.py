"""The ``vecprop`` command line: train, evaluate, predict, gradcheck, summary, datasets, bench.

Every failure a user can cause (bad data, bad options, a bad model file) prints one line on stderr and
exits with status 2; ``--debug`` shows the traceback instead. Models are written atomically at the end
of a successful (or Ctrl-C-stopped) run, so a failed run never overwrites a saved one.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import numpy as np

__all__ = ["main"]

DEFAULT_DATASET = "flower"


class UsageError(ValueError):
    """A bad command-line value."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit status 2."""

    def error(self, message):
        raise UsageError(f"{self.prog}: {message} (see {self.prog} --help)")


# ------------------------------------------------------------------------------ option parsing
def _int_list(text):
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,32, got {text!r}") from None
    if not values or min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 64,32, got {text!r}")
    return values


def _float_list(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _build_parser():
    p = _Parser(prog="vecprop", description="Deep fully-connected networks, trained with the "
                "deeplearning.ai course's vectorized forward and backward propagation.")
    p.add_argument("--debug", action="store_true", help="show tracebacks instead of one-line errors")
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    t = sub.add_parser("train", help="train a network and save it (default: the built-in dataset)")
    t.add_argument("--data", default=DEFAULT_DATASET,
                   help=f"a .csv/.tsv/.npy/.npz file or a built-in dataset name (default {DEFAULT_DATASET})")
    t.add_argument("--target", help="target column (name or index); default the last column")
    t.add_argument("--hidden", type=_int_list, default=[8], help="hidden layer sizes, e.g. 64,32 (default 8)")
    t.add_argument("--activation", default="tanh", help="hidden activation (default tanh)")
    t.add_argument("--optimizer", default="adam", help="gd, momentum, nesterov, rmsprop, adam, adamw (default adam)")
    t.add_argument("--learning-rate", type=float, default=0.01, help="α (default 0.01)")
    t.add_argument("--epochs", type=_positive_int, default=300, help="passes over the data (default 300)")
    t.add_argument("--batch-size", type=_positive_int, default=32, help="mini-batch size (default 32)")
    t.add_argument("--keep-prob", type=_float_list, default=1.0, help="dropout keep probability (default 1)")
    t.add_argument("--l2", type=float, default=0.0, help="L2 regularization λ (default 0)")
    t.add_argument("--validation-fraction", type=float, default=0.2, help="held-out share (default 0.2)")
    t.add_argument("--early-stopping", action="store_true", help="stop when val_loss stops improving")
    t.add_argument("--patience", type=_positive_int, default=20, help="early-stopping patience (default 20)")
    t.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    t.add_argument("--engine", default="auto",
                   help="numba, numpy or reference (default auto: numba when installed, else numpy)")
    t.add_argument("--out", default="runs/model.safetensors", help="model file (default runs/model.safetensors)")
    t.add_argument("--plots", default="runs/plots", help="directory for PNG plots (default runs/plots)")
    t.add_argument("--no-plots", action="store_true", help="skip the plots")
    t.add_argument("--print-every", type=int, default=50,
                   help="print the cost every N epochs, as the course does (default 50; 0 shows a progress bar)")

    e = sub.add_parser("evaluate", help="loss, accuracy, per-class precision/recall, confusion matrix")
    e.add_argument("model")
    e.add_argument("--data", required=True, help="a labelled data file or built-in dataset name")
    e.add_argument("--target", help="target column (default: the one the model was trained on)")

    pr = sub.add_parser("predict", help="predict the examples of a data file")
    pr.add_argument("model")
    pr.add_argument("--data", required=True, help="a data file or built-in dataset name")
    pr.add_argument("--out", help="write predictions as CSV here (default: print them)")

    g = sub.add_parser("gradcheck", help="prove backpropagation's gradients by finite differences")
    g.add_argument("model", nargs="?", help="a model file (default: a new network from --layers)")
    g.add_argument("--layers", type=_int_list, default=[2, 3, 1], help="layer sizes n_0,...,n_L (default 2,3,1)")
    g.add_argument("--activation", default="tanh", help="hidden activation (default tanh)")
    g.add_argument("--loss", default="binary_cross_entropy", help="loss (default binary_cross_entropy)")
    g.add_argument("--m", type=_positive_int, default=5, help="random examples to check on (default 5)")
    g.add_argument("--l2", type=float, default=0.0, help="also check the L2 term with this λ")
    g.add_argument("--epsilon", type=float, default=1e-7, help="finite-difference step (default 1e-7)")
    g.add_argument("--seed", type=int, default=0)

    s = sub.add_parser("summary", help="the seed's Variable/Dimensions table for a model or --layers")
    s.add_argument("model", nargs="?")
    s.add_argument("--layers", type=_int_list, help="layer sizes n_0,...,n_L, e.g. 2,3,1")
    s.add_argument("--activation", default="relu")
    s.add_argument("--loss", default="binary_cross_entropy")
    s.add_argument("--m", type=_positive_int, help="examples per batch to show in the shapes")

    sub.add_parser("datasets", help="list the built-in datasets")
    b = sub.add_parser("bench", help="benchmark against scikit-learn and PyTorch (source checkout)")
    b.add_argument("args", nargs=argparse.REMAINDER, help="options passed to bench/run.py")
    return p


# ------------------------------------------------------------------------------ data
def _is_file(data) -> bool:
    """Whether --data names a file (else a built-in dataset)."""
    return os.path.exists(data) or os.sep in data or "." in Path(data).name


def _load(data, target=None):
    """A Dataset from a file path or a built-in name."""
    from . import datasets
    if _is_file(data):
        return datasets.load_data_file(data, target=target)
    return datasets.load_dataset(data)


def _targets(y, n_classes, task):
    """Y in the network's layout: (1, m) 0/1 for two classes, one-hot (K, m), or (n_y, m) for regression."""
    from . import one_hot
    if task == "regression":
        return np.atleast_2d(np.asarray(y, dtype=np.float64))
    if n_classes == 2:
        return np.asarray(y, dtype=np.float64).reshape(1, -1)
    return one_hot(y, n_classes)


def _labels_from_output(net, X):
    """Class indices (m,) for a classifier network, from its output A[L]."""
    P = net.predict(X)
    return P.ravel() if P.shape[0] == 1 else P.argmax(axis=0)


# ------------------------------------------------------------------------------ commands
def _cmd_train(args):
    from . import Network
    from .datasets import Standardizer

    ds = _load(args.data, args.target)
    if not 0 <= args.validation_fraction < 1:
        raise UsageError(f"--validation-fraction must be in [0, 1), got {args.validation_fraction}")
    stats = Standardizer.fit(ds.X)
    X = stats.transform(ds.X)
    classify = ds.task == "classification"
    Y = _targets(ds.y, ds.n_classes, ds.task)
    if classify:
        loss = "binary_cross_entropy" if ds.n_classes == 2 else "categorical_cross_entropy"
    else:
        loss = "mse"
    net = Network([X.shape[0], *args.hidden, Y.shape[0]], args.activation, loss, seed=args.seed)
    net.metadata.update({
        "task": ds.task, "dataset": ds.name, "target_names": list(ds.target_names),
        "feature_names": list(ds.feature_names), "standardizer": stats.to_dict(),
        "target": args.target,
    })
    print(f"Training {net} on {ds.name}: {ds.m} examples, {ds.n_features} features"
          + (f", {ds.n_classes} classes" if classify else ""))
    history = net.fit(X, Y, epochs=args.epochs, learning_rate=args.learning_rate, optimizer=args.optimizer,
                      batch_size=args.batch_size, keep_prob=args.keep_prob, l2=args.l2,
                      validation_fraction=args.validation_fraction, early_stopping=args.early_stopping,
                      patience=args.patience, validation_seed=args.seed, print_every=args.print_every or None,
                      verbose=0 if args.print_every else 1, engine=args.engine)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    net.save(out)

    last = {k: v[-1] for k, v in history.metrics.items()}
    lines = [f"Stopped after {len(history.loss)} epochs ({history.stop_reason})"
             + (f"; restored the best epoch, {history.best_epoch}" if history.best_epoch is not None else ""),
             f"  train loss      {history.loss[-1]:.4f}"]
    if "accuracy" in last:
        lines.append(f"  train accuracy  {last['accuracy']:.4f}")
    if history.val_loss:
        lines.append(f"  val loss        {history.val_loss[-1]:.4f}")
    if "val_accuracy" in last:
        lines.append(f"  val accuracy    {last['val_accuracy']:.4f}")
    if ds.test is not None:
        X_test, Y_test = stats.transform(ds.test.X), _targets(ds.test.y, ds.n_classes, ds.task)
        lines.append(f"  test loss       {net.compute_cost(X_test, Y_test):.4f}  ({ds.test.m} held-out examples)")
        if classify:
            lines.append(f"  test accuracy   {net.accuracy(X_test, Y_test):.4f}")
    lines.append(f"Model saved to {out}")
    if not args.no_plots:
        lines.append(f"Plots in {_train_plots(args.plots, net, history, ds, X, stats)}")
    print("\n".join(lines))
    return 0


def _train_plots(directory, net, history, ds, X, stats):
    from . import plots
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plots.plot_costs(history, directory / "costs.png")
    if ds.task == "classification":
        cm = _confusion(ds.y, _labels_from_output(net, X), ds.n_classes)
        plots.plot_confusion_matrix(cm, ds.target_names, directory / "confusion_matrix.png")
        if ds.n_features == 2:
            plots.plot_decision_boundary(lambda P: _labels_from_output(net, stats.transform(P)), ds.X, ds.y,
                                         directory / "decision_boundary.png")
    return directory


def _confusion(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


def _model_and_data(model_path, data, target):
    """Load a model and a data set, standardized and encoded as the model was trained."""
    from .datasets import Standardizer
    from .io import load
    net = load(model_path)
    meta = net.metadata
    ds = _load(data, target or meta.get("target"))
    if ds.n_features != net.layer_dims[0]:
        raise UsageError(f"{data}: has {ds.n_features} features but the model {model_path} expects "
                         f"{net.layer_dims[0]}")
    X = Standardizer.from_dict(meta["standardizer"]).transform(ds.X) if "standardizer" in meta else ds.X
    return net, ds, X


def _class_indices(ds, net, data):
    """The data's labels as the model's class indices (labels are matched by name)."""
    names = list(net.metadata.get("target_names") or ds.target_names)
    index = {name: i for i, name in enumerate(names)}
    unknown = sorted({ds.target_names[i] for i in np.unique(ds.y)} - set(index))
    if unknown:
        raise UsageError(f"{data}: labels {unknown} were not seen in training (known: {names})")
    return np.array([index[ds.target_names[i]] for i in ds.y], dtype=np.int64), names


def _cmd_evaluate(args):
    net, ds, X = _model_and_data(args.model, args.data, args.target)
    if net.metadata.get("task", "classification") == "regression" or net.loss.name == "mse":
        Y = _targets(ds.y, None, "regression")
        AL = net.predict_output(X)
        r2 = 1 - ((AL - Y) ** 2).sum() / ((Y - Y.mean(axis=1, keepdims=True)) ** 2).sum()
        print(f"loss (mse) {net.compute_cost(X, Y):.6f}\nR²         {r2:.4f}")
        return 0
    y, names = _class_indices(ds, net, args.data)
    Y = _targets(y, len(names), "classification")
    pred = _labels_from_output(net, X)
    cm = _confusion(y, pred, len(names))
    print(f"examples   {ds.m}\nloss       {net.compute_cost(X, Y):.4f}\naccuracy   {(pred == y).mean():.4f}")
    width = max(8, *(len(n) for n in names))
    print(f"\n{'class':<{width}}  precision  recall  support")
    for k, name in enumerate(names):
        tp, predicted, actual = cm[k, k], cm[:, k].sum(), cm[k, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        print(f"{name:<{width}}  {precision:9.4f}  {recall:6.4f}  {actual:7d}")
    print("\nconfusion matrix (rows: true, columns: predicted)")
    print("\n".join(" ".join(f"{v:5d}" for v in row) for row in cm))
    return 0


def _cmd_predict(args):
    from .datasets import Standardizer, load_features
    from .io import load
    net = load(args.model)
    features = net.metadata.get("feature_names")
    if features and _is_file(args.data):           # new examples need no target column
        X = load_features(args.data, features)
        if "standardizer" in net.metadata:
            X = Standardizer.from_dict(net.metadata["standardizer"]).transform(X)
    else:
        net, _, X = _model_and_data(args.model, args.data, None)
    names = net.metadata.get("target_names")
    if net.loss.name == "mse":
        header, rows = ["prediction"], [[f"{v:.10g}" for v in col] for col in net.predict_output(X).T]
        header = [f"prediction_{i}" for i in range(net.layer_dims[-1])] if net.layer_dims[-1] > 1 else header
    else:
        labels = _labels_from_output(net, X)
        AL = net.predict_output(X)
        probs = np.vstack([1 - AL, AL]) if AL.shape[0] == 1 else AL
        classes = names or [str(k) for k in range(probs.shape[0])]
        header = ["prediction", *(f"p_{c}" for c in classes)]
        rows = [[classes[k], *(f"{p:.6f}" for p in probs[:, i])] for i, k in enumerate(labels)]
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    if args.out:
        from .io import atomic_write
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, text.encode())
        print(f"Wrote {len(rows)} predictions to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_gradcheck(args):
    from . import Network, gradient_check, one_hot
    if args.model:
        from .io import load
        net = load(args.model)
    else:
        net = Network(args.layers, args.activation, args.loss, seed=args.seed)
    rng = np.random.default_rng(args.seed)
    n_0, n_L, m = net.layer_dims[0], net.layer_dims[-1], args.m
    X = rng.standard_normal((n_0, m))
    if net.loss.name == "categorical_cross_entropy":
        Y = one_hot(rng.integers(0, n_L, m), n_L)
    elif net.loss.name == "binary_cross_entropy":
        Y = (rng.random((n_L, m)) < 0.5).astype(float)
    else:
        Y = rng.standard_normal((n_L, m))
    result = gradient_check(net, X, Y, args.epsilon, l2=args.l2)
    print(f"Gradient check of {net} on {m} random examples")
    print(result.table())
    return 0 if result.passed else 1


def _cmd_summary(args):
    from . import Network
    if args.model:
        from .io import load
        net = load(args.model)
    elif args.layers:
        if len(args.layers) < 2:
            raise UsageError("--layers needs at least two sizes, e.g. 2,3,1")
        net = Network(args.layers, args.activation, args.loss)
    else:
        raise UsageError("summary needs a model file or --layers, e.g. vecprop summary --layers 2,3,1 --m 5")
    net.summary(m=args.m)
    return 0


def _cmd_datasets(args):
    from .datasets import list_datasets
    rows = list_datasets()
    width = max(len(name) for name, _ in rows)
    for name, description in rows:
        print(f"{name:<{width}}  {description}")
    return 0


def _cmd_bench(args):
    script = Path(__file__).resolve().parents[2] / "bench" / "run.py"
    if not script.exists():
        raise UsageError("vecprop bench runs from a source checkout (bench/run.py was not found)")
    import runpy
    sys.argv = [str(script), *args.args]
    runpy.run_path(str(script), run_name="__main__")
    return 0


_COMMANDS = {"train": _cmd_train, "evaluate": _cmd_evaluate, "predict": _cmd_predict,
             "gradcheck": _cmd_gradcheck, "summary": _cmd_summary, "datasets": _cmd_datasets,
             "bench": _cmd_bench}


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 gradient check failed, 2 user error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = _build_parser().parse_args(argv)
        if args.command is None:
            args = _build_parser().parse_args(["train", *argv])
        return _COMMANDS[args.command](args)
    except BrokenPipeError:                             # e.g. `vecprop predict ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError, ImportError) as exc:   # DataFileError, ModelFileError, DivergenceError too
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"vecprop: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vecprop: interrupted", file=sys.stderr)
        return 130
