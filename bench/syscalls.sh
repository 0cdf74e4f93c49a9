#!/usr/bin/env bash
# Counts the system calls a proxy makes per keep-alive request/response at
# saturation: bin/fjord, and bench/iocopy (the io.Copy goroutine proxy) for
# comparison, each in front of the same echo server on loopback, while
# bench/cmd/pingpong sends requests of SIZE bytes over CONNS keep-alive
# connections. Two passes per proxy:
#
#  full   `strace -c -f -p PID` attached for exactly REQUESTS requests (the
#         connections are opened before strace attaches and closed after it
#         detaches). Every call is counted, but every call also stops in
#         strace, so the proxy runs ~5x slower and is the bottleneck.
#  light  the proxy started under `strace -f --seccomp-bpf -e 'trace=!read,
#         write,splice'`: the data calls do not stop, so the proxy runs near
#         full speed, and epoll_wait and the Go runtime's calls are counted as
#         they happen at that speed (LIGHT_REQUESTS requests; the count also
#         holds the few hundred calls of start-up and connection set-up).
#         The data calls are not counted here: the full pass shows that their
#         number per request does not depend on speed (one read and one write
#         per message and direction for fjord).
#
# MODE=http measures mode http keep-alive instead: each proxy in front of
# one web node (cmd/fjord-webnode), pingpong sending GET /body and reading
# its 64-byte answer. The proxies are then fjord in mode http (option
# http-keep-alive) and the two loop designs of bench/hop (hop-epoll,
# hop-uring: issue 20's io_uring question). The data calls, untraced in
# the light pass and counted from the full one, are then read, write,
# splice, recvfrom (fjord's peek) and io_uring_enter (which both submits
# the uring loop's sends and waits for its completions).
#
#   bash bench/syscalls.sh                  # or: make bench-engine
#   CONNS=50 REQUESTS=100000 LIGHT_REQUESTS=300000 SIZE=100 PROXIES="fjord iocopy" bash bench/syscalls.sh
#   MODE=http bash bench/syscalls.sh        # PROXIES="fjord hop-epoll hop-uring"
#
# Needs ptrace (root, or kernel.yama.ptrace_scope 0).
set -euo pipefail

CONNS=${CONNS:-50}
REQUESTS=${REQUESTS:-100000}
LIGHT_REQUESTS=${LIGHT_REQUESTS:-300000}
SIZE=${SIZE:-100}
MODE=${MODE:-tcp}
case "$MODE" in
tcp)
	PROXIES=${PROXIES:-fjord iocopy}
	data_names='read|write|splice'
	;;
http)
	PROXIES=${PROXIES:-fjord hop-epoll hop-uring}
	data_names='read|write|splice|recvfrom|io_uring_enter'
	;;
*)
	echo "MODE=$MODE: want tcp or http" >&2
	exit 2
	;;
esac
untraced="trace=!${data_names//|/,}"

cd "$(dirname "$0")/.."

if ! command -v strace >/dev/null; then
	echo "installing strace" >&2
	apt-get update -qq && apt-get install -y -qq strace >/dev/null
fi

work=$(mktemp -d)
pids=()
cleanup() {
	exec 3>&- 2>/dev/null || true
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT

make -s build
go build -o "$work/echo" ./bench/cmd/echo
go build -o "$work/pingpong" ./bench/cmd/pingpong
go build -o "$work/iocopy" ./bench/cmd/iocopy
go build -o "$work/hop" ./bench/cmd/hop
go build -o "$work/webnode" ./cmd/fjord-webnode

# wait_line FILE PATTERN [PID]: wait up to 60 s for a line matching PATTERN,
# and no longer than process PID lives.
wait_line() {
	for _ in $(seq 600); do
		if grep -q -- "$2" "$1" 2>/dev/null; then
			return 0
		fi
		if [ -n "${3:-}" ] && ! kill -0 "$3" 2>/dev/null; then
			break
		fi
		sleep 0.1
	done
	echo "no line '$2' in $1:" >&2
	cat "$1" >&2
	return 1
}

# free_port: a loopback port below the ephemeral range that nobody listens on.
free_port() {
	local p
	for p in $(shuf -i 20000-32000 -n 100); do
		if [ -z "$(ss -Htln "sport = :$p")" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

if [ "$MODE" = http ]; then
	"$work/webnode" -listen "web1=127.0.0.1:$(free_port)" >"$work/echo.out" 2>&1 &
	pids+=($!)
	wait_line "$work/echo.out" "listening on"
	backend=$(awk '/listening on/ {print $4; exit}' "$work/echo.out")
	load_flags=(-http /body)
else
	"$work/echo" >"$work/echo.out" 2>&1 &
	pids+=($!)
	wait_line "$work/echo.out" "listening on"
	backend=$(awk '/listening on/ {print $3; exit}' "$work/echo.out")
	load_flags=(-size "$SIZE")
fi

# start_proxy NAME [WRAPPER...]: starts the proxy (under WRAPPER, such as
# strace, if given); sets proxy_pid (the wrapper's, if any) and proxy_addr.
start_proxy() {
	local name=$1
	shift
	case "$name" in
	fjord)
		local port
		port=$(free_port)
		if [ "$MODE" = http ]; then
			defaults_mode=$'  mode http\n  option http-keep-alive\n  timeout http-request 10s\n  timeout http-keep-alive 1m'
		else
			defaults_mode='  mode tcp'
		fi
		cat >"$work/fjord.cfg" <<EOF
global
  nbthread 2
  # A benchmark measures fjord on the host as it is; it never tunes it.
  tune.sysctl off
defaults
$defaults_mode
  timeout connect 5s
  timeout client 1m
  timeout server 1m
listen bench
  bind 127.0.0.1:$port
  server s0 $backend
EOF
		"$@" bin/fjord -db -f "$work/fjord.cfg" >"$work/fjord.out" 2>&1 &
		proxy_pid=$!
		wait_line "$work/fjord.out" "listening on" "$proxy_pid"
		proxy_addr=127.0.0.1:$port
		;;
	iocopy)
		"$@" "$work/iocopy" -backend "$backend" >"$work/iocopy.out" 2>&1 &
		proxy_pid=$!
		wait_line "$work/iocopy.out" "listening on" "$proxy_pid"
		proxy_addr=$(awk '/listening on/ {print $3; exit}' "$work/iocopy.out")
		;;
	hop-epoll | hop-uring)
		"$@" "$work/hop" -loop "${name#hop-}" -threads 2 -backend "$backend" >"$work/$name.out" 2>&1 &
		proxy_pid=$!
		wait_line "$work/$name.out" "listening on" "$proxy_pid"
		proxy_addr=$(awk '/listening on/ {print $3; exit}' "$work/$name.out")
		;;
	*)
		echo "unknown proxy $name" >&2
		return 1
		;;
	esac
	pids+=("$proxy_pid")
}

# The calls that move data or wait for readiness; the rest is connection
# set-up, the Go runtime's scheduling (futex, nanosleep, ...) and signals.
data_calls='^(read|write|readv|writev|recvfrom|sendto|recvmsg|sendmsg|splice|epoll_wait|epoll_pwait|epoll_pwait2|io_uring_enter)$'

# summarize FILE REQUESTS LABEL: per-request figures from a strace -c file.
# Its columns: % time, seconds, usecs/call, calls, [errors], syscall.
summarize() {
	awk -v req="$2" -v data="$data_calls" -v label="$3" '
		/^-/ || /^%/ || NF < 5 { next }
		{
			name = $NF; calls = $4
			if (name == "total") { total = calls; next }
			n[name] = calls; order[++k] = name
			if (name ~ data) datasum += calls
		}
		END {
			printf "  %-16s %10s %12s\n", "syscall", "calls", "per request"
			for (i = 1; i <= k; i++) {
				s = order[i]
				if (n[s] / req >= 0.001)
					printf "  %-16s %10d %12.3f\n", s, n[s], n[s] / req
			}
			printf "  %-16s %10d %12.3f\n", "(all)", total, total / req
			printf "  %-16s %10d %12.3f\n", "(data+poll)", datasum, datasum / req
			printf "\n  %s: %.3f syscalls per request in all, %.3f data+poll (read/write/splice/recv*/send*/epoll_wait/io_uring_enter)\n",
				label, total / req, datasum / req
		}' "$1"
}

for px in $PROXIES; do
	# Full pass: strace attached for exactly REQUESTS requests.
	start_proxy "$px"
	rm -f "$work/ctl"
	mkfifo "$work/ctl"
	"$work/pingpong" -addr "$proxy_addr" -c "$CONNS" -n "$REQUESTS" "${load_flags[@]}" -wait \
		<"$work/ctl" >"$work/pingpong.out" 2>&1 &
	load_pid=$!
	pids+=("$load_pid")
	exec 3>"$work/ctl"
	wait_line "$work/pingpong.out" "^ready" "$load_pid"

	strace -c -f -p "$proxy_pid" -o "$work/$px.strace" 2>"$work/strace.err" &
	strace_pid=$!
	wait_line "$work/strace.err" "attached" "$strace_pid"
	sleep 1 # strace attaches the process's threads one by one

	echo go >&3
	wait_line "$work/pingpong.out" "^done" "$load_pid"
	kill -INT "$strace_pid"
	wait "$strace_pid" || true
	exec 3>&-
	wait "$load_pid" || true
	kill "$proxy_pid"
	wait "$proxy_pid" 2>/dev/null || true

	echo
	echo "== $px, full trace: $(grep '^requests' "$work/pingpong.out")"
	echo
	summarize "$work/$px.strace" "$REQUESTS" "$px (full trace)"
	echo
	echo "  strace -c -f -p PID summary:"
	sed 's/^/    /' "$work/$px.strace"

	# Light pass: only calls other than the data calls stop.
	start_proxy "$px" strace -f --seccomp-bpf -e "$untraced" -c -o "$work/$px.light"
	"$work/pingpong" -addr "$proxy_addr" -c "$CONNS" -n "$LIGHT_REQUESTS" "${load_flags[@]}" >"$work/pingpong.out" 2>&1
	# The proxy is strace's child: stopping it makes strace write its summary.
	pkill -TERM -P "$proxy_pid"
	wait "$proxy_pid" 2>/dev/null || true

	echo
	echo "== $px, light trace (${data_names//|/, } not traced): $(grep '^requests' "$work/pingpong.out")"
	echo
	summarize "$work/$px.light" "$LIGHT_REQUESTS" "$px (light trace, ${data_names//|/\/} not counted)"
	awk -v full="$REQUESTS" -v light="$LIGHT_REQUESTS" -v px="$px" -v data="^($data_names)\$" -v names="${data_names//|/\/}" '
		/^-/ || /^%/ || NF < 5 { next }
		FILENAME ~ /strace$/ && $NF ~ data { rw += $4 }
		FILENAME ~ /light$/ && $NF == "total" { other = $4 }
		END {
			printf "\n  %s near full speed: %.3f %s (full pass) + %.3f other (light pass) = %.3f syscalls per request\n",
				px, rw / full, names, other / light, rw / full + other / light
		}' "$work/$px.strace" "$work/$px.light"
	echo
	echo "  strace -f --seccomp-bpf -e '$untraced' -c summary:"
	sed 's/^/    /' "$work/$px.light"
done
