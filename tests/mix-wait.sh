# How twilio-mix waits (doc/twilio-mix-cost.md): while nothing waits to be
# written it sleeps in read(2) alone, no poll(2); a signal and the -M/-T
# deadlines still end that wait on an idle live input (a FIFO held open).
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/mix/lib.sh"

fake-capture -s 2 > call
head -n 2 call > start     # connected + start, no media
twilio-mix < call > ref.wav 2> /dev/null

case_ "stdout mode, a live input: no poll(2), one write per frame at most"
# (LeakSanitizer cannot run under a tracer: the san build leaves it out here)
cat call | ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
    strace -o trace -e trace=poll,ppoll,write twilio-mix > out.wav 2> err; echo "? $?"
same out.wav ref.wav
echo "poll calls: $(grep -c 'poll(' trace)"
w=$(grep -c '^write(1,' trace)
echo "writes to stdout at most 1 + 100 frames: $([ "$w" -le 101 ] && echo yes || echo "no ($w)")"

case_ "SIGTERM while it sleeps in read() on an idle FIFO: the call finishes"
mkfifo in
twilio-mix < in > out.wav 2> err &
pid=$!
exec 3> in
cat start >&3
waitfor 20 grep -q 'call CA' err || echo "no start seen"
kill -TERM $pid
waitfor 20 grep -q 'summary' err || echo "the signal did not end the read"
wait $pid; echo "? $?"
exec 3>&-
sed -n 's/^twilio-mix: info: //p' err | sed 's/ stream MZ[0-9a-f]*//'

case_ "SIGTERM, command mode, nothing waiting for the command: the call finishes"
rm -f in; mkfifo in
twilio-mix -- sh -c 'cat > got' < in 2> err &
pid=$!
exec 3> in
cat start >&3
waitfor 20 grep -q 'call CA' err || echo "no start seen"
kill -TERM $pid
waitfor 20 grep -q 'summary' err || echo "the signal did not end the read"
wait $pid; echo "? $?"
exec 3>&-
echo "header only: $(wc -c < got) bytes"

case_ "-M 1: no media for a second on a live input ends the call (exit 1)"
rm -f in; mkfifo in
twilio-mix -M 1 < in > out.wav 2> err &
pid=$!
exec 3> in
cat start >&3
waitfor 20 grep -q 'summary' err || echo "the media timeout did not end the read"
wait $pid; echo "? $?"
exec 3>&-
warns

case_ "-T 1: no start within a second on a live input (exit 1)"
rm -f in; mkfifo in
twilio-mix -T 1 < in > out.wav 2> err &
pid=$!
exec 3> in
waitfor 20 grep -q 'fatal' err || echo "the start timeout did not end the read"
wait $pid; echo "? $?"
exec 3>&-
sed 's/^twilio-mix: //' err
