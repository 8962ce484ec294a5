# subscribe-steady: a subscriber attached to every stream of a live call does not scan
# the call folder (issue 14: each scan was about twenty system calls every 100 ms,
# 4 per 20 ms of call); it looks at the streams folder's stamp alone (one fstat), and
# a stream added meanwhile is still found and followed.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"
command -v strace >/dev/null || { echo "no strace on PATH: run make deps"; exit 1; }

start_standin
start_pipeline
S=$(sid 91)
fake-capture -c "$S" -s 8 >call.jsonl
B=MZ$(printf '%032x' 91)
fake-capture -c "$S" -s 3 -r b | sed -E "s/\"streamSid\":\"MZ[0-9a-f]{32}\"/\"streamSid\":\"$B\"/g" >call2.jsonl

case_ "steady: attached to the call's one stream, no folder scans"
replay_sub "$S" call.jsonl
waitfor 15 haslines "$S" 2 || echo "no lines yet"
# LeakSanitizer cannot run under ptrace: the san build's leak check is off for the trace
ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" timeout 2 strace -qq -p "$SP" \
    -e trace=openat,getdents64,newfstatat,fstat -o steady.trace 2>/dev/null
echo "openat, getdents64 in 2 s: $(grep -c -e '^openat' -e '^getdents64' steady.trace)"
echo "fstat of the streams folder: $(grep -c -e '^fstat(' -e '^newfstatat([0-9]*, ""' steady.trace | awk '{ print ($1 >= 10 && $1 <= 30) ? "about every 100 ms" : $1 }')"

case_ "a second stream started meanwhile is found and followed"
twilio-replay "ws://127.0.0.1:$PORT/twilio" <call2.jsonl 2>replay2.err
echo "second replay exit $?"
waitexit 30 "$RP"
echo "first replay exit $?"
waitfor 20 ended "$S" && echo "the call ended"
waitexit 10 "$SP"
echo "subscribe exit $?"
echo "streams in the call: $(ls "$(calldir "$S")/streams" | wc -l)"
echo "streams the subscriber heard from: $(sed '$d' sub.out | jq -r '.callpipe.stream_sid // empty' | sort -u | wc -l)"
tail -n 1 sub.out
