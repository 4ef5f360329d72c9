"""``vecprop serve``: the playground's HTTP server — the standard library only.

A ``ThreadingHTTPServer`` on 127.0.0.1 serves the page and its scripts (package data, no CDN) and the
JSON API of :mod:`vecprop.playground.api`; live training reaches the page as Server-Sent Events from a
worker thread. Every API call needs the token printed in the URL (as Jupyter does), in the ``token``
query parameter or the ``X-Vecprop-Token`` header. Bad input is answered ``400 {"error": message}``;
no request can take the server down or print a traceback.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import queue
import secrets
import sys
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from urllib.parse import parse_qs, urlsplit

from .api import Playground, PlaygroundError, options

__all__ = ["make_server", "serve"]

MAX_BODY = 4_000_000  # bytes of a request body (a CSV of at most LIMITS["csv_bytes"] fits)
KEEPALIVE = 15.0  # seconds between comments on an idle event stream
STATIC = ("index.html", "app.js", "style.css", "favicon.svg")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address, token: str):
        self.token = token
        self.playground = Playground()
        self.closing = threading.Event()
        super().__init__(address, _Handler)  # closes the socket itself (server_close) if bind fails

    def handle_error(self, request, client_address):
        """A client that goes away mid-answer is normal; anything else is one line, never a traceback."""
        exc = sys.exc_info()[1]
        if not isinstance(exc, (ConnectionError, TimeoutError)):
            print(f"vecprop serve: {type(exc).__name__}: {exc}", file=sys.stderr)

    def server_close(self):
        self.closing.set()
        self.playground.close()
        super().server_close()


class _Handler(BaseHTTPRequestHandler):
    server_version = "vecprop-playground"
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # quiet: the terminal shows the URL and errors only

    # ------------------------------------------------------------------------------- answers
    def _send(self, status: int, body: bytes, content_type: str, extra=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in extra:
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, obj):
        self._send(status, json.dumps(obj, allow_nan=False).encode(), "application/json")

    def _error(self, status: int, message: str):
        self._json(status, {"error": message})

    def _authorized(self, query) -> bool:
        given = self.headers.get("X-Vecprop-Token") or query.get("token", [""])[0]
        return hmac.compare_digest(given.encode(), self.server.token.encode())

    def _body(self):
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            raise PlaygroundError("bad Content-Length header") from None
        if length > MAX_BODY:
            if length <= 16 * MAX_BODY:  # read it away, so that the client hears the answer
                for start in range(0, length, 1 << 20):
                    self.rfile.read(min(1 << 20, length - start))
            else:
                self.close_connection = True
            raise PlaygroundError(f"request body of {length} bytes is over the limit of {MAX_BODY}")
        raw = self.rfile.read(length) if length > 0 else b"{}"
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise PlaygroundError(f"the request body is not valid JSON: {exc}") from None

    # ------------------------------------------------------------------------------- routing
    def do_GET(self):
        self._dispatch("GET")

    def do_HEAD(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def _dispatch(self, method: str):
        url = urlsplit(self.path)
        query = parse_qs(url.query)
        parts = [p for p in url.path.split("/") if p]
        try:
            if not parts or parts[0] != "api":
                return self._static(parts)
            if not self._authorized(query):
                return self._error(403, "missing or wrong token: open the URL that `vecprop serve` printed")
            return self._api(method, parts[1:], query)
        except ValueError as exc:  # PlaygroundError, and the library's own messages (bad settings)
            status = 404 if str(exc).startswith("no session") else 400
            return self._error(status, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        except (ConnectionError, TimeoutError):
            self.close_connection = True
        except Exception as exc:  # noqa: BLE001 - a bug must not take the server down; say it in one line
            print(f"vecprop serve: {self.command} {url.path}: {type(exc).__name__}: {exc}", file=sys.stderr)
            return self._error(500, f"internal error: {type(exc).__name__}: {exc}")

    def _static(self, parts):
        name = "index.html" if not parts else "/".join(parts)
        if name not in STATIC:
            return self._error(404, f"no page {name!r}; open the URL that `vecprop serve` printed")
        body = resources.files(__package__).joinpath("static", name).read_bytes()
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        self._send(200, body, kind + ("; charset=utf-8" if kind.startswith("text/") or name.endswith(".js") else ""))

    def _api(self, method: str, parts, query):
        pg = self.server.playground
        if method == "GET" and parts == ["options"]:
            return self._json(200, options())
        if method == "POST" and parts == ["session"]:
            return self._json(200, pg.create(self._body()).describe())
        if len(parts) != 3 or parts[0] != "session":
            return self._error(404, f"no API route {method} /api/{'/'.join(parts)}; see docs/playground.md")
        session, action = pg.get(parts[1]), parts[2]
        if method == "POST":
            body = self._body()
            if not isinstance(body, dict):
                raise PlaygroundError("the request body must be a JSON object")
            if action == "inspect":
                return self._json(200, session.inspect(body.get("batch")))
            if action == "gradcheck":
                return self._json(200, session.gradcheck(body.get("batch"), body.get("epsilon", 1e-7)))
            if action == "train":
                return self._json(200, session.train(body.get("action"), body.get("speed", 0.0)))
        elif action == "events":
            return self._events(session)
        elif action == "model":
            return self._send(
                200,
                session.model_file(),
                "application/octet-stream",
                [("Content-Disposition", 'attachment; filename="playground.safetensors"')],
            )
        elif action == "python":
            return self._send(
                200,
                session.python_code().encode(),
                "text/x-python; charset=utf-8",
                [("Content-Disposition", 'attachment; filename="playground.py"')],
            )
        elif action == "describe":
            return self._json(200, session.describe())
        return self._error(404, f"no API route {method} /api/session/<id>/{action}; see docs/playground.md")

    def _events(self, session):
        """Server-Sent Events: ``progress``, ``reset``, ``error``, ``closed`` until the client leaves."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        q = session.subscribe()
        try:
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while not self.server.closing.is_set():
                try:
                    event, data = q.get(timeout=KEEPALIVE)
                except queue.Empty:
                    event = None
                    self.wfile.write(b": keepalive\n\n")
                else:
                    self.wfile.write(f"event: {event}\ndata: {json.dumps(data, allow_nan=False)}\n\n".encode())
                self.wfile.flush()
                if event == "closed":
                    break
        except (ConnectionError, TimeoutError):
            pass
        finally:
            session.unsubscribe(q)


def make_server(port: int = 0, host: str = "127.0.0.1", token: str | None = None) -> _Server:
    """A playground server bound to ``host:port`` (0: a free port), not yet serving.

    Raises
    ------
    OSError
        When the port is taken (the message names it).
    """
    try:
        return _Server((host, port), token or secrets.token_urlsafe(24))
    except OSError as exc:
        raise OSError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); choose another --port") from None


def url_of(server: _Server) -> str:
    host, port = server.server_address[:2]
    return f"http://{host}:{port}/?token={server.token}"


def serve(port: int = 0, *, open_browser: bool = True, host: str = "127.0.0.1") -> int:
    """Run the playground until Ctrl-C; prints the URL (and opens it unless ``open_browser`` is False)."""
    server = make_server(port, host)
    url = url_of(server)
    print(f"vecprop playground: {url}\n(Ctrl-C to stop)", flush=True)
    if open_browser:
        threading.Thread(target=webbrowser.open, args=(url,), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.25)
    except KeyboardInterrupt:
        print("vecprop playground: stopped", file=sys.stderr)
    finally:
        server.server_close()
    return 0
