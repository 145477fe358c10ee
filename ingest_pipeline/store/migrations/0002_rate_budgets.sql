-- A shared request/token budget per provider, so every run and process draws on the same minute.
CREATE TABLE rate_budgets (
    name               text PRIMARY KEY,
    window_started_at  timestamptz NOT NULL DEFAULT now(),
    requests           integer NOT NULL DEFAULT 0,
    tokens             bigint NOT NULL DEFAULT 0,
    paused_until       timestamptz
);
