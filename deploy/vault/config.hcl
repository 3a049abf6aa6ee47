# Vault server mode for docker-compose.yml: integrated (raft) storage on a named volume,
# listening on the internal compose network only (never published).
#
# Storage lives under /vault/file because the official image's entrypoint makes that directory
# (a fresh named volume is root-owned) writable by the `vault` user; /vault/data is not chowned.
storage "raft" {
  path    = "/vault/file"
  node_id = "vault-1"
}

# TLS is off on the isolated `backend` network (no host port, internal: true). To turn it on,
# mount a certificate and set tls_cert_file/tls_key_file here, use https:// in VAULT_ADDR of
# the app, migrate and vault-init services, and give Deno the CA (DENO_CERT=/path/ca.crt).
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

api_addr     = "http://vault:8200"
cluster_addr = "http://vault:8201"

# raft recommends disable_mlock = true (swap must then be off on the host, or encrypted).
disable_mlock = true
ui            = false
