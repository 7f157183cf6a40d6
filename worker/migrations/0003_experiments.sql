-- Experiments (issue 5): a spec fanned out as jobs on Cloudflare Queues. Messages carry ids only; the
-- spec and every result live here. experiment_samples' primary key makes a retried job write nothing
-- twice; experiment_jobs has one row per job that ran: 'retrying' (with its last error) until it is
-- 'done', or 'failed' when the dead-letter consumer gets it after its retries. Progress counts done
-- and failed.

CREATE TABLE experiments (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  name text NOT NULL,
  spec jsonb NOT NULL,
  status text NOT NULL DEFAULT 'queued' CHECK (
    status IN ('queued', 'running', 'completed', 'completed_with_failures', 'cancelled', 'failed')
  ),
  total_jobs integer NOT NULL CHECK (total_jobs > 0),
  metrics jsonb,
  error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz
);
CREATE INDEX experiments_tenant_created_idx ON experiments (tenant_id, created_at DESC);

CREATE TABLE experiment_samples (
  experiment_id text NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  sample integer NOT NULL CHECK (sample >= 0),
  cell integer NOT NULL CHECK (cell >= 0),
  -- 'none' or name@strength
  attack text NOT NULL,
  variant text NOT NULL CHECK (variant IN ('watermarked', 'unwatermarked', 'human')),
  text text NOT NULL,
  tokens integer NOT NULL CHECK (tokens >= 0),
  -- [{tokens, scored, logPValue, statistic}] on ascending prefixes; the last is the whole text
  detections jsonb NOT NULL,
  perplexity double precision,
  edit_fraction double precision,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, sample, cell, attack, variant)
);

CREATE TABLE experiment_jobs (
  experiment_id text NOT NULL REFERENCES experiments (id) ON DELETE CASCADE,
  job integer NOT NULL CHECK (job >= 0),
  outcome text NOT NULL CHECK (outcome IN ('retrying', 'done', 'failed')),
  attempts integer NOT NULL CHECK (attempts >= 1),
  error text,
  finished_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (experiment_id, job)
);
