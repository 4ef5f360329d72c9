"""Callbacks (vecprop.callbacks) as the fit loop calls them: counts, stopping, printing, checkpoints, bars."""

import io
import re

import numpy as np
import pytest

from vecprop import Network, one_hot
from vecprop.callbacks import Callback, Checkpoint, PrintCost, ProgressBar, StopOnNaN


def binary_data(m=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3, m))
    Y = ((X[0] + 0.5 * X[2]) > 0).astype(np.float64).reshape(1, m)
    return X, Y


def copy_params(net):
    return {k: v.copy() for k, v in net.params.items()}


class Counter(Callback):
    """Records every hook call in order."""

    def __init__(self):
        self.calls = []

    def on_train_begin(self, trainer):
        self.calls.append(("begin", trainer.epochs))

    def on_batch_end(self, trainer, batch, logs):
        self.calls.append(("batch", batch, logs["size"]))

    def on_epoch_end(self, trainer, epoch, logs):
        self.calls.append(("epoch", epoch, dict(logs)))

    def on_train_end(self, trainer, logs):
        self.calls.append(("end", dict(logs)))

    def kinds(self, kind):
        return [c for c in self.calls if c[0] == kind]


# ------------------------------------------------------------------------------------- hooks
@pytest.mark.parametrize("batch_size,n_batches", [(None, 1), (6, 4), (20, 1), (7, 3)])
def test_hooks_are_called_the_right_number_of_times_in_order(batch_size, n_batches):
    X, Y = binary_data(m=20)
    cb = Counter()
    h = Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, batch_size=batch_size, callbacks=[cb], verbose=0)
    assert cb.calls[0] == ("begin", 3)
    assert cb.calls[-1] == ("end", {"stop_reason": "epochs"})
    assert len(cb.kinds("epoch")) == 3
    assert len(cb.kinds("batch")) == 3 * n_batches
    assert [c[1] for c in cb.kinds("epoch")] == [0, 1, 2]
    # each epoch: its batches 0..n-1, then on_epoch_end
    body = cb.calls[1:-1]
    expected = []
    for e in range(3):
        expected += [("batch", b) for b in range(n_batches)] + [("epoch", e)]
    assert [c[:2] for c in body] == expected
    assert sum(c[2] for c in cb.kinds("batch")) == 3 * 20
    # on_epoch_end's logs are what the History records
    for i, (_, _, logs) in enumerate(cb.kinds("epoch")):
        assert logs["loss"] == h.loss[i]
        assert logs["learning_rate"] == h.metrics["learning_rate"][i]
        assert set(logs) == {"loss", "accuracy", "learning_rate", "seconds"}


def test_epoch_logs_include_validation_numbers():
    X, Y = binary_data(m=20)
    cb = Counter()
    Network([3, 4, 1], seed=0).fit(X, Y, epochs=2, validation_data=(X, Y), callbacks=[cb], verbose=0)
    for _, _, logs in cb.kinds("epoch"):
        assert set(logs) == {"loss", "val_loss", "accuracy", "val_accuracy", "learning_rate", "seconds"}


def test_epoch_numbers_continue_across_fits():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    cb = Counter()
    net.fit(X, Y, epochs=2, verbose=0)
    net.fit(X, Y, epochs=2, callbacks=[cb], verbose=0)
    assert [c[1] for c in cb.kinds("epoch")] == [2, 3]


class StopAtEpoch(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch == self.epoch:
            trainer.stop_training = True


def test_stop_training_in_on_epoch_end_stops_after_that_epoch():
    X, Y = binary_data()
    net = Network([3, 4, 1], seed=0)
    cb = Counter()
    h = net.fit(X, Y, epochs=50, callbacks=[StopAtEpoch(2), cb], verbose=0)
    assert h.stop_reason == "callback"
    assert h.epochs == [0, 1, 2]
    assert cb.calls[-1] == ("end", {"stop_reason": "callback"})
    # the next fit is not stopped by the flag of the last one
    h2 = net.fit(X, Y, epochs=2, verbose=0)
    assert h2.stop_reason == "epochs" and h2.epochs == [3, 4]


class StopAtBatch(Callback):
    """Stops after batch ``batch`` of the second epoch; records each batch's logs."""

    def __init__(self, batch):
        self.batch, self.epochs_done, self.batches = batch, 0, []

    def on_batch_end(self, trainer, batch, logs):
        self.batches.append((self.epochs_done, dict(logs)))
        if self.epochs_done == 1 and batch == self.batch:
            trainer.stop_training = True

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs_done += 1


def test_stop_training_in_on_batch_end_stops_after_that_batch():
    X, Y = binary_data(m=20)
    cb = StopAtBatch(batch=1)
    h = Network([3, 4, 1], seed=0).fit(X, Y, epochs=10, batch_size=5, callbacks=[cb], verbose=0)
    assert h.stop_reason == "callback"
    assert len(cb.batches) == 4 + 2  # no batch after the one that stopped
    assert len(h.loss) in (1, 2)


def test_a_partial_epoch_is_not_recorded_as_a_whole_one():
    """If the epoch cut short by stop_training is recorded, its loss must be the mean over the batches
    actually run (Keras's running mean), not their sum divided by all m examples."""
    X, Y = binary_data(m=20)
    cb = StopAtBatch(batch=0)
    h = Network([3, 4, 1], seed=0).fit(X, Y, epochs=10, batch_size=5, callbacks=[cb], verbose=0)
    assert h.stop_reason == "callback"
    if len(h.loss) == 2:
        seen = [logs for e, logs in cb.batches if e == 1]
        mean = sum(l["loss"] * l["size"] for l in seen) / sum(l["size"] for l in seen)
        assert h.loss[1] == pytest.approx(mean, rel=1e-12)
    else:
        assert h.epochs == [0]


# ------------------------------------------------------------------------------------- PrintCost
def test_print_cost_prints_the_course_line_every_n_epochs_and_the_last(capsys):
    X, Y = binary_data()
    h = Network([3, 4, 1], seed=0).fit(X, Y, epochs=8, callbacks=[PrintCost(3)], verbose=0)
    out = capsys.readouterr().out.splitlines()
    assert [int(re.match(r"Cost after epoch (\d+): ", line).group(1)) for line in out] == [0, 3, 6, 7]
    for line, e in zip(out, [0, 3, 6, 7]):
        assert line == f"Cost after epoch {e}: loss {h.loss[e]:.4f}  accuracy {h.metrics['accuracy'][e]:.4f}"


def test_print_every_option_is_print_cost(capsys):
    X, Y = binary_data()
    h = Network([3, 4, 1], seed=0).fit(X, Y, epochs=5, print_every=2, validation_data=(X, Y), verbose=0)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 3  # epochs 0, 2, 4
    assert out[1].startswith("Cost after epoch 2: ")
    assert f"loss {h.loss[2]:.4f}" in out[1] and f"val_loss {h.val_loss[2]:.4f}" in out[1]


def test_print_cost_to_a_file_and_bad_every():
    X, Y = binary_data()
    buf = io.StringIO()
    Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, callbacks=[PrintCost(100, file=buf)], verbose=0)
    assert [line.split(":")[0] for line in buf.getvalue().splitlines()] == ["Cost after epoch 0", "Cost after epoch 2"]
    with pytest.raises(ValueError, match="PrintCost needs every >= 1, got 0"):
        PrintCost(0)


def test_silent_by_default_when_not_a_terminal(capsys):
    X, Y = binary_data()
    Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, verbose=1)  # stderr is not a terminal here
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


# ------------------------------------------------------------------------------------- ProgressBar
def test_progress_bar_is_silent_when_not_a_terminal(capsys):
    X, Y = binary_data()
    bar = ProgressBar()
    Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, callbacks=[bar], verbose=0)
    assert capsys.readouterr().err == ""
    assert bar._bar is None


def test_progress_bar_forced_draws_on_stderr(capsys):
    pytest.importorskip("tqdm")
    X, Y = binary_data()
    Network([3, 4, 1], seed=0).fit(X, Y, epochs=3, callbacks=[ProgressBar(force=True)], verbose=0)
    err = capsys.readouterr().err
    assert "3/3" in err and "loss" in err


# ------------------------------------------------------------------------------------- Checkpoint
def _need_io():
    pytest.importorskip("safetensors")
    return pytest.importorskip("vecprop.io")


def test_checkpoint_writes_a_loadable_file_every_n_epochs(tmp_path):
    vio = _need_io()
    X, Y = binary_data()
    path = tmp_path / "model.safetensors"

    class Snap(Callback):
        def __init__(self):
            self.params = []

        def on_epoch_end(self, trainer, epoch, logs):
            self.params.append(copy_params(trainer.net))

    snap = Snap()
    net = Network([3, 4, 1], seed=0)
    net.fit(X, Y, epochs=5, optimizer="adam", callbacks=[snap, Checkpoint(path, every=2)], verbose=0)
    assert path.exists()
    loaded = vio.load(path)
    for k in net.params:  # saved after epochs 1 and 3: the last is 3
        np.testing.assert_array_equal(loaded.params[k], snap.params[3][k])
    assert loaded.layer_dims == [3, 4, 1]


def test_checkpoint_resumes_bit_for_bit(tmp_path):
    vio = _need_io()
    X, Y = binary_data(m=20)
    path = tmp_path / "ckpt.safetensors"
    kw = dict(optimizer="adam", batch_size=6, keep_prob=0.8, schedule="inverse_time", learning_rate=0.01, verbose=0)
    a = Network([3, 6, 1], seed=5)
    a.fit(X, Y, epochs=3, callbacks=[Checkpoint(path)], **kw)
    resumed = vio.load(path)
    resumed.fit(X, Y, epochs=3, **kw)
    b = Network([3, 6, 1], seed=5)
    b.fit(X, Y, epochs=6, **kw)
    for k in b.params:
        np.testing.assert_array_equal(resumed.params[k], b.params[k])


def test_checkpoint_save_best_only_keeps_the_lowest_val_loss(tmp_path):
    vio = _need_io()
    rng = np.random.default_rng(0)
    X, Xv = rng.normal(size=(10, 40)), rng.normal(size=(10, 40))
    Y, Yv = (rng.random((1, 40)) > 0.5).astype(float), (rng.random((1, 40)) > 0.5).astype(float)
    path = tmp_path / "best.safetensors"
    net = Network([10, 32, 1], seed=0)
    h = net.fit(
        X,
        Y,
        epochs=30,
        learning_rate=0.02,
        optimizer="adam",
        validation_data=(Xv, Yv),
        callbacks=[Checkpoint(path, save_best_only=True)],
        verbose=0,
    )
    best = int(np.argmin(h.val_loss))
    assert best < 29  # the last epoch is not the best
    loaded = vio.load(path)
    assert loaded.compute_cost(Xv, Yv) == pytest.approx(h.val_loss[best], rel=1e-12)


def test_checkpoint_save_best_only_on_val_accuracy_keeps_the_highest(tmp_path):
    """Like Keras's ModelCheckpoint(mode="auto"): an accuracy is better when it is higher."""
    vio = _need_io()
    rng = np.random.default_rng(1)
    y = rng.integers(0, 3, size=60)
    X = rng.normal(size=(4, 60)) + y
    Y = one_hot(y, 3)
    path = tmp_path / "best_acc.safetensors"
    net = Network([4, 8, 3], loss="categorical_cross_entropy", seed=1)
    h = net.fit(
        X,
        Y,
        epochs=15,
        learning_rate=0.05,
        optimizer="adam",
        validation_data=(X, Y),
        callbacks=[Checkpoint(path, save_best_only=True, monitor="val_accuracy")],
        verbose=0,
    )
    acc = h.metrics["val_accuracy"]
    assert max(acc) > acc[0]  # accuracy did improve
    assert vio.load(path).accuracy(X, Y) == pytest.approx(max(acc))


def test_checkpoint_rejects_every_below_one(tmp_path):
    with pytest.raises(ValueError, match="every"):
        Checkpoint(tmp_path / "m.safetensors", every=0)


# ------------------------------------------------------------------------------------- StopOnNaN
@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_stop_on_nan_ends_quietly_with_finite_params():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(2, 20))
    Y = 100 * (3 * X[:1] - X[1:])
    net = Network([2, 8, 1], loss="mse", seed=0)
    cb = Counter()
    h = net.fit(X, Y, epochs=100, learning_rate=1e3, callbacks=[StopOnNaN(), cb], verbose=0)
    assert h.stop_reason == "diverged"
    assert cb.calls[-1] == ("end", {"stop_reason": "diverged"})
    assert all(np.isfinite(v).all() for v in net.params.values())
    assert len(h.loss) < 100
