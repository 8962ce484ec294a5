# redis-hosts: two pipeline.sh hosts (own state folders and ports, nothing shared but a
# real redis-server) behind a real HAProxy running examples/haproxy.cfg over TLS.
# A call on one host reaches a subscriber on the other, history included, every message
# exactly once; the call list of either host shows the calls of both; Redis killed for
# 3 s mid-call and started again empty loses nothing; a fanout killed mid-call is
# restarted into the same publisher, so the remote subscriber still gets every message
# once (issue 12).
. "$TOP/tests/bin/redis-lib.sh"

start_redis
start_hosts

case_ "a call on one host, subscribers on the other, one before the call, one halfway"
S=$(sid 1)
# leastconn: the early subscriber takes one host, so the call lands on the other
ws-client -c -t 60 "wss://127.0.0.1:$EPORT/client?callsid=$S&history=1&token=$TOK" >early.out 2>early.err &
W1=$!
waitfor 10 following || echo "the early subscriber is not waiting"
fh=$(followhosts)
touch hold
WSS_HOLD=$WORK/hold call "$S" 6 -p 3
waitfor 15 haslines_any "$S" 5 2>/dev/null
ch=$(callhost "$S")
[ -n "$ch" ] && [ -n "$fh" ] && [ "$fh" != "$ch " ] && echo "the call is on the other host"
waitfor 15 test -n "$(grep -s is_final early.out)" || echo "no final reached the early subscriber"
# two late ones: leastconn puts one of them on each host
for f in late1 late2; do
	ws-client -c -t 60 -H "Authorization: Bearer $TOK" \
		"wss://127.0.0.1:$EPORT/client?callsid=$S&history=1" >$f.out 2>$f.err &
	eval "P_$f=\$!"
	waitfor 10 haslinesf $f.out 4 || echo "$f got no history"
done
echo "subscribers served by hosts: $(followhosts)"
rm -f hold
waitexit 30 "$CPID"; echo "wss-replay exit $?"
waitexit 30 "$W1"; echo "early subscriber exit $?"
waitexit 30 "$P_late1"; echo "late1 exit $?"
waitexit 30 "$P_late2"; echo "late2 exit $?"
L=$WORK/$S.log
hostlog "$ch" "$S" >"$L"
summary "$L" | sed 's/ [0-9]*$/ N/'
for f in early late1 late2; do
	grep -v '^-- ' $f.out | sed '1d;$d' >$f.msgs
	echo "$f: $(same $f.msgs "$L"), duplicates $(sort $f.msgs | uniq -d | wc -l), $(tail -n 2 $f.out | tr '\n' ' ')"
	head -n 1 $f.out | jq -c '[.type, (.calls | length)]'
done
finals "$L" >finals.ref
[ "$(wc -l <finals.ref)" -gt 5 ] && echo "more than 5 finals"

case_ "the call list of either host shows the calls of both"
S2=$(sid 2) S3=$(sid 3)
touch hold
WSS_HOLD=$WORK/hold call "$S2" 3 -p 1
P2=$CPID
waitfor 10 haslines_any "$S2" 1
WSS_HOLD=$WORK/hold call "$S3" 3 -p 1
P3=$CPID
waitfor 10 haslines_any "$S3" 1
[ -n "$(callhost "$S2")" ] && [ -n "$(callhost "$S3")" ] && [ "$(callhost "$S2")" != "$(callhost "$S3")" ] && echo "one call on each host"
for h in a b; do
	ws-client -t 5 "ws://127.0.0.1:$(hostport $h)/client" >list.$h </dev/null &
	LP=$!
	waitfor 10 haslinesf list.$h 1
	kill $LP 2>/dev/null; wait $LP 2>/dev/null
	echo "host $h lists: $(head -n 1 list.$h | jq -r '[.calls[].callSid] | sort | join(" ")' |
		sed "s/$S2/S2/; s/$S3/S3/")"
done
rm -f hold
waitexit 30 "$P2"; echo "wss-replay exit $?"
waitexit 30 "$P3"; echo "wss-replay exit $?"

case_ "Redis killed for 3 s mid-call, started again empty"
S4=$(sid 4)
ws-client -c -t 60 "wss://127.0.0.1:$EPORT/client?callsid=$S4&history=1&token=$TOK" >out4.out 2>out4.err &
W4=$!
waitfor 10 following || echo "the subscriber is not waiting"
call "$S4" 6
waitfor 15 haslines_any "$S4" 8 || echo "no messages before the crash"
ch=$(callhost "$S4")
echo "the subscriber is on the other host: $([ "$(followhosts)" != "$ch " ] && echo yes)"
kill_redis
# meanwhile a /client on the call's host lists the host's own calls
ws-client -t 4 "ws://127.0.0.1:$(hostport "$ch")/client" >away.out 2>/dev/null </dev/null &
AW=$!
sleep 3
start_redis
waitexit 10 "$AW" >/dev/null
head -n 1 away.out | jq -r --arg s "$S4" '"while Redis is away, the host lists its own call: " +
	([.calls[].callSid] | index($s) != null | tostring)'
waitfor 10 listed "$S4" && echo "listed again after the restart"
waitexit 30 "$CPID"; echo "wss-replay exit $?"
waitexit 30 "$W4"; echo "subscriber exit $?"
L=$WORK/$S4.log
hostlog "$ch" "$S4" >"$L"
grep -v '^-- ' out4.out | sed '1d;$d' >out4.msgs
echo "subscriber: $(same out4.msgs "$L"), duplicates $(sort out4.msgs | uniq -d | wc -l), $(tail -n 2 out4.out | tr '\n' ' ')"
finals "$L" >finals4
[ "$(wc -l <finals4)" -eq "$(wc -l <finals.ref)" ] && echo "local log: as many finals as the call without an outage"
grep -c "lost redis://127.0.0.1:$RPORT/0" "$WORK/$ch.log" | sed 's/^[1-9][0-9]*$/publisher logged the outage/'
grep -c "redis://127.0.0.1:$RPORT/0 is back after" "$WORK/$ch.log" | sed 's/^[1-9][0-9]*$/publisher logged the return/'

case_ "two streams of one call on two hosts: one subscriber gets both, the call ends after both"
S7=$(sid 7)
touch hold
fake-capture -c "$S7" -s 3 >s7a.jsonl
m=$(head -n 2 s7a.jsonl | jq -r 'select(.event == "start") | .streamSid')
fake-capture -c "$S7" -s 3 -r second | sed "s/$m/MZ00000000000000000000000000000007/g" >s7b.jsonl
k=0
for c in a b; do
	k=$((k + 1))
	WSS_HOLD=$WORK/hold wss-replay -p 1 -H "X-Twilio-Signature: $(twsig /twilio)" \
		"wss://127.0.0.1:$EPORT/twilio" <s7$c.jsonl 2>>replay.err &
	eval "R$c=\$!"
	# leastconn: the second stream goes where the first is not
	waitfor 10 eval '[ "$(ls "$WORK"/[ab]/calls/"$S7"/streams/*/log.jsonl 2>/dev/null | wc -l)" -ge $k ]'
done
waitfor 10 eval '[ -n "$(hostlog a "$S7")" ] && [ -n "$(hostlog b "$S7")" ]' &&
	echo "one stream on each host"
waitfor 10 eval 'CALLPIPE_REDIS_URL=$REDIS_URL callpipe-follow -j | grep -q "\"streams\":2"'
listed "$S7" && CALLPIPE_REDIS_URL=$REDIS_URL callpipe-follow -j |
	jq -r --arg s "$S7" '.calls[] | select(.callSid == $s) | "listed once, streams: \(.streams)"'
ws-client -c -t 60 "wss://127.0.0.1:$EPORT/client?callsid=$S7&history=1&token=$TOK" >s7.out 2>s7.err &
W7=$!
waitfor 10 haslinesf s7.out 3 || echo "no history"
rm -f hold
waitexit 30 "$Ra"; echo "stream 1: wss-replay exit $?"
waitexit 30 "$Rb"; echo "stream 2: wss-replay exit $?"
waitexit 30 "$W7"; echo "subscriber exit $?"
grep -v '^-- ' s7.out | sed '1d;$d' | sort >s7.msgs
{ hostlog a "$S7"; hostlog b "$S7"; } | sort >s7.logs
echo "the subscriber got both hosts' logs: $(same s7.msgs s7.logs), duplicates $(uniq -d s7.msgs | wc -l)"
tail -n 2 s7.out | tr '\n' ' '; echo

case_ "fanout killed mid-call: the same publisher goes on, the remote subscriber gets every message once"
S8=$(sid 8)
# stageprocs HOST SID NAME: the call's processes NAME on that host (comm: 15 bytes)
stageprocs() {
	for _p in $(hostprocs "$1"); do
		[ "$(cat "/proc/$_p/comm" 2>/dev/null)" = "$(printf %.15s "$3")" ] &&
			grep -qzxF "TWILIO_CALL_SID=$2" "/proc/$_p/environ" 2>/dev/null && echo "$_p"
	done
}
ws-client -c -t 60 "wss://127.0.0.1:$EPORT/client?callsid=$S8&history=1&token=$TOK" >s8.out 2>s8.err &
W8=$!
waitfor 10 following || echo "the subscriber is not waiting"
fh=$(followhosts)
touch hold
WSS_HOLD=$WORK/hold call "$S8" 6 -p 3
waitfor 15 haslines_any "$S8" 4 || echo "no messages before the kill"
ch=$(callhost "$S8")
[ -n "$ch" ] && [ -n "$fh" ] && [ "$fh" != "$ch " ] && echo "the subscriber is on the other host"
pub=$(stageprocs "$ch" "$S8" callpipe-publish)
fo=$(stageprocs "$ch" "$S8" fanout)
[ -n "$pub" ] && [ -n "$fo" ] && kill -KILL $fo && echo "killed fanout"
waitfor 10 eval '[ -n "$(stageprocs "$ch" "$S8" fanout)" ] && [ "$(stageprocs "$ch" "$S8" fanout)" != "$fo" ]' &&
	echo "a new fanout runs"
[ "$(stageprocs "$ch" "$S8" callpipe-publish)" = "$pub" ] && echo "the same publisher, alone"
rm -f hold
waitexit 30 "$CPID"; echo "wss-replay exit $?"
waitexit 30 "$W8"; echo "subscriber exit $?"
hostlog "$ch" "$S8" >s8.log
grep -v '^-- ' s8.out | sed '1d;$d' >s8.msgs
echo "subscriber: $(same s8.msgs s8.log), duplicates $(sort s8.msgs | uniq -d | wc -l), $(tail -n 2 s8.out | tr '\n' ' ')"
jq -c 'select(.type == "callpipe.error") | {type, fatal}' s8.msgs
echo "finals: $(finals s8.msgs | wc -l | awk '{ print ($1 > 5) ? "more than 5" : $1 }')"
grep -c "call $S8 stream MZ[0-9a-f]*: fanout killed by signal 9 mid-call; restarting it" "$WORK/$ch.log"
