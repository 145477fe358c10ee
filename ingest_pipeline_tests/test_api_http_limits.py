"""The API's server bounds, over real sockets: slow heads and bodies dropped, a connection cap, an oversized webhook refused."""

from __future__ import annotations

import select
import socket
import time
from contextlib import ExitStack

import httpx

from ingest_pipeline.api.http_limits import HttpLimits
from ingest_pipeline.parse.webhooks import MAX_WEBHOOK_BYTES, WEBHOOK_PATH
from ingest_pipeline_tests.log_lines import json_lines
from ingest_pipeline_tests.raw_http import (
    PATIENCE_SECONDS,
    bounded_api,
    chunk,
    head,
    open_socket,
    read_until_closed,
    status_of,
)

# Short enough that a trickle of a byte every 50 ms outlasts them by far.
QUICK = HttpLimits(head_timeout=0.5, body_timeout=0.5, keepalive_timeout=5, max_connections=50)
_FORM = {"Content-Type": "multipart/form-data; boundary=xyz"}


def _trickle(sock: socket.socket, data: bytes, interval: float = 0.05) -> int:
    """Send `data` a byte at a time until the server answers or hangs up; how many bytes went."""
    for sent in range(len(data)):
        if select.select([sock], [], [], 0)[0]:
            return sent
        try:
            sock.sendall(data[sent:sent + 1])
        except OSError:
            return sent
        time.sleep(interval)
    return len(data)


def _answer_lines(capfd, path: str) -> list[dict]:
    """The API's log lines about `path`, waiting for the first (written once the request has ended)."""
    deadline, found = time.monotonic() + PATIENCE_SECONDS, []
    while not found and time.monotonic() < deadline:
        found = [line for line in json_lines(capfd.readouterr().err) if line.get("path") == path]
        time.sleep(0.05)
    return found


def test_a_client_slow_to_send_its_head_gets_408_and_is_dropped(app, instance):
    with bounded_api(app, instance, QUICK) as url, open_socket(url) as sock:
        request = head("GET", url, "/documents")
        sent = _trickle(sock, request)
        answer = read_until_closed(sock)
    assert sent < len(request)
    assert status_of(answer) == 408 and b"did not arrive in time" in answer


def test_a_client_slow_to_send_its_body_is_dropped_and_logged_at_info_as_a_disconnect(app, instance, capfd):
    body = b"--xyz\r\n" + b"x" * 200
    with bounded_api(app, instance, QUICK) as url, open_socket(url) as sock:
        sock.sendall(head("POST", url, "/documents", {**_FORM, "Content-Length": str(len(body))}))
        sent = _trickle(sock, body)
        answer = read_until_closed(sock)
        [line] = _answer_lines(capfd, "/documents")
    assert sent < len(body) and answer == b""
    assert (line["level"], line["status"]) == ("INFO", 499)
    assert not list((app.settings.home / "uploads").iterdir())


def test_a_client_leaving_mid_upload_is_logged_at_info_never_as_a_server_error(app, instance, capfd):
    with bounded_api(app, instance) as url:
        with open_socket(url) as sock:
            sock.sendall(head("POST", url, "/documents", {**_FORM, "Content-Length": "100000"}))
            sock.sendall(b"--xyz\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\npartial")
        [line] = _answer_lines(capfd, "/documents")
        err = capfd.readouterr().err
    assert (line["level"], line["status"]) == ("INFO", 499)
    assert '"level": "ERROR"' not in err and "Exception in ASGI application" not in err


def test_connections_beyond_the_cap_are_answered_503_and_health_answers_again_once_one_closes(app, instance):
    limits = HttpLimits(head_timeout=PATIENCE_SECONDS, body_timeout=5, keepalive_timeout=5, max_connections=4)
    with bounded_api(app, instance, limits) as url, ExitStack() as held:
        # The readiness check's own connection may take a moment to be forgotten.
        sockets = [held.enter_context(open_socket(url)) for _ in range(limits.max_connections)]
        for sock in sockets:
            sock.sendall(b"GET /health HTTP/1.1\r\n")  # an unfinished head: the connection stays open
        time.sleep(0.2)
        with open_socket(url) as refused:
            answer = read_until_closed(refused)
        sockets[0].close()
        deadline, status = time.monotonic() + PATIENCE_SECONDS, None
        while status != 200 and time.monotonic() < deadline:
            status = httpx.get(url + "/health", timeout=PATIENCE_SECONDS).status_code
    assert status_of(answer) == 503 and b"too many connections" in answer
    assert status == 200


def test_health_answers_while_slow_clients_hold_connections(app, instance):
    with bounded_api(app, instance, QUICK) as url, ExitStack() as held:
        for _ in range(20):
            held.enter_context(open_socket(url)).sendall(b"POST /documents HTTP/1.1\r\nHost: ")
        assert httpx.get(url + "/health", timeout=PATIENCE_SECONDS).status_code == 200


def test_a_webhook_declared_too_large_is_refused_before_any_of_it_is_read(app, instance):
    with bounded_api(app, instance) as url, open_socket(url) as sock:
        sock.sendall(head("POST", url, WEBHOOK_PATH, {"Content-Length": str(300 * 1024 * 1024)}))
        answer = read_until_closed(sock)
    assert status_of(answer) == 413 and f"at most {MAX_WEBHOOK_BYTES} bytes".encode() in answer


def test_a_chunked_webhook_is_refused_as_soon_as_it_passes_the_cap_and_the_connection_closed(app, instance):
    block = b"x" * 65536
    with bounded_api(app, instance) as url, open_socket(url) as sock:
        sock.sendall(head("POST", url, WEBHOOK_PATH, {"Transfer-Encoding": "chunked"}))
        for _ in range(MAX_WEBHOOK_BYTES // len(block)):
            sock.sendall(chunk(block))
        # One byte past the cap, and no last chunk: the body never ends, the answer comes anyway.
        sock.sendall(chunk(b"x"))
        answer = read_until_closed(sock)
    assert status_of(answer) == 413 and b"connection: close" in answer.lower()
