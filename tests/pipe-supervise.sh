# pipe-supervise: pipeline.sh as a run script (issue 14, issue 9): --help; the new
# settings checked (exit 100, one line); an unresolvable PROXY_URL host is a
# configuration error (100); a full disk is temporary (111) and a read-only state
# folder one clear fatal line (100); after kill -9 of pipeline.sh its websocketd and
# log filter end too, and a restart on the same port and folder serves; the
# periodic sweep; a clean stop leaves nothing in run/ but the lock.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

norm() { sed -e "s|$WORK|WORK|g" -e "s|$TOP|TOP|g"; }

case_ "--help"
sh "$TOP/pipeline.sh" --help; echo "? $?"
sh "$TOP/pipeline.sh" --bogus 2>&1; echo "? $?"

case_ "new settings are checked"
pl CALLPIPE_MAX_SUBSCRIBERS=0
pl CALLPIPE_HANDSHAKE_SECONDS=soon
pl CALLPIPE_MEDIA_TIMEOUT_SECONDS=0
pl CALLPIPE_CALL_GRACE_SECONDS=-1
pl CALLPIPE_RETAIN_DAYS=7d
pl CALLPIPE_REDIS_URL=http://127.0.0.1:6379
pl DEEPGRAM_ACCESS_TOKEN="a b"
pl DEEPGRAM_API_KEY= DEEPGRAM_ACCESS_TOKEN=
echo "state folders made: $(ls -d "$WORK/cfg" 2>/dev/null | wc -l)"

case_ "a host name that does not resolve (no network here) is a configuration error"
unshare -n env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/cfg" DEEPGRAM_API_KEY=testkey \
	PROXY_URL=no-such-host.example:5000 sh "$TOP/pipeline.sh" 2>&1
echo "? $?"

case_ "a full disk is temporary, a read-only one a clear fatal line"
mkdir full ro
unshare -m sh -c '
	mount -t tmpfs -o size=64k tmpfs full || exit 9
	head -c 1000000 /dev/zero >full/filler 2>/dev/null
	env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/full/state" DEEPGRAM_API_KEY=testkey \
		PROXY_URL=127.0.0.1:1 sh "$TOP/pipeline.sh"' >out.txt 2>&1
echo "? $?"
norm <out.txt
mkdir -m 700 ro/state
unshare -m sh -c '
	mount --bind ro ro && mount -o remount,ro,bind ro || exit 9
	env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/ro/state" DEEPGRAM_API_KEY=testkey \
		PROXY_URL=127.0.0.1:1 sh "$TOP/pipeline.sh"' >out.txt 2>&1
echo "? $?"
norm <out.txt

case_ "kill -9 of pipeline.sh: websocketd and the log filter end too"
start_standin
start_pipeline
W=$(cat "$STATE/run/websocketd.pid") LF=$(cat "$STATE/run/logfilter.pid")
echo "websocketd: $(cat /proc/$W/comm), filter: $(cat /proc/$LF/comm)"
KIDS=$(cat /proc/"$PLPID"/task/*/children)
[ "$(echo $KIDS | wc -w)" -ge 3 ] && echo "pipeline.sh has its children (websocketd, filter, ticker)"
kill -KILL "$PLPID"
wait "$PLPID" 2>/dev/null
PLPID=
waitfor 10 gone "$W" && echo "websocketd ended"
waitfor 10 gone "$LF" && echo "the log filter ended"
allgone() { for _k in $KIDS; do gone "$_k" || return 1; done; }
waitfor 10 allgone && echo "every child of pipeline.sh ended"

case_ "a restart on the same port and folder serves"
CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE DEEPGRAM_API_KEY=testkey \
	DEEPGRAM_URL="ws://127.0.0.1:$SPORT/v1/listen?interim_results=false&vad_events=false" \
	PROXY_URL=127.0.0.1:$PORT sh "$TOP/pipeline.sh" 2>>"$WORK/pipeline2.log" &
PLPID=$!
waitfor 15 curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" && echo "serving again"
grep -c 'address already in use' "$WORK/pipeline2.log"
S=$(sid 95)
fake-capture -c "$S" -s 1 >call.jsonl
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err
echo "twilio-replay exit $?"
waitfor 10 ended "$S" && summary "$(streamdir "$S")/log.jsonl"

case_ "a sweep (hourly, or on SIGUSR2) marks a stale call ended, and serving goes on"
T=$(sid 96)
# a crashed stream (src/lib/calldir.h) of a minute ago: lock file, nobody holds it
TD=$STATE/calls/$T/streams/1.$(($(date +%s) - 60))000.-
mkdir -p -m 700 "$TD/subscribers"
chmod 700 "$STATE/calls/$T" "$STATE/calls/$T/streams"
: >"$TD/live.lock"
touch -d '1 minute ago' "$TD/live.lock" "$TD"
kill -USR2 "$PLPID"
waitfor 10 test -e "$TD/ended" && echo "the stale call is marked ended: $(cat "$TD/ended")"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$PORT/health"
gone "$PLPID" || echo "pipeline.sh still runs"

case_ "a log filter that dies is started again (every 10 s, or on SIGUSR1)"
LF=$(cat "$STATE/run/logfilter.pid")
kill -KILL "$LF"
kill -USR1 "$PLPID"
newfilter() { [ "$(cat "$STATE/run/logfilter.pid")" != "$LF" ]; }
waitfor 10 newfilter && echo "a new log filter runs: $(cat /proc/"$(cat "$STATE/run/logfilter.pid")"/comm)"
fake-capture -c "$(sid 97)" -s 1 >call97.jsonl
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call97.jsonl 2>replay97.err
waitfor 10 ended "$(sid 97)"
logged() { grep -q "fanout: info: $(sid 97)" "$WORK/pipeline2.log"; }
waitfor 10 logged && echo "the call's lines reach the log"
grep -o 'pipeline.sh: warning: the log filter (pid [0-9]*) died; starting it again' "$WORK/pipeline2.log" | sed 's/pid [0-9]*/pid N/'

case_ "SIGTERM while websocketd comes up still stops it"
stop_pipeline
PORT=$(freeport)
CALLPIPE_BIN=$BIN CALLPIPE_DIR=$STATE DEEPGRAM_API_KEY=testkey PROXY_URL=127.0.0.1:$PORT \
	sh "$TOP/pipeline.sh" 2>>"$WORK/pipeline3.log" &
PLPID=$!
waitfor 10 test -e "$STATE/run/websocketd.pid"
kill -TERM "$PLPID"
case_ "a clean stop leaves only the lock in run/"
stop_pipeline
ls "$STATE/run"
