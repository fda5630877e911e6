#!/usr/bin/env bash
# SSH trust for the kube-pki lab: the hub (master-1) reaches every node with its own key pair, and knows
# their host keys, so that host-key checking stays on. Run as root by the Vagrantfile's trigger (or by hand):
#
#   provision-ssh.sh keypair USER               make USER's key pair once (ed25519); print its public key
#   provision-ssh.sh authorize USER PUBLIC_KEY  put PUBLIC_KEY in USER's authorized_keys, in place of an
#                                               older key with the same comment (a re-created hub)
#   provision-ssh.sh known-hosts USER TARGET... put the host keys of each TARGET (ADDRESS, ADDRESS:PORT or
#                                               [IPv6]:PORT, scanned with ssh-keyscan) in USER's known_hosts,
#                                               in place of what it had for them (a re-created node)
#
# Every command is idempotent: the same input leaves the same files. Environment (all optional):
#   LAB_HOME          USER's home (default: from the passwd database)
#   LAB_KEY           the private key (default LAB_HOME/.ssh/id_ed25519)
#   LAB_SCAN_TRIES    ssh-keyscan attempts per target, 1 s apart (default 10: a node that is still booting)
#   LAB_SCAN_TIMEOUT  seconds per attempt (default 5)
set -euo pipefail

die() {
  echo "provision-ssh.sh: $*" >&2
  exit 1
}

home_of() {
  local home=${LAB_HOME:-}
  [ -n "$home" ] || home=$(getent passwd "$1" | cut -d: -f6) || true
  [ -n "$home" ] || die "no such user: $1"
  printf '%s\n' "$home"
}

# USER's ~/.ssh, made (0700) when missing.
ssh_dir() {
  local user=$1 dir
  dir="$(home_of "$user")/.ssh"
  [ -d "$dir" ] || install -d -m 0700 -o "$user" -g "$(id -gn "$user")" "$dir"
  printf '%s\n' "$dir"
}

# Replaces FILE (mode 0600, owned by USER) by standard input, atomically, unless it holds exactly that.
# Prints "updated" or "unchanged".
replace_file() {
  local file=$1 user=$2 tmp
  tmp=$(mktemp "$file.XXXXXX")
  cat >"$tmp"
  if [ -f "$file" ] && cmp -s "$tmp" "$file"; then
    rm -f "$tmp"
    echo unchanged
  else
    mv -f "$tmp" "$file"
    echo updated
  fi
  chmod 0600 "$file"
  chown "$user:$(id -gn "$user")" "$file"
}

keypair() {
  local user=$1 key comment
  key=${LAB_KEY:-$(ssh_dir "$user")/id_ed25519}
  comment="kube-pki-lab:$user@$(hostname)"
  if [ ! -s "$key" ]; then
    rm -f "$key" "$key.pub"
    ssh-keygen -q -t ed25519 -N '' -C "$comment" -f "$key"
    echo "made the key pair $key" >&2
  elif [ ! -s "$key.pub" ]; then
    printf '%s %s\n' "$(ssh-keygen -y -f "$key" | cut -d' ' -f1,2)" "$comment" >"$key.pub"
  fi
  chmod 0600 "$key"
  chmod 0644 "$key.pub"
  chown "$user:$(id -gn "$user")" "$key" "$key.pub"
  cat "$key.pub"
}

authorize() {
  local user=$1 key=$2 file input comment state
  local shape='^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|sk-[a-z0-9@.-]+) [A-Za-z0-9+/]+={0,3}( [^[:cntrl:]]*)?$'
  [[ $key =~ $shape ]] || die "not an OpenSSH public key: $key"
  read -r _ _ comment <<<"$key"
  file="$(ssh_dir "$user")/authorized_keys"
  input=$file
  [ -f "$file" ] || input=/dev/null
  # The key takes the place of the first line that is the key or has its comment; others are dropped.
  state=$(KEY=$key COMMENT=$comment awk '
    function ours(line, c) {
      if (line == ENVIRON["KEY"]) return 1
      if (ENVIRON["COMMENT"] == "" || line !~ /^(ssh-|ecdsa-|sk-)/) return 0
      c = line
      sub(/^[^ \t]+[ \t]+[^ \t]+[ \t]*/, "", c)
      return c == ENVIRON["COMMENT"]
    }
    ours($0) { if (!done) print ENVIRON["KEY"]; done = 1; next }
    { print }
    END { if (!done) print ENVIRON["KEY"] }
  ' "$input" | replace_file "$file" "$user")
  echo "authorized_keys of $user on $(hostname): ${comment:-the key} ($state)"
}

# TARGET -> "HOST PORT"
split_target() {
  local host port=22
  case $1 in
    \[*\]:*)
      host=${1%]:*}
      host=${host#[}
      port=${1##*]:}
      ;;
    *:*:*) host=$1 ;; # a bare IPv6 address
    *:*)
      host=${1%:*}
      port=${1##*:}
      ;;
    *) host=$1 ;;
  esac
  [[ $host =~ ^[A-Za-z0-9.:-]+$ ]] || die "not an address or host name: $1"
  if ! [[ $port =~ ^[1-9][0-9]{0,4}$ ]] || ((port > 65535)); then die "bad port in $1"; fi
  printf '%s %s\n' "$host" "$port"
}

known_hosts() {
  local user=$1 file current scanned target host port name keys try state
  shift
  (($#)) || die "known-hosts: no target to scan"
  file="$(ssh_dir "$user")/known_hosts"
  current=$(mktemp)
  scanned=$(mktemp)
  # shellcheck disable=SC2064 # the file names are fixed now
  trap "rm -f '$current' '$current.old' '$scanned'" EXIT
  [ ! -f "$file" ] || cat "$file" >"$current"
  for target; do
    read -r host port <<<"$(split_target "$target")"
    if ((port == 22)); then name=$host; else name="[$host]:$port"; fi
    keys=
    for ((try = 1; try <= ${LAB_SCAN_TRIES:-10}; try++)); do
      keys=$(ssh-keyscan -T "${LAB_SCAN_TIMEOUT:-5}" -p "$port" "$host" 2>/dev/null | grep -F "$name " || true)
      [ -z "$keys" ] || break
      sleep 1
    done
    [ -n "$keys" ] || die "no host key from $target (is its sshd up?)"
    ssh-keygen -R "$name" -f "$current" >/dev/null 2>&1 || true
    printf '%s\n' "$keys" >>"$scanned"
  done
  # Sorted, so that the result does not depend on the order the nodes came up in.
  state=$(LC_ALL=C sort -u "$current" "$scanned" | replace_file "$file" "$user")
  echo "known_hosts of $user on $(hostname): host keys of $* ($state)"
}

command=${1:-}
shift || true
case $command in
  keypair) (($# == 1)) || die "usage: keypair USER"; keypair "$1" ;;
  authorize) (($# == 2)) || die "usage: authorize USER PUBLIC_KEY"; authorize "$1" "$2" ;;
  known-hosts) (($# >= 2)) || die "usage: known-hosts USER TARGET..."; known_hosts "$@" ;;
  *) die "usage: provision-ssh.sh keypair|authorize|known-hosts USER ... (see the top of this file)" ;;
esac
