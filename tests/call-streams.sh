# call-streams: several streams on one call (issue 9, 1). Two concurrent streams (one per
# track, each its own StreamSid) get their own pipelines and Deepgram sessions; every
# subscriber to the CallSid (ours, npm ws, subscribe) gets the messages of both, each
# annotated with its stream, StreamSid, tracks and offset, then one end line. A later
# stream inside the grace keeps subscribers attached across the gap; a stream after the
# call ended is a new stream that leaves the earlier ones' data alone; history=1 of an
# ended call replays every stream; callstate sweep removes ended calls.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

export CALLPIPE_CALL_GRACE_SECONDS=4
start_standin
start_pipeline
S=$(sid 101)
B=MZ000000000000000000000000000000bb
C=MZ000000000000000000000000000000cc
fake-capture -c "$S" -s 3 -t inbound -r a >a.jsonl
fake-capture -c "$S" -s 3 -t inbound -r b | sed -E "s/\"streamSid\":\"MZ[0-9a-f]{32}\"/\"streamSid\":\"$B\"/g; s/inbound/outbound/g" >b.jsonl
fake-capture -c "$S" -s 2 -t inbound -r c | sed -E "s/\"streamSid\":\"MZ[0-9a-f]{32}\"/\"streamSid\":\"$C\"/g" >c.jsonl
U="ws://127.0.0.1:$PORT/client"
nstreams() { ls "$(calldir "$S")/streams" 2>/dev/null | wc -l; }
hasstreams() { [ "$(nstreams)" -ge "$1" ]; }
streamlive() { [ -e "$(streamdir "$S" "$1")/live.lock" ] && ! flock -n "$(streamdir "$S" "$1")/live.lock" true; }
# which: per message, "B" or "A" (its StreamSid) and its tracks, counted
which() {
	jq -r 'select(.callpipe) | "\(if .callpipe.stream_sid == "'$B'" then "B" elif .callpipe.stream_sid == "'$C'" then "C" else "A" end) \(.callpipe.tracks | join(",")) \(.type)"' "$1" |
		sort | uniq -c | sed 's/^ *//'
}

case_ "two concurrent streams of one call, subscribers attached before the call"
ws-client -c -t 60 "$U?callsid=$S&wait=20" >ws.out 2>ws.err &
WP=$!
ws-node "$U?callsid=$S&wait=20" 60 >node.out 2>node.err &
NP=$!
subscribe -w 20 "$S" >sub.out 2>sub.err &
SP=$!
waitfor 10 test -s ws.out && waitfor 10 test -s node.out || echo "subscribers did not connect"
twilio-replay -s 2 "ws://127.0.0.1:$PORT/twilio" <a.jsonl 2>a.err &
RA=$!
twilio-replay -s 2 "ws://127.0.0.1:$PORT/twilio" <b.jsonl 2>b.err &
RB=$!
waitfor 20 hasstreams 2 || echo "the second stream has no folder"
hold "$RA"
hold "$RB"
waitfor 10 streamlive 1 && waitfor 10 streamlive 2 && echo "both streams live at once"
subscribe | grep "^$S " | sed 's/ [0-9T:Z-]* / TIME /'
release "$RA" "$S" 6
kill -CONT "$RB"
waitexit 30 "$RA"; echo "replay A exit $?"
waitexit 30 "$RB"; echo "replay B exit $?"
waitexit 30 "$WP"; echo "ws-client exit $?"
waitexit 30 "$NP"; echo "ws-node exit $?"
waitexit 30 "$SP"; echo "subscribe exit $?"
ended "$S" && echo "the call ended"

case_ "each stream its own data and Deepgram session; every subscriber got both"
ls "$(calldir "$S")/streams" | sed -E 's/^[0-9]+\.[0-9]+\./N.MS./' | sort
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"
calllog "$S" >both.log
which both.log
sort both.log >both.sorted
sed '$d' sub.out | sort | cmp -s - both.sorted && echo "subscribe: every message of both streams"
tail -n 1 sub.out
sed '1d' ws.out | sed '$d' | sed '$d' | sort | cmp -s - both.sorted && echo "ws-client: every message of both streams"
tail -n 2 ws.out
sed '1d' node.out | sed '$d' | sed '$d' | sort | cmp -s - both.sorted && echo "npm ws: every message of both streams"
tail -n 2 node.out
# one timeline: offset is the stream's start after the call's first start
jq -r 'select(.callpipe) | "\(.callpipe.stream) \(.callpipe.offset >= 0 and .callpipe.offset < 5)"' both.log | sort -u
jq -r 'select(.callpipe.stream == 1) | .callpipe.offset' both.log | sort -u
# Deepgram's own fields are untouched: the stand-in's messages with callpipe removed
jq -c 'del(.callpipe) | keys' both.log | sort -u | head -n 3

case_ "a second stream after a gap inside the grace: subscribers stay attached"
ws-client -c -t 60 "$U?callsid=$(sid 102)&wait=20" >gap.out 2>gap.err &
GP=$!
waitfor 10 test -s gap.out || echo "subscriber did not connect"
sed "s/$S/$(sid 102)/g" a.jsonl >a2.jsonl
sed "s/$S/$(sid 102)/g" c.jsonl >c2.jsonl
twilio-replay -f "ws://127.0.0.1:$PORT/twilio" <a2.jsonl 2>a2.err
echo "replay 1 exit $?"
S2=$(sid 102)
firstended() { [ -e "$(streamdir "$S2" 1)/ended" ]; }
waitfor 20 firstended && echo "stream 1 ended"
live "$S2" && echo "the call is still live (grace)"
gone "$GP" || echo "the subscriber is still attached"
twilio-replay -f "ws://127.0.0.1:$PORT/twilio" <c2.jsonl 2>c2.err
echo "replay 2 exit $?"
waitexit 30 "$GP"; echo "ws-client exit $?"
calllog "$S2" | sort >gap.sorted
sed '1d' gap.out | sed '$d' | sed '$d' | sort | cmp -s - gap.sorted && echo "one subscriber got both streams"
sed '1d' gap.out | sed '$d' | sed '$d' | jq -r '.callpipe.stream' | uniq -c | sed 's/^ *//'
tail -n 2 gap.out

case_ "a stream after the call ended is a new stream; earlier data untouched"
h1=$(hexsum "$(streamdir "$S" 1)/log.jsonl")
h2=$(hexsum "$(streamdir "$S" 2)/log.jsonl")
m1=$(ls -l --time-style=+%s.%N "$(streamdir "$S" 1)/ended" | cut -d' ' -f6)
twilio-replay -f "ws://127.0.0.1:$PORT/twilio" <a.jsonl 2>a3.err
echo "replay exit $?"
waitfor 20 hasstreams 3 && waitfor 20 ended "$S" && echo "the call ended again"
ls "$(calldir "$S")/streams" | sed -E 's/^[0-9]+\.[0-9]+\./N.MS./' | sort
ls "$(calldir "$S")/streams" | grep -c '^3\.[0-9]*\.MZ7d'
[ "$h1" = "$(hexsum "$(streamdir "$S" 1)/log.jsonl")" ] && [ "$h2" = "$(hexsum "$(streamdir "$S" 2)/log.jsonl")" ] &&
	echo "streams 1 and 2: logs unchanged"
[ "$m1" = "$(ls -l --time-style=+%s.%N "$(streamdir "$S" 1)/ended" | cut -d' ' -f6)" ] && echo "stream 1: ended mark unchanged"
cmp -s "$(streamdir "$S" 1)/log.jsonl" "$(streamdir "$S" 3)/log.jsonl" || echo "stream 3 has its own log"
jq -r '.callpipe.stream' "$(streamdir "$S" 3)/log.jsonl" | sort -u

case_ "history=1 of the ended call: every stream, then call-ended; the calls list"
ws-client -c -t 20 "$U?callsid=$S&history=1" >hist.out
head -n 1 hist.out | jq -c '[(.calls | length), (.ended | map(select(.callSid == "'$S'")) | .[0].streams)]'
calllog "$S" | sort >all.sorted
sed '1d' hist.out | sed '$d' | sed '$d' | sort | cmp -s - all.sorted && echo "history: every message of the three streams"
tail -n 2 hist.out
subscribe -H "$S" | tail -n 1

case_ "callstate sweep removes ended calls older than the retention"
callstate sweep; echo "sweep ? $?"
[ -d "$(calldir "$S")" ] && echo "kept (7 days)"
callstate sweep -r 0; echo "sweep -r 0 ? $?"
[ -d "$(calldir "$S")" ] || echo "removed"
ws-client -c -t 10 "$U?callsid=$S&history=1&wait=0" | sed 1d
