"""Plots: PNG files of the documented fixed size, and errors for misshaped inputs."""

import os
import struct
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from vecprop import plots  # noqa: E402

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path):
    """(width, height) from a PNG's IHDR chunk, checking the signature."""
    with open(path, "rb") as handle:
        data = handle.read(32)
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_documented_size_is_figsize_times_dpi():
    assert plots.PIXELS == (640, 480)
    assert tuple(round(s * plots.DPI) for s in plots.FIGSIZE) == plots.PIXELS


class _History:
    def __init__(self):
        self.loss = [0.7, 0.5, 0.4, 0.35]
        self.val_loss = [0.72, 0.55, 0.47, 0.46]
        self.epochs = [11, 12, 13, 14]


@pytest.mark.parametrize(
    "history",
    [
        _History(),
        {"loss": [1.0, 0.5], "val_loss": [1.1, None]},
        {"costs": [0.69, 0.3]},
        [0.69, 0.5, 0.2],
        {"loss": [1.0, 0.9, 0.8], "val_loss": []},
    ],
)
def test_plot_costs_writes_png(tmp_path, history):
    path = tmp_path / "costs.png"
    assert plots.plot_costs(history, path) == str(path)
    assert png_size(path) == plots.PIXELS


def test_plot_costs_with_a_real_history(tmp_path):
    vecprop = pytest.importorskip("vecprop")
    pytest.importorskip("vecprop.training")
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 40))
    Y = (X[0:1] > 0).astype(float)
    net = vecprop.Network([2, 3, 1], "tanh", seed=0)
    history = net.fit(X, Y, epochs=5, validation_fraction=0.25, verbose=0)
    path = plots.plot_costs(history, tmp_path / "h.png")
    assert png_size(path) == plots.PIXELS


def test_plot_costs_refuses_empty(tmp_path):
    with pytest.raises(ValueError, match="no training losses to plot"):
        plots.plot_costs({"loss": []}, tmp_path / "c.png")
    with pytest.raises(ValueError, match="no training losses found"):
        plots.plot_costs({"val_loss": [1.0]}, tmp_path / "c.png")


def test_plot_decision_boundary_calls_predict_on_columns(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 50))
    y = (X[0] * X[1] > 0).astype(int)
    shapes = []

    def predict(grid):
        shapes.append(grid.shape)
        return (grid[0] * grid[1] > 0).astype(int)[None, :]  # (1, k), as Network.predict returns

    path = plots.plot_decision_boundary(predict, X, y, tmp_path / "db.png", resolution=50)
    assert shapes == [(2, 2500)]
    assert png_size(path) == plots.PIXELS


def test_plot_decision_boundary_with_string_labels_and_many_classes(tmp_path):
    X = np.random.default_rng(1).uniform(-1, 1, (2, 30))
    labels = np.array(["a", "b", "c"])
    predict = lambda grid: labels[(grid[0] > 0).astype(int) + (grid[1] > 0).astype(int)]  # noqa: E731
    path = plots.plot_decision_boundary(predict, X, predict(X), tmp_path / "db.png", resolution=20)
    assert png_size(path) == plots.PIXELS


def test_plot_decision_boundary_errors(tmp_path):
    X = np.zeros((2, 5))
    with pytest.raises(ValueError, match=r"X has shape \(5, 2\); .* \(2, m\); did you mean X.T\?"):
        plots.plot_decision_boundary(lambda g: g[0], X.T, np.zeros(5), tmp_path / "x.png")
    with pytest.raises(ValueError, match="y has 4 labels but X has 5 examples"):
        plots.plot_decision_boundary(lambda g: g[0], X, np.zeros(4), tmp_path / "x.png")
    with pytest.raises(ValueError, match=r"predict_fn returned 1 labels for 100 points"):
        plots.plot_decision_boundary(lambda g: np.zeros(1), X, np.zeros(5), tmp_path / "x.png", resolution=10)
    assert not (tmp_path / "x.png").exists()


@pytest.mark.parametrize("K", [2, 10, 25])
def test_plot_confusion_matrix(tmp_path, K):
    cm = np.random.default_rng(K).integers(0, 50, (K, K))
    path = plots.plot_confusion_matrix(cm, [f"class {k}" for k in range(K)], tmp_path / "cm.png")
    assert png_size(path) == plots.PIXELS


def test_plot_confusion_matrix_errors(tmp_path):
    with pytest.raises(ValueError, match=r"cm has shape \(2, 3\); a confusion matrix is square"):
        plots.plot_confusion_matrix(np.zeros((2, 3)), ["a", "b"], tmp_path / "cm.png")
    with pytest.raises(ValueError, match="got 3 labels for a 2x2 confusion matrix"):
        plots.plot_confusion_matrix(np.zeros((2, 2)), ["a", "b", "c"], tmp_path / "cm.png")


def test_pyplot_is_never_imported(tmp_path):
    """Plots use Figure + Agg directly: no pyplot state, the user's backend untouched."""
    code = (
        "import sys; from vecprop import plots; "
        f"plots.plot_costs([1.0, 0.5], {str(tmp_path / 'c.png')!r}); "
        "assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    assert png_size(tmp_path / "c.png") == plots.PIXELS
