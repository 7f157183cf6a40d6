-- One row per generation the edge forwarded to the origin (POST /v1/generate, /v1/chat/completions,
-- /v1/completions), whatever its outcome: failed and cut generations are kept with their outcome, so
-- success counts are honest. The completion text is kept only if the tenant opted in (store_text);
-- the prompt is never kept.

CREATE TABLE generations (
  -- Chosen by the edge (and returned as the response id), so a retried write is idempotent.
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Null for unwatermarked generations; otherwise one of the tenant's own keys (foreign key below).
  key_id text,
  scheme text,
  -- The origin's model id; null when the origin never answered.
  model text,
  endpoint text NOT NULL CHECK (endpoint IN ('generate', 'chat.completions', 'completions')),
  stream boolean NOT NULL,
  prompt_tokens integer CHECK (prompt_tokens >= 0),
  completion_tokens integer NOT NULL CHECK (completion_tokens >= 0),
  latency_ms integer NOT NULL CHECK (latency_ms >= 0),
  first_token_ms integer CHECK (first_token_ms >= 0),
  finish_reason text CHECK (finish_reason IN ('stop', 'length', 'eos')),
  outcome text NOT NULL CHECK (
    outcome IN ('success', 'error', 'timeout', 'unavailable', 'busy', 'cut', 'cancelled', 'rejected')
  ),
  -- The error code the client saw, for every outcome but success.
  error_code text,
  text text,
  created_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((key_id IS NULL) = (scheme IS NULL)),
  CHECK ((outcome = 'success') = (finish_reason IS NOT NULL)),
  FOREIGN KEY (tenant_id, key_id) REFERENCES watermark_keys (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX generations_tenant_created_idx ON generations (tenant_id, created_at DESC);
