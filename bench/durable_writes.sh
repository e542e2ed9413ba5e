#!/usr/bin/env bash
# Acknowledged writes per second with and without --data-dir, measured in one run.
#   bench/durable_writes.sh [seconds] [connections]
# Installs wrk (Debian package) when it is missing; builds memshift when it is not built.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
connections=${2:-16}
bin=target/release/memshift
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk; }
[ -x "$bin" ] || cargo build --release
data=$(mktemp -d)
trap 'rm -rf "$data"; kill $(jobs -p) 2>/dev/null || true' EXIT

measure() {
  local label=$1; shift
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$bin" --port "$port" --log-level warn "$@" &
  local pid=$!
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break; sleep 0.05; done
  local out
  out=$(wrk -t2 -c"$connections" -d"${seconds}s" -s bench/create_user.lua "http://127.0.0.1:$port/" | grep acknowledged)
  kill "$pid"; wait "$pid" 2>/dev/null || true
  local acked secs
  acked=$(sed -E 's/.*acknowledged=([0-9]+).*/\1/' <<<"$out")
  secs=$(sed -E 's/.*seconds=([0-9.]+).*/\1/' <<<"$out")
  printf '%-22s %10.0f writes/s   (%s)\n' "$label" "$(echo "$acked / $secs" | bc -l)" "$out"
}

echo "CreateUser, $connections connections, ${seconds}s each"
measure "in memory" 
measure "--data-dir (fsync)" --data-dir "$data"
