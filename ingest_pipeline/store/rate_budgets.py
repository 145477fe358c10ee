"""The rate_budgets table: per provider key and model, the learned limits, the buckets' levels and a pause."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text


@dataclass(frozen=True)
class BudgetRow:
    """A limit or level of None: not learned yet, or a bucket never drawn on (full)."""

    request_limit: int | None
    token_limit: int | None
    request_level: float | None
    token_level: float | None
    seconds_since_update: float
    paused_seconds: float


def locked(conn: Connection, name: str) -> BudgetRow:
    """The budget's row, created if missing, locked until the transaction ends; times by the database's clock."""
    _ensure(conn, name)
    row = conn.execute(text(
        "SELECT request_limit, token_limit, request_level, token_level, "
        "extract(epoch FROM now() - updated_at), extract(epoch FROM coalesce(paused_until, now()) - now()) "
        "FROM rate_budgets WHERE name = :name FOR UPDATE"), {"name": name}).one()
    return BudgetRow(row[0], row[1], None if row[2] is None else float(row[2]),
                     None if row[3] is None else float(row[3]), float(row[4]), float(row[5]))


def write(conn: Connection, name: str, request_limit: int | None, token_limit: int | None,
          request_level: float, token_level: float) -> None:
    conn.execute(text(
        "UPDATE rate_budgets SET request_limit = :rl, token_limit = :tl, request_level = :rq, "
        "token_level = :tk, updated_at = now() WHERE name = :name"),
        {"rl": request_limit, "tl": token_limit, "rq": request_level, "tk": token_level, "name": name})


def pause(conn: Connection, name: str, seconds: float) -> None:
    """Pause the budget until `seconds` from now, unless it is paused longer already."""
    _ensure(conn, name)
    conn.execute(text(
        "UPDATE rate_budgets SET paused_until = greatest(coalesce(paused_until, now()), "
        "now() + make_interval(secs => :s)) WHERE name = :name"), {"s": seconds, "name": name})


def _ensure(conn: Connection, name: str) -> None:
    conn.execute(text("INSERT INTO rate_budgets (name) VALUES (:name) ON CONFLICT DO NOTHING"), {"name": name})
