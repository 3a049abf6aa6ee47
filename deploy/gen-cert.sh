#!/bin/sh
# Generates a certificate for local use: a local CA (ca.crt, ca.key; reused when present) and a
# server certificate signed by it (tls.crt = server + CA chain, tls.key), for the names given
# (default: localhost 127.0.0.1 ::1). Browsers and clients trust the server once they trust
# ca.crt. Production uses a real certificate at the same paths (see README, Operations → TLS).
#
#   deploy/gen-cert.sh [-d DIR] [-days N] [NAME...]    # DIR defaults to deploy/certs
#
# Keys are EC P-256, written with mode 0600. Needs only openssl.
set -eu

dir="$(dirname "$0")/certs"
days=397
while [ $# -gt 0 ]; do
  case "$1" in
    -d) dir="$2"; shift 2 ;;
    -days) days="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    --) shift; break ;;
    -*) echo "gen-cert.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- localhost 127.0.0.1 ::1

san=""
for name in "$@"; do
  case "$name" in
    *:*|[0-9]*.[0-9]*.[0-9]*.[0-9]*) entry="IP:$name" ;;
    *) entry="DNS:$name" ;;
  esac
  san="${san:+$san,}$entry"
done

mkdir -p "$dir"
umask 077
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if [ ! -s "$dir/ca.key" ] || [ ! -s "$dir/ca.crt" ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out "$dir/ca.key"
  openssl req -x509 -new -key "$dir/ca.key" -sha256 -days 3650 \
    -subj "/CN=Bitrix24 SIP phone local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$dir/ca.crt"
fi

openssl ecparam -name prime256v1 -genkey -noout -out "$work/tls.key"
openssl req -new -key "$work/tls.key" -subj "/CN=$1" -out "$work/tls.csr"
cat >"$work/ext.cnf" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=$san
EOF
openssl x509 -req -in "$work/tls.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
  -CAcreateserial -CAserial "$work/ca.srl" -sha256 -days "$days" \
  -extfile "$work/ext.cnf" -out "$work/tls.crt" 2>/dev/null

cat "$work/tls.crt" "$dir/ca.crt" >"$dir/tls.crt.new"
mv "$work/tls.key" "$dir/tls.key"
mv "$dir/tls.crt.new" "$dir/tls.crt"
chmod 0644 "$dir/ca.crt" "$dir/tls.crt"
chmod 0600 "$dir/ca.key" "$dir/tls.key"
echo "gen-cert.sh: $dir/tls.crt for $san (trust $dir/ca.crt)"
