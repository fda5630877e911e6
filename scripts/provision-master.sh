#!/usr/bin/env bash
# The kube-pki lab's hub (master-1), as root: openssl, and Node.js NODE_MAJOR (default 20) or newer from
# NodeSource's apt repository, for `npm ci && npm run certs` in /vagrant. Its SSH key pair comes from
# provision-ssh.sh (the Vagrantfile's trigger). Idempotent: when both are there, nothing is fetched.
set -euo pipefail

NODE_MAJOR=${NODE_MAJOR:-20}
if ! [[ $NODE_MAJOR =~ ^[1-9][0-9]*$ ]]; then
  echo "provision-master.sh: NODE_MAJOR=$NODE_MAJOR: not a Node.js major version such as 20" >&2
  exit 2
fi
export DEBIAN_FRONTEND=noninteractive

installed_node_major() {
  if command -v node >/dev/null; then node -p 'process.versions.node.split(".")[0]'; else echo 0; fi
}

packages=()
command -v openssl >/dev/null || packages+=(openssl)
if (($(installed_node_major) < NODE_MAJOR)); then
  keyring=/etc/apt/keyrings/nodesource.gpg
  list=/etc/apt/sources.list.d/nodesource.list
  entry="deb [signed-by=$keyring] https://deb.nodesource.com/node_$NODE_MAJOR.x nodistro main"
  if ! command -v curl >/dev/null || ! command -v gpg >/dev/null; then
    apt-get update -qq
    apt-get install -y -qq ca-certificates curl gnupg
  fi
  if [ ! -s "$keyring" ]; then
    install -d -m 0755 /etc/apt/keyrings
    curl -fsSL https://deb.nodesource.com/gpgkey/nodesource-repo.gpg.key | gpg --dearmor --yes -o "$keyring.new"
    chmod 0644 "$keyring.new"
    mv -f "$keyring.new" "$keyring"
  fi
  [ "$(cat "$list" 2>/dev/null)" = "$entry" ] || printf '%s\n' "$entry" >"$list"
  packages+=(nodejs)
fi
if ((${#packages[@]})); then
  apt-get update -qq
  apt-get install -y -qq "${packages[@]}"
fi
echo "hub ready: $(openssl version | cut -d' ' -f1-2), Node.js $(node --version)"
