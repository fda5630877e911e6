#!/usr/bin/env bash
# Benchmark: N simulated kubelets (default 100) join a 2-core control plane by TLS bootstrap, each
# running the kubelet's own bootstrap code (test/k8s/cmd/bootstrap-sim: key on the "node", CSR,
# approval and signature by the real kube-controller-manager with kube-pki's CA key, Node registered
# with the certificate obtained). One etcd, kube-apiserver and kube-controller-manager on 127.0.35.11,
# their certificate flags from `kube-pki flags`. Prints joins per second, the apiserver's memory before
# and after (VmRSS, and VmHWM: its peak), and gen's per-certificate time for the same number of workers
# beside it, as a ratio.
#
# Usage (after `npm run build` and scripts/k8s-bins.sh): scripts/bench-bootstrap.sh [N] [CONCURRENCY]
#   KCM_QPS=100 scripts/bench-bootstrap.sh 300   the controller manager's client rate (--kube-api-qps, burst
#                                                twice that; its default is 20): what bounds the joins per second
set -euo pipefail

N=${1:-100}
WIDTH=${2:-0}
IP=127.0.35.11
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI=(node "$ROOT/dist/cli.js")
mapfile -t DIRS < <("$ROOT/scripts/k8s-bins.sh")
K8S=${DIRS[0]}
ETCD=${DIRS[1]}
SIM=${DIRS[2]}/bootstrap-sim
for f in "$K8S/kube-apiserver" "$K8S/kube-controller-manager" "$ETCD/etcd" "$SIM"; do
  [ -x "$f" ] || { echo "bench-bootstrap: $f missing: run scripts/k8s-bins.sh" >&2; exit 2; }
done
command -v kubectl >/dev/null || { echo "bench-bootstrap: kubectl not found" >&2; exit 2; }

WORK=$(mktemp -d /tmp/kube-pki-bench-bootstrap-XXXXXX)
PIDS=()
cleanup() { # SIGTERM, 10 s of grace (an apiserver whose etcd is gone can hang in its shutdown), then SIGKILL
  local i
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[i]}" 2>/dev/null || true; sleep 0.5; done
  for _ in $(seq 1 20); do
    alive=0; for pid in "${PIDS[@]}"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break; sleep 0.5
  done
  for pid in "${PIDS[@]}"; do kill -9 "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cat >"$WORK/cluster.yaml" <<YAML
profile: hardway
apiServer: { endpoint: $IP }
kubeletBootstrap: true
nodes:
  - { name: master-1, address: $IP, role: controlplane }
  - { name: worker-1, address: 127.0.35.21, role: worker }
YAML
PKI=$WORK/pki
"${CLI[@]}" gen --config "$WORK/cluster.yaml" --out "$PKI" >/dev/null
"${CLI[@]}" token create --config "$WORK/cluster.yaml" --out "$PKI" --description bench >/dev/null 2>&1
flags() { "${CLI[@]}" flags "$1" --config "$WORK/cluster.yaml" --dir "$PKI" | grep -v '^#' | sed 's/ *#.*$//' | grep .; }

start() { # name, binary, args... (never in $(...): the PID must reach cleanup's list); LAST is its PID
  local name=$1; shift
  "$@" >"$WORK/$name.log" 2>&1 &
  LAST=$!
  PIDS+=("$LAST")
}
wait_for() { # what, command...
  local what=$1; shift
  for _ in $(seq 1 240); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  echo "bench-bootstrap: $what did not come up; see $WORK/*.log" >&2; tail -20 "$WORK"/*.log >&2; exit 1
}

mapfile -t ETCD_FLAGS < <(flags etcd)
# Stopped in reverse order: the apiserver before its etcd.
start etcd "$ETCD/etcd" --name master-1 --data-dir "$WORK/etcd" --listen-client-urls "https://$IP:2379" --advertise-client-urls "https://$IP:2379" \
  --listen-peer-urls "https://$IP:2380" --initial-advertise-peer-urls "https://$IP:2380" --initial-cluster "master-1=https://$IP:2380" \
  --client-cert-auth --peer-client-cert-auth --listen-metrics-urls "http://$IP:2381" --log-level warn "${ETCD_FLAGS[@]}"
wait_for etcd curl -sf "http://$IP:2381/health"

mapfile -t API_FLAGS < <(flags kube-apiserver)
start kube-apiserver "$K8S/kube-apiserver" --advertise-address=$IP --bind-address=$IP --secure-port=6443 --etcd-servers=https://$IP:2379 \
  --service-cluster-ip-range=10.96.0.0/24 --service-account-issuer=https://kubernetes.default.svc.cluster.local --authorization-mode=Node,RBAC \
  --enable-admission-plugins=NodeRestriction --endpoint-reconciler-type=none --profiling=false --cert-dir="$WORK/apiserver-certs" "${API_FLAGS[@]}"
API_PID=$LAST
ADMIN=$PKI/admin.kubeconfig
wait_for kube-apiserver kubectl --kubeconfig "$ADMIN" get --raw /readyz

mapfile -t KCM_FLAGS < <(flags kube-controller-manager)
start kube-controller-manager "$K8S/kube-controller-manager" --bind-address=$IP --master=https://$IP:6443 --leader-elect=false \
  --service-cluster-ip-range=10.96.0.0/24 --use-service-account-credentials=true --cert-dir="$WORK/kcm-certs" \
  ${KCM_QPS:+--kube-api-qps="$KCM_QPS" --kube-api-burst="$((KCM_QPS * 2))"} "${KCM_FLAGS[@]}"
wait_for kube-controller-manager curl -skf "https://$IP:10257/healthz"
"${CLI[@]}" manifests --config "$WORK/cluster.yaml" --out "$PKI" | kubectl --kubeconfig "$ADMIN" apply -f - >/dev/null
sleep 5 # the apiserver settles (its first minutes allocate caches) before it is measured

mem() { awk -v k="$1:" '$1 == k { printf "%.0f", $2 / 1024 }' "/proc/$API_PID/status"; }
RSS_BEFORE=$(mem VmRSS)
RESULT=$("$SIM" --bootstrap-kubeconfig "$PKI/bootstrap-kubeconfig" --dir "$WORK/sim" --nodes "$N" --concurrency "$WIDTH" 2>"$WORK/sim.log") || {
  echo "bench-bootstrap: bootstrap-sim failed: $RESULT" >&2; tail -20 "$WORK/sim.log" >&2; exit 1; }
RSS_AFTER=$(mem VmRSS)
RSS_PEAK=$(mem VmHWM)
NODES=$(kubectl --kubeconfig "$ADMIN" get nodes -l kube-pki.test/simulated=true -o name | wc -l)

node - "$RESULT" "$N" "$RSS_BEFORE" "$RSS_AFTER" "$RSS_PEAK" "$NODES" <<'JS'
const [result, n, before, after, peak, nodes] = process.argv.slice(2);
const r = JSON.parse(result);
const genMsPerCert = 144; // docs/performance.md: gen on 2 cores, 1000 workers (one certificate per worker)
const msPerJoin = (r.seconds * 1000) / r.joined;
console.log(`bench-bootstrap: controller manager --kube-api-qps ${process.env.KCM_QPS || '20 (default)'}`);
console.log(`bench-bootstrap: ${r.joined}/${n} joined (${nodes} Nodes registered) in ${r.seconds.toFixed(1)} s: ${r.joinsPerSecond.toFixed(1)} joins/s, ${msPerJoin.toFixed(0)} ms per join; median ${r.medianSeconds.toFixed(1)} s, slowest ${r.maxSeconds.toFixed(1)} s`);
console.log(`bench-bootstrap: kube-apiserver RSS ${before} MiB before, ${after} MiB after (peak ${peak} MiB): ${((after - before) * 1024 / r.joined).toFixed(0)} KiB per node`);
console.log(`bench-bootstrap: ratio join / gen per certificate: ${(msPerJoin / genMsPerCert).toFixed(2)} (gen ${genMsPerCert} ms per certificate on this machine; the joins' keys never leave their nodes)`);
JS
