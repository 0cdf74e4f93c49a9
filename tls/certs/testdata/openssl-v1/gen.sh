#!/bin/sh
# Makes an OpenSSL CA, two client certificates and a version 1 CRL that
# revokes one of them: 'openssl ca -gencrl' writes version 1 when there is
# no crlnumber file and no CRL extension, as HAProxy's reg-test CRLs are.
# The files are committed; this script says how they were made.
set -eu
out=${1:-.}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
mkdir db
: > db/index.txt
echo 1000 > db/serial
cat > ca.cnf <<'CNF'
[ ca ]
default_ca = test
[ test ]
database = db/index.txt
serial = db/serial
new_certs_dir = db
default_md = sha256
default_days = 36500
default_crl_days = 36500
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ client ]
extendedKeyUsage = clientAuth
CNF
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.crt -subj /CN=fjord-test-v1-crl-ca -days 36500 2>/dev/null
for c in client-ok client-revoked; do
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $c.key -out $c.csr -subj /CN=$c 2>/dev/null
  openssl ca -batch -config ca.cnf -cert ca.crt -keyfile ca.key -extensions client -in $c.csr -out $c.crt 2>/dev/null
  cat $c.crt $c.key > $c.pem
done
openssl ca -config ca.cnf -cert ca.crt -keyfile ca.key -revoke client-revoked.crt 2>/dev/null
openssl ca -gencrl -config ca.cnf -cert ca.crt -keyfile ca.key -out crl.pem 2>/dev/null
cd - >/dev/null
cp "$tmp/ca.crt" "$tmp/client-ok.pem" "$tmp/client-revoked.pem" "$tmp/crl.pem" "$out/"
