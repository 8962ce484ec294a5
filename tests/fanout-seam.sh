# fanout + subscribe -H: subscribers that join while lines stream continuously (and
# during a pause) get the history and the live lines with no gap and no duplicate at
# the seam; those without -H get an unbroken tail of the log.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CA00000000000000000000000000000abc
strip() { sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' "$@"; }
live() { subscribe | grep -q "^$SID "; }

cat > gen.py <<'PY'
import json, sys, time
out = sys.stdout
for i in range(1, 4001):
    m = {"type": "Results", "seq": i, "text": "x" * (i % 97)}
    if i % 300 == 0:
        m["pad"] = "w" * 9000
    out.write(json.dumps(m, separators=(",", ":")) + "\n")
    out.flush()
    if i == 2000:
        time.sleep(1.0)        # a silent stretch in the middle
    else:
        time.sleep(0.0007)
PY

case_ "lines stream while subscribers join, with and without history"
/usr/bin/python3 gen.py | fanout -c $SID 2>fanout.err &
rc waitfor 5 live
D=$(echo "$CALLPIPE_DIR/calls/$SID/streams/1."*)
pids=
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	subscribe -n -H $SID > h$i.out 2>h$i.err & pids="$pids $!"
	if [ $i -le 4 ]; then subscribe -n $SID > l$i.out 2>l$i.err & pids="$pids $!"; fi
	sleep 0.2
done
bad=0
for p in $pids; do wait $p || bad=$((bad + 1)); done
echo "subscribers failed: $bad"
waitfor 10 sh -c '! live'
wc -l < "$D/log.jsonl"
ok=0
for i in 1 2 3 4 5 6 7 8 9 10 11 12; do
	if sed '$d' h$i.out | cmp -s "$D/log.jsonl" -; then ok=$((ok + 1)); else echo "h$i differs"; fi
done
echo "history subscribers identical to the log: $ok"
ok=0
for i in 1 2 3 4; do
	sed '$d' l$i.out > l$i.msgs
	n=$(wc -l < l$i.msgs)
	if [ "$n" -gt 0 ] && tail -n "$n" "$D/log.jsonl" | cmp -s - l$i.msgs; then ok=$((ok + 1)); else echo "l$i is not a tail of the log"; fi
done
echo "live subscribers with an unbroken tail: $ok"
tail -q -n 1 h*.out l*.out | sort | uniq -c | sed 's/^ *//'
cat h*.err l*.err
echo "drops: $(grep -c 'dropping' fanout.err)"
