# pipe-restart: a stage that dies mid-call is a failure, not the end of the call
# (issue 9, section 5). kill -9 of a replayed call's deepgram-stream: transcribe logs it,
# starts a new Deepgram session on the same stream, its finals continue after the kill
# with times that keep increasing on the stream's timeline, and the subscriber (still
# attached) gets a callpipe.error (not fatal) and a callpipe.gap naming the lost span;
# /health says degraded and counts the restart. kill -9 of fanout: restarted for the
# same stream, it gets again what the dead one never read, the transcript log goes on.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
# fanout is stopped for a while before its kill: the grace must outlast that, else the
# restarted fanout finds the call ended and starts a new stream (calldir.h)
CALLPIPE_CALL_GRACE_SECONDS=5

start_standin
start_pipeline
S=$(sid 81) F=$(sid 82)
fake-capture -c "$S" -s 8 >call.jsonl
fake-capture -c "$F" -s 8 >call2.jsonl
# stageproc SID NAME: the pid of the call's process NAME (its comm)
stageproc() {
	for _p in $(callprocs "$1"); do
		[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = "$2" ] && echo "$_p" && return 0
	done
	return 1
}

case_ "kill -9 of deepgram-stream mid-call"
replay_sub "$S" call.jsonl
waitfor 15 haslines "$S" 4 || echo "no finals before the kill"
D=$(stageproc "$S" deepgram-stream) || echo "no deepgram-stream"
kill -KILL "$D"
echo "killed deepgram-stream after $(calllog "$S" | jq -r 'select(.type == "Results")' | jq -s 'length >= 4') finals"
waitexit 30 "$RP"
echo "twilio-replay exit $?"
waitfor 20 ended "$S" && echo "the call ended"
waitexit 10 "$SP"
echo "subscribe exit $?"
L=$WORK/$S.log
calllog "$S" >"$L"
sed '$d' sub.out >sub.msgs
same sub.msgs "$L"
tail -n 1 sub.out
echo "in-band lines:"
jq -c 'select(.type | startswith("callpipe.")) | {type, fatal, reason, error}' sub.msgs |
	sed -E 's/"error":"[^"]*"/"error":"E"/; s/"reason":"[^"]*"/"reason":"R"/'
jq -r 'select(.type == "callpipe.error") | .error' sub.msgs | grep -c 'deepgram-stream killed by signal 9'
gs=$(jq -r 'select(.type == "callpipe.gap") | .start' sub.out)
ge=$(jq -r 'select(.type == "callpipe.gap") | .end' sub.out)
jq -rn --argjson s "$gs" --argjson e "$ge" 'if $s <= $e and $e < 8 then "gap within the call" else "bad gap \($s) \($e)" end'
# finals of each channel: start times strictly increase, and some come after the gap
for ch in 0 1; do
	jq -r --argjson c $ch 'select(.type == "Results" and .is_final and .channel_index[0] == $c) | .start' "$L" >starts$ch
	sort -g -c -u starts$ch 2>/dev/null && echo "channel $ch: final times increase" || { echo "channel $ch: not increasing"; cat starts$ch; }
	echo "channel $ch: finals after the gap: $(awk -v e="$ge" '$1 >= e' starts$ch | wc -l | awk '{ print ($1 >= 2) ? "yes" : "no (" $1 ")" }')"
done
jq -r 'select(.type == "Metadata") | "Metadata"' "$L" | uniq -c | awk '{ print $2, ($1 >= 1) ? "at the end" : "" }'
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"
grep -o "transcribe: warning: call $S stream MZ[0-9a-f]*: deepgram-stream killed by signal 9 mid-call; restarting it" \
	"$WORK/pipeline.log" | sed "s/$S/CALL/; s/MZ[0-9a-f]*/MZ/"
grep -o "transcribe: info: call $S stream MZ[0-9a-f]*: transcription restarted at" "$WORK/pipeline.log" | sed "s/$S/CALL/; s/MZ[0-9a-f]*/MZ/"
health | sed -E 's/"last_error_at":"[0-9T:Z-]+"/"last_error_at":"T"/'

case_ "kill -9 of fanout mid-call"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call2.jsonl 2>replay2.err &
RP=$!
waitfor 10 live "$F" || echo "call did not start"
waitfor 15 haslines "$F" 4 || echo "no finals before the kill"
O=$(stageproc "$F" fanout) || echo "no fanout"
# stopped first, so that finals wait in its pipe when it is killed
kill -STOP "$O"
audio() { jq -r 'select(.ev == "audio") | .conn' "$WORK/standin.log" | wc -l; }
moreaudio() { [ "$(audio)" -ge "$1" ]; }
waitfor 10 moreaudio $(($(audio) + 75)) || echo "no audio while fanout was stopped"
kill -KILL "$O"
waitexit 30 "$RP"
echo "twilio-replay exit $?"
waitfor 20 ended "$F" && echo "the call ended"
L=$WORK/$F.log
calllog "$F" >"$L"
# what fanout never read was in its pipe: sent again to the new one, so every
# final is there exactly once
for ch in 0 1; do
	echo "channel $ch finals: $(jq -r --argjson c $ch 'select(.type == "Results" and .is_final and .channel_index[0] == $c) | .start' "$L" | tr '\n' ' ')"
done
jq -c 'select(.type == "callpipe.error") | {type, fatal}' "$L"
tail -n 1 "$L" | jq -r .type
grep -o "transcribe: warning: call $F stream MZ[0-9a-f]*: fanout killed by signal 9 mid-call; restarting it" \
	"$WORK/pipeline.log" | sed "s/$F/CALL/; s/MZ[0-9a-f]*/MZ/"
health | sed -E 's/"last_error_at":"[0-9T:Z-]+"/"last_error_at":"T"/'
waitfor 10 noprocs && echo "no call processes left"
