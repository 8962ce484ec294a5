# server-many: 20 concurrent calls stay isolated (issue 4, test 4). Each call has its own
# audio; every final transcript in a call's log must be the stand-in's hash of that call's
# own audio (recomputed here from the capture), and every subscriber (20 subscribe -H in
# the shell, 3 over /client) gets exactly its own call's log.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

cat >expect.py <<'PY'
import base64, hashlib, json, sys
# expected finals of a capture: per second and track, sha256 of the track's bytes (12 hex)
tracks = {"inbound": b"", "outbound": b""}
for line in open(sys.argv[1]):
    m = json.loads(line)
    if m.get("event") == "media":
        tracks[m["media"]["track"]] += base64.b64decode(m["media"]["payload"])
for ch, t in enumerate(("inbound", "outbound")):
    a = tracks[t]
    for k in range(len(a) // 8000):
        print("%d %d %s" % (k, ch, hashlib.sha256(a[k * 8000:(k + 1) * 8000]).hexdigest()[:12]))
PY
finals() { jq -r 'select(.type == "Results" and .is_final) | "\(.start | floor) \(.channel_index[0]) \(.channel.alternatives[0].transcript)"' "$1" | sort; }

N=20
start_standin
start_pipeline
i=1
while [ $i -le $N ]; do
	fake-capture -c "$(sid $i)" -s 2 -r "many$i" >call$i.jsonl
	i=$((i + 1))
done

case_ "$N calls at once"
i=1 rps=
while [ $i -le $N ]; do
	twilio-replay "ws://127.0.0.1:$PORT/twilio" <call$i.jsonl 2>replay$i.err &
	rps="$rps $!"
	i=$((i + 1))
done
# each call is held (its replay stopped) once live, until every subscriber is attached
i=1
for p in $rps; do
	waitfor 20 live "$(sid $i)" || echo "call $i did not start"
	hold "$p"
	i=$((i + 1))
done
i=1 sps=
while [ $i -le $N ]; do
	subscribe -n -H "$(sid $i)" >sub$i.out 2>sub$i.err &
	sps="$sps $!"
	i=$((i + 1))
done
wps=
for i in 1 2 3; do
	ws-client -c -t 40 "ws://127.0.0.1:$PORT/client?callsid=$(sid $i)&history=1" >ws$i.out 2>ws$i.err &
	wps="$wps $!"
done
i=1
while [ $i -le $N ]; do
	n=1
	[ $i -le 3 ] && n=2
	waitfor 20 hasnsubs "$(sid $i)" $n || echo "call $i: subscribers did not attach"
	waitfor 20 hasfanoutfifos "$(sid $i)" $n || echo "call $i: fanout did not open the FIFOs"
	i=$((i + 1))
done
for p in $rps; do kill -CONT "$p"; done
ok=0
for p in $rps; do waitexit 60 "$p" && ok=$((ok + 1)); done
echo "twilio-replay exit 0: $ok of $N"
ok=0
for p in $sps $wps; do waitexit 30 "$p" && ok=$((ok + 1)); done
echo "subscribers exit 0: $ok of $((N + 3))"

case_ "each call's log holds its own transcripts, each subscriber its own call's log"
i=1 own=0 same=0 sums=
while [ $i -le $N ]; do
	L=$(streamdir "$(sid $i)")/log.jsonl
	/usr/bin/python3 expect.py call$i.jsonl | sort >expect$i
	finals "$L" >got$i
	cmp -s expect$i got$i && own=$((own + 1))
	sed '$d' sub$i.out | cmp -s - "$L" && [ "$(tail -n 1 sub$i.out)" = '{"type":"callpipe.end","reason":"call-ended"}' ] &&
		same=$((same + 1))
	summary "$L" | tr '\n' ' ' >>summaries
	echo >>summaries
	i=$((i + 1))
done
echo "logs with exactly their own call's finals: $own of $N"
echo "shell subscribers identical to their call's log, then call-ended: $same of $N"
sort summaries | uniq -c | sed 's/^ *//'
for i in 1 2 3; do
	sed '1d;$d' ws$i.out | sed '$d' >ws$i.msgs
	same ws$i.msgs "$(streamdir "$(sid $i)")/log.jsonl"
done
echo "transcripts found in more than one call: $(cat got* | awk "{ print \$3 }" | sort | uniq -d | wc -l)"
echo "stand-in connections: $(jq -r 'select(.ev == "connect") | .conn' "$WORK/standin.log" | wc -l)"

case_ "nothing left running"
waitfor 10 noprocs && echo "no call processes left"
# /health (a CGI: no --passenv) counts calls inside the default 5 s grace as live
waitfor 10 sh -c 'curl -s "http://127.0.0.1:'$PORT'/health" | grep -q "\"calls\":0"'
health
