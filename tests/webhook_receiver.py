"""A real HTTP receiver for webhook tests: ``http.server`` in a thread on 127.0.0.1 (an
address the tests allow with ``PGGIT_WEBHOOK_ALLOWED_NETWORKS``).

``Receiver(behave)``: ``behave(request)`` returns what to answer (status, body, and optionally
``sleep`` seconds before answering, ``location`` for a redirect); every request is kept in
``requests`` (path, headers, body, whether the signature was valid for ``secret``)."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Seen:
    path: str
    headers: dict
    body: bytes
    signature_valid: bool
    answered: int = 0


@dataclass
class Answer:
    status: int = 200
    body: bytes = b"ok"
    sleep: float = 0.0
    location: str = ""


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return header is not None and hmac.compare_digest(expected, header)


class Receiver:
    def __init__(self, behave=None, secret: str = "s3cret"):
        self.behave = behave or (lambda seen: Answer())
        self.secret = secret
        self.requests: list[Seen] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                seen = Seen(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                            valid_signature(receiver.secret, body, self.headers.get("X-Pggit-Signature-256")))
                with receiver.lock:
                    receiver.requests.append(seen)
                answer = receiver.behave(seen)
                if answer.sleep:
                    time.sleep(answer.sleep)
                seen.answered = answer.status
                try:
                    self.send_response(answer.status)
                    if answer.location:
                        self.send_header("Location", answer.location)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:  # the client gave up (a timeout)
                    pass

            do_GET = do_POST

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def __enter__(self) -> "Receiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
