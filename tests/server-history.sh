# server-history: a subscriber that joins halfway with history gets everything exactly
# once: the log so far, then the live messages, no gap and no duplicate at the seam
# (issue 4, test 2). One over /client?callsid=…&history=1, one with subscribe -H, one over
# /client typing the CallSid after the calls list (history only by URL, so live only).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

start_standin
start_pipeline "interim_results=true"
S=$(sid 2)
fake-capture -c "$S" -s 5 >call.jsonl

case_ "join a live call halfway"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call.jsonl 2>replay.err &
RP=$!
waitfor 15 haslines "$S" 12 || echo "no results yet"
hold "$RP"
ws-client -c -t 30 "ws://127.0.0.1:$PORT/client?callsid=$S&history=1" >hist.out 2>hist.err &
WP=$!
subscribe -n -H "$S" >sub.out 2>sub.err &
SP=$!
ws-client -c -t 30 -s "$S" "ws://127.0.0.1:$PORT/client" >live.out 2>live.err &
LP=$!
waitfor 10 hasnsubs "$S" 3 || echo "subscribers did not attach"
at=$(loglines "$S")
[ "$at" -ge 12 ] && [ "$at" -lt 40 ] && echo "joined while the call was live, after some results"
release "$RP" "$S" 3
waitexit 30 "$RP"
echo "twilio-replay exit $?"
waitexit 20 "$WP"; echo "ws-client (history) exit $?"
waitexit 20 "$SP"; echo "subscribe -H exit $?"
waitexit 20 "$LP"; echo "ws-client (typed CallSid) exit $?"

case_ "everything exactly once"
L=$(streamdir "$S")/log.jsonl
summary "$L"
sed '$d' sub.out >sub.msgs
same sub.msgs "$L"
sed '1d;$d' hist.out | sed '$d' >hist.msgs
same hist.msgs "$L"
tail -n 2 hist.out
echo "duplicates: $(sort "$L" | uniq -d | wc -l)"
# the live-only subscriber got a tail of the log: the messages from when it attached
sed '1d;$d' live.out | sed '$d' >live.msgs
n=$(wc -l <live.msgs)
tail -n "$n" "$L" >log.tail
same live.msgs log.tail
[ "$n" -gt 0 ] && [ "$n" -lt "$(wc -l <"$L")" ] && echo "live-only subscriber got the rest of the call"

case_ "history of an ended call: its record, then call-ended"
ws-client -c -t 10 "ws://127.0.0.1:$PORT/client?callsid=$S&history=1" >ended.out
sed '1d;$d' ended.out | sed '$d' >ended.msgs
same ended.msgs "$L"
tail -n 2 ended.out
subscribe -H "$S" >ended2.out
echo "subscribe exit $?"
sed '$d' ended2.out >ended2.msgs
same ended2.msgs "$L"
tail -n 1 ended2.out
ws-client -c -t 10 "ws://127.0.0.1:$PORT/client?callsid=$S" | sed 1d
