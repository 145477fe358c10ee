"""Small helpers for the ingest API tests: upload a file, count what was stored, what was left in uploads/."""

from __future__ import annotations

from sqlalchemy import text

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
TOKEN = "s3cret-token-long-enough-to-be-unguessable"


def upload(client, content, name="notes.md", **form):
    return client.post("/documents", files={"file": (name, content)}, data=form)


def count(app, table="documents") -> int:
    with app.engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def uploads_left(app) -> list:
    folder = app.settings.home / "uploads"
    return list(folder.iterdir()) if folder.exists() else []
