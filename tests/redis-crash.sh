# redis-crash: two pipeline.sh hosts sharing a real redis-server behind a real HAProxy
# (examples/haproxy.cfg). A draining host gets no new calls through the balancer while
# its live call finishes; a host killed with SIGKILL mid-call: its call leaves the live
# list and is marked ended (its subscriber on the other host is told), and the other
# host keeps serving (issue 12).
. "$TOP/tests/bin/redis-lib.sh"

start_redis
start_hosts

# edgesays HOST STATE: HAProxy logged HOST (host1 = a, host2 = b) going STATE (UP, DOWN)
# at least N times
edgesays() { [ "$(grep -c "Server hosts/host$1 is $2" "$WORK/edge.log")" -ge "$3" ]; }

case_ "a draining host gets no new calls through the balancer"
S=$(sid 1)
touch hold
WSS_HOLD=$WORK/hold call "$S" 3 -p 1
P1=$CPID
waitfor 10 haslines_any "$S" 1 || echo "the call did not start"
h=$(callhost "$S")
case $h in a) n=1 o=b ;; *) n=2 o=a ;; esac
kill -TERM "$(hostpid "$h")"
waitfor 10 edgesays $n DOWN 1 && echo "the balancer took the draining host out"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$(hostport "$h")/health"
for i in 11 12 13; do
	call "$(sid $i)" 1 -x 4
	waitexit 30 "$CPID" || echo "call $i failed"
done
echo "new calls on the draining host: $(ls "$WORK/$h/calls" | grep -vc "$S")"
echo "new calls on the other host: $(ls "$WORK/$o/calls" | wc -l)"
rm -f hold
waitexit 30 "$P1"; echo "the live call went on: wss-replay exit $?"
waitexit 40 "$(hostpid "$h")"; echo "drained host's pipeline.sh exit $?"
forget_host "$h"
hostlog "$h" "$S" >drained.log
summary drained.log | sed 's/ [0-9]*$/ N/'

case_ "a host killed with SIGKILL mid-call"
start_host "$h"
waitfor 10 edgesays $n UP 1 || echo "the restarted host is not back in the balancer"
S5=$(sid 5)
# leastconn: the subscriber takes one host, the call the other
ws-client -c -t 60 "wss://127.0.0.1:$EPORT/client?callsid=$S5&history=1&token=$TOK" >sub.out 2>sub.err &
W=$!
waitfor 10 following || echo "the subscriber is not waiting"
call "$S5" 20
waitfor 15 haslines_any "$S5" 5 || echo "the call did not start"
ch=$(callhost "$S5")
case $ch in a) n=1 o=b ;; *) n=2 o=a ;; esac
echo "the subscriber is on the other host: $([ "$(followhosts)" = "$o " ] && echo yes)"
listed "$S5" && echo "listed while live"
crash_host "$ch"
waitfor 25 eval '! listed "$S5"' && echo "no longer listed"
waitexit 30 "$W"; echo "subscriber exit $?"
tail -n 2 sub.out | sed 's/host [^ ]* stopped/host H stopped/'
CALLPIPE_REDIS_URL=$REDIS_URL callpipe-follow -j | jq -r --arg s "$S5" \
	'"in the ended list: " + ([.ended[] | select(.callSid == $s)] | length | tostring)'
waitexit 10 "$CPID"; echo "wss-replay exit $? (its host died)"
waitfor 10 edgesays $n DOWN 2 && echo "the balancer took the dead host out"

case_ "the other host keeps serving"
curl -s -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$(hostport "$o")/health"
S6=$(sid 6)
call "$S6" 2 -x 4
waitexit 30 "$CPID"; echo "wss-replay exit $?"
echo "the new call is on the live host: $([ "$(callhost "$S6")" = "$o" ] && echo yes)"
waitfor 15 eval '! listed "$S6"'
ws-client -c -t 20 "wss://127.0.0.1:$EPORT/client?callsid=$S6&history=1&token=$TOK" >s6.out
grep -v '^-- ' s6.out | sed '1d;$d' >s6.msgs
hostlog "$o" "$S6" >s6.log
echo "history of the new call: $(same s6.msgs s6.log), $(tail -n 2 s6.out | tr '\n' ' ')"
