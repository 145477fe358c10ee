-- The shared budget becomes two continuous token buckets per provider key and model (requests and
-- tokens), as the provider's own limiter keeps them, instead of fixed one-minute windows. The limits are
-- learned from the provider's x-ratelimit-limit-* headers (NULL: nothing learned yet); a level is what a
-- bucket held at updated_at (NULL: full).
ALTER TABLE rate_budgets
    DROP COLUMN window_started_at,
    DROP COLUMN requests,
    DROP COLUMN tokens,
    ADD COLUMN request_limit  integer,
    ADD COLUMN token_limit    bigint,
    ADD COLUMN request_level  double precision,
    ADD COLUMN token_level    double precision,
    ADD COLUMN updated_at     timestamptz NOT NULL DEFAULT now();
