# server-lib.sh: sourced by the server tests (tests/server-*.sh) after tests/lib.sh:
#   . "$TOP/tests/lib.sh"; . "$TOP/tests/bin/server-lib.sh"
# Runs the Deepgram stand-in and pipeline.sh (real websocketd) on free 127.0.0.1 ports,
# with the build's tools (CALLPIPE_BIN=$BIN) and the state in $WORK/state.
# Every wait has a deadline; cleanup (EXIT trap) stops what was started, by PID.

# nothing from the caller's environment may change what pipeline.sh does here
unset PROXY_URL DEEPGRAM_API_KEY DEEPGRAM_URL CERT_PEM KEY_PEM CALLPIPE_BIN \
	CALLPIPE_MAX_CONNECTIONS CALLPIPE_DRAIN_SECONDS CALLPIPE_CLOSE_MS CALLPIPE_LOGLEVEL \
	CALLPIPE_SUBSCRIBER_BUFFER TWILIO_AUTH_TOKEN CALLPIPE_PUBLIC_URL CALLPIPE_CLIENT_TOKEN \
	CALLPIPE_MAX_SUBSCRIBERS CALLPIPE_HANDSHAKE_SECONDS CALLPIPE_RETAIN_DAYS
# a call ends this long after its last stream (default 5 s: tests would wait for it)
CALLPIPE_CALL_GRACE_SECONDS=1
export CALLPIPE_CALL_GRACE_SECONDS
SPID= PLPID= PORT= SPORT=
STATE=$WORK/state
CALLPIPE_DIR=$STATE # for subscribe in the shell
export CALLPIPE_DIR

cleanup() {
	[ -n "$PLPID" ] && kill -TERM "$PLPID" 2>/dev/null && waitexit 30 "$PLPID"
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null && waitexit 10 "$SPID"
	PLPID= SPID=
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# gone PID: true once PID has exited (a zombie counts as gone)
gone() {
	! kill -0 "$1" 2>/dev/null && return 0
	case $(ps -o stat= -p "$1" 2>/dev/null) in Z*) return 0 ;; esac
	return 1
}

# waitexit SECONDS PID: wait (bounded) for a child to exit; returns its status, or 124
# (and kills it) if it is still running at the deadline
waitexit() {
	if ! waitfor "$1" gone "$2"; then
		kill -KILL "$2" 2>/dev/null
		wait "$2" 2>/dev/null
		return 124
	fi
	wait "$2"
}

# within MS CMD...: retry CMD every 50 ms for about MS milliseconds (at least that long;
# waitfor's deadline is in whole seconds, too coarse for "within a second")
within() {
	_k=$(($1 / 50)); shift
	while ! "$@" 2>/dev/null; do
		[ "$_k" -gt 0 ] || return 1
		_k=$((_k - 1))
		sleep 0.05
	done
}

# hold PID, release PID SID N: pause a replay (SIGSTOP) while subscribers attach, so that
# what a test sees does not depend on how loaded the machine is; release waits (bounded)
# until the call's fanout has opened at least N subscriber FIFOs (it looks every
# 200 ms), then the replay catches up at once.
hold() { kill -STOP "$1"; }
release() {
	waitfor 20 hasfanoutfifos "$2" "$3" || echo "fanout did not open $3 subscriber FIFOs"
	kill -CONT "$1"
}

# start_standin [OPTIONS]: the stand-in on a port of its own; sets SPID, SPORT
start_standin() {
	rm -f "$WORK/standin.port"
	dg-standin --port 0 --port-file "$WORK/standin.port" --log "$WORK/standin.log" "$@" \
		2>>"$WORK/standin.err" &
	SPID=$!
	waitfor 10 test -s "$WORK/standin.port" || { echo "stand-in did not start"; exit 1; }
	SPORT=$(cat "$WORK/standin.port")
}

# start_pipeline [QUERY]: pipeline.sh against the stand-in (Deepgram URL query QUERY);
# set CALLPIPE_* variables in the environment first. Sets PLPID, PORT.
# interim_results and vad_events are false unless QUERY names them (deepgram-stream
# turns them on by default).
start_pipeline() {
	PORT=$(freeport)
	_q=${1-}
	case "&$_q" in *"&interim_results="*) ;; *) _q="${_q:+$_q&}interim_results=false" ;; esac
	case "&$_q" in *"&vad_events="*) ;; *) _q="$_q&vad_events=false" ;; esac
	CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE DEEPGRAM_API_KEY=testkey \
		DEEPGRAM_URL="ws://127.0.0.1:$SPORT/v1/listen?$_q" PROXY_URL=127.0.0.1:$PORT \
		sh "$TOP/pipeline.sh" 2>>"$WORK/pipeline.log" &
	PLPID=$!
	waitfor 15 curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" ||
		{ echo "pipeline.sh did not start"; tail -n 20 "$WORK/pipeline.log"; exit 1; }
}

# stop_pipeline: SIGTERM, wait (bounded), print its exit status
stop_pipeline() {
	kill -TERM "$PLPID"
	waitexit 40 "$PLPID"
	echo "pipeline.sh exit $?"
	PLPID=
}

# health: "HTTP-STATUS JSON" of /health, uptime normalised
health() {
	_c=$(curl -s -o "$WORK/health.json" -w '%{http_code}' "http://127.0.0.1:$PORT/health")
	echo "$_c $(sed -E 's/"uptime":[0-9]+/"uptime":S/' "$WORK/health.json")"
}

# sid N: a CallSid for test call N
sid() { printf 'CA%032x\n' "$((0xc0ffee00 + $1))"; }

# calldir SID
calldir() { printf '%s\n' "$STATE/calls/$1"; }

# streamdir SID [N]: the folder of the call's stream N (default 1)
streamdir() {
	for _d in "$STATE/calls/$1/streams/${2:-1}".*; do printf '%s\n' "$_d"; return; done
}

# calllog SID: every stream's transcript log of the call, in stream order
calllog() {
	for _n in 1 2 3 4 5 6 7 8; do
		_d=$(streamdir "$1" $_n)
		[ -d "$_d" ] && cat "$_d/log.jsonl" 2>/dev/null
	done
}

# live SID: true while the call is live (a stream's fanout holds its live.lock, or the
# last one ended less than CALLPIPE_CALL_GRACE_SECONDS ago)
live() { callstate live "$1"; }

# ended SID: true once the call has ended (no live stream, grace over)
ended() { callstate ended "$1"; }

# nsubs SID: number of FIFOs in the subscribers/ folders of the call's streams
nsubs() { ls "$STATE/calls/$1/streams"/*/subscribers 2>/dev/null | grep -vc -e '^$' -e ':$'; }

# hasnsubs SID N: true once the call has at least N subscriber FIFOs
hasnsubs() { [ "$(nsubs "$1")" -ge "$2" ]; }

# loglines SID: lines in the call's transcript logs
loglines() { calllog "$1" | wc -l; }

# haslines SID N: true once the logs have at least N lines
haslines() { [ "$(loglines "$1")" -ge "$2" ]; }

# summary FILE: the message types of a transcript, counted, in order of first appearance
summary() {
	jq -r '.type + (if .type == "Results" then (if .is_final then " final" else " interim" end) else "" end)' "$1" |
		awk '{ n[$0]++; if (!($0 in seen)) { seen[$0] = 1; order[++k] = $0 } }
			END { for (i = 1; i <= k; i++) printf "%s %d\n", order[i], n[order[i]] }'
}

# same A B: "same" if files A and B are identical, else a short diff
same() {
	if cmp -s "$1" "$2"; then echo same; else echo "differ: $1 $2"; diff "$1" "$2" | head -n 5; fi
}

# callprocs SID: processes of this test's server still serving the call (twilio-mix's
# children carry TWILIO_CALL_SID; all of them carry this test's CALLPIPE_DIR). One grep
# over every environ file: a scan that forks per process takes seconds on a busy machine.
callprocs() {
	grep -lzxF "TWILIO_CALL_SID=$1" /proc/[0-9]*/environ 2>/dev/null |
		xargs -r grep -lzxF "CALLPIPE_DIR=$STATE" 2>/dev/null | sed 's|^/proc/||; s|/environ$||'
}

# runprocs: twilio-mix, deepgram-stream, fanout and subscribe processes of this test's server
runprocs() {
	for _e in $(grep -lzxF "CALLPIPE_DIR=$STATE" /proc/[0-9]*/environ 2>/dev/null); do
		_p=${_e%/environ}
		case $(cat "$_p/comm" 2>/dev/null) in twilio-mix | deepgram-strea* | fanout | subscribe) ;; *) continue ;; esac
		echo "${_p#/proc/}"
	done
}
noprocs() { [ -z "$(runprocs)" ]; }

# fanoutfifos SID: how many of the call's subscriber FIFOs this test's fanouts have open
fanoutfifos() {
	for _s in "$STATE/calls/$1/streams"/*/subscribers; do
		_d=$(cd -P "$_s" 2>/dev/null && pwd) || continue
		for _p in $(runprocs); do
			[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = fanout ] || continue
			find "/proc/$_p/fd" -mindepth 1 -maxdepth 1 -lname "$_d/*" 2>/dev/null
		done
	done | wc -l
}

# hasfanoutfifos SID N: true once fanout has at least N of the call's FIFOs open
hasfanoutfifos() { [ "$(fanoutfifos "$1")" -ge "$2" ]; }

# replay_sub SID FILE: FILE replayed into /twilio in the background (RP, replay.err),
# and once the call is live a subscriber attached to it (SP, sub.out, sub.err)
replay_sub() {
	twilio-replay "ws://127.0.0.1:$PORT/twilio" <"$2" 2>replay.err &
	RP=$!
	waitfor 10 live "$1" || echo "call did not start"
	subscribe -n "$1" >sub.out 2>sub.err &
	SP=$!
	waitfor 10 hasnsubs "$1" 1 || echo "subscriber did not attach"
}
