#!/usr/bin/env bash
# Benchmark of `kube-pki gen` (parallel, one Node process) in one paired run against
#   - cfssl: the Go tool of the original "Kubernetes the hard way" (Debian's golang-cfssl), making the
#     same CA and certificates (subjects, SANs, RSA-2048) with the hard way's own commands, one
#     certificate after another (scripts/bench/gen-cfssl.sh);
#   - script: bash running the output of `kube-pki script` (the same openssl commands, serially);
#   - floor: those openssl commands alone, one lane per core by xargs (scripts/bench/floor.sh): no Node,
#     no fsync, no kubeconfigs, no checks. No executor of the same commands gets below it here.
# Prints the median wall time of each side, the median and middle half of the rounds' paired ratios,
# and the ratio of total CPU (user+sys, children included); then a 50-worker run and large descriptions
# (1000 workers by default) for wall time, peak RSS and scaling.
#
#   scripts/bench-gen.sh [ROUNDS] [WORKERS]      (defaults: 21 rounds, 1000 workers; WORKERS=0 skips)
#   BASELINE=path/to/other/dist/cli.js scripts/bench-gen.sh ...   also runs that build (before/after)
#
# RSA key generation takes a random time (a prime search), so single rounds are noisy: the medians
# of 21 rounds or more are what to compare. When NODE_EXTRA_CA_CERTS is set (some sandboxes and
# corporate machines set it), every Node start parses the whole root store first (~35 ms here);
# each round then also runs the tool without it, as on the lab's VMs, and both are reported.
set -euo pipefail
rounds=${1:-21}
workers=${2:-1000}
root=$(cd "$(dirname "$0")/.." && pwd)
cli="$root/dist/cli.js"
[ -f "$cli" ] || npm --prefix "$root" run build >/dev/null
if ! command -v cfssl >/dev/null || ! command -v cfssljson >/dev/null; then
  echo "installing golang-cfssl (the comparison)..." >&2
  sudo=()
  [ "$(id -u)" = 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq && DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq golang-cfssl >/dev/null
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cd "$work" # no ./cluster.yaml here: every side uses the built-in lab

node "$cli" script >gen-pki.sh
mkdir cfssl-input floor-input
(cd cfssl-input && node "$root/scripts/bench/cfssl-lab.mjs" <"$work/gen-pki.sh")
(cd floor-input && node "$root/scripts/bench/openssl-floor.mjs" <"$work/gen-pki.sh")

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
# quartiles: "q1-q3" of a column of numbers (nearest rank).
quartiles() { sort -n | awk '{ v[NR] = $1 } END { printf "%.2f-%.2f", v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }'; }

sides=(tool script cfssl floor)
[ -z "${NODE_EXTRA_CA_CERTS:-}" ] || sides=(tool lab script cfssl floor)
[ -z "${BASELINE:-}" ] || sides+=(base)
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
      base) measure base.txt env -u NODE_EXTRA_CA_CERTS CI=1 node "$BASELINE" gen --out "$dir/pki" ;;
      script) (cd "$dir" && measure "$work/script.txt" bash "$work/gen-pki.sh") ;;
      cfssl) cp cfssl-input/* "$dir" && (cd "$dir" && measure "$work/cfssl.txt" bash "$root/scripts/bench/gen-cfssl.sh") ;;
      floor) cp floor-input/* "$dir" && (cd "$dir" && measure "$work/floor.txt" bash "$root/scripts/bench/floor.sh") ;;
    esac
    rm -rf "$dir"
  done
done

echo "lab PKI (CA + 10 certificates, 6 kubeconfigs; cfssl: the same CA + 10 certificates), $rounds paired rounds on $(nproc) cores:"
for side in script cfssl floor; do
  awk -v s="$side" '{ c += $2 } END { printf "  %-7s median wall %ss, CPU %.2fs per round\n", s, m, c / NR }' m="$(cut -d' ' -f1 "$side.txt" | median)" "$side.txt"
done
# compare SIDE BASE TARGET_WALL TARGET_CPU: the ratio of median walls, the median and middle half of the
# rounds' own ratios (paired: the same round), and the ratio of total CPU.
compare() {
  local mine theirs paired spread cpu
  mine=$(cut -d' ' -f1 "$1.txt" | median)
  theirs=$(cut -d' ' -f1 "$2.txt" | median)
  paired=$(paste -d' ' "$1.txt" "$2.txt" | awk '{ print $1 / $4 }' | median)
  spread=$(paste -d' ' "$1.txt" "$2.txt" | awk '{ print $1 / $4 }' | quartiles)
  cpu=$(paste -d' ' "$1.txt" "$2.txt" | awk '{ a += $2; b += $5 } END { printf "%.2f (%.2fs vs %.2fs per round)", a / b, a / NR, b / NR }')
  awk -v a="$mine" -v b="$theirs" -v p="$paired" -v q="$spread" -v t="$3" -v base="$2" \
    'BEGIN { printf "    vs %-6s wall: ratio of medians %.2f, paired ratios median %.2f, middle half %s%s\n", base, a / b, p, q, (t == "-" ? "" : " (target <= " t ")") }'
  echo "              CPU:  $cpu$([ "$4" = - ] || echo " (target <= $4)")"
}
report() {
  echo "  $2: median wall $(cut -d' ' -f1 "$1.txt" | median)s"
  compare "$1" cfssl 0.75 1.2
  compare "$1" script 0.55 1.15
  compare "$1" floor - -
}
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ]; then
  report tool "kube-pki gen, this environment (NODE_EXTRA_CA_CERTS set)"
  report lab "kube-pki gen, NODE_EXTRA_CA_CERTS unset (as on the lab's VMs)"
else
  report tool "kube-pki gen"
fi
if [ -n "${BASELINE:-}" ]; then
  report base "the baseline build ($BASELINE), NODE_EXTRA_CA_CERTS unset"
  echo "  this build against the baseline:"
  compare "$([ -n "${NODE_EXTRA_CA_CERTS:-}" ] && echo lab || echo tool)" base - -
fi
echo "  the floor (openssl alone, $(nproc) lanes), what the targets allow on this machine:"
compare floor cfssl 0.75 1.2

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
