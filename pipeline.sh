#!/bin/sh
# pipeline.sh: callpipe's supervisor (see pipeline.sh(8)).
# Checks the configuration, prepares CALLPIPE_DIR, runs one websocketd in the foreground
# (WebSocket endpoints /twilio and /client, CGI /health, the static page), restarts it with
# backoff when it dies, and drains on SIGTERM/SIGINT. POSIX sh (dash); Linux (flock, setsid).
set -u
umask 077
prog=pipeline.sh

# log LEVEL MESSAGE...: one line on stderr, control characters replaced, < 1 KiB.
log() {
	_lv=$1; shift
	_m=$(printf '%s' "$*" | tr '\000-\037\177' '?' | cut -c1-900)
	printf '%s: %s: %s\n' "$prog" "$_lv" "$_m" >&2
}
die() { log fatal "$*"; exit 100; }
dietemp() { log fatal "$*"; exit 111; }

# number NAME VALUE MIN MAX: print VALUE without leading zeros if it is a decimal in range.
number() {
	_v=$2
	case $_v in '' | *[!0-9]*) die "$1 must be a decimal number from $3 to $4, not '$2'" ;; esac
	while :; do case $_v in 0?*) _v=${_v#0} ;; *) break ;; esac; done
	[ ${#_v} -le 10 ] && [ "$_v" -ge "$3" ] && [ "$_v" -le "$4" ] ||
		die "$1 must be a decimal number from $3 to $4, not '$2'"
	printf '%s\n' "$_v"
}

# --- configuration (environment) -------------------------------------------------------
here=$(cd "$(dirname "$0")" && pwd) || die "unable to find the folder of $0"

PROXY_URL=${PROXY_URL:-127.0.0.1:5000}
case $PROXY_URL in
*://* | */*) die "PROXY_URL must be host:port (e.g. 127.0.0.1:5000), not a URL: '$PROXY_URL'" ;;
\[*\]:*) host=${PROXY_URL%:*} port=${PROXY_URL##*:} ;;
*:*:*) die "PROXY_URL: write an IPv6 address in brackets, e.g. [::1]:5000, not '$PROXY_URL'" ;;
*:*) host=${PROXY_URL%:*} port=${PROXY_URL##*:} ;;
*) die "PROXY_URL must be host:port (e.g. 127.0.0.1:5000), not '$PROXY_URL'" ;;
esac
case $host in
'') die "PROXY_URL has no host: use 0.0.0.0:$port to listen on every interface" ;;
\[*\]) case ${host#?} in *[!0-9A-Fa-f:.\]]*) die "PROXY_URL: bad IPv6 address '$host'" ;; esac ;;
*[!A-Za-z0-9.-]*) die "PROXY_URL: bad host name '$host'" ;;
esac
port=$(number "the port of PROXY_URL" "$port" 1 65535) || exit

[ -n "${DEEPGRAM_API_KEY:-}" ] ||
	die "DEEPGRAM_API_KEY is not set: export your Deepgram API key (console.deepgram.com) first"
case $DEEPGRAM_API_KEY in *[[:space:][:cntrl:]]*) die "DEEPGRAM_API_KEY contains white space or control characters" ;; esac
if [ -n "${DEEPGRAM_URL:-}" ]; then
	case $DEEPGRAM_URL in
	*[[:space:][:cntrl:]]*) die "DEEPGRAM_URL contains white space or control characters" ;;
	ws://?* | wss://?*) ;;
	*) die "DEEPGRAM_URL must start with ws:// or wss://, not '$DEEPGRAM_URL'" ;;
	esac
fi

cert=${CERT_PEM:-} key=${KEY_PEM:-}
if [ -n "$cert" ] || [ -n "$key" ]; then
	[ -n "$cert" ] || die "KEY_PEM is set but CERT_PEM is not: set both for TLS, or neither"
	[ -n "$key" ] || die "CERT_PEM is set but KEY_PEM is not: set both for TLS, or neither"
	[ -f "$cert" ] && [ -r "$cert" ] || die "CERT_PEM: unable to read certificate file '$cert'"
	[ -f "$key" ] && [ -r "$key" ] || die "KEY_PEM: unable to read key file '$key'"
	scheme=wss
else
	scheme=ws
fi

maxconn=$(number CALLPIPE_MAX_CONNECTIONS "${CALLPIPE_MAX_CONNECTIONS:-512}" 1 100000) || exit
drain=$(number CALLPIPE_DRAIN_SECONDS "${CALLPIPE_DRAIN_SECONDS:-60}" 0 86400) || exit
closems=$(number CALLPIPE_CLOSE_MS "${CALLPIPE_CLOSE_MS:-15000}" 0 600000) || exit
if [ -n "${CALLPIPE_SUBSCRIBER_BUFFER:-}" ]; then
	CALLPIPE_SUBSCRIBER_BUFFER=$(number CALLPIPE_SUBSCRIBER_BUFFER "$CALLPIPE_SUBSCRIBER_BUFFER" 1024 1073741824) || exit
	export CALLPIPE_SUBSCRIBER_BUFFER
fi
loglevel=${CALLPIPE_LOGLEVEL:-info}
case $loglevel in debug | trace | access | info | error | fatal) ;;
*) die "CALLPIPE_LOGLEVEL must be one of debug, trace, access, info, error, fatal, not '$loglevel'" ;;
esac

dir=${CALLPIPE_DIR:-${XDG_STATE_HOME:-${HOME:-/nonexistent}/.local/state}/callpipe}
case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
case $dir in *[[:cntrl:]]*) die "CALLPIPE_DIR contains control characters" ;; esac

# Tools: $CALLPIPE_BIN, else bin/ next to this script (source tree), else this script's
# own folder (installed), else PATH.
if [ -n "${CALLPIPE_BIN:-}" ]; then
	bindir=$CALLPIPE_BIN
elif [ -x "$here/bin/twilio-mix" ]; then
	bindir=$here/bin
elif [ -x "$here/twilio-mix" ]; then
	bindir=$here
else
	bindir=
fi
if [ -n "$bindir" ]; then
	bindir=$(cd "$bindir" 2>/dev/null && pwd) || die "CALLPIPE_BIN: no such folder '$CALLPIPE_BIN'"
	PATH=$bindir:$PATH
fi
export PATH
for t in twilio-mix deepgram-stream fanout subscribe; do
	command -v "$t" >/dev/null 2>&1 ||
		die "unable to find $t: build with make, or put the callpipe tools on PATH"
done
command -v websocketd >/dev/null 2>&1 || die "unable to find websocketd: install it (make deps)"
command -v flock >/dev/null 2>&1 || die "unable to find flock (util-linux)"
command -v setsid >/dev/null 2>&1 || die "unable to find setsid (util-linux)"
[ -n "$bindir" ] || bindir=$(dirname "$(command -v subscribe)")

# Endpoints, CGI and static files: next to this script (source tree) or in
# ../share/callpipe (installed).
if [ -d "$here/endpoints" ]; then
	share=$here
elif [ -d "$here/../share/callpipe/endpoints" ]; then
	share=$(cd "$here/../share/callpipe" && pwd)
else
	die "unable to find the endpoints folder next to $0 or in $here/../share/callpipe"
fi
for f in endpoints/twilio endpoints/client cgi/health; do
	[ -x "$share/$f" ] || die "missing or not executable: $share/$f"
done

if [ -n "${TWILIO_AUTH_TOKEN:-}" ]; then
	case ${CALLPIPE_PUBLIC_URL:-} in
	'') die "TWILIO_AUTH_TOKEN is set but CALLPIPE_PUBLIC_URL is not: set it to the URL base in your TwiML, e.g. wss://callpipe.example.com" ;;
	*[[:space:][:cntrl:]]*) die "CALLPIPE_PUBLIC_URL contains white space or control characters" ;;
	wss://?* | https://?* | ws://?* | http://?*) ;;
	*) die "CALLPIPE_PUBLIC_URL must start with wss://, https://, ws:// or http://, not '$CALLPIPE_PUBLIC_URL'" ;;
	esac
	command -v twilio-verify >/dev/null 2>&1 || die "unable to find twilio-verify (TWILIO_AUTH_TOKEN is set)"
fi
if [ -n "${CALLPIPE_CLIENT_TOKEN:-}" ]; then
	case $CALLPIPE_CLIENT_TOKEN in
	*[!A-Za-z0-9._~-]*) die "CALLPIPE_CLIENT_TOKEN may hold only letters, digits and . _ ~ - (it travels in URLs)" ;;
	esac
	[ ${#CALLPIPE_CLIENT_TOKEN} -ge 16 ] || die "CALLPIPE_CLIENT_TOKEN is too short: use 16 characters or more (e.g. openssl rand -hex 16)"
	command -v openssl >/dev/null 2>&1 || die "unable to find openssl (CALLPIPE_CLIENT_TOKEN is set)"
fi
if [ -n "${CALLPIPE_REDIS_URL:-}" ]; then
	case $CALLPIPE_REDIS_URL in
	*[[:space:][:cntrl:]]*) die "CALLPIPE_REDIS_URL contains white space or control characters" ;;
	redis://?* | unix:///?*) ;;
	*) die "CALLPIPE_REDIS_URL must be redis://[user:password@]host:port[/db] or unix:///path" ;;
	esac
	for t in callpipe-publish callpipe-follow; do
		command -v "$t" >/dev/null 2>&1 || die "unable to find $t (CALLPIPE_REDIS_URL is set)"
	done
fi
case $host in
127.* | localhost | \[::1\]) ;;
*) [ -n "${TWILIO_AUTH_TOKEN:-}" ] ||
	log warning "TWILIO_AUTH_TOKEN is unset and $host is not a loopback address: ANYONE can open /twilio and spend your Deepgram credit; set TWILIO_AUTH_TOKEN" ;;
esac

# --- state folder ----------------------------------------------------------------------
mkdir -p "$dir" 2>/dev/null || die "unable to create CALLPIPE_DIR '$dir'"
dir=$(cd "$dir" && pwd) || die "unable to enter CALLPIPE_DIR '$dir'"
[ -O "$dir" ] || die "CALLPIPE_DIR '$dir' is owned by another user"
[ -z "$(find "$dir" -maxdepth 0 -perm /022)" ] ||
	die "CALLPIPE_DIR '$dir' is writable by group or others: chmod go-w it"
mkdir -p "$dir/calls" "$dir/run" || die "unable to create folders in '$dir'"
export CALLPIPE_DIR="$dir"
run=$dir/run

exec 9>"$run/pipeline.lock" || die "unable to open $run/pipeline.lock"
flock -n 9 || dietemp "another pipeline.sh is running on $dir"

# Stale calls: a folder without `ended` whose live.lock nobody holds (fanout holds it for
# the life of a call) was left by a crash. Mark it ended, as fanout would.
stale=0
for d in "$dir/calls"/CA*; do
	[ -d "$d" ] || continue
	[ -e "$d/ended" ] && continue
	if [ -e "$d/live.lock" ] && ! flock -n "$d/live.lock" true 9>&-; then continue; fi
	date -u +%Y-%m-%dT%H:%M:%SZ >"$d/.ended.tmp" && mv -f "$d/.ended.tmp" "$d/ended" ||
		die "unable to mark stale call $d as ended"
	stale=$((stale + 1))
done
[ "$stale" -eq 0 ] || log info "marked $stale stale calls as ended"

# CGI scripts get neither --passenv nor our PATH: /health finds its facts in
# $run/health.conf, one folder above the CGI folder made here for this run.
started=$(date +%s)
rm -rf "$run/cgi" "$run/draining"
mkdir "$run/cgi" && cp "$share/cgi/health" "$run/cgi/health" && chmod 0755 "$run/cgi/health" ||
	die "unable to prepare $run/cgi"
{
	printf 'dir=%s\n' "$dir"
	printf 'bin=%s\n' "$bindir"
	printf 'started=%s\n' "$started"
	printf 'pid=%s\n' "$$"
} >"$run/health.conf.tmp" && mv -f "$run/health.conf.tmp" "$run/health.conf" ||
	die "unable to write $run/health.conf"

# One log on stderr, one format, "prog: level: message": websocketd's own lines and the
# handlers' lines it relays (wrapped in its own format) go through this filter; the
# filter outlives websocketd restarts because we hold the FIFO's write end (fd 8).
cat >"$run/log.sed.tmp" <<'EOF' && mv -f "$run/log.sed.tmp" "$run/log.sed" || die "unable to write $run/log.sed"
# websocketd says this for many handlers that end (a race in its pipe handling): harmless
/\| Unexpected error while reading STD(OUT|ERR) from process: read \|0: file already closed$/d
# a handler's stderr: the tool's own line, or the endpoint's name with "error"
/^[^|]*\| [A-Z]+ *\| stderr *\| /{
	/ pid:'[0-9]+' \| [A-Za-z0-9._-]+: (debug|info|warning|error|fatal): /{
		s/^.* pid:'[0-9]+' \| //
		b
	}
	s/^.* command:'([^']*\/)?([^'\/]*)'.* pid:'[0-9]+' \| /\2: error: /
	b
}
# websocketd's own lines
s/^[^|]*\| ([A-Z]+) *\| ([a-z]+) *\| *\| *(.*)$/websocketd: \1: \2: \3/
t level
s/^[^|]*\| ([A-Z]+) *\| ([a-z]+) *\| url:'([^']*)'.* remote:'([^']*)'.*' \| (.*)$/websocketd: \1: \2: \3 from \4: \5/
t level
s/^[^|]*\| ([A-Z]+) *\| ([a-z]+) *\| url:'([^']*)'[^|]* \| (.*)$/websocketd: \1: \2: \3: \4/
t level
b
:level
s/^websocketd: (INFO|ACCESS):/websocketd: info:/
s/^websocketd: ERROR:/websocketd: error:/
s/^websocketd: FATAL:/websocketd: fatal:/
s/^websocketd: (DEBUG|TRACE):/websocketd: debug:/
s/^(websocketd: [a-z]+: [a-z]+: [^:]*[^ :]) +: /\1: /
EOF
rm -f "$run/log.fifo"
mkfifo -m 600 "$run/log.fifo" || die "unable to make $run/log.fifo"
sed -u -E -f "$run/log.sed" <"$run/log.fifo" >&2 9>&- &
logpid=$!
exec 8>"$run/log.fifo" || die "unable to open $run/log.fifo"

# What the handlers get (websocketd passes nothing else).
passenv=PATH,DEEPGRAM_API_KEY,DEEPGRAM_URL,DEEPGRAM_CA_FILE,CALLPIPE_DIR,CALLPIPE_SUBSCRIBER_BUFFER,TWILIO_AUTH_TOKEN,CALLPIPE_PUBLIC_URL,CALLPIPE_CLIENT_TOKEN,CALLPIPE_REDIS_URL,ASAN_OPTIONS,UBSAN_OPTIONS,LSAN_OPTIONS

# live_calls: number of live calls (subscribe lists calls whose live.lock is held).
live_calls() {
	_n=$(subscribe 2>/dev/null 8>&- 9>&- | wc -l) || _n=0
	printf '%s\n' "$((_n + 0))"
}

# --- websocketd ------------------------------------------------------------------------
wspid=
start_ws() {
	set -- --address="$host" --port="$port" --dir="$share/endpoints" \
		--cgidir="$run/cgi" --passenv="$passenv" --maxforks="$maxconn" \
		--closems="$closems" --loglevel="$loglevel"
	[ -d "$share/static" ] && set -- "$@" --staticdir="$share/static"
	[ "$scheme" = wss ] && set -- "$@" --ssl --sslcert="$cert" --sslkey="$key"
	# Own session: a terminal's ^C reaches pipeline.sh (which drains), not the calls.
	# env resets SIGINT, which sh leaves ignored in background jobs, so handlers get it.
	# websocketd logs on stdout: both its outputs go to the log filter.
	env --default-signal=INT,QUIT,PIPE,HUP setsid websocketd "$@" </dev/null >&8 2>&8 8>&- 9>&- &
	wspid=$!
	printf '%s\n' "$wspid" >"$run/websocketd.pid.tmp" && mv -f "$run/websocketd.pid.tmp" "$run/websocketd.pid"
	log info "websocketd pid $wspid: $scheme://$host:$port/twilio and /client, http${scheme#ws}://$host:$port/health"
}

stop=
trap 'stop=TERM' TERM
trap 'stop=INT' INT
trap 'stop=HUP' HUP

log info "starting: CALLPIPE_DIR=$dir, tools in $bindir, max $maxconn connections, drain ${drain}s"
backoff=1 starts=0
while [ -z "$stop" ]; do
	start_ws
	starts=$((starts + 1))
	t0=$(date +%s)
	[ -n "$stop" ] || wait "$wspid" # a signal during start_ws must not leave us waiting
	rc=$?
	[ -n "$stop" ] && break
	wspid=
	ran=$(($(date +%s) - t0))
	# websocketd refusing to start (address in use, no permission: it exits by itself at
	# once) is not going to improve by restarting it here: say so and exit 111.
	if [ "$starts" -eq 1 ] && [ "$rc" -lt 128 ] && [ "$ran" -le 2 ]; then
		rm -f "$run/websocketd.pid"
		exec 8>&-
		wait "$logpid" 2>/dev/null # its message first
		dietemp "websocketd could not start on $host:$port (status $rc; its message is above)"
	fi
	[ "$ran" -ge 30 ] && backoff=1
	log warning "websocketd exited with status $rc after ${ran}s; restarting in ${backoff}s"
	sleep "$backoff" &
	spid=$!
	wait "$spid"
	kill "$spid" 2>/dev/null
	wait "$spid" 2>/dev/null
	backoff=$((backoff * 2))
	[ "$backoff" -le 30 ] || backoff=30
done

# --- drain -----------------------------------------------------------------------------
: >"$run/draining"
n=$(live_calls)
log info "SIG$stop: draining: /health says 503, /twilio refuses new calls; waiting up to ${drain}s for $n live calls"
stop=
end=$(($(date +%s) + drain))
while [ "$n" -gt 0 ] && [ "$(date +%s)" -lt "$end" ] && [ -z "$stop" ]; do
	sleep 0.2
	n=$(live_calls)
done
[ "$n" -eq 0 ] || log warning "stopping with $n live calls; they flush and end on their own"
if [ -n "$wspid" ] && kill -TERM "$wspid" 2>/dev/null; then
	wait "$wspid" 2>/dev/null
fi
rm -f "$run/websocketd.pid"
# Calls cut short by the stop see end of input and flush their tail; wait for that, bounded.
if [ "$n" -gt 0 ]; then
	end=$(($(date +%s) + closems / 1000 + 5))
	while [ "$n" -gt 0 ] && [ "$(date +%s)" -lt "$end" ]; do
		sleep 0.2
		n=$(live_calls)
	done
fi
exec 8>&- # the log filter ends when websocketd's write ends are gone too
wait "$logpid" 2>/dev/null
rm -f "$run/log.fifo"
log info "stopped ($n live calls left)"
exit 0
