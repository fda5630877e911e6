#!/usr/bin/env bash
# Builds the real Kubernetes components and etcd that the control-plane tests run, from their Go modules
# (test/k8s and test/etcd, go.sum committed), into a cache folder keyed by version. A folder that is
# already complete is used as it is: nothing is rebuilt.
# test/k8s/cmd/bootstrap-sim (simulated kubelets joining by TLS bootstrap, docs/bootstrap.md) is built
# into a folder of its own keyed by a hash of its source and the module files, so a change to it never
# touches the Kubernetes folder.
#   scripts/k8s-bins.sh          build what is missing, print the three folders
#   scripts/k8s-bins.sh --print  print the three folders only (what the tests read)
set -euo pipefail
cd "$(dirname "$0")/.."

k8s_version=$(sed -n 's/^require k8s.io\/kubernetes \(v[0-9.]*\)$/\1/p' test/k8s/go.mod)
etcd_version=$(sed -n 's/^\tgo.etcd.io\/etcd\/server\/v3 \(v[0-9.]*\)$/\1/p' test/etcd/go.mod)
cache=${KUBE_PKI_BIN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kube-pki}
k8s_dir=$cache/k8s-$k8s_version
etcd_dir=$cache/etcd-$etcd_version
k8s_cmds=(kube-apiserver kube-controller-manager kube-scheduler kubelet kubeadm)

sim_hash=$(cat test/k8s/cmd/bootstrap-sim/main.go test/k8s/go.mod test/k8s/go.sum | sha256sum | cut -c1-12)
sim_dir=$cache/bootstrap-sim-$sim_hash

if [ "${1:-}" = --print ]; then echo "$k8s_dir"; echo "$etcd_dir"; echo "$sim_dir"; exit 0; fi

complete() { # folder, binaries...: every binary there and a stamp written after the last one
  local dir=$1; shift
  [ -f "$dir/.complete" ] || return 1
  for b in "$@"; do [ -x "$dir/$b" ] || return 1; done
}

export CGO_ENABLED=0 GOFLAGS=-mod=readonly  # go.sum is committed: the build takes exactly what it lists

build() { # folder, module folder, ldflags, name=package...
  local dir=$1 mod=$2 ldflags=$3; shift 3
  local tmp="$dir.tmp" go_bin
  go_bin=$(command -v go || echo /usr/local/go/bin/go) # only a build needs Go
  [ -x "$go_bin" ] || { echo "scripts/k8s-bins.sh: Go is needed to build $dir (go version; /usr/local/go/bin)" >&2; exit 1; }
  rm -rf "$tmp"; mkdir -p "$tmp"
  for pair in "$@"; do
    echo "scripts/k8s-bins.sh: building ${pair#*=}" >&2
    (cd "$mod" && "$go_bin" build -trimpath -ldflags "$ldflags" -o "$tmp/${pair%%=*}" "${pair#*=}")
  done
  date -u +%FT%TZ > "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir"
}

if ! complete "$k8s_dir" "${k8s_cmds[@]}"; then
  start=$(date +%s)
  v=${k8s_version#v}; major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  ld="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ld+=" -X $p.gitVersion=$k8s_version -X $p.gitMajor=$major -X $p.gitMinor=$minor"
    ld+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
  pkgs=(); for c in "${k8s_cmds[@]}"; do pkgs+=("$c=k8s.io/kubernetes/cmd/$c"); done
  build "$k8s_dir" test/k8s "$ld" "${pkgs[@]}"
  echo "scripts/k8s-bins.sh: Kubernetes $k8s_version built in $(( $(date +%s) - start )) s" >&2
fi

if ! complete "$etcd_dir" etcd etcdctl; then
  start=$(date +%s)
  build "$etcd_dir" test/etcd "-s -w" etcd=go.etcd.io/etcd/server/v3 etcdctl=go.etcd.io/etcd/etcdctl/v3
  echo "scripts/k8s-bins.sh: etcd $etcd_version built in $(( $(date +%s) - start )) s" >&2
fi

if ! complete "$sim_dir" bootstrap-sim; then
  start=$(date +%s)
  build "$sim_dir" test/k8s "-s -w" bootstrap-sim=./cmd/bootstrap-sim
  echo "scripts/k8s-bins.sh: bootstrap-sim built in $(( $(date +%s) - start )) s" >&2
fi

echo "$k8s_dir"; echo "$etcd_dir"; echo "$sim_dir"
