# subscribe: listing live calls (plain and -j: live calls apart from ended ones, with
# their stream counts), leaving out crashed and foreign folders; attaching to an ended
# call gives its end at once (with -H its record first); an unknown one unknown-call.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
A=CA000000000000000000000000000000aa
B=CA000000000000000000000000000000bb
C=CA000000000000000000000000000000cc
K=CA000000000000000000000000000000dd
iso() { sed 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z/TIME/g' "$@"; }
listed() { subscribe | grep -q "^$1 "; }

case_ "no state folder yet: empty list"
subscribe; echo "? $?"
subscribe -j; echo "? $?"

case_ "calls A and B live, C ended, K killed, and a stranger's folder"
mkfifo ia ib ik
fanout -c $B <ib 2>/dev/null & PB=$!
exec 4>ib
rc waitfor 5 listed $B
sleep 1.1 # A starts a second later than B: listed after B, though its CallSid sorts first
fanout -c $A <ia 2>/dev/null & PA=$!
exec 3>ia
rc waitfor 5 listed $A
echo '{"n":1}' | fanout -c $C; echo "C ? $?"
fanout -c $K <ik 2>/dev/null & PK=$!
exec 5>ik
rc waitfor 5 listed $K
kill -KILL $PK; wait $PK 2>/dev/null
exec 5>&-
mkdir -p state/calls/notacall state/calls/CA000000000000000000000000000000ee
subscribe > list.out; echo "? $?"
iso list.out
subscribe -j > list.json; echo "? $?"
iso list.json
jq -c '.calls | map(.callSid)' list.json
started=$(jq -r ".calls[] | select(.callSid == \"$A\") | .started" list.json)
ms=$(ls state/calls/$A/streams | cut -d. -f2)
[ "$started" = "$(date -u -d @$((ms / 1000)) +%Y-%m-%dT%H:%M:%SZ)" ] && echo "started = the stream folder's start time"

case_ "attach to the ended call C, the killed call K, a folder without streams"
subscribe -n $C 2>&1; echo "? $?"
subscribe -H $C 2>/dev/null | jq -c 'del(.callpipe)'; echo "? $?"
subscribe -n $K 2>&1; echo "? $?"
subscribe -n CA000000000000000000000000000000ee 2>&1; echo "? $?"

case_ "history of a live call, then its end"
echo '{"n":"a1"}' >&3
echo '{"n":"a2"}' >&3
subscribe -n --history $A > h.out 3>&- 4>&- & HP=$!
waitfor 5 sh -c "ls -l /proc/$PA/fd | grep -q subscribe.$HP."
echo '{"n":"a3"}' >&3
exec 3>&- 4>&-
wait $PA; echo "A ? $?"
wait $PB; echo "B ? $?"
wait $HP; echo "subscribe ? $?"
sed -E 's/,?"callpipe":\{[^}]*\}\}$/}/' h.out
subscribe | wc -l
