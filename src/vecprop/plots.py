"""Plots of training: cost curves, 2-D decision boundaries, confusion matrices — PNGs or figures.

Each ``plot_*`` function writes a PNG when given a path and returns the matplotlib Figure when not;
``costs``, ``decision_boundary`` and ``confusion_matrix`` return Figures for a notebook, where they
show inline (the command line's PNGs come from the same code).

Every figure is ``FIGSIZE`` inches at ``DPI`` dots per inch, so every PNG is
exactly ``PIXELS`` = (640, 480) pixels (width, height); nothing is cropped
("tight" bounding boxes would change the size). Figures are drawn with
matplotlib's object-oriented API on an Agg canvas: no window opens, pyplot's
global figure list is not touched, and the user's chosen backend (e.g. in a
notebook) is left alone. matplotlib is imported only when a plot is made.
"""

from __future__ import annotations

import os
import sys

import numpy as np

FIGSIZE = (6.4, 4.8)  # inches (width, height)
DPI = 100  # dots per inch
PIXELS = (640, 480)  # (width, height) of every PNG = FIGSIZE * DPI


def _figure():
    """A new (Figure, Axes) on an Agg canvas, FIGSIZE at DPI."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("plots need matplotlib: pip install 'vecprop[cli]' (or: pip install matplotlib)") from None
    fig = Figure(figsize=FIGSIZE, dpi=DPI, layout="constrained")  # fits labels, keeps the size
    FigureCanvasAgg(fig)
    _show_inline(Figure)
    return fig, fig.add_subplot(1, 1, 1)


def _show_inline(figure_class):
    """In a running IPython/Jupyter kernel, display Figures as PNGs even if pyplot was never imported."""
    ipython = sys.modules.get("IPython")  # never imported here: only if the user runs it
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    if shell is None or not hasattr(shell, "display_formatter"):
        return
    png = shell.display_formatter.formatters.get("image/png")
    if png is not None and figure_class not in png.type_printers:
        png.for_type(figure_class, _png_bytes)


def _png_bytes(fig):
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _save(fig, path):
    """Write fig as a PNG of exactly PIXELS and return the path; return fig itself when path is None."""
    if path is None:
        return fig
    path = os.fspath(path)
    fig.savefig(path, format="png", dpi=DPI)
    return path


def _curves(history):
    """(epochs, loss, val_loss) from a History-like object, a dict or a plain sequence."""
    if isinstance(history, dict):
        loss, val = history.get("loss", history.get("costs")), history.get("val_loss")
        epochs = history.get("epochs")
    elif hasattr(history, "loss"):
        loss, val = history.loss, getattr(history, "val_loss", None)
        epochs = getattr(history, "epochs", None)
    else:
        loss, val, epochs = history, None, None
    if loss is None:
        raise ValueError(
            "no training losses found: pass a History, a dict with 'loss' (and "
            "optionally 'val_loss'), or a list of costs"
        )
    loss = list(loss)
    if epochs is None or len(epochs) != len(loss):
        epochs = range(1, len(loss) + 1)
    return np.asarray(epochs, dtype=float), loss, list(val or [])


def plot_costs(history, path=None, *, title="Cost per epoch"):
    """Plot the training cost J, and the validation cost when present, per epoch.

    Parameters
    ----------
    history : History, dict or sequence of float
        An object with ``.loss`` (and optionally ``.val_loss``) lists, a dict
        with those keys (``"costs"`` is accepted for ``"loss"``), or the
        course's plain list of costs. The x axis is ``epochs`` when given
        (a History's epoch numbers continue across fits), else 1, 2, ...;
        ``val_loss`` is drawn against the last ``len(val_loss)`` epochs, and
        its ``None`` or NaN entries are skipped.
    path : str or os.PathLike, optional
        Destination PNG, 640x480 pixels; without it the Figure is returned.
    title : str

    Returns
    -------
    str or matplotlib.figure.Figure
        ``path``, or the Figure when no path is given.

    Raises
    ------
    ValueError
        If there are no training losses.
    """
    epochs, loss, val = _curves(history)
    if not loss:
        raise ValueError("history has no training losses to plot; train for at least one epoch")
    fig, ax = _figure()
    ax.plot(epochs, np.asarray(loss, dtype=float), label="train")
    if val:
        v = np.array([np.nan if x is None else x for x in val[-len(epochs) :]], dtype=float)
        keep = np.isfinite(v)
        if keep.any():
            ax.plot(epochs[-len(v) :][keep], v[keep], label="validation", marker="." if keep.sum() < 30 else None)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cost J")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return _save(fig, path)


def plot_decision_boundary(predict_fn, X, y, path=None, *, resolution=200, title="Decision boundary"):
    """Shade the classes that ``predict_fn`` assigns over the plane, with the data on top.

    Parameters
    ----------
    predict_fn : callable
        Maps a grid of points of shape (2, k) to labels of shape (k,) (or
        (1, k)), like the course's ``lambda x: predict(parameters, x)``.
    X : ndarray of shape (2, m)
        Two features in rows, examples in columns.
    y : array of shape (m,) or (1, m)
        The examples' labels.
    path : str or os.PathLike, optional
        Destination PNG, 640x480 pixels; without it the Figure is returned.
    resolution : int, default 200
        Grid points per axis (k = resolution**2 predictions).
    title : str

    Returns
    -------
    str or matplotlib.figure.Figure
        ``path``, or the Figure when no path is given.

    Raises
    ------
    ValueError
        If X is not (2, m), y does not have m labels, or predict_fn returns
        the wrong number of labels.
    """
    X = np.asarray(X, dtype=float)
    if X.ndim != 2 or X.shape[0] != 2:
        hint = "; did you mean X.T?" if X.ndim == 2 and X.shape[1] == 2 else ""
        raise ValueError(f"X has shape {X.shape}; a decision boundary needs 2 features in rows, (2, m){hint}")
    y = np.asarray(y).reshape(-1)
    if y.shape[0] != X.shape[1]:
        raise ValueError(f"y has {y.shape[0]} labels but X has {X.shape[1]} examples (columns)")
    pad_x, pad_y = 0.1 * np.ptp(X, axis=1) + 0.5
    xx, yy = np.meshgrid(
        np.linspace(X[0].min() - pad_x, X[0].max() + pad_x, resolution),
        np.linspace(X[1].min() - pad_y, X[1].max() + pad_y, resolution),
    )
    grid = np.vstack([xx.ravel(), yy.ravel()])  # (2, k)
    Z = np.asarray(predict_fn(grid)).reshape(-1)
    if Z.shape[0] != grid.shape[1]:
        raise ValueError(
            f"predict_fn returned {Z.shape[0]} labels for {grid.shape[1]} points; it must map (2, k) to (k,)"
        )
    classes, codes = np.unique(np.concatenate([Z, y]), return_inverse=True)
    z_codes, y_codes = codes[: Z.shape[0]], codes[Z.shape[0] :]
    fig, ax = _figure()
    cmap = "coolwarm" if len(classes) <= 2 else "tab10"
    levels = np.arange(len(classes) + 1) - 0.5
    ax.contourf(
        xx, yy, z_codes.reshape(xx.shape), levels=levels, cmap=cmap, alpha=0.35, vmin=-0.5, vmax=len(classes) - 0.5
    )
    ax.scatter(
        X[0], X[1], c=y_codes, cmap=cmap, s=12, edgecolors="k", linewidths=0.3, vmin=-0.5, vmax=len(classes) - 0.5
    )
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(title)
    return _save(fig, path)


def plot_confusion_matrix(cm, labels, path=None, *, title="Confusion matrix"):
    """Draw a confusion matrix with a count in each cell.

    Parameters
    ----------
    cm : array of shape (K, K)
        ``cm[i, j]`` counts examples of true class i predicted as class j.
    labels : sequence of K str
        Class names, in the order of cm's rows and columns.
    path : str or os.PathLike, optional
        Destination PNG, 640x480 pixels; without it the Figure is returned.
    title : str

    Returns
    -------
    str or matplotlib.figure.Figure
        ``path``, or the Figure when no path is given.

    Raises
    ------
    ValueError
        If cm is not square or labels does not have one name per row.
    """
    cm = np.asarray(cm)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"cm has shape {cm.shape}; a confusion matrix is square, (K, K)")
    labels = [str(label) for label in labels]
    if len(labels) != cm.shape[0]:
        raise ValueError(f"got {len(labels)} labels for a {cm.shape[0]}x{cm.shape[0]} confusion matrix")
    K = cm.shape[0]
    fig, ax = _figure()
    image = ax.imshow(cm, cmap="Blues", vmin=0)
    fig.colorbar(image, ax=ax)
    ticks = np.arange(K)
    ax.set_xticks(ticks, labels, rotation=45 if K > 5 else 0, ha="right" if K > 5 else "center")
    ax.set_yticks(ticks, labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    if K <= 20:
        threshold = cm.max() / 2 if cm.size else 0
        fontsize = 10 if K <= 10 else 7
        for i in range(K):
            for j in range(K):
                value = cm[i, j]
                text = f"{value:d}" if np.issubdtype(cm.dtype, np.integer) else f"{value:.2g}"
                ax.text(
                    j,
                    i,
                    text,
                    ha="center",
                    va="center",
                    fontsize=fontsize,
                    color="white" if value > threshold else "black",
                )
    return _save(fig, path)


# ------------------------------------------------------------------------------ figures for notebooks
def costs(history, *, title="Cost per epoch"):
    """The Figure of :func:`plot_costs`: training (and validation) cost per epoch."""
    return plot_costs(history, None, title=title)


def decision_boundary(model, X, y, *, resolution=200, title="Decision boundary"):
    """The Figure of a 2-feature classifier's decision regions with the data on top.

    Parameters
    ----------
    model : Network, fitted estimator, or callable
        A :class:`vecprop.Network` takes X of shape (2, m) (columns are examples) and its
        ``predict``; an estimator (anything with ``predict`` and ``n_features_in_``) takes rows
        (m, 2); a callable maps a grid (2, k) to labels (k,), as in :func:`plot_decision_boundary`.
    X : array of shape (2, m) — or (m, 2) for an estimator
    y : array of m labels

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For X without 2 features in the model's layout, or a wrong number of labels.
    """
    X = np.asarray(X)
    if hasattr(model, "predict") and hasattr(model, "n_features_in_"):  # scikit-learn layout: rows
        if X.ndim != 2 or X.shape[1] != 2:
            raise ValueError(f"X has shape {X.shape}; an estimator's decision boundary needs rows (m, 2)")
        return plot_decision_boundary(
            lambda grid: model.predict(grid.T), X.T, y, None, resolution=resolution, title=title
        )
    if hasattr(model, "predict") and hasattr(model, "layer_dims"):  # a Network: columns
        return plot_decision_boundary(_network_labels(model), X, y, None, resolution=resolution, title=title)
    if callable(model):
        return plot_decision_boundary(model, X, y, None, resolution=resolution, title=title)
    raise ValueError(
        f"decision_boundary needs a Network, a fitted estimator or a predict function, got {type(model).__name__}"
    )


def _network_labels(net):
    """grid (2, k) -> class indices (k,) from a Network's predict (0/1 rows or softmax indices)."""

    def predict(grid):
        P = net.predict(grid)
        return P.ravel() if P.shape[0] == 1 else P.argmax(axis=0)

    return predict


def confusion_matrix(y_true, y_pred, *, labels=None, title="Confusion matrix"):
    """The Figure of the confusion matrix of predictions ``y_pred`` against ``y_true`` (each (m,)).

    ``labels`` orders the classes (default: every label seen, sorted); rows are true classes.
    Raises ValueError if y_true and y_pred differ in length.
    """
    y_true, y_pred = np.asarray(y_true).ravel(), np.asarray(y_pred).ravel()
    if y_true.shape != y_pred.shape:
        raise ValueError(f"y_true has {y_true.size} labels but y_pred has {y_pred.size}; give one per example")
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    index = {label: k for k, label in enumerate(labels.tolist())}
    unknown = sorted({v for v in np.concatenate([y_true, y_pred]).tolist() if v not in index}, key=str)
    if unknown:
        raise ValueError(f"labels {unknown} are not in labels={labels.tolist()}; list every class")
    cm = np.zeros((len(labels), len(labels)), dtype=np.int64)
    np.add.at(cm, ([index[v] for v in y_true.tolist()], [index[v] for v in y_pred.tolist()]), 1)
    return plot_confusion_matrix(cm, labels.tolist(), None, title=title)
