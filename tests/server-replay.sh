# server-replay: twilio-replay against websocketd endpoints that record what arrives:
# every line verbatim and in order, real-time pacing (and --speed, --fast), -n calls with
# their own CallSids and StreamSids, -d (drop), -H (headers), what the server sends back,
# and the exit statuses (0, 100 usage/refused, 111 connection failure or cut off).
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

mkdir ep
cat >ep/rec <<EOS
#!/bin/sh
# keep stdout open: websocketd drops the connection when a handler's stdout closes
printf '%s\n' "\${HTTP_X_TEST-}" >"$WORK/hdr.\$\$"
cat >"$WORK/rec.\$\$"
EOS
cat >ep/cut <<'EOS'
#!/bin/sh
head -n 3 >/dev/null
EOS
cat >ep/talk <<'EOS'
#!/bin/sh
echo '{"event":"mark","mark":{"name":"hello"}}'
cat >/dev/null
EOS
chmod +x ep/rec ep/cut ep/talk
P=$(freeport)
websocketd --port="$P" --address=127.0.0.1 --dir="$WORK/ep" --loglevel=fatal 2>ws.log &
WS=$!
waitport 10 "$P" || echo "websocketd did not start"
U=ws://127.0.0.1:$P
fake-capture -c CA0123456789abcdef0123456789abcdef -s 2 >call.jsonl
now() { date +%s%N | cut -c1-13; }
recs() { ls "$WORK" | grep -c '^rec\.'; }
# got N: wait (bounded) until there are N recordings and nothing writes to any of them
# (websocketd signals the handler's shell at disconnect; its cat may still be copying)
W=$(cd -P "$WORK" && pwd)
writing() { find /proc/[0-9]*/fd -lname "$W/rec.*" 2>/dev/null | grep -q .; }
got() {
	waitfor 20 sh -c "[ \$(ls '$WORK' | grep -c '^rec\.') -ge $1 ]" || echo "fewer than $1 recordings"
	waitfor 20 eval '! writing' || echo "a recording is still being written"
}
clean() { rm -f "$WORK"/rec.* "$WORK"/hdr.*; }

case_ "real time: every line, verbatim, in order, over at least the call's length"
t0=$(now)
twilio-replay -H 'X-Test: one two' "$U/rec" <call.jsonl
echo "? $?"
t1=$(now)
got 1
cat "$WORK"/hdr.*
same "$(ls "$WORK"/rec.*)" call.jsonl
[ $((t1 - t0)) -ge 1900 ] && echo "took at least 1.9 s"
clean

case_ "--speed 4 and --fast"
# an 8 s call, so that the bounds leave room for a loaded machine: -s 4 takes 2 s
# (at least 90% of that, under 95% of real time), -f less than -s 4 could
fake-capture -c CA0123456789abcdef0123456789abcdef -s 8 >call8.jsonl
t0=$(now)
twilio-replay -s 4 "$U/rec" <call8.jsonl; echo "? $?"
t1=$(now)
[ $((t1 - t0)) -ge 1800 ] && [ $((t1 - t0)) -lt 7600 ] && echo "speed 4: between 1.8 and 7.6 s"
twilio-replay -f "$U/rec" <call8.jsonl; echo "? $?"
t2=$(now)
[ $((t2 - t1)) -lt 1800 ] && echo "fast: under 1.8 s"
got 2
for f in "$WORK"/rec.*; do cmp -s "$f" call8.jsonl && echo same; done
clean

case_ "-n 3: three calls, each with its own CallSid and StreamSid"
twilio-replay -f -n 3 "$U/rec" <call.jsonl; echo "? $?"
got 3
for f in "$WORK"/rec.*; do
	grep -o 'CA[0-9a-f]\{32\}' "$f" | sort -u
	grep -o '"streamSid":"MZ[0-9a-f]*"' "$f" | sort -u | wc -l
	sed -E 's/CA[0-9a-f]{32}/CALLSID/g; s/MZ[0-9a-f]{32}/STREAMSID/g' "$f" | cksum | cut -d' ' -f1
done | sort | uniq -c | sed 's/^ *//'
sed -E 's/CA[0-9a-f]{32}/CALLSID/g; s/MZ[0-9a-f]{32}/STREAMSID/g' call.jsonl | cksum | cut -d' ' -f1
clean

case_ "-d 1: the connection drops after 1 s of media"
twilio-replay -f -d 1 "$U/rec" <call.jsonl; echo "? $?"
got 1
jq -r .event "$WORK"/rec.* | sort | uniq -c | sed 's/^ *//'
clean

case_ "what the server sends comes out on stdout"
twilio-replay -s 4 "$U/talk" <call.jsonl; echo "? $?"

case_ "failures"
twilio-replay "$U/cut" <call.jsonl 2>err; echo "? $?"
grep -c '^twilio-replay: warning: call 1 CA0123456789abcdef0123456789abcdef: .* at line [0-9]* of 203: ' err
twilio-replay "$U/nothere" <call.jsonl 2>err; echo "? $?"
sed "s/:$P/:PORT/g" err
twilio-replay "ws://127.0.0.1:$(freeport)/x" <call.jsonl 2>/dev/null; echo "? $?"
rc twilio-replay -f -s 2 "$U/rec" <call.jsonl
rc twilio-replay -n 0 "$U/rec" <call.jsonl
rc twilio-replay -H 'no colon' "$U/rec" <call.jsonl
rc twilio-replay "http://127.0.0.1:$P/rec" <call.jsonl
rc twilio-replay "$U/rec" </dev/null
rc twilio-replay <call.jsonl
kill "$WS"; waitexit 5 "$WS" >/dev/null || :
