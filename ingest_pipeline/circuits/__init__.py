"""A circuit breaker per provider, shared through Postgres: parse and embed both stop calling a failing service."""
