#!/usr/bin/env bash
# The whole test suite on a fresh Debian or Ubuntu machine, by itself: installs the system programs the
# tests use for real (as root, or through sudo), the npm packages if missing, then runs `npm test`.
# On a machine that has them all already, nothing is installed (no apt-get at all).
# scripts/test.sh --setup-only: install, do not run the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

# openssl: the engine; openssh-*: distribution tests (a real sshd on loopback); sudo: distribution to
# root-owned folders; etcd-*: real consumers of the certificates; ruby, vagrant, shellcheck, dash: the
# Vagrant lab and script checks; graphviz, chromium (python3: a pseudo-terminal): the graph and report
# tests; strace: the fsync checks; golang-cfssl: the benchmark's cfssl side, checked to make the same certificates;
# haproxy: the load balancer in front of the real control plane; containerd: the runtime its kubelet needs;
# prometheus: promtool judges the metrics and alert rules; systemd: systemd-analyze judges the renewal units;
# faketime: the renewal service's command run a day later (test/e2e/unattended-etcd.test.ts).
# softhsm2: a real PKCS#11 token for the root CA in a token (rootCA.pkcs11), libengine-pkcs11-openssl: openssl's
# pkcs11 engine that signs with it, gnutls-bin: p11tool, which root init makes the key with, opensc: pkcs11-tool,
# with which the tests read the key's attributes.
packages=(openssl openssh-server openssh-client sudo etcd-server etcd-client ruby vagrant shellcheck dash graphviz chromium python3 strace golang-cfssl haproxy containerd prometheus systemd softhsm2 libengine-pkcs11-openssl gnutls-bin opensc faketime)

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "scripts/test.sh: run it as root or install sudo: it installs ${packages[*]}" >&2; exit 1
  fi
}

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ] || ! command -v kubectl >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  as_root apt-get update -qq
  [ "${#missing[@]}" -eq 0 ] || as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # kubectl: the machine image may ship one; Debian's kubernetes-client is the fallback.
  command -v kubectl >/dev/null || as_root apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null ||
    echo "warning: no kubectl and no kubernetes-client package here: the kubectl tests will fail" >&2
fi

if ! node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "scripts/test.sh: Node.js 20 or newer is needed (https://nodejs.org)" >&2
  exit 1
fi

[ -d node_modules ] || npm ci --no-audit --no-fund
# The real control plane (kube-apiserver, controller-manager, scheduler, kubelet, kubeadm, etcd) from their
# Go modules, once per version: ~20 minutes the first time on 2 cores, nothing after (docs/e2e.md).
scripts/k8s-bins.sh >/dev/null
[ "${1:-}" = --setup-only ] && { echo "scripts/test.sh: everything the tests use is installed"; exit 0; }
npm test
