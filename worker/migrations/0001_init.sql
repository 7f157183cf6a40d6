-- Tenants, API keys, watermark key metadata and detections. Every row below tenants is tenant-scoped.
-- Key material is never stored: it is derived with HKDF from a Worker secret and watermark_keys.id.
-- Ids are text chosen by the application (e.g. `wk_` + 24 hex digits): a watermark key's id is an HKDF
-- input, so it must be known before the row exists and must never change.

CREATE TABLE tenants (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  -- Detections store only a hash of the text unless the tenant opts in.
  store_text boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  -- Lower-case hex SHA-256 of the full key; the key itself is shown once and never stored.
  key_hash text NOT NULL UNIQUE CHECK (key_hash ~ '^[0-9a-f]{64}$'),
  -- The first characters of the key, so operators can tell keys apart in listings.
  prefix text NOT NULL,
  name text,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);
CREATE INDEX api_keys_tenant_idx ON api_keys (tenant_id);

CREATE TABLE watermark_keys (
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  scheme text NOT NULL,
  params jsonb NOT NULL DEFAULT '{}'::jsonb,
  -- Tokenizer the key's texts are scored with (e.g. qwen3); null for token-id-only use.
  tokenizer text,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz,
  -- Revoked keys stay detectable until this instant (revoked_at + the grace period chosen at revocation).
  detectable_until timestamptz,
  -- The key this one replaced, when created by a rotation.
  rotated_from text REFERENCES watermark_keys (id),
  -- Lets detections reference (tenant_id, id), so a detection can only name its own tenant's key.
  UNIQUE (tenant_id, id),
  CHECK ((status = 'active') = (revoked_at IS NULL)),
  CHECK (detectable_until IS NULL OR revoked_at IS NOT NULL)
);
CREATE INDEX watermark_keys_tenant_idx ON watermark_keys (tenant_id, status);

CREATE TABLE detections (
  -- Chosen by the caller, so a retried audit write is idempotent (INSERT … ON CONFLICT DO NOTHING).
  id text PRIMARY KEY CHECK (id ~ '^[A-Za-z0-9_-]{1,64}$'),
  tenant_id text NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
  key_id text,
  text_hash text NOT NULL CHECK (text_hash ~ '^[0-9a-f]{64}$'),
  text text,
  scheme text NOT NULL,
  p_value double precision NOT NULL CHECK (p_value >= 0 AND p_value <= 1),
  -- p-values underflow doubles far below 1e-300; the log keeps them comparable.
  log_p_value double precision,
  tokens integer NOT NULL CHECK (tokens >= 0),
  scored integer NOT NULL CHECK (scored >= 0),
  watermarked boolean NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (tenant_id, key_id) REFERENCES watermark_keys (tenant_id, id) ON DELETE CASCADE
);
CREATE INDEX detections_tenant_created_idx ON detections (tenant_id, created_at DESC);
