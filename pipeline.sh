#!/bin/sh
# pipeline.sh: callpipe's supervisor (see pipeline.sh(8)). A run script: check the
# configuration, prepare the state folder, run websocketd under a short restart loop,
# drain on SIGTERM/SIGINT. The log filter is its own program (logfilter). POSIX sh
# (dash); Linux (flock, setsid, setpriv, /proc).
set -u
umask 077
prog=pipeline.sh
usage='pipeline.sh [--help] (configured by the environment: see pipeline.sh(8))'

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

# setting NAME DEFAULT MIN MAX: check $NAME (or DEFAULT), export it normalised.
setting() {
	eval "_s=\${$1:-$2}"
	_s=$(number "$1" "$_s" "$3" "$4") || exit
	eval "$1=\$_s; export $1"
}

# plain NAME: $NAME, if set, must hold no white space or control characters.
plain() {
	eval "_s=\${$1:-}"
	case $_s in *[[:space:][:cntrl:]]*) die "$1 contains white space or control characters" ;; esac
}

# fsfail WHAT ERROR: a state-folder write failed: a full disk is temporary (111), a
# read-only one or a refusal is not (100).
fsfail() {
	case $2 in
	*'No space left'* | *'quota exceeded'* | *'Disk quota'*)
		dietemp "$1: the disk is full (${2##*: }): free some space" ;;
	*'Read-only file system'*)
		die "CALLPIPE_DIR '$dir' is on a read-only file system: give pipeline.sh a writable folder" ;;
	*) die "$1: ${2##*: }" ;;
	esac
}

# --- configuration (environment) -------------------------------------------------------
config_listen() {
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
	*[!0-9.]*) getent hosts "$host" >/dev/null 2>&1 ||
		die "PROXY_URL: unable to resolve host name '$host'" ;;
	esac
	port=$(number "the port of PROXY_URL" "$port" 1 65535) || exit
	cert=${CERT_PEM:-} key=${KEY_PEM:-} scheme=ws
	[ -z "$cert" ] && [ -z "$key" ] && return
	[ -n "$cert" ] || die "KEY_PEM is set but CERT_PEM is not: set both for TLS, or neither"
	[ -n "$key" ] || die "CERT_PEM is set but KEY_PEM is not: set both for TLS, or neither"
	[ -f "$cert" ] && [ -r "$cert" ] || die "CERT_PEM: unable to read certificate file '$cert'"
	[ -f "$key" ] && [ -r "$key" ] || die "KEY_PEM: unable to read key file '$key'"
	scheme=wss
}

config_deepgram() {
	[ -n "${DEEPGRAM_API_KEY:-}${DEEPGRAM_ACCESS_TOKEN:-}" ] ||
		die "DEEPGRAM_API_KEY is not set: export your Deepgram API key (console.deepgram.com) first"
	plain DEEPGRAM_API_KEY
	plain DEEPGRAM_ACCESS_TOKEN
	plain DEEPGRAM_URL
	case ${DEEPGRAM_URL:-} in
	'' | ws://?* | wss://?*) ;;
	*) die "DEEPGRAM_URL must start with ws:// or wss://, not '$DEEPGRAM_URL'" ;;
	esac
	plain DEEPGRAM_TLS_FRONT
	[ -z "${DEEPGRAM_TLS_FRONT:-}" ] || tls_front "$DEEPGRAM_TLS_FRONT"
}

# tls_front HOST:PORT: a shared TLS front for wss:// must be numeric loopback (the
# API key crosses it in clear): 127.x.y.z:port or [::1]:port.
tls_front() {
	_h=${1%:*} _p=${1##*:}
	_m="DEEPGRAM_TLS_FRONT must be 127.0.0.1:port or [::1]:port (a loopback address: the API key crosses it in clear), not '$1'"
	[ "$_h" != "$1" ] || die "$_m"
	case $_h in
	'[::1]') ;;
	127.*.*.*)
		_o=$_h.
		while [ -n "$_o" ]; do
			case ${_o%%.*} in '' | *[!0-9]* | ????*) die "$_m" ;; esac
			[ "${_o%%.*}" -le 255 ] || die "$_m"
			_o=${_o#*.}
		done
		case $_h in *.*.*.*.*) die "$_m" ;; esac ;;
	*) die "$_m" ;;
	esac
	case $_p in '' | *[!0-9]* | ??????*) die "$_m" ;; esac
	[ "$_p" -ge 1 ] && [ "$_p" -le 65535 ] || die "$_m"
}

config_limits() {
	maxconn=$(number CALLPIPE_MAX_CONNECTIONS "${CALLPIPE_MAX_CONNECTIONS:-512}" 1 100000) || exit
	drain=$(number CALLPIPE_DRAIN_SECONDS "${CALLPIPE_DRAIN_SECONDS:-60}" 0 86400) || exit
	closems=$(number CALLPIPE_CLOSE_MS "${CALLPIPE_CLOSE_MS:-15000}" 0 600000) || exit
	if [ -n "${CALLPIPE_SUBSCRIBER_BUFFER:-}" ]; then
		setting CALLPIPE_SUBSCRIBER_BUFFER '' 1024 1073741824
	fi
	setting CALLPIPE_MAX_SUBSCRIBERS 256 1 100000
	setting CALLPIPE_CALL_GRACE_SECONDS 5 0 3600
	setting CALLPIPE_HANDSHAKE_SECONDS 10 1 600
	setting CALLPIPE_MEDIA_TIMEOUT_SECONDS 60 1 86400
	setting CALLPIPE_RETAIN_DAYS 7 0 36500
	plain CALLPIPE_REDIS_URL
	case ${CALLPIPE_REDIS_URL:-redis://} in
	redis://* | rediss://* | unix:/*) ;;
	*) die "CALLPIPE_REDIS_URL must start with redis://, rediss:// or unix:/, not '$CALLPIPE_REDIS_URL'" ;;
	esac
	case ${CALLPIPE_BOT:-} in *[[:cntrl:]]*) die "CALLPIPE_BOT contains control characters" ;; esac
	# /client enforces its own limit: calls and /health always keep room in websocketd's
	maxforks=$((maxconn + CALLPIPE_MAX_SUBSCRIBERS + 16))
	loglevel=${CALLPIPE_LOGLEVEL:-info}
	case $loglevel in debug | trace | access | info | error | fatal) ;;
	*) die "CALLPIPE_LOGLEVEL must be one of debug, trace, access, info, error, fatal, not '$loglevel'" ;;
	esac
}

# Tools: $CALLPIPE_BIN, else bin/ next to this script (source tree), else this script's
# own folder (installed), else PATH. Endpoints: next to it, or ../share/callpipe.
config_tools() {
	here=$(cd "$(dirname "$0")" && pwd) || die "unable to find the folder of $0"
	if [ -n "${CALLPIPE_BIN:-}" ]; then bindir=$CALLPIPE_BIN
	elif [ -x "$here/bin/twilio-mix" ]; then bindir=$here/bin
	elif [ -x "$here/twilio-mix" ]; then bindir=$here
	else bindir=; fi
	if [ -n "$bindir" ]; then
		bindir=$(cd "$bindir" 2>/dev/null && pwd) || die "CALLPIPE_BIN: no such folder '$CALLPIPE_BIN'"
		PATH=$bindir:$PATH
	fi
	export PATH
	for t in twilio-mix transcribe deepgram-stream fanout subscribe logfilter; do
		command -v "$t" >/dev/null 2>&1 ||
			die "unable to find $t: build with make, or put the callpipe tools on PATH"
	done
	for t in websocketd flock setsid setpriv getent; do
		command -v "$t" >/dev/null 2>&1 || die "unable to find $t: install it (make deps)"
	done
	[ -n "$bindir" ] || bindir=$(dirname "$(command -v subscribe)")
	if [ -d "$here/endpoints" ]; then share=$here
	elif [ -d "$here/../share/callpipe/endpoints" ]; then share=$(cd "$here/../share/callpipe" && pwd)
	else die "unable to find the endpoints folder next to $0 or in $here/../share/callpipe"; fi
	for f in endpoints/twilio endpoints/client endpoints/agent cgi/health cgi/twiml; do
		[ -x "$share/$f" ] || die "missing or not executable: $share/$f"
	done
}

config_auth() {
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
	case $host in
	127.* | localhost | \[::1\]) ;;
	*) [ -n "${TWILIO_AUTH_TOKEN:-}" ] ||
		log warning "TWILIO_AUTH_TOKEN is unset and $host is not a loopback address: ANYONE can open /twilio and spend your Deepgram credit; set TWILIO_AUTH_TOKEN" ;;
	esac
}

# Talking back (/twiml, /agent): the bot command, a number to dial for listen-only
# calls, and <Parameter>s for the streams /twiml returns.
config_bot() {
	case ${CALLPIPE_BOT:-} in *[[:cntrl:]]*) die "CALLPIPE_BOT contains control characters" ;; esac
	case ${CALLPIPE_DIAL:-} in *[!+0-9A-Za-z@:._-]*) die "CALLPIPE_DIAL must be a phone number or SIP address, not '$CALLPIPE_DIAL'" ;; esac
	for _p in ${CALLPIPE_STREAM_PARAMS:-}; do
		case $_p in
		*=*=* | =* | *[!A-Za-z0-9._:=-]*) die "CALLPIPE_STREAM_PARAMS: want name=value words of letters, digits and . _ : -, not '$_p'" ;;
		*=*) ;;
		*) die "CALLPIPE_STREAM_PARAMS: want name=value words, not '$_p'" ;;
		esac
	done
}

# Several hosts sharing one Redis: the URL's form (never echoed: it may hold a password)
# and the tools that use it.
config_redis() {
	[ -n "${CALLPIPE_REDIS_URL:-}" ] || return 0
	case $CALLPIPE_REDIS_URL in
	*[[:space:][:cntrl:]]*) die "CALLPIPE_REDIS_URL contains white space or control characters" ;;
	redis://?* | unix:///?*) ;;
	*) die "CALLPIPE_REDIS_URL must be redis://[user:password@]host:port[/db] or unix:///path" ;;
	esac
	for _t in callpipe-publish callpipe-follow; do
		command -v "$_t" >/dev/null 2>&1 || die "unable to find $_t (CALLPIPE_REDIS_URL is set)"
	done
}

config() {
	config_listen
	config_deepgram
	config_limits
	config_tools
	config_auth
	config_bot
	config_redis
	dir=${CALLPIPE_DIR:-${XDG_STATE_HOME:-${HOME:-/nonexistent}/.local/state}/callpipe}
	case $dir in /*) ;; *) dir=$(pwd)/$dir ;; esac
	case $dir in *[[:cntrl:]]*) die "CALLPIPE_DIR contains control characters" ;; esac
}

# --- state folder ----------------------------------------------------------------------
# sweep: stale streams and calls marked ended, old ones removed (callstate when built;
# else a folder without `ended` whose live.lock nobody holds was left by a crash).
sweep() {
	if command -v callstate >/dev/null 2>&1; then
		callstate sweep 7>&- 8>&- 9>&- || log warning "callstate sweep failed (status $?)"
		return
	fi
	_n=0
	for _d in "$dir/calls"/CA*; do
		[ -d "$_d" ] || continue
		[ -e "$_d/ended" ] && continue
		if [ -e "$_d/live.lock" ] && ! flock -n "$_d/live.lock" true 7>&- 8>&- 9>&-; then continue; fi
		date -u +%Y-%m-%dT%H:%M:%SZ >"$_d/.ended.tmp" 2>/dev/null && mv -f "$_d/.ended.tmp" "$_d/ended" ||
			{ log warning "unable to mark stale call ${_d##*/} as ended"; continue; }
		_n=$((_n + 1))
	done
	[ "$_n" -eq 0 ] || log info "marked $_n stale calls as ended"
}

# takeover NAME: a process left by a pipeline.sh that was killed (its pid in
# run/NAME.pid, still running NAME) is stopped: we hold the lock, it serves no one.
takeover() {
	_p=$(cat "$run/$1.pid" 2>/dev/null) || return 0
	case $_p in '' | *[!0-9]*) return 0 ;; esac
	[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = "$1" ] || return 0
	log warning "stopping $1 pid $_p, left by a pipeline.sh that was killed"
	kill -TERM "$_p" 2>/dev/null
	_k=0
	while [ -e "/proc/$_p" ] && [ $_k -lt 50 ]; do sleep 0.1; _k=$((_k + 1)); done
	kill -KILL "$_p" 2>/dev/null
	return 0
}

state() {
	_e=$(mkdir -p "$dir" 2>&1) || fsfail "unable to create CALLPIPE_DIR '$dir'" "$_e"
	dir=$(cd "$dir" && pwd) || die "unable to enter CALLPIPE_DIR '$dir'"
	[ -O "$dir" ] || die "CALLPIPE_DIR '$dir' is owned by another user"
	[ -z "$(find "$dir" -maxdepth 0 -perm /022)" ] ||
		die "CALLPIPE_DIR '$dir' is writable by group or others: chmod go-w it"
	run=$dir/run
	_e=$(mkdir -p "$dir/calls" "$run" 2>&1) || fsfail "unable to create folders in '$dir'" "$_e"
	# 4 KiB written and removed: a full disk shows here, not halfway through
	_e=$(dd if=/dev/zero of="$run/.probe" bs=4096 count=1 2>&1) ||
		{ rm -f "$run/.probe"; fsfail "unable to write in '$run'" "${_e%%
*}"; }
	rm -f "$run/.probe"
	export CALLPIPE_DIR="$dir"
	exec 9>>"$run/pipeline.lock" || die "unable to open $run/pipeline.lock"
	flock -n 9 || dietemp "another pipeline.sh is running on $dir"
	takeover websocketd
	takeover logfilter
	sweep
	# CGI scripts get neither --passenv nor our PATH: /health finds its facts in
	# $run/health.conf, one folder above the CGI folder made here for this run.
	rm -rf "$run/cgi" "$run/draining"
	: >"$run/failures" || dietemp "unable to write $run/failures"
	mkdir "$run/cgi" && cp "$share/cgi/health" "$run/cgi/health" && chmod 0755 "$run/cgi/health" &&
		cp "$share/cgi/twiml" "$run/cgi/twiml" && chmod 0755 "$run/cgi/twiml" ||
		dietemp "unable to prepare $run/cgi"
	# /twiml's settings, the auth token among them: mode 600 (umask 077), this user only.
	printf 'dir=%s\npublic=%s\ntoken=%s\nbot=%s\ndial=%s\nparams=%s\n' "$dir" \
		"${CALLPIPE_PUBLIC_URL:-}" "${TWILIO_AUTH_TOKEN:-}" \
		"$([ -n "${CALLPIPE_BOT:-}" ] && echo 1)" "${CALLPIPE_DIAL:-}" \
		"${CALLPIPE_STREAM_PARAMS:-}" >"$run/twiml.conf.tmp" &&
		mv -f "$run/twiml.conf.tmp" "$run/twiml.conf" ||
		dietemp "unable to write $run/twiml.conf"
	printf 'dir=%s\nbin=%s\nstarted=%s\npid=%s\ngrace=%s\n' "$dir" "$bindir" \
		"$(date +%s)" "$$" "${CALLPIPE_CALL_GRACE_SECONDS:-}" \
		>"$run/health.conf.tmp" && mv -f "$run/health.conf.tmp" "$run/health.conf" ||
		dietemp "unable to write $run/health.conf"
}

# One log on stderr: logfilter reads websocketd's output (log.fifo) and the calls'
# processes' stderr (calls.fifo, opened by endpoints/twilio). We hold both open (read-
# write: never blocks) until the end; the filter ends when every writer is gone.
start_log() {
	rm -f "$run/log.fifo" "$run/calls.fifo"
	mkfifo -m 600 "$run/log.fifo" "$run/calls.fifo" || dietemp "unable to make the log FIFOs in $run"
	logfilter -w "$run/log.fifo" -c "$run/calls.fifo" 7>&- 9>&- &
	logpid=$!
	exec 8<>"$run/log.fifo" 7<>"$run/calls.fifo" || dietemp "unable to open the log FIFOs"
	printf '%s\n' "$logpid" >"$run/logfilter.pid"
}

stop_log() {
	exec 7>&- 8>&-
	_k=0 # calls still flushing hold calls.fifo: bounded
	while ! gone "$logpid" && [ $_k -lt 100 ]; do sleep 0.1; _k=$((_k + 1)); done
	kill -TERM "$logpid" 2>/dev/null
	wait "$logpid" 2>/dev/null
}

# gone PID: it has exited (a zombie counts as gone)
gone() { [ ! -e "/proc/$1" ] || grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null; }

# --- websocketd ------------------------------------------------------------------------
# listening: websocketd ($wspid) holds a socket listening on $port.
listening() {
	_h=$(printf '%04X' "$port")
	_i=$(ls -l "/proc/$wspid/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]$/\1/p')
	[ -n "$_i" ] || return 1
	awk -v p=":$_h" -v i=" $(echo $_i) " '$4 == "0A" && substr($2, length($2) - 4) == p &&
		index(i, " " $10 " ") { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}

start_ws() {
	set -- --address="$host" --port="$port" --dir="$share/endpoints" \
		--cgidir="$run/cgi" --passenv="$passenv" --maxforks="$maxforks" \
		--closems="$closems" --loglevel="$loglevel"
	[ -d "$share/static" ] && set -- "$@" --staticdir="$share/static"
	[ "$scheme" = wss ] && set -- "$@" --ssl --sslcert="$cert" --sslkey="$key"
	# Own session: a terminal's ^C reaches pipeline.sh (which drains), not the calls.
	# env resets SIGINT, which sh leaves ignored in background jobs, so handlers get it.
	# setpriv: websocketd gets SIGTERM if pipeline.sh dies (kill -9 included), so a
	# restarted pipeline.sh finds its port free. Both its outputs go to the log filter.
	env --default-signal=INT,QUIT,PIPE,HUP setpriv --pdeathsig TERM setsid websocketd "$@" \
		</dev/null >&8 2>&8 7>&- 8>&- 9>&- &
	wspid=$!
	printf '%s\n' "$wspid" >"$run/websocketd.pid.tmp" && mv -f "$run/websocketd.pid.tmp" "$run/websocketd.pid"
	_k=0
	while ! listening; do
		gone "$wspid" && return 1
		[ -z "$stop" ] || return 0
		[ $_k -lt 100 ] || break # 10 s: log anyway, it may still come up
		sleep 0.1
		_k=$((_k + 1))
	done
	[ "$starts" -gt 0 ] || log info "starting: CALLPIPE_DIR=$dir, tools in $bindir, max $maxconn calls and $CALLPIPE_MAX_SUBSCRIBERS subscribers, drain ${drain}s"
	log info "websocketd pid $wspid: $scheme://$host:$port/twilio and /client, http${scheme#ws}://$host:$port/health"
}

# pause SECONDS: a sleep that a signal cuts short
pause() {
	sleep "$1" 7>&- 8>&- 9>&- &
	_sp=$!
	wait "$_sp"
	kill "$_sp" 2>/dev/null
	wait "$_sp" 2>/dev/null
}

# ticker: SIGUSR1 to us every 10 s (see ontick); it dies with us (setpriv).
ticker() {
	setpriv --pdeathsig TERM sh -c 'while setpriv --pdeathsig TERM sleep 10; do
		kill -USR1 "$0" || exit 0; done' "$$" </dev/null 7>&- 8>&- 9>&- &
	tickpid=$!
}

# ontick: a log filter that died is started again (the calls' processes would
# block on a full calls.fifo); the sweep, hourly.
ontick() {
	tick=
	if gone "$logpid"; then
		wait "$logpid" 2>/dev/null
		log warning "the log filter (pid $logpid) died; starting it again"
		logfilter -w "$run/log.fifo" -c "$run/calls.fifo" 7>&- 8>&- 9>&- &
		logpid=$!
		printf '%s\n' "$logpid" >"$run/logfilter.pid"
	fi
	ticks=$((ticks + 1))
	[ "$ticks" -lt 360 ] && return
	ticks=0
	sweep
}

# serve: websocketd, restarted with backoff when it dies; ontick every 10 s.
serve() {
	passenv=PATH,DEEPGRAM_API_KEY,DEEPGRAM_ACCESS_TOKEN,DEEPGRAM_URL,DEEPGRAM_CA_FILE,DEEPGRAM_TLS_FRONT,CALLPIPE_DIR,CALLPIPE_SUBSCRIBER_BUFFER,TWILIO_AUTH_TOKEN,CALLPIPE_PUBLIC_URL,CALLPIPE_CLIENT_TOKEN,CALLPIPE_MAX_SUBSCRIBERS,CALLPIPE_CALL_GRACE_SECONDS,CALLPIPE_HANDSHAKE_SECONDS,CALLPIPE_MEDIA_TIMEOUT_SECONDS,CALLPIPE_RETAIN_DAYS,CALLPIPE_REDIS_URL,CALLPIPE_BOT,ASAN_OPTIONS,UBSAN_OPTIONS,LSAN_OPTIONS
	backoff=1 starts=0
	while [ -z "$stop" ]; do
		up=1
		start_ws || up=0
		starts=$((starts + 1))
		t0=$(date +%s)
		while [ -z "$stop" ]; do # a signal cuts wait short: stop, tick, sweep
			wait "$wspid"
			rc=$?
			[ -z "$stop" ] && [ -n "$tick$sweepnow" ] || break
			[ -z "$sweepnow" ] || { sweepnow=; sweep; }
			[ -z "$tick" ] || ontick
		done
		[ -n "$stop" ] && break
		wspid=
		ran=$(($(date +%s) - t0))
		# websocketd refusing to start (address in use, no permission: it exits at
		# once with status 3 after its one fatal line) will not improve here: 111.
		if [ "$starts" -eq 1 ] && [ "$up" -eq 0 ]; then
			rm -f "$run/websocketd.pid"
			stop_log
			[ "$rc" -eq 3 ] && exit 111
			dietemp "websocketd could not start on $host:$port (status $rc)"
		fi
		[ "$ran" -ge 30 ] && backoff=1
		log warning "websocketd exited with status $rc after ${ran}s; restarting in ${backoff}s"
		pause "$backoff"
		backoff=$((backoff * 2))
		[ "$backoff" -le 30 ] || backoff=30
	done
}

# --- drain -----------------------------------------------------------------------------
# live_calls: number of live calls (subscribe lists calls whose live.lock is held).
live_calls() {
	_n=$(subscribe 2>/dev/null 7>&- 8>&- 9>&- | wc -l) || _n=0
	printf '%s\n' "$((_n + 0))"
}

# waitcalls SECONDS: wait (bounded) until no call is live; sets n
waitcalls() {
	_end=$(($(date +%s) + $1))
	while [ "$n" -gt 0 ] && [ "$(date +%s)" -lt "$_end" ] && [ -z "$stop" ]; do
		sleep 0.2
		n=$(live_calls)
	done
}

drain() {
	: >"$run/draining"
	n=$(live_calls)
	log info "SIG$stop: draining: /health says 503, /twilio refuses new calls; waiting up to ${drain}s for $n live calls"
	stop=
	waitcalls "$drain"
	[ "$n" -eq 0 ] || log warning "stopping with $n live calls; they flush and end on their own"
	if [ -n "$wspid" ] && kill -TERM "$wspid" 2>/dev/null; then
		wait "$wspid" 2>/dev/null
	fi
	# Calls cut short by the stop see end of input and flush their tail: bounded.
	[ "$n" -eq 0 ] || waitcalls $((closems / 1000 + 5))
	kill -TERM "$tickpid" 2>/dev/null
	stop_log
	rm -rf "$run/draining" "$run/websocketd.pid" "$run/logfilter.pid" "$run/log.fifo" \
		"$run/calls.fifo" "$run/cgi" "$run/health.conf" "$run/failures" \
		"$run/twiml.conf"
	log info "stopped ($n live calls left)"
}

case $# in
0) ;;
1) [ "$1" = --help ] && { printf 'usage: %s\n' "$usage"; exit 0; } ;;
esac
[ $# -eq 0 ] || { printf '%s: usage: %s\n' "$prog" "$usage" >&2; exit 100; }
config
state
stop= wspid=
trap 'stop=TERM' TERM
trap 'stop=INT' INT
trap 'stop=HUP' HUP
trap 'tick=1' USR1
trap 'sweepnow=1' USR2
tick= ticks=0 sweepnow=
start_log
ticker
serve
drain
exit 0
