# subscribe-order: a call's streams come to a subscriber in order. A stream whose end is
# marked owes a subscriber that fanout never served (it came after fanout's last look at
# subscribers/) its whole log, and the log is whole once the end is marked: it comes at
# once, before a later stream's lines, even while something still holds the ended
# stream's lock (a stage still finishing). Before, it waited for the lock, and CI saw a
# later stream's lines overtake an earlier one's in call-streams.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0
SID=CA0123456789abcdef0123456789abcdef
s1() { echo "$CALLPIPE_DIR/calls/$SID/streams/1."*; }
logged() { test -s "$(s1)/log.jsonl"; }
gone() { ! kill -0 "$1" 2>/dev/null; }
heldby() { [ -e "$(s1)/ended" ] && ! flock -n "$(s1)/live.lock" true; }

case_ "stream 1 ended, its lock still held; a subscriber with -H comes, then stream 2 speaks"
mkfifo in1 in2
fanout -c $SID <in1 2>fanout1.err & F1=$!
exec 3>in1
printf '{"n":%d}\n' 1 2 3 >&3
rc waitfor 5 logged
# a stage that outlives fanout: takes the lock as soon as fanout lets it go (one
# process, which holds it until killed)
sh -c 'exec 9>>"$1" && flock 9 && exec sleep 60' - "$(s1)/live.lock" 3>&- & LP=$!
exec 3>&-
wait $F1; echo "fanout 1 ? $?"
rc waitfor 5 heldby
subscribe -H $SID >sub.out 2>sub.err & SP=$!
rc waitfor 5 grep -q '"n":3' sub.out
fanout -c $SID <in2 2>fanout2.err & F2=$!
exec 4>in2
printf '{"m":%d}\n' 1 2 >&4
rc waitfor 5 grep -q '"m":2' sub.out
kill $LP; wait $LP 2>/dev/null
exec 4>&-
wait $F2; echo "fanout 2 ? $?"
rc waitfor 10 gone $SP
wait $SP; echo "subscribe ? $?"
jq -c 'del(.callpipe) + {stream: .callpipe.stream}' sub.out

case_ "a subscriber that fanout first misses (its FIFO there, not yet open) still gets every line since it came"
command -v strace >/dev/null || { echo "no strace on PATH: run make deps"; exit 1; }
SID=CA0123456789abcdef0123456789abcde0
mkfifo in3
fanout -c $SID <in3 2>fanout3.err & F3=$!
exec 5>in3
printf '{"k":%d}\n' 1 2 >&5
rc waitfor 5 logged
# subscribe's mkfifoat returns a second late: its FIFO is in subscribers/ with no reader
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -qq -f -o /dev/null \
	-e trace=mknodat -e inject=mknodat:delay_exit=1000000 subscribe $SID >sub3.out 2>sub3.err 5>&- & SP=$!
fifo3() { ls "$(s1)/subscribers" | grep -q '^subscribe\.'; }
rc waitfor 5 fifo3
printf '{"k":%d}\n' 3 4 >&5
served3() { ls -l /proc/$F3/fd 2>/dev/null | grep -q 'subscribers/subscribe\.'; }
rc waitfor 5 served3
printf '{"k":%d}\n' 5 >&5
exec 5>&-
wait $F3; echo "fanout 3 ? $?"
rc waitfor 10 gone $SP
wait $SP; echo "subscribe ? $?"
grep -c 'k' "$(s1)/log.jsonl"
jq -c 'del(.callpipe)' sub3.out
