"""Scratch databases on the embedded test Postgres, and a TCP door to it for clients configured by host and port."""

from __future__ import annotations

import select
import socket
import socketserver
import threading
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def scratch_database(server_url: str, prefix: str = "scratch") -> Iterator[str]:
    """A new, empty database on the server of `server_url`; yields its URL and drops it afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
        with admin.connect() as conn:
            # FORCE: a child process may still hold a pooled connection when the test ends.
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def unix_socket_path(server_url: str) -> Path:
    """The socket file of a server reached through `?host=<socket directory>` (the embedded server listens on no TCP port)."""
    url = make_url(server_url)
    return Path(url.query["host"]) / f".s.PGSQL.{url.port or 5432}"


class _Forwarder(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, unix_path: Path):
        super().__init__(("127.0.0.1", 0), _ForwardConnection)
        self.unix_path = unix_path


class _ForwardConnection(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as upstream:
            upstream.connect(str(self.server.unix_path))
            _pump(self.request, upstream)


def _pump(client: socket.socket, upstream: socket.socket) -> None:
    peers = {client: upstream, upstream: client}
    while True:
        readable, _, _ = select.select(list(peers), [], [])
        for source in readable:
            data = source.recv(65536)
            if not data:
                return
            peers[source].sendall(data)


@contextmanager
def tcp_port_for(server_url: str) -> Iterator[int]:
    """A loopback TCP port forwarding to the server's Unix socket, for the length of the block.

    Dagster's postgres_db settings name a host and a port, as a deployment does; the embedded
    server only has a socket, and the server still sees local (socket) connections.
    """
    forwarder = _Forwarder(unix_socket_path(server_url))
    thread = threading.Thread(target=forwarder.serve_forever, name="postgres-tcp-forwarder", daemon=True)
    thread.start()
    try:
        yield forwarder.server_address[1]
    finally:
        forwarder.shutdown()
        forwarder.server_close()
