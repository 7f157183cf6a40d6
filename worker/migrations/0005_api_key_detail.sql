-- Detection detail per API key (docs/security.md): one tenant can hand a verdict-only key to an untrusted
-- client and keep full detail for its own. NULL: the key answers with its tenant's detail.
ALTER TABLE api_keys
  ADD COLUMN detection_detail text CHECK (detection_detail IN ('full', 'verdict'));
