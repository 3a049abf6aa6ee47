#!/bin/sh
# Creates the bootstrap secrets docker-compose.yml reads from deploy/secrets/ (gitignored,
# mode 0600), never overwriting one that exists:
#
#   deploy/gen-secrets.sh          # postgres_password (random hex); lists what you must add
#   deploy/gen-secrets.sh --dev    # also a random vault_admin_token (the dev-mode Vault's root
#                                  # token) and the .example Bitrix24 credentials (dev only)
#
# In production, vault_admin_token is the token `vault operator init` printed (or a narrower
# token able to run deploy/vault_init.ts), and bitrix_client_id / bitrix_client_secret are the
# marketplace app's credentials. vault-init copies them into Vault; after the first successful
# run they may be removed from the host (vault-init only adds missing values to Vault).
set -eu

dev=false
[ "${1:-}" = "--dev" ] && dev=true
dir="$(dirname "$0")/secrets"
umask 077
mkdir -p "$dir"

put() { # name value
  if [ -e "$dir/$1" ]; then echo "kept     $dir/$1"; return; fi
  printf '%s\n' "$2" >"$dir/$1"
  echo "created  $dir/$1"
}

# Hex only: the password is embedded in a postgres:// URL without escaping.
put postgres_password "$(openssl rand -hex 24)"
if $dev; then
  put vault_admin_token "$(openssl rand -hex 16)"
  for name in bitrix_client_id bitrix_client_secret; do
    put "$name" "$(cat "$dir/$name.example")"
  done
fi

missing=0
for name in vault_admin_token bitrix_client_id bitrix_client_secret postgres_password; do
  if [ ! -s "$dir/$name" ]; then
    echo "missing  $dir/$name (see $dir/$name.example)" >&2
    missing=1
  fi
done
exit "$missing"
