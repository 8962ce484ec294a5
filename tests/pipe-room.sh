# pipe-room: subscribers never keep calls out (issue 9, section 4): websocketd's
# --maxforks is CALLPIPE_MAX_CONNECTIONS + CALLPIPE_MAX_SUBSCRIBERS + 16, so with 2
# calls and 2 subscribers allowed, 10 idle /client sockets (more than the subscriber
# limit; /client itself may answer some of them "busy") leave room: a Twilio call
# still connects and is transcribed, and /health answers 200 throughout.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

export CALLPIPE_MAX_CONNECTIONS=2 CALLPIPE_MAX_SUBSCRIBERS=2 CALLPIPE_HANDSHAKE_SECONDS=60
start_standin
start_pipeline
S=$(sid 51)
fake-capture -c "$S" -s 2 >call.jsonl

case_ "10 idle /client sockets"
cps=
for i in $(seq 1 10); do
	ws-client -t 30 "ws://127.0.0.1:$PORT/client" >idle$i.out 2>&1 &
	cps="$cps $!"
done
answered() { for _i in $(seq 1 10); do [ -s "idle$_i.out" ] || return 1; done; }
waitfor 20 answered && echo "every idle socket got its first message"
health

case_ "a call still connects and is transcribed"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err; echo "twilio-replay exit $?"
waitfor 10 ended "$S" && summary "$(streamdir "$S")/log.jsonl"
health
for p in $cps; do kill "$p" 2>/dev/null; waitexit 5 "$p" >/dev/null; done
echo "idle sockets closed"
