#!/usr/bin/env bash
# Benchmark: `kube-pki distribute` against the seed's way (a serial loop of one `scp` per node) on
# 16 simulated nodes, each a real OpenSSH sshd on its own loopback address (127.0.3.1-16:2222) with
# its own local user. Both send the same files to empty nodes and check host keys against the same
# known_hosts. Prints each paired round and the median wall-time ratio kube-pki / scp (target <= 0.35).
#
# Usage (as root, after `npm run build`): scripts/bench-distribute.sh [ROUNDS]   (default 5)
set -euo pipefail

ROUNDS=${1:-5}
NODES=16
PORT=2222
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CLI="$ROOT/dist/cli.js"

[ "$(id -u)" = 0 ] || { echo "bench-distribute: run as root (it creates users and starts sshd)" >&2; exit 2; }
[ -f "$CLI" ] || { echo "bench-distribute: $CLI missing: run npm run build first" >&2; exit 2; }
for tool in /usr/sbin/sshd scp ssh-keygen useradd node; do
  command -v "$tool" >/dev/null || { echo "bench-distribute: $tool not found" >&2; exit 2; }
done

WORK=$(mktemp -d /tmp/kube-pki-bench-XXXXXX)
chmod 755 "$WORK"
TAG=$(od -An -N2 -tx1 /dev/urandom | tr -d ' \n')
PIDS=()
USERS=()

cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  for user in "${USERS[@]}"; do userdel -f -r "$user" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

mkdir -p /run/sshd "$WORK/home"
chmod 755 "$WORK/home"
ssh-keygen -q -t ed25519 -N '' -C kube-pki-bench -f "$WORK/client_key"
: >"$WORK/known_hosts"

name_of() { if [ "$1" -le 4 ]; then echo "master-$1"; else echo "worker-$(($1 - 4))"; fi; }

{
  echo 'apiServer: { endpoint: 192.168.5.30 }'
  echo "ssh: { port: $PORT, identityFile: $WORK/client_key }"
  echo 'nodes:'
} >"$WORK/cluster.yaml"

for i in $(seq 1 "$NODES"); do
  name=$(name_of "$i")
  user="kpb$TAG-$i"
  home="$WORK/home/$user"
  addr="127.0.3.$i"
  useradd -m -d "$home" -s /bin/sh "$user"
  USERS+=("$user")
  usermod -p '*' "$user" # a locked password blocks key logins when UsePAM is off
  install -d -m 700 -o "$user" -g "$user" "$home/.ssh"
  install -m 600 -o "$user" -g "$user" "$WORK/client_key.pub" "$home/.ssh/authorized_keys"
  mkdir -p "$WORK/$name"
  ssh-keygen -q -t ed25519 -N '' -C "$name" -f "$WORK/$name/host_key"
  cat >"$WORK/$name/sshd_config" <<EOF
ListenAddress $addr:$PORT
HostKey $WORK/$name/host_key
PidFile none
UsePAM no
AllowUsers $user
AuthenticationMethods publickey
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
Subsystem sftp internal-sftp
UseDNS no
MaxStartups 100:30:200
LogLevel ERROR
EOF
  /usr/sbin/sshd -D -e -f "$WORK/$name/sshd_config" 2>>"$WORK/$name/sshd.log" &
  PIDS+=("$!")
  echo "[$addr]:$PORT $(cut -d' ' -f1,2 "$WORK/$name/host_key.pub")" >>"$WORK/known_hosts"
  role=worker
  [ "$i" -le 4 ] && role=controlplane
  echo "  - { name: $name, address: 192.168.5.$((10 + i)), role: $role, ssh: { host: $addr, user: $user } }" >>"$WORK/cluster.yaml"
done
echo '  - { name: loadbalancer, address: 192.168.5.30, role: loadbalancer }' >>"$WORK/cluster.yaml"

# Wait until every sshd answers.
for i in $(seq 1 "$NODES"); do
  for _ in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.3.$i/$PORT") 2>/dev/null; then break; fi
    sleep 0.05
  done
done

echo "generating the PKI for $NODES nodes..." >&2
node "$CLI" gen --config "$WORK/cluster.yaml" --out "$WORK/pki" >/dev/null

# The same files for scp: each node's manifest, from kube-pki's own dry run (nothing connected).
node "$CLI" distribute --dry-run --json --config "$WORK/cluster.yaml" --out "$WORK/pki" --known-hosts "$WORK/known_hosts" |
  node -e '
    let text = "";
    process.stdin.on("data", (d) => (text += d)).on("end", () => {
      for (const n of JSON.parse(text).nodes) if (n.host) console.log([n.user, n.host, ...n.files.map((f) => f.local)].join(" "));
    });' >"$WORK/plan.txt"

clear_nodes() {
  for i in $(seq 1 "$NODES"); do
    home="$WORK/home/kpb$TAG-$i"
    rm -rf "$home/pki"
    find "$home" -maxdepth 1 -type f \( -name '*.crt' -o -name '*.key' -o -name '*.kubeconfig' \) -delete
  done
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

run_kube_pki() {
  node "$CLI" distribute --config "$WORK/cluster.yaml" --out "$WORK/pki" --known-hosts "$WORK/known_hosts" --json >"$WORK/last.json"
}

run_scp_loop() {
  local user host files
  while read -r user host files; do
    read -r -a list <<<"$files"
    (cd "$WORK/pki" && scp -q -F /dev/null -i "$WORK/client_key" -P "$PORT" -o BatchMode=yes \
      -o StrictHostKeyChecking=yes -o UserKnownHostsFile="$WORK/known_hosts" "${list[@]}" "$user@$host:")
  done <"$WORK/plan.txt"
}

RATIOS=()
printf '%-6s %12s %12s %8s\n' round kube-pki_ms scp_loop_ms ratio
for r in $(seq 1 "$ROUNDS"); do
  clear_nodes
  t0=$(now_ms)
  run_kube_pki
  t1=$(now_ms)
  clear_nodes
  run_scp_loop
  t2=$(now_ms)
  k=$((t1 - t0))
  s=$((t2 - t1))
  ratio=$(awk -v k="$k" -v s="$s" 'BEGIN { printf "%.3f", k / s }')
  RATIOS+=("$ratio")
  printf '%-6s %12s %12s %8s\n' "$r" "$k" "$s" "$ratio"
done

MEDIAN=$(printf '%s\n' "${RATIOS[@]}" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
echo "median wall ratio kube-pki / serial scp loop over $ROUNDS rounds, $NODES nodes: $MEDIAN (target <= 0.35)"
