#!/usr/bin/env bash
# Runs the jobs prepared by openssl-floor.mjs: keys on one lane per core (the CA's first), then the
# signatures. A bound on what any executor of the same openssl commands can reach on this machine.
set -euo pipefail
lanes=$(nproc)
xargs -P "$lanes" -n 1 bash <keys.txt 2>/dev/null
xargs -P "$lanes" -n 1 bash <signs.txt 2>/dev/null
