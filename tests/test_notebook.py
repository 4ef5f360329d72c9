"""Jupyter: HTML reprs of Network and History, figures that show inline, the notebook-aware progress bar,
and examples/walkthrough.ipynb executed headless."""

import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

import vecprop
from vecprop import Network, callbacks

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "walkthrough.ipynb"


def _history():
    net = Network([2, 3, 1], "tanh", seed=0)
    X = np.random.default_rng(0).standard_normal((2, 40))
    Y = (X[0] * X[1] > 0).astype(float)[None, :]
    return net, X, Y, net.fit(X, Y, epochs=4, learning_rate=0.1, validation_fraction=0.25, verbose=0)


class _Formatter:
    def __init__(self):
        self.type_printers = {}

    def for_type(self, cls, func):
        self.type_printers[cls] = func


class ZMQInteractiveShell:  # the name Jupyter's kernel shell has
    def __init__(self):
        self.display_formatter = types.SimpleNamespace(formatters={"image/png": _Formatter()})


@pytest.fixture
def jupyter(monkeypatch):
    """A stand-in IPython kernel: sys.modules['IPython'].get_ipython() returns a ZMQInteractiveShell."""
    shell = ZMQInteractiveShell()
    monkeypatch.setitem(sys.modules, "IPython", types.SimpleNamespace(get_ipython=lambda: shell))
    return shell


# ------------------------------------------------------------------------------ reprs
def test_network_html_is_the_seed_table():
    net = Network([2, 4, 1], "relu")
    html = net._repr_html_()
    assert html.count("<tr>") == 1 + len(net._summary_rows())  # header + one row per variable
    assert len(net._summary_rows()) == 1 + 8 * net.L
    for row in [
        "<code>W[1]</code></td><td style='text-align:left'><code>(4, 2)</code>",
        "<code>dA[0]</code></td><td style='text-align:left'><code>(2, m)</code>",
        "17 parameters",
    ]:
        assert row in html
    assert repr(net).startswith("Network(layer_dims=[2, 4, 1]")  # the plain-text fallback


def test_history_text_and_html():
    pytest.importorskip("matplotlib")
    _, _, _, history = _history()
    text = repr(history)
    assert text.startswith(f"History(epochs 0-3, loss={history.loss[-1]:.6g}, val_loss={history.val_loss[-1]:.6g}")
    assert text.endswith("stop_reason='epochs')")
    html = history._repr_html_()
    assert html.count("data:image/png;base64,") == 1 and f"{history.loss[-1]:.6g}" in html


def test_history_html_without_matplotlib(monkeypatch):
    _, _, _, history = _history()
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    html = history._repr_html_()
    assert "<img" not in html and "History: 4 epochs" in html


# ------------------------------------------------------------------------------ figures
def test_figures_are_returned_and_show_inline(jupyter):
    pytest.importorskip("matplotlib")
    from matplotlib.figure import Figure

    from vecprop import plots

    net, X, Y, history = _history()
    y = Y.ravel()
    figures = [
        history.plot(),
        plots.decision_boundary(net, X, y),
        plots.confusion_matrix(y, net.predict(X).ravel()),
        plots.plot_costs(history),
    ]
    assert all(isinstance(f, Figure) for f in figures)
    assert [len(f.axes) for f in figures] == [1, 1, 2, 1]  # the confusion matrix has a colorbar
    assert len(figures[0].axes[0].lines) == 2  # training and validation curves
    png = jupyter.display_formatter.formatters["image/png"].type_printers[Figure](figures[0])
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_decision_boundary_takes_estimators_in_rows():
    pytest.importorskip("sklearn")
    from vecprop import plots

    net, X, Y, _ = _history()
    clf = vecprop.DNNClassifier((3,), max_iter=5, random_state=0)
    with pytest.warns(Warning):
        clf.fit(X.T, Y.ravel())
    assert plots.decision_boundary(clf, X.T, Y.ravel()).axes[0].get_title() == "Decision boundary"
    with pytest.raises(ValueError, match=r"needs rows \(m, 2\)"):
        plots.decision_boundary(clf, X, Y.ravel())


def test_confusion_matrix_counts_and_errors():
    pytest.importorskip("matplotlib")
    from vecprop import plots

    fig = plots.confusion_matrix(["a", "b", "b", "a"], ["a", "b", "a", "a"])
    texts = sorted(t.get_text() for t in fig.axes[0].texts)
    assert texts == ["0", "1", "1", "2"]  # [[2, 0], [1, 1]]
    with pytest.raises(ValueError, match="y_true has 2 labels but y_pred has 1"):
        plots.confusion_matrix([0, 1], [0])
    with pytest.raises(ValueError, match=r"labels \[2\] are not in labels=\[0, 1\]"):
        plots.confusion_matrix([0, 1], [0, 2], labels=[0, 1])


# ------------------------------------------------------------------------------ progress
def test_progress_bar_shows_in_a_notebook(jupyter, monkeypatch):
    pytest.importorskip("tqdm")
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    bar = callbacks.ProgressBar()
    bar.on_train_begin(types.SimpleNamespace(epochs=3))
    assert bar._bar is not None and bar._bar.total == 3
    bar.on_train_end(None, {})


def test_progress_bar_is_silent_in_a_log(monkeypatch):
    monkeypatch.setitem(sys.modules, "IPython", None)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    bar = callbacks.ProgressBar()
    bar.on_train_begin(types.SimpleNamespace(epochs=3))
    assert bar._bar is None


# ------------------------------------------------------------------------------ the notebook
def test_walkthrough_notebook_runs(tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    pytest.importorskip("onnxruntime")
    pytest.importorskip("skl2onnx")
    # a kernel of THIS interpreter (not whatever "python3" kernelspec the machine has), found first
    spec = tmp_path / "jupyter" / "kernels" / "vecprop-test"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": "vecprop test",
                "language": "python",
            }
        )
    )
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(
        nb, timeout=120, kernel_name="vecprop-test", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()  # raises on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    text = "".join(o.get("text", "") for o in outputs)
    assert "BP1 by hand equals backward: True" in text
    assert "PASSED" in text and "labels identical: True" in text
    assert sum("image/png" in o.get("data", {}) for o in outputs) == 3  # curves, boundary, confusion
    assert sum("text/html" in o.get("data", {}) for o in outputs) == 2  # Network and History
