#!/usr/bin/env bash
# The hard way's own commands, one certificate after another: cfssl makes the key and signs in one
# process, cfssljson writes the files. Run in a folder prepared by cfssl-lab.mjs.
set -euo pipefail
cfssl gencert -initca ca-csr.json 2>/dev/null | cfssljson -bare ca
while read -r name profile hosts; do
  hostname=()
  [ "$hosts" = - ] || hostname=(-hostname="$hosts")
  cfssl gencert -ca=ca.pem -ca-key=ca-key.pem -config=ca-config.json -profile="$profile" "${hostname[@]}" \
    "$name-csr.json" 2>/dev/null | cfssljson -bare "$name"
done <certs.txt
