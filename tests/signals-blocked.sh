# signals-blocked: tools started with their signals blocked (a parent may hand a blocked
# mask down through exec; websocketd's Go runtime has been seen to, and CI then saw a
# /twilio connection with no start event held open past CALLPIPE_HANDSHAKE_SECONDS)
# unblock the signals they rely on: twilio-mix's start timeout (SIGALRM) still closes,
# and SIGTERM still ends fanout, subscribe, transcribe and callpipe-follow cleanly.
. "$TOP/tests/bin/redis-lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CAfedcba9876543210fedcba9876543210
gone() { ! kill -0 "$1" 2>/dev/null; }
# term PID: SIGTERM, then up to 5 s for it to go (SIGKILL after, so a failure cannot hang)
term() { kill -TERM "$1"; rc waitfor 5 gone "$1"; gone "$1" || kill -KILL "$1"; }
# catches PID SIG: PID has a handler for signal SIG
catches() { [ $(( 0x$(awk '/^SigCgt/ { print $2 }' "/proc/$1/status") >> ($2 - 1) & 1 )) = 1 ]; }
blockedmask() { awk '/^SigBlk/ { print $2 }' "/proc/$1/status"; }
attached() { ls "$CALLPIPE_DIR/calls/$SID/streams/1."*/subscribers 2>/dev/null | grep -q "^subscribe\.$1\."; }

case_ "twilio-mix: no start event within 1 s, input held open"
mkfifo in
sigblocked twilio-mix -T 1 <in >out.wav 2>mix.err & MP=$!
exec 3>in
rc waitfor 10 gone $MP
exec 3>&- # (a twilio-mix that missed the deadline ends here, at EOF)
wait $MP; echo "twilio-mix ? $?"
cat mix.err

case_ "fanout and subscribe: SIGTERM"
mkfifo fin
sigblocked fanout -c $SID <fin 2>fanout.err & FP=$!
exec 4>fin
echo '{"n":1}' >&4
rc waitfor 5 test -d "$CALLPIPE_DIR/calls/$SID"
sigblocked subscribe $SID >sub.out 2>sub.err 4>&- & SP=$!
rc waitfor 5 attached $SP
echo "subscribe's blocked mask: $(blockedmask $SP)"
term $SP
wait $SP; echo "subscribe ? $?"
cat sub.out
term $FP
wait $FP; echo "fanout ? $?"
grep -c 'got signal 15' fanout.err
exec 4>&-

case_ "callpipe-follow (waiting for a call in Redis): SIGTERM"
start_redis
CALLPIPE_REDIS_URL=$REDIS_URL sigblocked callpipe-follow -w 30 CA$(printf '%032x' 7) >fol.out 2>fol.err & CP=$!
rc waitfor 5 catches $CP 15
term $CP
wait $CP; echo "callpipe-follow ? $?"
tail -n 1 fol.out
