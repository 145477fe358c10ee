-- Adaptive polling of parse jobs: when each open job is next asked about (NULL once it finished),
-- and how many status checks it has cost so far.
ALTER TABLE parse_jobs ADD COLUMN next_check_at timestamptz;
ALTER TABLE parse_jobs ADD COLUMN checks integer NOT NULL DEFAULT 0;
-- Jobs submitted before: checked at the first pass, then on the schedule.
UPDATE parse_jobs SET next_check_at = now() WHERE finished_at IS NULL AND consumed_at IS NULL;
CREATE INDEX parse_jobs_next_check ON parse_jobs (next_check_at) WHERE finished_at IS NULL AND consumed_at IS NULL;
