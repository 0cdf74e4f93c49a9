#!/usr/bin/env bash
# make demo: fjord in front of three demo web nodes on loopback, shaped like
# the seed article's template (examples/demo.cfg). Ctrl-C stops everything.
set -euo pipefail

cd "$(dirname "$0")/.."
CFG=examples/demo.cfg
BIN=${BIN:-bin}
PORTS=(8080 8081 8082 8083)

# Every child goes in this script's process group; the trap kills them all
# on Ctrl-C, on fjord exiting, and on any error.
pids=()
cleanup() {
    trap - EXIT INT TERM
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
for p in "${PORTS[@]}"; do
    if port_busy "$p"; then
        echo "demo: port $p on 127.0.0.1 is in use; stop what listens there (ss -ltnp 'sport = :$p') and try again" >&2
        exit 1
    fi
done

log=$(mktemp -t fjord-webnode.XXXXXX)
"$BIN/fjord-webnode" -listen web01=127.0.0.1:8081 -listen web02=127.0.0.1:8082 \
    -listen static01=127.0.0.1:8083 >"$log" 2>&1 &
pids+=($!)
for _ in $(seq 50); do
    if port_busy 8081 && port_busy 8082 && port_busy 8083; then break; fi
    if ! kill -0 "${pids[0]}" 2>/dev/null; then break; fi
    sleep 0.1
done
if ! (port_busy 8081 && port_busy 8082 && port_busy 8083); then
    echo "demo: the web nodes did not start:" >&2
    cat "$log" >&2
    exit 1
fi

auth=$(awk '$1 == "stats" && $2 == "auth" { print $3; exit }' "$CFG")
uri=$(awk '$1 == "stats" && $2 == "uri" { print $3; exit }' "$CFG")
cat <<MSG

fjord demo: web01 :8081, web02 :8082, static01 :8083 behind 127.0.0.1:8080

  curl -v http://127.0.0.1:8080/                   # web pool: web01, web02, web01, ...
  curl http://127.0.0.1:8080/images/logo.png       # static pool: static01
  curl http://127.0.0.1:8082/admin/down            # web02 fails its checks: DOWN after 3
  curl http://127.0.0.1:8082/admin/up              # and UP again after 2
  ${BIN}/fjord cli /tmp/fjord-demo.sock show stat           # runtime API (or: echo "show stat" | socat stdio unix:/tmp/fjord-demo.sock)
  ${BIN}/fjord cli /tmp/fjord-demo.sock                     # the same at a prompt: help, show info, quit
  stats page: http://127.0.0.1:8080${uri}  user ${auth%%:*}  password ${auth#*:}

Ctrl-C stops fjord and the web nodes.

MSG
"$BIN/fjord" -f "$CFG" &
pids+=($!)
set +e
wait "${pids[1]}"
status=$?
set -e
if [ "$status" -ne 0 ] && [ "$status" -ne 130 ] && [ "$status" -ne 143 ]; then
    echo "demo: fjord exited with status $status" >&2
fi
exit "$status"
