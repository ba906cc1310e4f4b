#!/usr/bin/env bash
# Regenerates the test-only CA, server and client certificates (ECDSA P-256, 100 years).
set -euo pipefail
cd "$(dirname "$0")"
openssl ecparam -name prime256v1 -genkey -noout -out ca.key
openssl req -x509 -new -key ca.key -sha256 -days 36500 -subj "/CN=medsettle test CA" -out ca.pem
for who in server client; do
    openssl ecparam -name prime256v1 -genkey -noout -out "$who.key.ec"
    openssl pkcs8 -topk8 -nocrypt -in "$who.key.ec" -out "$who.key"
    rm "$who.key.ec"
    openssl req -new -key "$who.key" -subj "/CN=medsettle test $who" -out "$who.csr"
    if [ "$who" = server ]; then
        ext="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
    else
        ext="extendedKeyUsage=clientAuth"
    fi
    openssl x509 -req -in "$who.csr" -CA ca.pem -CAkey ca.key -CAcreateserial -days 36500 -sha256 \
        -extfile <(printf '%s\n' "$ext") -out "$who.pem"
    rm "$who.csr"
done
rm -f ca.srl ca.key
