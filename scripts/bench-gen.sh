#!/usr/bin/env bash
# Benchmark of `kube-pki gen` (parallel, one Node process) against bash running the output of
# `kube-pki script` (the same certificates, one openssl command after another), in one paired run.
# Prints the median wall-time ratio and the ratio of total CPU (user+sys, children included),
# then a large description (1000 workers by default) for wall time, peak RSS and scaling.
#
#   scripts/bench-gen.sh [ROUNDS] [WORKERS]      (defaults: 21 rounds, 1000 workers; WORKERS=0 skips)
#
# RSA key generation takes a random time (a prime search), so single rounds are noisy: the medians
# of 21 rounds or more are what to compare. When NODE_EXTRA_CA_CERTS is set (some sandboxes and
# corporate machines set it), every Node start parses the whole root store first (~35 ms here);
# each round then also runs the tool without it, as on the lab's VMs, and both ratios are printed.
set -euo pipefail
rounds=${1:-21}
workers=${2:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/dist/cli.js"
[ -f "$cli" ] || npm --prefix "$root" run build >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # no ./cluster.yaml here: both sides use the built-in lab

node "$cli" script >gen-pki.sh

# measure OUTFILE CMD...: runs CMD, appends "wall cpu maxrss_kb" to OUTFILE.
measure() {
  local out=$1
  shift
  /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$@" >/dev/null 2>"$work/stderr" || {
    cat "$work/stderr" >&2
    exit 1
  }
  awk '{ printf "%s %.3f %s\n", $1, $2 + $3, $4 }' "$work/time" >>"$out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# quartiles: "q1 q3" of a column of numbers (nearest rank).
quartiles() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f-%.2f", v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }'; }

sides=(tool script)
[ -z "${NODE_EXTRA_CA_CERTS:-}" ] || sides=(tool lab script)
for side in "${sides[@]}"; do : >"$side.txt"; done
for i in $(seq 1 "$rounds"); do
  # Rotate who goes first so that no side always meets a warm or a cold cache.
  for k in $(seq 0 $((${#sides[@]} - 1))); do
    side=${sides[$(((i + k) % ${#sides[@]}))]}
    dir="$work/$side-$i"
    mkdir "$dir"
    case $side in
      tool) measure tool.txt env CI=1 node "$cli" gen --out "$dir/pki" ;;
      lab) measure lab.txt env -u NODE_EXTRA_CA_CERTS CI=1 node "$cli" gen --out "$dir/pki" ;;
      script) (cd "$dir" && measure "$work/script.txt" bash "$work/gen-pki.sh") ;;
    esac
    rm -rf "$dir"
  done
done

script_wall=$(cut -d' ' -f1 script.txt | median)
script_cpu=$(awk '{ s += $2 } END { print s }' script.txt)
echo "lab PKI (11 certificates, 6 kubeconfigs), $rounds paired rounds on $(nproc) cores:"
echo "  bash script: median wall ${script_wall}s"
# report SIDE LABEL: the median wall, its ratio to the script's, the spread of the rounds' ratios, the CPU ratio.
report() {
  local wall cpu spread
  wall=$(cut -d' ' -f1 "$1.txt" | median)
  cpu=$(awk '{ s += $2 } END { print s }' "$1.txt")
  spread=$(paste -d' ' "$1.txt" script.txt | awk '{ print $1 / $4 }' | quartiles)
  echo "  $2: median wall ${wall}s"
  awk -v a="$wall" -v b="$script_wall" -v q="$spread" 'BEGIN { printf "    wall ratio (gen / script): %.2f   (target <= 0.55; rounds'"'"' ratios, middle half: %s)\n", a / b, q }'
  awk -v a="$cpu" -v b="$script_cpu" 'BEGIN { printf "    CPU ratio  (gen / script): %.2f   (target <= 1.15; total user+sys %.2fs vs %.2fs)\n", a / b, a, b }'
}
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  report tool "kube-pki gen, this environment (NODE_EXTRA_CA_CERTS set)"
  report lab "kube-pki gen, NODE_EXTRA_CA_CERTS unset (as on the lab's VMs)"
else
  report tool "kube-pki gen"
fi

# describe N: a cluster with 3 masters, a load balancer and N workers.
describe() {
  {
    echo "apiServer: { endpoint: 10.0.0.30 }"
    echo "nodes:"
    for m in 1 2 3; do echo "  - { name: master-$m, address: 10.0.0.1$m, role: controlplane }"; done
    echo "  - { name: loadbalancer, address: 10.0.0.30, role: loadbalancer }"
    for w in $(seq 1 "$1"); do echo "  - { name: worker-$w, address: 10.1.$((w / 250)).$((w % 250 + 1)), role: worker }"; done
  } >"cluster-$1.yaml"
}

[ "$workers" -gt 0 ] || exit 0


# The lab is small: Node's fixed cost (start, module load, ~1.5 ms of execa per openssl process) weighs
# on 11 certificates. One paired run on a 50-worker cluster shows the ratio once that is spread out.
describe 50
( mkdir -p "$work/mid-script" && cd "$work/mid-script" && node "$cli" script --config "$work/cluster-50.yaml" >gen.sh )
: >mid-tool.txt
: >mid-script.txt
measure mid-tool.txt env CI=1 node "$cli" gen --config cluster-50.yaml --out "$work/mid-tool"
(cd "$work/mid-script" && measure "$work/mid-script.txt" bash gen.sh)
read -r mt_wall mt_cpu _ <mid-tool.txt
read -r ms_wall ms_cpu _ <mid-script.txt
awk -v a="$mt_wall" -v b="$ms_wall" -v c="$mt_cpu" -v d="$ms_cpu" \
  'BEGIN { printf "50 workers (59 certificates), one paired run: wall %.1fs vs %.1fs (ratio %.2f), CPU ratio %.2f\n", a, b, a / b, c / d }'
rm -rf "$work/mid-tool" "$work/mid-script"

echo "large descriptions (one run each):"
for n in $((workers / 4)) "$workers"; do
  describe "$n"
  : >"large-$n.txt"
  measure "large-$n.txt" env CI=1 node "$cli" gen --config "cluster-$n.yaml" --out "$work/large-$n"
  read -r wall cpu rss <"large-$n.txt"
  certs=$((n + 9))
  awk -v n="$n" -v c="$certs" -v w="$wall" -v u="$cpu" -v r="$rss" \
    'BEGIN { printf "  %5d workers (%d certificates, %d kubeconfigs): wall %.1fs (%.1f ms per certificate), CPU %.1fs, peak RSS %.0f MB\n", n, c, n + 4, w, 1000 * w / c, u, r / 1024 }'
  rm -rf "$work/large-$n"
done
