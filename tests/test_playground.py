"""vecprop serve's JSON API, over real HTTP (no browser): its numbers are Network.forward/cost/backward,
gradient_check and fit on the same mini-batch; bad input gets a one-line message and the server goes on."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import numpy as np
import pytest

import vecprop
from vecprop.datasets import Standardizer
from vecprop.playground import make_server
from vecprop.playground.api import LIMITS


@pytest.fixture(scope="module")
def server():
    srv = make_server(0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def call(srv, method, path, body=None, *, token=None, raw=None):
    """(status, decoded JSON or bytes) for one request to the test server."""
    host, port = srv.server_address[:2]
    data = raw if raw is not None else (None if body is None else json.dumps(body).encode())
    req = urllib.request.Request(
        f"http://{host}:{port}{path}",
        data=data,
        method=method,
        headers={"X-Vecprop-Token": srv.token if token is None else token, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, payload, kind = r.status, r.read(), r.headers.get("Content-Type", "")
    except urllib.error.HTTPError as e:
        status, payload, kind = e.code, e.read(), e.headers.get("Content-Type", "")
    return status, (json.loads(payload) if kind.startswith("application/json") else payload)


def build(srv, **config):
    status, info = call(srv, "POST", "/api/session", config)
    assert status == 200, info
    return info


def reference(config):
    """The same data, split, scaling, batch and Network, built here from vecprop's API alone."""
    seed = config.get("seed", 0)
    ds = vecprop.load_dataset(config.get("dataset", "flower"), seed=seed, n_samples=config.get("n_samples", 400))
    train, val = ds.split(0.2, seed=seed)
    scaler = Standardizer.fit(train.X)
    X, Y = scaler.transform(train.X), train.y.reshape(1, -1).astype(float)
    net = vecprop.Network(
        [2, *config["hidden"], 1],
        config["activations"],
        "binary_cross_entropy",
        initializer=config.get("initializer", "xavier"),
        seed=seed,
    )
    return net, X, Y, (scaler.transform(val.X), val.y.reshape(1, -1).astype(float))


def arr(m):
    assert m is not None
    a = np.array(m["values"], dtype=float)
    return a.reshape(m["shape"])


CONFIG = {"hidden": [3], "activations": ["tanh", "sigmoid"], "batch_size": 32, "l2": 0.05}


@pytest.mark.parametrize("batch", [0, 3])
def test_inspect_equals_network_forward_cost_backward(server, batch):
    info = build(server, **CONFIG)
    status, d = call(server, "POST", f"/api/session/{info['session']}/inspect", {"batch": batch})
    assert status == 200
    net, X, Y, _ = reference(CONFIG)
    cols = slice(32 * batch, 32 * batch + 32)
    Xb, Yb = X[:, cols], Y[:, cols]
    AL = net.forward(Xb)
    J = net.cost(AL, Yb, l2=0.05)
    grads = net.backward(Yb, l2=0.05)
    assert d["m"] == 32 and d["columns"] == [cols.start, cols.stop]
    np.testing.assert_allclose(arr(d["X"]), Xb, rtol=1e-12, atol=0)
    np.testing.assert_allclose(arr(d["AL"]), AL, rtol=1e-12, atol=0)
    assert d["cost"] == pytest.approx(J, rel=1e-12)
    assert [layer["l"] for layer in d["layers"]] == [1, 2]
    for layer in d["layers"]:
        l, cache = layer["l"], net.caches[layer["l"]]
        for key, want in [
            ("W", net.params[f"W{l}"]),
            ("b", net.params[f"b{l}"]),
            ("A_prev", cache.A_prev),
            ("Z", cache.Z),
            ("A", cache.A),
            ("dZ", grads[f"dZ{l}"]),
            ("dW", grads[f"dW{l}"]),
            ("db", grads[f"db{l}"]),
            ("dA_prev", grads[f"dA{l - 1}"]),
        ]:
            got = arr(layer[key])
            assert got.shape == want.shape, key
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300, err_msg=f"{key}[{l}]")


def test_inspect_with_dropout_shows_the_masks_forward_draws(server):
    config = {
        "hidden": [4, 3],
        "activations": ["relu", "tanh", "sigmoid"],
        "keep_prob": 0.7,
        "initializer": "he",
        "batch_size": 16,
    }
    info = build(server, **config)
    _, d = call(server, "POST", f"/api/session/{info['session']}/inspect", {"batch": 0})
    net, X, Y, _ = reference(config)
    AL = net.forward(X[:, :16], keep_prob=0.7)  # the same seed: the same Generator, the same masks
    grads = net.backward(Y[:, :16])
    assert d["keep_prob"] == 0.7 and d["layers"][2]["D"] is None
    for l in (1, 2):
        np.testing.assert_array_equal(arr(d["layers"][l - 1]["D"]), net.caches[l].D)
        np.testing.assert_allclose(arr(d["layers"][l - 1]["dW"]), grads[f"dW{l}"], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(arr(d["AL"]), AL, rtol=1e-12)
    assert 0 < arr(d["layers"][0]["D"]).mean() < 1
    # inspecting again draws from the same (copied) Generator state: training's is never advanced
    _, again = call(server, "POST", f"/api/session/{info['session']}/inspect", {"batch": 0})
    assert again["layers"][0]["D"] == d["layers"][0]["D"]


def test_table_has_the_seeds_dimensions(server):
    info = build(server, hidden=[4, 3], activations=["relu", "tanh", "sigmoid"], batch_size=16)
    net = vecprop.Network(info["layer_dims"], info["activations"], info["loss"])
    expected = {}
    for line in net.summary(m=16).splitlines()[2:-1]:
        name, dims = line[:9].strip(), line[9:].split(")")[0].strip() + ")"
        expected[name] = dims
    shown = {row["variable"]: "(" + ", ".join(map(str, row["shape"])) + ")" for row in info["table"]}
    assert shown == expected
    assert shown["W[2]"] == "(3, 4)" and shown["Z[3]"] == "(1, 16)" and shown["dA[0]"] == "(2, 16)"
    assert info["layer_dims"] == [2, 4, 3, 1] and info["n_params"] == net.n_params


def test_gradcheck_equals_gradient_check(server):
    info = build(server, **CONFIG)
    status, r = call(server, "POST", f"/api/session/{info['session']}/gradcheck", {"batch": 1})
    assert status == 200
    net, X, Y, _ = reference(CONFIG)
    Xb, Yb = X[:, 32:64], Y[:, 32:64]
    want = vecprop.gradient_check(net, Xb, Yb, l2=0.05)
    assert r["difference"] == pytest.approx(want.difference, rel=1e-9) and r["passed"] and want.passed
    net.forward(Xb)
    grads = net.backward(Yb, l2=0.05)
    assert [p["name"] for p in r["parameters"]] == ["W1", "b1", "W2", "b2"]
    for p in r["parameters"]:
        check = want[p["name"]]
        assert p["difference"] == pytest.approx(check.difference, rel=1e-9)
        assert tuple(p["worst_index"]) == check.worst_index
        np.testing.assert_allclose(arr(p["backprop"]), grads["d" + p["name"]], rtol=1e-12, atol=1e-300)
        np.testing.assert_allclose(arr(p["numeric"]), grads["d" + p["name"]], rtol=1e-5, atol=1e-9)
        assert p["difference_shown"] < 1e-7


def test_step_is_one_gradient_descent_update_on_the_shown_batch(server):
    info = build(server, **CONFIG)
    sid = info["session"]
    _, before = call(server, "POST", f"/api/session/{sid}/inspect", {"batch": 0})
    status, p = call(server, "POST", f"/api/session/{sid}/train", {"action": "step"})
    assert status == 200 and p["updates"] == 1 and p["batch"] == 1 and p["steps"] == 1
    _, after = call(server, "POST", f"/api/session/{sid}/inspect", {"batch": 0})
    for old, new in zip(before["layers"], after["layers"]):
        for key in ("W", "b"):
            want = arr(old[key]) - 1.0 * arr(old["d" + key])  # W := W − α dW with α = 1
            np.testing.assert_allclose(arr(new[key]), want, rtol=1e-12, atol=1e-15)
    # the curve's point: the cost on the whole training set after the update, with its L2 term
    net, X, Y, (X_val, Y_val) = reference(CONFIG)
    net.params = {f"{k}{l['l']}": arr(l[k]) for l in after["layers"] for k in ("W", "b")}
    assert p["points"][-1]["loss"] == pytest.approx(net.compute_cost(X, Y, l2=0.05), rel=1e-12)
    assert p["points"][-1]["val_accuracy"] == pytest.approx(net.accuracy(X_val, Y_val))


def test_epochs_equal_fit_and_exports_reproduce_them(server, tmp_path, monkeypatch):
    pytest.importorskip("safetensors", reason="model files need the io extra")
    config = {**CONFIG, "optimizer": "adam", "learning_rate": 0.05}
    info = build(server, **config)
    sid = info["session"]
    _, code = call(server, "GET", f"/api/session/{sid}/python")
    assert b"epochs=100," in code and b"not trained on the page yet" in code
    for _ in range(3):
        status, p = call(server, "POST", f"/api/session/{sid}/train", {"action": "epoch"})
        assert status == 200
    assert p["epochs"] == 3 and p["updates"] == 30 and p["points"][-1]["epoch"] == 3
    net, X, Y, val = reference(config)
    history = net.fit(
        X, Y, epochs=3, learning_rate=0.05, optimizer="adam", batch_size=32, l2=0.05, validation_data=val, verbose=0
    )
    assert len(history.loss) == 3
    status, blob = call(server, "GET", f"/api/session/{sid}/model")
    assert status == 200 and blob[:8] != b"\x80\x04"  # safetensors, not a pickle
    (tmp_path / "m.safetensors").write_bytes(blob)
    model = vecprop.load(tmp_path / "m.safetensors")  # a Predictor, as vecprop train's files
    assert isinstance(model, vecprop.Predictor) and model.classes == ["red", "blue"]
    saved = model.network
    assert saved.layer_dims == [2, 3, 1] and "standardizer" in saved.metadata
    for key, value in net.params.items():
        np.testing.assert_allclose(saved.params[key], value, rtol=1e-12, atol=1e-15)
    status, code = call(server, "GET", f"/api/session/{sid}/python")
    assert status == 200 and b"vecprop.Network([2, 3, 1]" in code and b"epochs=3" in code
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code.decode(), "playground.py", "exec"), scope)  # the exported script, run as written
    for key, value in net.params.items():
        np.testing.assert_allclose(scope["net"].params[key], value, rtol=1e-12, atol=1e-15)
    assert (tmp_path / "playground.safetensors").exists()


def test_export_without_validation_or_scaling_runs(server, tmp_path, monkeypatch):
    pytest.importorskip("safetensors", reason="the script saves a model file (the io extra)")
    info = build(
        server,
        hidden=[4],
        activations=["relu", "sigmoid"],
        initializer="he",
        batch_size=0,
        validation_fraction=0,
        standardize=False,
        dataset="moons",
        n_samples=100,
    )
    sid = info["session"]
    assert info["n_batches"] == 1 and info["m_val"] == 0 and info["val_points"] is None
    for _ in range(2):
        call(server, "POST", f"/api/session/{sid}/train", {"action": "epoch"})
    _, code = call(server, "GET", f"/api/session/{sid}/python")
    assert b"Standardizer" not in code and b"batch_size=None" in code and b"validation_data" not in code
    monkeypatch.chdir(tmp_path)
    scope = {}
    exec(compile(code.decode(), "playground.py", "exec"), scope)
    _, d = call(server, "POST", f"/api/session/{sid}/inspect", {})
    for layer in d["layers"]:
        np.testing.assert_allclose(scope["net"].params[f"W{layer['l']}"], arr(layer["W"]), rtol=1e-12, atol=1e-15)


def test_reset_restores_the_initial_weights(server):
    info = build(server, **CONFIG)
    sid = info["session"]
    _, first = call(server, "POST", f"/api/session/{sid}/inspect", {"batch": 0})
    call(server, "POST", f"/api/session/{sid}/train", {"action": "epoch"})
    status, p = call(server, "POST", f"/api/session/{sid}/train", {"action": "reset"})
    assert status == 200 and p["updates"] == 0 and len(p["points"]) == 1
    _, again = call(server, "POST", f"/api/session/{sid}/inspect", {"batch": 0})
    assert again["layers"][0]["W"] == first["layers"][0]["W"] and again["cost"] == first["cost"]


def test_csv_with_three_classes_gets_a_softmax_network(server):
    rng = np.random.default_rng(0)
    rows = "\n".join(
        f"{x:.3f},{y:.3f},{'abc'[k]}" for k, (x, y) in zip(rng.integers(0, 3, 60), rng.standard_normal((60, 2)))
    )
    info = build(
        server,
        dataset="csv",
        csv="x1,x2,label\n" + rows + "\n",
        csv_name="mine.csv",
        hidden=[4],
        activations=["relu", "softmax"],
        loss="categorical_cross_entropy",
    )
    assert info["layer_dims"] == [2, 4, 3] and info["classes"] == ["a", "b", "c"]
    boundary = info["progress"]["boundary"]
    assert len(boundary["predicted"]) == boundary["n"] ** 2 and set(boundary["predicted"]) <= {0, 1, 2}
    _, code = call(server, "GET", f"/api/session/{info['session']}/python")
    assert b"load_data_file('mine.csv'" in code and b"vecprop.one_hot(train.y, 3)" in code


def test_live_training_streams_server_sent_events(server):
    info = build(server, **CONFIG)
    sid = info["session"]
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=20)
    conn.request("GET", f"/api/session/{sid}/events?token={server.token}")
    stream = conn.getresponse()
    assert stream.status == 200 and stream.headers["Content-Type"] == "text/event-stream"
    assert stream.readline() == b": connected\n"
    call(server, "POST", f"/api/session/{sid}/train", {"action": "play", "speed": 50})
    events = []
    while len([e for e in events if e[0] == "progress"]) < 3:
        line = stream.readline().decode().strip()
        if line.startswith("event: "):
            kind = line[7:]
            events.append((kind, json.loads(stream.readline().decode()[6:])))
    status, p = call(server, "POST", f"/api/session/{sid}/train", {"action": "pause"})
    conn.close()
    assert status == 200 and not p["running"]
    progress = [d for kind, d in events if kind == "progress"]
    epochs = [pt["epoch"] for d in progress for pt in d["points"]]
    assert epochs == sorted(epochs) and epochs[-1] >= 2 and progress[0]["running"]
    assert len(progress[-1]["boundary"]["output"]) == progress[-1]["boundary"]["n"] ** 2


BAD = [
    ({"hidden": [-3]}, "layer 1 size n_1 must be an integer from 1 to 128, got -3"),
    ({"hidden": [100000]}, "layer 1 size n_1 must be an integer from 1 to 128"),
    ({"hidden": [128] * 3, "activations": ["relu"] * 3 + ["sigmoid"]}, "parameters; the playground draws every one"),
    ({"hidden": [3], "activations": ["relus", "sigmoid"]}, "unknown activation 'relus' for layer 1; expected one of"),
    ({"hidden": [3], "activations": ["tanh"]}, "activations must list one name per layer 1..L = 2"),
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"learning_rate": "fast"}, "learning_rate must be a number in (0, 100], got 'fast'"),
    ({"batch_size": -1}, "batch_size must be an integer from 0 to"),
    ({"keep_prob": 0}, "keep_prob must be a number in (0, 1]"),
    ({"dataset": "csv", "csv": "x1,x2,label\n1,2,a\n3,4\n", "csv_name": "bad.csv"}, "bad.csv:3"),
    ({"dataset": "csv", "csv": "x1,x2,label\n1,zz,a\n3,4,b\n", "csv_name": "bad.csv"}, "bad.csv:2"),
    ({"dataset": "csv", "csv": "a,b,c,label\n1,2,3,x\n3,4,5,y\n"}, "exactly two feature columns"),
    ({"dataset": "csv"}, "dataset 'csv' needs the file's text"),
    ({"dataset": "mnist"}, "unknown dataset 'mnist'"),
    ({"loss": "binary_cross_entropy", "activations": ["tanh", "relu"]}, "loss 'binary_cross_entropy' needs an output"),
    ({"epochs": 5}, "unknown setting(s) ['epochs']"),
]


@pytest.mark.parametrize("body, message", BAD, ids=[m[:30] for _, m in BAD])
def test_bad_settings_get_a_clear_message(server, body, message, capfd):
    status, answer = call(server, "POST", "/api/session", body)
    assert status == 400
    assert message in answer["error"]
    assert "\n" not in answer["error"] and "Traceback" not in capfd.readouterr().err
    assert call(server, "GET", "/api/options")[0] == 200  # the server goes on serving


def test_bad_requests_get_a_clear_message(server, capfd):
    sid = build(server, **CONFIG)["session"]
    cases = [
        (("POST", "/api/session", None), {"raw": b"{not json"}, 400, "not valid JSON"),
        (("POST", f"/api/session/{sid}/inspect", {"batch": 99}), {}, 400, "batch must be an integer from 0 to 9"),
        (("POST", f"/api/session/{sid}/gradcheck", {"epsilon": -1}), {}, 400, "epsilon must be a number"),
        (("POST", f"/api/session/{sid}/train", {"action": "jump"}), {}, 400, "unknown action 'jump'"),
        (("GET", "/api/session/nosuch/inspect", None), {}, 404, "no session 'nosuch'"),
        (("GET", "/api/options", None), {"token": "wrong"}, 403, "missing or wrong token"),
        (("GET", "/api/nowhere", None), {}, 404, "no API route GET /api/nowhere"),
        (("GET", "/secret.py", None), {}, 404, "no page 'secret.py'"),
    ]
    for (method, path, body), kwargs, want_status, message in cases:
        status, answer = call(server, method, path, body, **kwargs)
        assert status == want_status and message in answer["error"], (path, answer)
    wide = build(server, hidden=[128, 128], activations=["relu", "relu", "sigmoid"], batch_size=0)
    assert wide["table"][0]["shape"] == [2, 320]  # the table needs no values
    status, answer = call(server, "POST", f"/api/session/{wide['session']}/inspect", {})
    assert status == 400 and "choose a smaller batch size (or smaller layers) to step through it" in answer["error"]
    status, answer = call(server, "POST", "/api/session", None, raw=b"{" + b" " * 4_100_000 + b"}")
    assert status == 400 and "over the limit" in answer["error"]
    big = build(server, hidden=[64, 48], activations=["tanh", "tanh", "sigmoid"])
    assert big["n_params"] > LIMITS["gradcheck_params"]
    status, answer = call(server, "POST", f"/api/session/{big['session']}/gradcheck", {})
    assert status == 400 and "use `vecprop gradcheck` for larger ones" in answer["error"]
    assert "Traceback" not in capfd.readouterr().err
    status, page = call(server, "GET", "/")
    assert status == 200 and b"vecprop playground" in page and b'<script src="app.js">' in page


def test_a_diverging_network_says_so_and_keeps_serving(server):
    sid = build(server, hidden=[16], activations=["relu", "linear"], loss="mse", learning_rate=100.0, initializer="he")[
        "session"
    ]
    status, answer = call(server, "POST", f"/api/session/{sid}/train", {"action": "epoch"})
    assert status == 400 and "the cost became NaN or infinite at epoch 0" in answer["error"]
    status, d = call(server, "POST", f"/api/session/{sid}/inspect", {})
    assert status == 200 and np.isfinite(d["cost"])  # the network kept its last finite weights


def test_cli_serve_prints_the_url_and_stops_on_ctrl_c(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "vecprop", "serve", "--no-browser", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("vecprop playground: http://127.0.0.1:") and "/?token=" in line
        url = line.split(": ", 1)[1].strip()
        base, token = url.split("/?token=")
        with urllib.request.urlopen(f"{base}/api/options?token={token}", timeout=10) as r:
            assert "flower" in json.loads(r.read())["datasets"]
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
        assert "Traceback" not in proc.stderr.read()
    finally:
        if proc.poll() is None:
            proc.kill()


def test_cli_serve_taken_port_is_one_line():
    srv = make_server(0)
    try:
        port = srv.server_address[1]
        r = subprocess.run(
            [sys.executable, "-m", "vecprop", "serve", "--no-browser", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1
    finally:
        srv.server_close()


def test_play_pauses_itself_when_no_page_watches(monkeypatch):
    from vecprop.playground import api

    monkeypatch.setattr(api, "UNWATCHED", 0.2)
    session = api.Playground().create(CONFIG)
    assert session.play(0)["running"]
    for _ in range(200):
        if not session.running:
            break
        time.sleep(0.05)
    assert not session.running and session.epochs > 0
    assert session.message == "paused: no page has been watching for 0.2 s"
