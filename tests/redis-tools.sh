# redis-tools: callpipe-publish and callpipe-follow against a real redis-server, without
# a server around them: configuration errors, no password in any log line, the bounded
# in-order queue while Redis is away (loss counted and logged past the bound), resends
# dropped by the reader, waiting for a call, retention, callpipe-follow -i as /client
# runs it (issue 12).
. "$TOP/tests/bin/redis-lib.sh"

S=$(sid 1)
line() { printf '{"type":"Results","n":%05d,"pad":"%s"}\n' "$1" xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx; }

case_ "usage and configuration errors: one line, exit 100"
callpipe-publish --help; echo "? $?"
callpipe-follow --help; echo "? $?"
for u in "" http://127.0.0.1:1 "redis://127.0.0.1:99999" "redis://user@127.0.0.1" "unix://relative.sock" \
	"redis://127.0.0.1/x"; do
	CALLPIPE_REDIS_URL=$u callpipe-publish -c "$S" -s MZ1 </dev/null 2>&1; echo "? $?"
done
CALLPIPE_REDIS_URL=redis://127.0.0.1:1 callpipe-publish -s MZ1 </dev/null 2>&1; echo "? $?"
CALLPIPE_REDIS_URL=redis://127.0.0.1:1 callpipe-publish -c "$S" -s 'MZ 1' </dev/null 2>&1; echo "? $?"
CALLPIPE_REDIS_URL=redis://127.0.0.1:1 callpipe-follow -w 601 "$S" 2>&1; echo "? $?"
CALLPIPE_REDIS_URL=redis://127.0.0.1:1 CALLPIPE_RETAIN_DAYS=x callpipe-follow 2>&1; echo "? $?"
CALLPIPE_REDIS_URL=redis://127.0.0.1:1 callpipe-follow -H 2>&1; echo "? $?"

case_ "the password never appears in a log line"
start_redis s3cret-Pass
for u in "redis://:wrong-Pass@127.0.0.1:$RPORT" "redis://default:wrong-Pass@127.0.0.1:$RPORT"; do
	line 1 | CALLPIPE_REDIS_URL=$u callpipe-publish -c "$S" -s MZ1 -x 1 2>pw.err; echo "? $?"
	sed "s/$RPORT/P/g" pw.err
	CALLPIPE_REDIS_URL=$u callpipe-follow "$S" >pwf.out 2>&1; echo "? $?"
	sed "s/$RPORT/P/g" pwf.out
	cat pw.err pwf.out >>pw.all
done
grep -c -e s3cret -e wrong-Pass pw.all | sed 's/^0$/no password in any of those lines/'
line 1 | CALLPIPE_REDIS_URL="redis://:s3cret-Pass@127.0.0.1:$RPORT/2" callpipe-publish -c "$S" -s MZ1 -g 0; echo "? $?"
echo "in database 2: $(redis-cli -p "$RPORT" -a s3cret-Pass --no-auth-warning -n 2 XLEN "callpipe:call:$S")"
kill_redis
RPORT=

case_ "Redis away: lines wait in order, in a bounded queue; past it the loss is counted"
RPORT=$(freeport) # nothing listens there yet
export CALLPIPE_REDIS_URL=redis://127.0.0.1:$RPORT
callpipe-follow -j >nolist.out 2>&1; echo "list without Redis: ? $?"
sed "s/$RPORT/P/g" nolist.out
mkfifo in
callpipe-publish -b 65536 -c "$S" -s MZ1 -g 0 -t 3 <in 2>pub.err &
PP=$!
exec 3>in
i=0
while [ $i -lt 3000 ]; do i=$((i + 1)); line $i; done >&3
waitfor 10 grep -q 'queue full' pub.err
start_redis 3>&-
# each line costs its length + 64 bytes against the bound
K=$((65536 / ($(line 1 | wc -c) - 1 + 64)))
waitfor 15 eval '[ "$(redis-cli -p "$RPORT" XLEN "callpipe:call:$S")" -gt $K ]' || echo "not published"
line 3001 >&3
exec 3>&-
waitexit 20 "$PP"; echo "callpipe-publish exit $?"
sed -E "s/$RPORT/P/g; s/after [0-9.]+ s/after T s/; s/from [0-9]+ on/from K+1 on/; s/ [0-9]+ messages (waiting|while)/ N messages \\1/" pub.err | sort
callpipe-follow -H "$S" >f.out; echo "? $?"
jq -r 'select(.type == "Results") | .n' f.out >f.n
seq 1 $K >f.want
echo 3001 >>f.want
echo "published the first K lines in order, then the last: $(same f.n f.want)"
[ "$(grep -o 'lost [0-9]* messages while' pub.err | cut -d' ' -f2)" = $((3000 - K)) ] && echo "lost 3000 - K, as logged"
tail -n 1 f.out

case_ "a reader drops a resent message, and follows a call that starts while it waits"
S2=$(sid 2)
callpipe-follow -w 10 "$S2" >w.out 2>w.err &
FP=$!
sleep 0.5
{
	line 1; line 2
	# the same (StreamSid, run, seq) again, as a publisher resends what it was unsure of
	waitfor 10 eval '[ "$(redis-cli -p "$RPORT" XLEN "callpipe:call:$S2")" -ge 3 ]'
	run=$(redis-cli -p "$RPORT" --raw XRANGE "callpipe:call:$S2" - + |
		awk 'prev == "p" { r = $0 } prev == "q" && $0 == "1" { print r; exit } { prev = $0 }')
	redis-cli -p "$RPORT" XADD "callpipe:call:$S2" '*' k m s MZ2 p "$run" q 1 m '{"dup":1}' >/dev/null
	redis-cli -p "$RPORT" --raw XRANGE "callpipe:call:$S2" - + | grep -c '"dup"' >&2
	# an entry that would break the one-message-a-line framing
	redis-cli -p "$RPORT" XADD "callpipe:call:$S2" '*' k m s MZX p x q 1 \
		m "$(printf '{"a":1}\n{"forged":2}')" >/dev/null
	line 3
} 2>dup.n | callpipe-publish -c "$S2" -s MZ2 -g 0
echo "publisher ? $?"
echo "resent copies in the stream: $(cat dup.n)"
waitexit 20 "$FP"; echo "follower ? $?"
jq -c '[.type, .n, .dup, .forged]' w.out
grep -c 'skipping a malformed entry' w.err
callpipe-follow -w 1 "$(sid 3)"; echo "? $?"

case_ "retention: streams and registry entries expire with CALLPIPE_RETAIN_DAYS"
S4=$(sid 4)
line 1 | CALLPIPE_RETAIN_DAYS=2 callpipe-publish -c "$S4" -s MZ4 -g 0; echo "? $?"
for k in call info; do
	t=$(redis-cli -p "$RPORT" TTL "callpipe:$k:$S4")
	echo "callpipe:$k expires within 2 days: $([ "$t" -gt 172000 ] && [ "$t" -le 172800 ] && echo yes || echo "no: $t")"
done
CALLPIPE_RETAIN_DAYS=2 callpipe-follow -j | jq -c '[(.calls | length), .ended[0].callSid == "'"$S4"'"]'

case_ "a fatal callpipe.error ends the call as transcription-failed; a callpipe.end line is not published"
S6=$(sid 6)
printf '%s\n' '{"type":"Results","n":1}' '{"type":"callpipe.error","error":"deepgram gone","fatal":true}' \
	'{"type":"callpipe.end","reason":"transcription-failed"}' | callpipe-publish -c "$S6" -s MZ6 -g 0
echo "? $?"
callpipe-follow -H "$S6"; echo "? $?"

case_ "unix:// socket URL"
redis-server --port 0 --unixsocket "$WORK/r.sock" --unixsocketperm 700 --save '' --appendonly no \
	--daemonize no --loglevel warning >>redis-unix.log 2>&1 &
UP=$!
waitfor 10 test -S "$WORK/r.sock" || echo "no socket"
S5=$(sid 5)
line 7 | CALLPIPE_REDIS_URL="unix://$WORK/r.sock?db=3" callpipe-publish -c "$S5" -s MZ5 -g 0; echo "? $?"
CALLPIPE_REDIS_URL="unix://$WORK/r.sock?db=3" callpipe-follow -H "$S5" | jq -c '[.type, .n]'
kill "$UP"; waitexit 10 "$UP"

case_ "callpipe-follow -i: the /client protocol of subscribe -i (list, CallSid line, slots, handshake, wait)"
mkdir -m 700 state
export CALLPIPE_DIR=$WORK/state
types() { jq -c '[.type, .reason, .n]' fo.out; }
# the CallSid line names the call; an ended call with -H: its history, then its end
{ echo "  $S6 "; sleep 5; } | callpipe-follow -i -H >fo.out; echo "? $?"; types
echo "not a sid" | callpipe-follow -i >fo.out; echo "? $?"; types
sleep 5 | callpipe-follow -i -t 1 >fo.out; echo "? $?"; types
sleep 5 | callpipe-follow -i -w 1 "$(sid 9)" >fo.out; echo "? $?"; types
# every slot taken: busy, before any list
mkfifo hold.in
callpipe-follow -i -m 1 -t 20 <hold.in >slot.out &
HP=$!
exec 7>hold.in
waitfor 10 haslinesf slot.out 1 || echo "the first subscriber has no list"
sleep 5 | callpipe-follow -i -m 1 >fo.out; echo "? $?"; types
exec 7>&-
waitexit 10 "$HP"; echo "the first one, its client gone: ? $?"
{ echo "$S6"; sleep 5; } | callpipe-follow -i -m 1 >fo.out; echo "the slot is free again: ? $?"; types | tail -n 1
# SIGTERM while waiting for a call: server-stopping
callpipe-follow -i -w 30 "$(sid 9)" <hold.in >fo.out &
HP=$!
exec 7>hold.in
waitfor 10 haslinesf fo.out 1 || echo "no list"
kill -TERM "$HP"
waitexit 10 "$HP"; echo "SIGTERM: ? $?"; types | tail -n 1
exec 7>&-
unset CALLPIPE_DIR

case_ "the man pages' examples run as written (Redis on this test's port, not 6379)"
for m in callpipe-publish callpipe-follow; do
	sed -n '/^\.Sh EXAMPLES/,/^\.Sh SEE ALSO/p' "$TOP/man/$m.1" |
		awk '/^\.Bd -literal/ { f = 1; n++; next } /^\.Ed/ { f = 0; next } f { print > ("ex." n) }'
	for e in ex.*; do
		grep -q twilio-mix "$e" && { rm -f "$e"; continue; } # the pipeline: tested in redis-hosts
		sed "s/6379/$RPORT/" "$e" >"$m.$e.sh"
		rm -f "$e"
		echo "# $m: $(grep -c . "$m.$e.sh") lines"
		sh "$m.$e.sh" 2>&1 | sed "s/$RPORT/P/g; s/[0-9T:-]*Z$/TIME/"; echo "? $?"
	done
done
