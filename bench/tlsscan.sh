#!/usr/bin/env bash
# tlsscan.sh: what a TLS scanner sees of a fjord frontend with default
# settings (no ciphers, versions or curves configured), one ECDSA P-256
# and one RSA-2048 certificate. `make tls-scan` installs sslscan and runs
# this; docs/tls.md has the summary. Traffic stays on loopback.
set -euo pipefail
fjord=${1:-bin/fjord}
port=${TLSSCAN_PORT:-18443}
dir=$(mktemp -d)
pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
  -subj /CN=fjord.test -addext subjectAltName=DNS:fjord.test \
  -keyout "$dir/ec.key" -out "$dir/ec.crt" 2>/dev/null
openssl req -x509 -newkey rsa:2048 -nodes -days 2 \
  -subj /CN=fjord.test -addext subjectAltName=DNS:fjord.test \
  -keyout "$dir/rsa.key" -out "$dir/rsa.crt" 2>/dev/null
cat "$dir/ec.crt" "$dir/ec.key" >"$dir/ec.pem"
cat "$dir/rsa.crt" "$dir/rsa.key" >"$dir/rsa.pem"
cat >"$dir/fjord.cfg" <<CFG
global
    tune.sysctl off
defaults
    mode http
    timeout connect 2s
    timeout client 10s
    timeout server 10s
frontend www
    bind 127.0.0.1:$port ssl crt $dir/ec.pem crt $dir/rsa.pem
    default_backend web
backend web
    server web01 127.0.0.1:9
CFG
"$fjord" -db -f "$dir/fjord.cfg" >"$dir/fjord.log" 2>&1 &
pid=$!
for _ in $(seq 100); do
  grep -q "listening on 127.0.0.1:$port" "$dir/fjord.log" && break
  sleep 0.1
done
grep -q "listening on 127.0.0.1:$port" "$dir/fjord.log" || { cat "$dir/fjord.log"; exit 1; }
sslscan --no-colour --show-sigs --sni-name=fjord.test "127.0.0.1:$port"
if command -v testssl.sh >/dev/null || command -v testssl >/dev/null; then
  "$(command -v testssl.sh || command -v testssl)" --quiet --color 0 -p -e -f -S "127.0.0.1:$port"
fi
