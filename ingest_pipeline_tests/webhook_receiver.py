"""A tiny webhook endpoint for the simulator tests: records what a LlamaParse webhook delivers, can fail on purpose."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """A tiny webhook endpoint on 127.0.0.1 recording (headers, raw body); answers 500 to the first `fail_first` posts."""

    def __init__(self, fail_first: int = 0):
        self.calls: list[tuple[dict[str, str], bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                failing = receiver.fail_first > 0
                receiver.fail_first -= int(failing)
                if not failing:
                    receiver.calls.append((dict(self.headers), body))
                self.send_response(500 if failing else 204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 5.0) -> list[tuple[dict[str, str], bytes]]:
        deadline = time.monotonic() + timeout
        while len(self.calls) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        assert len(self.calls) >= count, f"{len(self.calls)} webhooks arrived, expected {count}"
        return self.calls
