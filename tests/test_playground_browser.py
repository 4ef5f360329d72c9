"""The playground in a real browser: Debian's chromium driven by Playwright (``executable_path``; its own
browser download is never used). Build a 2-3-1 network, step forward and backward through one mini-batch,
check the shapes and values shown against the JSON API, train a few epochs, screenshot; no JS errors.

Skips, saying why, only where chromium or Playwright is missing (.ci/run installs chromium)."""

from __future__ import annotations

import json
import os
import shutil
import threading
import urllib.request

import pytest

from vecprop.playground import make_server
from vecprop.playground.server import url_of

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="pip install playwright (the test extra) for the browser tests"
)
CHROMIUM = os.environ.get("VECPROP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if CHROMIUM is None:
    pytest.skip(
        "chromium is not installed (apt-get install chromium; .ci/run installs it), so the playground's "
        "browser test cannot run",
        allow_module_level=True,
    )

STAGE_TAGS = ["(2)", "(1)", "(2)", "(1)", "(3)", "BP4", "BP1", "BP2", "BP3", "BP4", "BP1", "BP2", "BP3", "update"]


@pytest.fixture(scope="module")
def server():
    srv = make_server(0)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        try:
            b = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        except Exception as exc:  # noqa: BLE001 - a chromium that cannot start here is a skip, said plainly
            pytest.skip(f"chromium at {CHROMIUM} does not start: {str(exc).splitlines()[0]}")
        yield b
        b.close()


def api(srv, path, body):
    host, port = srv.server_address[:2]
    req = urllib.request.Request(
        f"http://{host}:{port}/api/{path}",
        data=json.dumps(body).encode(),
        headers={"X-Vecprop-Token": srv.token, "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def get(srv, path):
    host, port = srv.server_address[:2]
    req = urllib.request.Request(f"http://{host}:{port}/api/{path}", headers={"X-Vecprop-Token": srv.token})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())


def test_build_step_check_train_in_chromium(server, browser, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda exc: errors.append(f"page error: {exc}"))
    page.on("console", lambda msg: errors.append(f"console: {msg.text}") if msg.type == "error" else None)
    page.goto(url_of(server))
    page.wait_for_selector("body[data-ready]")

    # 1-2: build a 2-3-1 network; the table shows the seed's dimensions for m = 16
    first = page.get_attribute("body", "data-ready")
    page.fill("#hidden", "3")
    page.fill("#batch_size", "16")
    page.locator("#batch_size").blur()  # a change event, as when the learner tabs away
    page.wait_for_function(f"document.body.dataset.ready && document.body.dataset.ready !== '{first}'")
    sid = page.get_attribute("body", "data-ready")
    table = dict(
        zip(
            page.locator("#dims td:nth-child(1)").all_inner_texts(),
            page.locator("#dims td:nth-child(2)").all_inner_texts(),
        )
    )
    assert table["W[1]"] == "(3, 2)" and table["b[1]"] == "(3, 1)" and table["Z[1]"] == "(3, 16)"
    assert table["W[2]"] == "(1, 3)" and table["A[2]"] == "(1, 16)" and table["dA[0]"] == "(2, 16)"
    assert "Network [2, 3, 1], 13 parameters" in page.inner_text("#n-params")

    # 3: step through mini-batch 0, forward then backward; every heat-map's shape and a hovered value
    for _ in STAGE_TAGS:
        page.click("#fwd-next")
    assert page.locator("#stages .stage").evaluate_all("els => els.map(e => e.dataset.tag)") == STAGE_TAGS
    assert page.is_disabled("#fwd-next")
    d = api(server, f"session/{sid}/inspect", {"batch": 0})
    shown = page.locator("#stages canvas").evaluate_all("els => els.map(e => [e.dataset.name, e.dataset.shape])")
    shapes = dict(shown)
    for layer in d["layers"]:
        l = layer["l"]
        for key in ("W", "Z", "A", "dZ", "dW", "db"):
            want = layer[key]["shape"]
            assert shapes[f"{key}[{l}]"] == f"{want[0]}x{want[1]}"
    assert shapes["dA[0]"] == "2x16" and shapes["Y"] == "1x16"
    assert f"{d['cost']:.6g}"[:6] in page.inner_text("#stages .stage[data-tag='(3)']")
    z1 = page.locator("#stages canvas[data-name='Z[1]']").first
    z1.scroll_into_view_if_needed()
    box = z1.bounding_box()
    r, c = 2, 5  # hover the centre of Z[1]'s cell (2, 5)
    page.mouse.move(
        box["x"] + 1 + (c + 0.5) * (box["width"] - 2) / 16, box["y"] + 1 + (r + 0.5) * (box["height"] - 2) / 3
    )
    tip = page.inner_text("#tip")
    assert tip.startswith("Z[1][2, 5] = ")
    assert float(tip.split("= ")[1]) == pytest.approx(d["layers"][0]["Z"]["values"][r][c], rel=1e-5)

    # 4: gradient check, per parameter, as the API computes it
    page.click("#gradcheck")
    page.wait_for_selector("#gradcheck-table")
    g = api(server, f"session/{sid}/gradcheck", {"batch": 0})
    rows = page.locator("#gradcheck-table tbody tr")
    assert rows.evaluate_all("els => els.map(e => e.dataset.param)") == ["W1", "b1", "W2", "b2"]
    for p, text in zip(g["parameters"], rows.locator("td.diff").all_inner_texts()):
        assert text == f"{p['difference']:.2e}".replace("e-0", "e-") + " ✓"

    # 5: train three epochs and one step; the curves' numbers are the API's
    for _ in range(3):
        page.click("#epoch")
        page.wait_for_function("!document.getElementById('epoch').disabled")
    page.wait_for_function("document.getElementById('counters').textContent.startsWith('epoch 3.00 · 60 updates')")
    page.click("#step")
    page.wait_for_function("document.getElementById('counters').textContent.includes('61 updates')")
    last = get(server, f"session/{sid}/describe")["progress"]["points"][-1]
    assert last["updates"] == 61 and f"cost {last['loss']:.4f}" in page.inner_text("#counters")
    painted = page.evaluate("""() => { const c = document.getElementById('boundary');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] !== d[i + 2]) n++; return n; }""")
    assert painted > 10_000  # the boundary is drawn in the class colours
    page.click("#play")
    page.wait_for_function("document.getElementById('play').textContent.includes('pause')")
    page.wait_for_function("parseFloat(document.getElementById('counters').textContent.slice(6)) >= 5")
    page.click("#play")
    page.wait_for_function("document.getElementById('play').textContent.includes('play')")
    assert "vecprop.Network([2, 3, 1]" in page.inner_text("#python-code")

    # the whole page renders to an image of its full size (the bytes depend on the fonts a machine has,
    # so the check is the PNG's own header; the pixels drawn are checked on the canvas above)
    shot = tmp_path / "playground.png"
    png = page.screenshot(path=str(shot), full_page=True)
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1400 and height >= 1000  # the viewport at least; the full page where it is longer
    if os.environ.get("VECPROP_SCREENSHOT"):  # for docs/: VECPROP_SCREENSHOT=path pytest ...
        shutil.copy(shot, os.environ["VECPROP_SCREENSHOT"])

    assert errors == []

    # bad input on the page: a message, and the page keeps working
    page.fill("#hidden", "-3")
    page.locator("#hidden").blur()
    page.wait_for_selector("#error:not([hidden])")
    assert "layer 1 size n_1 must be an integer from 1 to 128, got -3" in page.inner_text("#error")
    page.fill("#hidden", "4")
    page.locator("#hidden").blur()
    page.wait_for_selector("#error", state="hidden")
    assert page.inner_text("#dims tr[data-variable='W[1]'] td:nth-child(2)") == "(4, 2)"
    page.select_option("#dataset", "csv")  # the learner's own CSV: a malformed one first
    page.set_input_files(
        "#csv-file", files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": b"x1,x2,label\n1,2,a\n3,4\n"}]
    )
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error").startswith("bad.csv:3")
    rows = "".join(f"{i % 7 - 3},{(i * 5) % 11 - 5},{'yes' if i % 3 else 'no'}\n" for i in range(40))
    page.set_input_files(
        "#csv-file", files=[{"name": "mine.csv", "mimeType": "text/csv", "buffer": ("a,b,label\n" + rows).encode()}]
    )
    page.wait_for_selector("#error", state="hidden")
    page.wait_for_function("document.getElementById('boundary-legend').textContent.startsWith('noyes')")
    assert "32 training and 8 validation examples" in page.inner_text("#n-params")
    # the two 400 answers are the browser's network log, not JavaScript errors
    assert [e for e in errors if "status of 400" not in e] == [] and len(errors) == 2
    page.close()
