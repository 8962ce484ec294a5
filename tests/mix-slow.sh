# twilio-mix never stops reading its input because the command is slow: it buffers up
# to --max-buffer-ms, then drops the oldest audio (counted); a regular-file input is
# instead held back (nothing live can stall).
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/mix/lib.sh"

/usr/bin/python3 "$TOP/bench/gen-capture.py" -s 8 > call   # 8 s, 2 tracks: 128 KB of audio
twilio-mix < call 2> /dev/null | cat > all.wav   # through a pipe: streaming header
echo "capture: $(wc -l < call) messages; audio with header: $(wc -c < all.wav) bytes"

# The command does not read a byte until twilio-mix has logged the end of its input
# (bounded wait: 20 s), then reads everything. The pipe holds 64 KB; the rest must be
# buffered inside twilio-mix, which must keep reading to reach the end of its input.
slow='i=0; while ! grep -q "end of input" err && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done
      if grep -q "end of input" err; then echo "input all read before the command read anything" > order; fi
      cat > got'

case_ "slow command, live input (a pipe): all input read first, all audio still arrives"
cat call | twilio-mix -- sh -c "$slow" 2> err; echo "? $?"
cat order
same got all.wav
summ | sed 's/; late.*; undelivered/; ...; undelivered/'

case_ "slow command, --max-buffer-ms 1000: the oldest audio is dropped, counted, input still all read"
cat call | twilio-mix -b 1000 -- sh -c "$slow" 2> err; echo "? $?"
cat order
dropped=$(summ | sed -n 's/.*overflow dropped \([0-9]*\) ms.*/\1/p')
got=$(( $(wc -c < got) - 58 ))
echo "dropped more than 2 s: $([ "$dropped" -gt 2000 ] && echo yes || echo "no ($dropped ms)")"
echo "delivered + dropped = 8 s (within 1 ms): $([ $(( 128000 - got - dropped * 16 )) -ge 0 ] && [ $(( 128000 - got - dropped * 16 )) -lt 16 ] && echo yes || echo "no ($got bytes + $dropped ms)")"
warns | sed 's/dropped the oldest [0-9]* ms/dropped the oldest N ms/; s/line [0-9]*/line N/' | sort | uniq -c | sed 's/^ *//'
# the stream stays aligned: whole samples of both channels were dropped, so every
# byte pair is still (inbound, outbound) of the generator's patterns: inbound bytes
# are 7i+13k mod 256 and outbound 7i+13k+101, so outbound - inbound = 101 always
tail -c +59 got | od -An -tu1 -v -w2 | awk '{ if (($2 - $1 + 256) % 256 != 101) bad++ } END { print (NR > 10000 ? "over 10000" : NR) " sample pairs, " bad + 0 " misaligned" }'

case_ "slow command, regular-file input: held back instead of dropping"
twilio-mix -b 1000 -- sh -c 'sleep 1; cat > got' < call 2> err; echo "? $?"
same got all.wav
summ | sed 's/; late.*; undelivered/; ...; undelivered/'

case_ "SIGTERM twice while the command reads nothing: the second gives up on the audio"
rm -f got go; mkfifo in
twilio-mix -- sh -c 'i=0; while [ ! -e go ] && [ $i -lt 400 ]; do sleep 0.05; i=$((i + 1)); done; cat > got' < in 2> err &
pid=$!
exec 3> in
cat call >&3
waitfor 20 grep -q 'call CA' err || echo "no start seen"
kill -TERM $pid
waitfor 20 grep -q 'finishing the call' err || echo "first signal not seen"
kill -TERM $pid
waitfor 20 grep -q 'giving up' err || echo "second signal not seen"
touch go
wait $pid; echo "? $?"
exec 3>&-
echo "undelivered audio counted: $(summ | sed -n 's/.*undelivered \([0-9]*\) ms.*/\1/p' | awk '{ print ($1 > 0) ? "yes" : "no" }')"
