-- Detection-oracle mitigation (docs/security.md): a tenant that is not trusted with the full detection
-- result gets the verdict only (no p-value, statistic, per-token detail or windows), which makes each
-- query worth less to someone trying to learn a key's green lists.
ALTER TABLE tenants
  ADD COLUMN detection_detail text NOT NULL DEFAULT 'full' CHECK (detection_detail IN ('full', 'verdict'));
