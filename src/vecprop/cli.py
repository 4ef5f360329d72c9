"""The ``vecprop`` command line: train, evaluate, predict, gradcheck, summary, export, datasets, bench, serve.

Every failure a user can cause (bad data, bad options, a bad model file) prints one line on stderr and
exits with status 2; ``--debug`` shows the traceback instead. Models are written atomically at the end
of a successful (or Ctrl-C-stopped) run, so a failed run never overwrites a saved one.
"""

from __future__ import annotations

import argparse
import csv
import importlib
import json
import os
import re
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
    parts = text.split(",")
    try:
        values = [int(v) for v in parts]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers like 64,32, got {text!r}") from None
    if min(values) < 1:
        raise argparse.ArgumentTypeError(f"expected positive integers like 64,32, got {text!r}")
    return values


def _float_list(text):
    try:
        values = [float(v) for v in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from None
    return values[0] if len(values) == 1 else values


def _name_list(text):
    names = text.split(",")
    if not all(n.strip() for n in names):
        raise argparse.ArgumentTypeError(f"expected a name or comma-separated names like relu,tanh, got {text!r}")
    return names[0] if len(names) == 1 else names


def _spec(text):
    """A component: a name, or a JSON object such as {"name": "adam", "beta1": 0.8}."""
    if not text.lstrip().startswith("{"):
        return text
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a name or a JSON object, got {text!r} ({exc})") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f'expected a JSON object like {{"name": "adam"}}, got {text!r}')
    return value


def _class_weight(text):
    return text if text == "balanced" else _spec(text if text.lstrip().startswith("{") else "{" + text + "}")


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _batch_size(text):
    return "full" if text == "full" else _positive_int(text)


def _positive_float(text):
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return value


def _build_parser():
    p = _Parser(
        prog="vecprop",
        description="Deep fully-connected networks, trained with the "
        "deeplearning.ai course's vectorized forward and backward propagation.",
    )
    p.add_argument(
        "--debug", action="store_true", help="show tracebacks instead of one-line errors (anywhere on the line)"
    )
    sub = p.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    _add_train(sub.add_parser("train", help="train a network and save it (default: the built-in dataset)"))

    e = sub.add_parser("evaluate", help="loss, accuracy, per-class precision/recall, confusion matrix")
    e.add_argument("model")
    e.add_argument("--data", required=True, help="a labelled data file or built-in dataset name")
    e.add_argument("--target", help="target column, name or index (default: the one the model was trained on)")

    pr = sub.add_parser("predict", help="predict the examples of a data file")
    pr.add_argument("model")
    pr.add_argument("--data", required=True, help="a data file (the target column may be absent) or built-in name")
    pr.add_argument("--out", help="write predictions as CSV here (default: print them)")

    g = sub.add_parser("gradcheck", help="prove backpropagation's gradients by finite differences")
    g.add_argument("model", nargs="?", help="a model file (default: a new network from --layers)")
    g.add_argument("--layers", type=_int_list, default=[2, 3, 1], help="layer sizes n_0,...,n_L (default 2,3,1)")
    g.add_argument(
        "--activation",
        type=_name_list,
        default=DEFAULTS["activation"],
        help=f"hidden activation(s) (default {DEFAULTS['activation']})",
    )
    g.add_argument("--loss", default="binary_cross_entropy", help="loss (default binary_cross_entropy)")
    g.add_argument("--m", type=_positive_int, default=5, help="random examples to check on (default 5)")
    g.add_argument("--l2", type=float, default=0.0, help="also check the L2 term with this λ")
    g.add_argument("--epsilon", type=float, default=1e-7, help="finite-difference step (default 1e-7)")
    g.add_argument("--seed", type=int, default=0)

    s = sub.add_parser(
        "summary", help="the seed's Variable/Dimensions table for a model (and its run's configuration) or for --layers"
    )
    s.add_argument("model", nargs="?")
    s.add_argument("--layers", type=_int_list, help="layer sizes n_0,...,n_L, e.g. 2,3,1")
    s.add_argument(
        "--activation",
        type=_name_list,
        default=DEFAULTS["activation"],
        help=f"hidden activation(s) (default {DEFAULTS['activation']})",
    )
    s.add_argument("--loss", default="binary_cross_entropy", help="loss (default binary_cross_entropy)")
    s.add_argument("--m", type=_positive_int, help="examples per batch to show in the shapes")

    x = sub.add_parser("export", help="write a model file as ONNX, for ONNX Runtime and other serving stacks")
    x.add_argument("model", help="a model file written by vecprop train or an estimator's save")
    x.add_argument("out", help="the .onnx file to write")
    x.add_argument(
        "--dtype", choices=["float32", "float64"], help="of inputs, weights and outputs (default: the model's)"
    )

    sub.add_parser("datasets", help="list the built-in datasets")
    sv = sub.add_parser(
        "serve", help="the learner's playground: build, step through and train a network in the browser"
    )
    sv.add_argument("--port", type=_port, default=0, help="port on 127.0.0.1 (default: a free one)")
    sv.add_argument("--no-browser", action="store_true", help="print the URL without opening a browser")
    b = sub.add_parser("bench", help="benchmark against scikit-learn and PyTorch (source checkout)")
    b.add_argument("args", nargs=argparse.REMAINDER, help="options passed to bench/run.py")
    return p


# Defaults shared by train, gradcheck and summary, equal to Network's and Network.fit's where they meet.
DEFAULTS = {"activation": "relu", "patience": 10}


def _add_train(t):
    """The train options: each flag is the Python name (``--learning-rate`` is ``learning_rate``), and each
    is also a key of the ``--config`` TOML file."""
    t.add_argument(
        "--config",
        help="a TOML file of these options (keys as in Python: learning_rate = 0.01); flags given as well override it",
    )
    t.add_argument(
        "--data",
        default=DEFAULT_DATASET,
        help=f"a .csv/.tsv/.npy/.npz file or a built-in dataset name (default {DEFAULT_DATASET})",
    )
    t.add_argument("--target", help="target column, a name or an index (0 first, -1 last); default the last")
    t.add_argument(
        "--task",
        choices=("classification", "regression"),
        help="how to read the target (default: classification for strings or integers with at "
        "most 20 values, else regression)",
    )
    t.add_argument("--hidden", type=_int_list, default=[8], help="hidden layer sizes, e.g. 64,32 (default 8)")
    t.add_argument(
        "--activation",
        type=_name_list,
        default=DEFAULTS["activation"],
        help="hidden activation, or one per hidden layer: relu,tanh (default relu)",
    )
    t.add_argument(
        "--loss",
        help="binary_cross_entropy, categorical_cross_entropy or mse (default: from "
        "the task; the output activation follows from it)",
    )
    t.add_argument("--initializer", help="random, he, xavier, glorot_uniform (default he for relu, else xavier)")
    t.add_argument("--dtype", choices=("float64", "float32"), default="float64", help="(default float64)")
    t.add_argument(
        "--optimizer",
        type=_spec,
        default="adam",
        help='gd, momentum, nesterov, rmsprop, adam, adamw, or JSON {"name": "adam", "beta1": 0.8} (default adam)',
    )
    t.add_argument("--learning-rate", type=_positive_float, default=0.01, help="α (default 0.01)")
    t.add_argument(
        "--schedule",
        type=_spec,
        help="constant, inverse_time, exponential, step, cosine, "
        'invscaling, reduce_on_plateau, adaptive, or JSON {"name": "step", "step_size": 30}',
    )
    t.add_argument("--epochs", type=_positive_int, default=300, help="passes over the data (default 300)")
    t.add_argument(
        "--batch-size",
        type=_batch_size,
        default=32,
        help="mini-batch size, or full for the seed's batch gradient descent (default 32)",
    )
    t.add_argument(
        "--keep-prob",
        type=_float_list,
        default=1.0,
        help="dropout keep probability, one value or one per hidden layer: 0.8,0.9 (default 1)",
    )
    t.add_argument("--l2", type=float, default=0.0, help="L2 regularization λ (default 0)")
    t.add_argument("--clip-norm", type=_positive_float, help="clip the gradient's global norm to this value")
    t.add_argument(
        "--class-weight",
        type=_class_weight,
        help='balanced, or JSON {"label": weight, ...} by class label (default: equal weights)',
    )
    t.add_argument(
        "--validation-fraction", type=float, default=0.2, help="held-out share; 0 holds out nothing (default 0.2)"
    )
    t.add_argument(
        "--early-stopping",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="stop when the monitored value stops improving and restore the best epoch",
    )
    t.add_argument(
        "--monitor",
        choices=("val_loss", "val_accuracy", "loss", "accuracy"),
        help="what early stopping watches (default val_loss, or loss with --validation-fraction 0)",
    )
    t.add_argument(
        "--patience",
        type=_positive_int,
        default=DEFAULTS["patience"],
        help=f"epochs without improvement before stopping (default {DEFAULTS['patience']})",
    )
    t.add_argument("--min-delta", type=float, default=0.0, help="smallest change that counts (default 0)")
    t.add_argument("--seed", type=int, default=0, help="seed of every random choice (default 0)")
    t.add_argument(
        "--engine", default="auto", help="numba, numpy or reference (default auto: numba when installed, else numpy)"
    )
    t.add_argument("--out", default="runs/model.safetensors", help="model file (default runs/model.safetensors)")
    t.add_argument("--plots", default="runs/plots", help="directory for PNG plots (default runs/plots)")
    t.add_argument("--no-plots", action="store_true", help="skip the plots")
    t.add_argument(
        "--print-every",
        type=int,
        default=50,
        help="print the cost every N epochs, as the course does (default 50; 0 shows a progress bar)",
    )
    t.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        metavar="N",
        help="also save the model with its training state to --out every N epochs (atomically)",
    )
    t.add_argument(
        "--resume",
        action="store_true",
        help="continue from the checkpoint in --out (bit for bit as if never stopped); without one, start afresh",
    )
    t.add_argument(
        "--distributed",
        action="store_true",
        help="under mpiexec: each rank reads its block of rows and trains data-parallel (MPI)",
    )


_NOT_CONFIG = (
    "command",
    "debug",
    "config",
    "resume",
    "distributed",
)  # train's args that are not part of a run's configuration


def _config_argv(path, parser):
    """The flags a ``--config`` TOML file stands for (its keys are train's option names)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10
        tomllib = _require("tomli", "cli", "to read --config files")
    try:
        with open(path, "rb") as handle:
            table = tomllib.load(handle)
    except OSError as exc:
        raise UsageError(f"--config {path}: cannot read it ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path}: not valid TOML ({exc})") from None
    actions = {a.dest: a for a in parser._actions if a.dest not in _NOT_CONFIG and a.option_strings}
    argv = []
    for key, value in table.items():
        action = actions.get(key.replace("-", "_"))
        if action is None:
            raise UsageError(f"--config {path}: unknown option {key!r}; options are: {', '.join(actions)}")
        flag = action.option_strings[0]
        if isinstance(action, (argparse._StoreTrueAction, argparse.BooleanOptionalAction)):
            if not isinstance(value, bool):
                raise UsageError(f"--config {path}: {key} must be true or false, got {value!r}")
            argv += (
                [flag]
                if value
                else (
                    [f"--no-{flag[2:]}"]
                    if flag.startswith("--") and isinstance(action, argparse.BooleanOptionalAction)
                    else []
                )
            )
        elif isinstance(value, list):
            argv += [flag, ",".join(str(v) for v in value)]
        elif isinstance(value, dict):
            argv += [flag, json.dumps(value)]
        else:
            argv += [flag, str(value)]
    return argv


def _require(module, extra, purpose):
    """Import an optional dependency or say which extra to install, before any work is done."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f'{purpose} needs {module.split(".")[0]}: pip install "vecprop[{extra}]"') from None


def _port(text):
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 0 (any free port) to 65535, got {text!r}")
    return value


# ------------------------------------------------------------------------------ data
def _is_file(data) -> bool:
    """Whether --data names a file (else a built-in dataset)."""
    return os.path.exists(data) or os.sep in data or "." in Path(data).name


_BUILTIN_NEEDS = {"digits": ("sklearn", "cli"), "mnist1d": ("mnist1d", "cli")}


def _csv_header(data):
    """The column names of a CSV/TSV file, or None for other files and built-in names."""
    suffix = Path(data).suffix.lower()
    if suffix not in (".csv", ".tsv", ".tab", ".txt") or not os.path.isfile(data):
        return None
    with open(data, newline="", encoding="utf-8-sig") as handle:
        header = next(csv.reader(handle, delimiter="\t" if suffix in (".tsv", ".tab") else ","), [])
    return [h.strip() for h in header]


def _target_column(data, text):
    """--target as load_data_file takes it: a column name, or an index (0 first, -1 last) when it is an
    integer that does not name a CSV column."""
    if text is None or isinstance(text, int) or text in (_csv_header(data) or ()):
        return text
    try:
        return int(text)
    except ValueError:
        if Path(data).suffix.lower() == ".npy":
            raise UsageError(f"--target {text!r}: a .npy file's target is a column index, e.g. 0 or -1") from None
        return text


def _target_name(data, text):
    """The target column a model is saved with: a CSV column's name, a .npy column's index, else None."""
    target, header = _target_column(data, text), _csv_header(data)
    if header:
        return header[-1] if target is None else header[target] if isinstance(target, int) else target
    return (-1 if target is None else target) if Path(data).suffix.lower() == ".npy" else None


def _load(data, target=None, task=None):
    """A Dataset from a file path or a built-in name."""
    from . import datasets

    if _is_file(data):
        try:
            return datasets.load_data_file(data, target=_target_column(data, target), task=task)
        except datasets.DataFileError as exc:  # name the flag, not the Python argument
            raise datasets.DataFileError(re.sub(r"task='(\w+)'", r"--task \1", str(exc))) from None
    if data in _BUILTIN_NEEDS:
        _require(*_BUILTIN_NEEDS[data], f"the built-in dataset {data!r}")
    return datasets.load_dataset(data)


def _labels(ds):
    """The Dataset's targets as a Predictor takes them: class labels (m,) or values."""
    return np.asarray(ds.target_names)[ds.y] if ds.task == "classification" else np.asarray(ds.y).T


def _labels_for(model, ds):
    """The Dataset's targets for a model: by label, or by class index for a bare network's generic classes."""
    if (
        model.task == "classification"
        and model.standardizer is None
        and ds.task == "classification"
        and not set(map(str, ds.target_names)) & set(model.classes)
        and ds.n_classes == len(model.classes)
    ):
        return np.asarray(model.classes)[ds.y]
    return _labels(ds)


def _rows(model, ds, data):
    """The Dataset's feature rows (m, n_features) in the model's feature order (matched by name)."""
    names = list(ds.feature_names)
    if (
        model.standardizer is None
        and len(names) == len(model.feature_names)
        and not set(names) & set(model.feature_names)
    ):
        return ds.X.T  # a bare network's inputs go by position
    missing = [f for f in model.feature_names if f not in names]
    if missing:
        raise UsageError(
            f"{data}: missing feature column(s) {', '.join(missing)}; the model needs: {', '.join(model.feature_names)}"
        )
    return ds.X[[names.index(f) for f in model.feature_names]].T


def _load_predictor(path):
    """The Predictor in a model file; a bare Network file gets a plain one (features x1..xn, no scaling)."""
    from . import load
    from .predictor import Predictor

    _require("safetensors", "io", "reading model files")
    model = load(path)
    if isinstance(model, Predictor):
        return model
    net = getattr(model, "network_", model)
    if getattr(net, "layer_dims", None) is None:
        raise UsageError(
            f"{path}: holds a {type(model).__name__}; evaluate and predict take `vecprop train` or Network model files"
        )
    if net.loss.name == "mse":
        return Predictor(net, feature_names=[f"x{j + 1}" for j in range(net.layer_dims[0])], task="regression")
    n = 2 if net.layer_dims[-1] == 1 else net.layer_dims[-1]
    return Predictor(
        net,
        feature_names=[f"x{j + 1}" for j in range(net.layer_dims[0])],
        task="classification",
        classes=[str(k) for k in range(n)],
    )


# ------------------------------------------------------------------------------ train
def _check_train_options(args):
    """Every option that can be checked without the data, so a bad one fails before anything loads."""
    from . import Network
    from .engines import get_engine
    from .optimizers import get_optimizer
    from .propagation import keep_probs
    from .schedules import get_schedule

    if not 0 <= args.validation_fraction < 1:
        raise UsageError(f"--validation-fraction must be in [0, 1), got {args.validation_fraction}")
    if args.monitor and args.monitor.startswith("val_") and args.validation_fraction == 0:
        raise UsageError(
            f"--monitor {args.monitor} needs a validation set; give --validation-fraction > 0 or --monitor loss"
        )
    if (args.loss == "mse" and args.task == "classification") or (
        args.loss in CLASSIFIER_LOSSES and args.task == "regression"
    ):
        raise UsageError(f"--loss {args.loss} does not fit --task {args.task}")
    Network(
        [1, *args.hidden, 1],
        args.activation,
        args.loss or "binary_cross_entropy",
        initializer=args.initializer,
        dtype=args.dtype,
    )  # activations, loss, initializer
    get_optimizer(args.optimizer)
    get_schedule(args.schedule)
    get_engine(args.engine)
    keep_probs(args.keep_prob, len(args.hidden) + 1)
    _require("safetensors", "io", "vecprop train (to save the model)")
    if not args.no_plots:
        _require("matplotlib", "cli", "vecprop train's plots (or pass --no-plots)")


CLASSIFIER_LOSSES = ("binary_cross_entropy", "categorical_cross_entropy")


def _network_for(args, ds):
    """The Network for a Dataset: output size and loss from the task and the number of classes."""
    from . import Network

    if ds.task == "classification":
        loss = args.loss or ("binary_cross_entropy" if ds.n_classes == 2 else "categorical_cross_entropy")
        if loss not in CLASSIFIER_LOSSES:
            raise UsageError(
                f"--loss {loss} is for regression but the target {ds.name!r} was read as class "
                "labels; pass --task regression"
            )
        n_L = 1 if loss == "binary_cross_entropy" and ds.n_classes == 2 else ds.n_classes
        if loss == "binary_cross_entropy" and n_L > 2 and ds.n_classes > 2:
            raise UsageError(
                f"--loss binary_cross_entropy is for two classes; this target has {ds.n_classes}: "
                "use categorical_cross_entropy"
            )
    else:
        loss = args.loss or "mse"
        if loss in CLASSIFIER_LOSSES:
            raise UsageError(
                f"--loss {loss} is for class labels but the target was read as numbers; pass --task classification"
            )
        n_L = 1 if np.ndim(ds.y) == 1 else ds.y.shape[0]
    return Network(
        [ds.n_features, *args.hidden, n_L],
        args.activation,
        loss,
        initializer=args.initializer,
        seed=args.seed,
        dtype=args.dtype,
    )


def _fit_options(args, ds, done=0):
    """Network.fit's keyword arguments for this run, ``done`` epochs of it already trained (--resume): the
    epochs left, and with --checkpoint-every a Checkpoint at --out (written by rank 0 alone over MPI)."""
    class_weight = args.class_weight
    if isinstance(class_weight, dict):  # by label -> by class index
        names = [str(n) for n in ds.target_names]
        unknown = [k for k in class_weight if str(k) not in names]
        if ds.task != "classification" or unknown:
            raise UsageError(
                f"--class-weight: {unknown or 'labels'} are not class labels of this target ({', '.join(names)})"
            )
        class_weight = {names.index(str(k)): float(v) for k, v in class_weight.items()}
    monitor = args.monitor or ("val_loss" if args.validation_fraction > 0 else "loss")
    callbacks = []
    if args.checkpoint_every:
        from .callbacks import Checkpoint

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        callbacks.append(Checkpoint(args.out, every=args.checkpoint_every))
    return dict(
        epochs=args.epochs - done,
        callbacks=callbacks,
        learning_rate=args.learning_rate,
        optimizer=args.optimizer,
        batch_size=None if args.batch_size == "full" else args.batch_size,
        schedule=args.schedule,
        keep_prob=args.keep_prob,
        l2=args.l2,
        clip_norm=args.clip_norm,
        class_weight=class_weight,
        validation_fraction=args.validation_fraction,
        early_stopping=args.early_stopping,
        monitor=monitor,
        patience=args.patience,
        min_delta=args.min_delta,
        validation_seed=args.seed,
        print_every=args.print_every or None,
        verbose=0 if args.print_every else 1,
        engine=args.engine,
    )


def _run_config(args, ds, net, target):
    """The run's effective configuration: every train option, with what was inferred filled in."""
    config = {k: v for k, v in vars(args).items() if k not in _NOT_CONFIG}
    config.update(task=ds.task, loss=net.loss.name, target=target)
    if config["initializer"] is None:
        config["initializer"] = net.initializer
    return config


def _cmd_train(args):
    from .predictor import Predictor

    _check_train_options(args)
    if args.distributed:  # data-parallel over MPI: docs/distributed.md
        from .cli_mpi import train_distributed

        return train_distributed(args, _is_file, _network_for, _fit_options, _train_report, _checkpoint_for)
    ds = _load(args.data, args.target, args.task)
    target = _target_name(args.data, args.target) if _is_file(args.data) else None
    from .datasets import Standardizer

    net = _network_for(args, ds)
    model = Predictor(
        net,
        feature_names=ds.feature_names,
        task=ds.task,
        standardizer=Standardizer.fit(ds.X),
        classes=ds.target_names if ds.task == "classification" else None,
        target=target,
        run_config=_run_config(args, ds, net, target),
    )
    net.metadata["dataset"] = ds.name
    rows, labels = ds.X.T, _labels(ds)
    X, Y = model.network_input(rows), model.network_target(labels)
    net, done = _resumed(args, net) if args.resume else (net, 0)
    model.network = net
    print(
        f"Training {net} on {ds.name}: {ds.m} examples, {ds.n_features} features"
        + (f", {ds.n_classes} classes" if ds.task == "classification" else "")
        + (f"; resuming after epoch {done}" if done else "")
    )
    if done >= args.epochs:
        print(f"{args.out} has already been trained for {done} epochs (--epochs {args.epochs}); nothing to do")
        return 0
    history = net.fit(X, Y, **_fit_options(args, ds, done))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    model.save(out)
    lines = _train_report(history, model, ds)
    lines.append(f"Model saved to {out}")
    if not args.no_plots:
        lines.append(f"Plots in {_train_plots(args.plots, model, history, ds)}")
    print("\n".join(lines))
    return 0


def _resumed(args, net):
    """(network, epochs done) from the checkpoint at --out, which must match the requested network."""
    if not os.path.exists(args.out):
        print(f"no checkpoint at {args.out}; starting afresh")
        return net, 0
    saved = _checkpoint_for(args, net)
    saved.metadata = net.metadata
    state = saved.training_state()
    return saved, (0 if state is None else int(state[1]["epoch"]))


def _checkpoint_for(args, net):
    """The Network in the checkpoint at --out; UsageError unless it is the network the options ask for,
    trained on the same data (the same standardization, to rounding: a distributed run's statistics are
    sums over ranks, added in another order than one process adds them)."""
    from . import load_network

    saved = load_network(args.out)
    if saved.get_config() != net.get_config():
        raise UsageError(
            f"--resume: {args.out} holds a different network than the options ask for "
            f"({saved.layer_dims}); use the same --hidden, --activation and --seed, or another --out"
        )
    if not _same_statistics(saved.metadata.get("standardizer"), net.metadata.get("standardizer")):
        raise UsageError(f"--resume: {args.out} was trained on other data than --data {args.data}")
    return saved


def _same_statistics(a, b) -> bool:
    """Whether two standardizers' dicts (mean, scale) agree to rounding (relative 1e-9)."""
    if a is None or b is None or a.keys() != b.keys():
        return a == b
    for key in a:
        x, y = np.asarray(a[key], dtype=np.float64), np.asarray(b[key], dtype=np.float64)
        if x.shape != y.shape or not np.allclose(x, y, rtol=1e-9, atol=1e-12):
            return False
    return True


def _train_report(history, model, ds):
    last = {k: v[-1] for k, v in history.metrics.items()}
    loss = model.network.loss.name
    lines = [
        f"Stopped after {len(history.loss)} epochs ({history.stop_reason})"
        + (f"; restored the best epoch, {history.best_epoch}" if history.best_epoch is not None else ""),
        f"  train loss      {history.loss[-1]:.4f}  ({loss})",
    ]
    if "accuracy" in last:
        lines.append(f"  train accuracy  {last['accuracy']:.4f}")
    if history.val_loss:
        lines.append(f"  val loss        {history.val_loss[-1]:.4f}")
    if "val_accuracy" in last:
        lines.append(f"  val accuracy    {last['val_accuracy']:.4f}")
    if ds.test is not None:
        rows, labels = _rows(model, ds.test, ds.name), _labels(ds.test)
        J = model.network.compute_cost(model.network_input(rows), model.network_target(labels))
        lines.append(f"  test loss       {J:.4f}  ({ds.test.m} held-out examples)")
        if ds.task == "classification":
            lines.append(f"  test accuracy   {model.score(rows, labels):.4f}")
    return lines


def _train_plots(directory, model, history, ds):
    from . import plots

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    plots.plot_costs(history, directory / "costs.png")
    if ds.task == "classification":
        cm = _confusion(ds.y, model.predict_proba(ds.X.T).argmax(axis=1), ds.n_classes)  # classes: ds's order
        plots.plot_confusion_matrix(cm, ds.target_names, directory / "confusion_matrix.png")
        if ds.n_features == 2:
            plots.plot_decision_boundary(
                lambda P: model.predict_proba(P.T).argmax(axis=1), ds.X, ds.y, directory / "decision_boundary.png"
            )
    return directory


def _confusion(y_true, y_pred, n_classes):
    cm = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(cm, (np.asarray(y_true, dtype=np.int64), np.asarray(y_pred, dtype=np.int64)), 1)
    return cm


# ------------------------------------------------------------------------------ evaluate / predict
def _cmd_evaluate(args):
    model = _load_predictor(args.model)
    target = args.target if args.target is not None else model.target
    ds = _load(args.data, target, model.task)
    rows, labels = _rows(model, ds, args.data), _labels_for(model, ds)
    X, Y = model.network_input(rows), model.network_target(labels)
    J = model.network.compute_cost(X, Y)
    if model.task == "regression":
        pred = model.predict(rows).reshape(Y.T.shape)
        mse = float(((pred - Y.T) ** 2).mean())
        r2 = 1 - ((pred - Y.T) ** 2).sum() / ((Y.T - Y.T.mean(axis=0)) ** 2).sum()
        print(
            f"examples   {ds.m}\nloss       {J:.6f}  ({model.network.loss.name}: ½(y − a)² per example, "
            f"averaged)\nMSE        {mse:.6f}  (mean of (y − a)²)\nRMSE       {mse**0.5:.6f}\nR²         {r2:.4f}"
        )
        return 0
    names = model.classes
    y = model.class_indices(labels)
    pred = model.predict_proba(rows).argmax(axis=1)
    cm = _confusion(y, pred, len(names))
    print(f"examples   {ds.m}\nloss       {J:.4f}  ({model.network.loss.name})\naccuracy   {(pred == y).mean():.4f}")
    width = max(8, *(len(n) for n in names))
    print(f"\n{'class':<{width}}  precision  recall  support")
    for k, name in enumerate(names):
        tp, predicted, actual = cm[k, k], cm[:, k].sum(), cm[k, :].sum()
        precision = tp / predicted if predicted else 0.0
        recall = tp / actual if actual else 0.0
        print(f"{name:<{width}}  {precision:9.4f}  {recall:6.4f}  {actual:7d}")
    print("\nconfusion matrix (rows: true, columns: predicted)")
    cell = max(5, *(len(n) for n in names))
    print(" " * width + "".join(f"  {n:>{cell}}" for n in names))
    print("\n".join(f"{name:<{width}}" + "".join(f"  {v:>{cell}d}" for v in row) for name, row in zip(names, cm)))
    return 0


def _cmd_predict(args):
    from .datasets import load_features

    model = _load_predictor(args.model)
    if _is_file(args.data):  # new examples need no target column
        names, header = model.feature_names, _csv_header(args.data)
        if model.standardizer is None and header and not set(names) & set(header):
            names = header[: len(names)]  # a bare network's inputs go by position
        rows = load_features(args.data, names).T
    else:
        rows = _rows(model, _load(args.data), args.data)
    if model.task == "regression":
        values = model.predict(rows).reshape(len(rows), -1)
        header = ["prediction"] if values.shape[1] == 1 else [f"prediction_{i}" for i in range(values.shape[1])]
        table = [[repr(float(v)) for v in row] for row in values]
    else:
        probs = model.predict_proba(rows)
        labels = model.predict(rows)
        header = ["prediction", *(f"p_{c}" for c in model.classes)]
        table = [[str(label), *(repr(float(p)) for p in row)] for label, row in zip(labels, probs)]
    text = "\n".join(",".join(r) for r in [header, *table]) + "\n"
    if args.out:
        from .io import atomic_write

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, text.encode())
        print(f"Wrote {len(table)} predictions to {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def _cmd_gradcheck(args):
    from . import Network, gradient_check, one_hot

    if args.model:
        from . import load_network

        _require("safetensors", "io", "reading model files")
        net = load_network(args.model)
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
        from . import load

        _require("safetensors", "io", "reading model files")
        model = load(args.model)
        model = getattr(model, "network_", model)  # an estimator's network
        print(model.summary(m=args.m))
        return 0
    if not args.layers:
        raise UsageError("summary needs a model file or --layers, e.g. vecprop summary --layers 2,3,1 --m 5")
    if len(args.layers) < 2:
        raise UsageError("--layers needs at least two sizes, e.g. 2,3,1")
    print(Network(args.layers, args.activation, args.loss).summary(m=args.m))
    return 0


def _cmd_export(args):
    from . import load
    from .onnx_export import to_onnx

    proto = to_onnx(load(args.model), args.out, dtype=args.dtype)
    n_0 = proto.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    outputs = ", ".join(v.name for v in proto.graph.output)
    print(
        f"Wrote {args.out}: ONNX opset {proto.opset_import[0].version}, input X of shape (N, {n_0}) "
        f"(examples in rows), outputs {outputs}"
    )
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


def _cmd_serve(args):
    from .playground import serve

    return serve(args.port, open_browser=not args.no_browser)


_COMMANDS = {
    "train": _cmd_train,
    "evaluate": _cmd_evaluate,
    "predict": _cmd_predict,
    "gradcheck": _cmd_gradcheck,
    "summary": _cmd_summary,
    "export": _cmd_export,
    "datasets": _cmd_datasets,
    "bench": _cmd_bench,
    "serve": _cmd_serve,
}


def _parse(argv):
    """The parsed arguments; a train ``--config`` file's options come first, so flags override them."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        argv = ["train", *argv]
        args = parser.parse_args(argv)
    if args.command == "train" and args.config:
        train = parser._subparsers._group_actions[0].choices["train"]
        at = argv.index("train")
        args = parser.parse_args([*argv[: at + 1], *_config_argv(args.config, train), *argv[at + 1 :]])
    return args


def main(argv=None) -> int:
    """Run the command line; returns the exit status (0 ok, 1 gradient check failed, 2 user error)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv  # anywhere, before or after the command
    argv = [a for a in argv if a != "--debug"]
    try:
        args = _parse(argv)
        return _COMMANDS[args.command](args)
    except BrokenPipeError:  # e.g. `vecprop predict ... | head`
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, OSError, ImportError) as exc:  # DataFileError, ModelFileError, DivergenceError too
        if debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"vecprop: error: {message}", file=sys.stderr)
        return 2
    except MemoryError:  # an allocation the memory guard did not foresee
        if debug:
            raise
        print("vecprop: error: out of memory; use smaller layers, a smaller --batch-size or less data", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("vecprop: interrupted", file=sys.stderr)
        return 130
