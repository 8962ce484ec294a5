# redis-lib.sh: sourced by the redis-* and haproxy-* tests, instead of tests/lib.sh
# and tests/bin/server-lib.sh (it sources both). A real redis-server, two pipeline.sh
# "hosts" (own state folders and ports, nothing shared but Redis) and a real HAProxy
# running examples/haproxy.cfg with a certificate made here, all on free 127.0.0.1
# ports, all stopped by PID at exit.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
unset CALLPIPE_REDIS_URL CALLPIPE_RETAIN_DAYS CALLPIPE_CALL_GRACE_SECONDS
RPID= RPORT= EPID= EPORT=
HPIDS= # "name:pid" of every host started
TOK=client-token-0123456789
AUTH=twilio-auth-token-for-tests
PUB=wss://callpipe.example.com
export SSL_CERT_FILE=$WORK/edge-cert.pem # python's TLS trusts our edge

redis_cleanup() {
	for _h in $HPIDS; do
		_p=${_h#*:}
		kill -TERM "$_p" 2>/dev/null && waitexit 30 "$_p" >/dev/null
	done
	HPIDS=
	[ -n "$EPID" ] && kill "$EPID" 2>/dev/null && waitexit 10 "$EPID"
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null && waitexit 10 "$RPID"
	EPID= RPID=
	cleanup
}
trap redis_cleanup EXIT

# start_redis: redis-server without persistence on RPORT (chosen on the first start, kept
# so that a restart comes back where the hosts look). Sets RPID.
start_redis() {
	[ -n "$RPORT" ] || RPORT=$(freeport)
	redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
		--daemonize no --loglevel warning ${1:+--requirepass "$1"} >>"$WORK/redis.log" 2>&1 &
	RPID=$!
	waitfor 10 redis-cli -p "$RPORT" ${1:+-a "$1" --no-auth-warning} ping >/dev/null ||
		{ echo "redis-server did not start"; exit 1; }
	REDIS_URL=redis://127.0.0.1:$RPORT
}

# kill_redis: SIGKILL, as a crash
kill_redis() {
	kill -KILL "$RPID"
	waitexit 10 "$RPID"
	RPID=
}

# start_host NAME: pipeline.sh for host NAME (state $WORK/NAME, port in $WORK/NAME.port)
# with CALLPIPE_REDIS_URL; set CALLPIPE_* variables in the environment first.
start_host() {
	_port=$(cat "$WORK/$1.port" 2>/dev/null) || _port=$(freeport) # a restart keeps its port
	echo "$_port" >"$WORK/$1.port"
	CALLPIPE_BIN=$BIN CALLPIPE_DIR=$WORK/$1 DEEPGRAM_API_KEY=testkey \
		CALLPIPE_REDIS_URL=$REDIS_URL CALLPIPE_LOGLEVEL=access \
		DEEPGRAM_URL="ws://127.0.0.1:$SPORT/v1/listen?interim_results=true&vad_events=false" \
		PROXY_URL=127.0.0.1:$_port sh "$TOP/pipeline.sh" 2>>"$WORK/$1.log" &
	HPIDS="$HPIDS $1:$!"
	waitfor 15 curl -sf -o /dev/null "http://127.0.0.1:$_port/health" ||
		{ echo "host $1 did not start"; tail -n 20 "$WORK/$1.log"; exit 1; }
}

# start_hosts: the Deepgram stand-in, hosts a and b, and the edge in front of them;
# the hosts share Redis when start_redis came first (REDIS_URL empty: on their own)
start_hosts() {
	start_standin
	start_host a
	start_host b
	start_edge
}

hostport() { cat "$WORK/$1.port"; }
hostpid() {
	for _h in $HPIDS; do [ "${_h%%:*}" = "$1" ] && echo "${_h#*:}"; done
}
forget_host() {
	_n=
	for _h in $HPIDS; do [ "${_h%%:*}" = "$1" ] || _n="$_n $_h"; done
	HPIDS=$_n
}

# hostprocs NAME: every process of that host (they all carry its CALLPIPE_DIR)
hostprocs() {
	grep -lzxF "CALLPIPE_DIR=$WORK/$1" /proc/[0-9]*/environ 2>/dev/null |
		sed 's|^/proc/||; s|/environ$||'
}

# crash_host NAME: SIGKILL every process of the host at once, as a machine that dies
crash_host() {
	_p=$(hostpid "$1")
	kill -STOP $_p $(hostprocs "$1") 2>/dev/null
	kill -KILL $_p $(hostprocs "$1") 2>/dev/null
	waitexit 10 "$_p" >/dev/null
	forget_host "$1"
}

# start_edge: haproxy -f examples/haproxy.cfg in front of hosts a and b. Sets EPID, EPORT.
start_edge() {
	if [ ! -f "$WORK/edge.pem" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
			-subj /CN=localhost -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
			-days 2 -keyout "$WORK/edge-key.pem" -out "$WORK/edge-cert.pem" 2>/dev/null &&
			cat "$WORK/edge-cert.pem" "$WORK/edge-key.pem" >"$WORK/edge.pem" ||
			{ echo "unable to make a certificate"; exit 1; }
	fi
	EPORT=$(freeport)
	CALLPIPE_EDGE_BIND=127.0.0.1:$EPORT CALLPIPE_EDGE_CERT=$WORK/edge.pem \
		CALLPIPE_HOST1=127.0.0.1:$(hostport a) CALLPIPE_HOST2=127.0.0.1:$(hostport b) \
		TWILIO_AUTH_TOKEN=$AUTH CALLPIPE_PUBLIC_URL=$PUB CALLPIPE_CLIENT_TOKEN=$TOK \
		CALLPIPE_EDGE_CHECK_INTERVAL=300ms CALLPIPE_EDGE_MAXCONN=2000 \
		CALLPIPE_EDGE_REQUEST_TIMEOUT=${EDGE_REQUEST_TIMEOUT:-10s} \
		CALLPIPE_EDGE_PER_SOURCE=${EDGE_PER_SOURCE:-100} \
		haproxy -db -f "$TOP/examples/haproxy.cfg" >>"$WORK/edge.log" 2>&1 &
	EPID=$!
	waitfor 10 curl -sf --cacert "$WORK/edge-cert.pem" -o /dev/null \
		"https://127.0.0.1:$EPORT/health" || { echo "haproxy did not start"; exit 1; }
}

# twsig PATH: the X-Twilio-Signature Twilio would send for $PUB$PATH
twsig() { printf '%s%s' "$PUB" "$1" | openssl dgst -sha1 -hmac "$AUTH" -binary | base64; }

# call SID SECONDS [wss-replay options]: a call through the edge, in the background
# (sets CPID); its capture is $WORK/SID.jsonl
call() {
	_s=$1 _d=$2
	shift 2
	fake-capture -c "$_s" -s "$_d" >"$WORK/$_s.jsonl"
	wss-replay -H "X-Twilio-Signature: $(twsig /twilio)" "$@" \
		"wss://127.0.0.1:$EPORT/twilio" <"$WORK/$_s.jsonl" 2>>"$WORK/replay.err" &
	CPID=$!
}

# hostlog HOST SID: the call's transcript on that host, every stream's log in stream order
hostlog() { (STATE=$WORK/$1 && calllog "$2"); }

# callhost SID: the host that has the call's folder
callhost() {
	for _h in a b; do [ -d "$WORK/$_h/calls/$1" ] && echo "$_h"; done
}

# followhosts: hosts serving a callpipe-follow right now, e.g. "a b"
followhosts() {
	for _h in a b; do
		for _p in $(hostprocs "$_h"); do
			[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = callpipe-follow ] && echo "$_h"
		done
	done | sort -u | tr '\n' ' '
}

# listed SID: the call is in the registry's live list
listed() { CALLPIPE_REDIS_URL=$REDIS_URL callpipe-follow | grep -q "^$1 "; }

# finals FILE: the final Results in a transcript, as "start duration channel"
finals() {
	jq -c 'select(.type == "Results" and .is_final) | [.start, .duration, .channel_index]' "$1"
}

# haslines_any SID N: the call's log on either host has at least N lines
haslines_any() {
	for _h in a b; do
		[ "$(hostlog "$_h" "$1" | wc -l)" -ge "$2" ] && return 0
	done
	return 1
}

# following: some host serves a callpipe-follow
following() { [ -n "$(followhosts)" ]; }

# haslinesf FILE N: FILE has at least N lines
haslinesf() { [ "$(cat "$1" 2>/dev/null | wc -l)" -ge "$2" ]; }
