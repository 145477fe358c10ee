"""Postgres access: the embedded server, versioned migrations and the connection pool."""
