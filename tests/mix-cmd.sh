# twilio-mix with a command: environment, CallSid refusal, exit codes, latency, signals.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/mix/lib.sh"

case_ "the command reads the audio and sees the call in its environment (values are data)"
# parameters named to break a shell: $(...), backticks, quotes, ../, $HOME; stale TWILIO_*
# variables from our own environment are replaced, unrelated ones kept
TWILIO_PARAM_STALE=x TWILIO_CALL_SID=CAfake TWILIO_OTHER=kept \
    rc twilio-mix -- sh -c 'env | grep ^TWILIO_ | sort; wc -c' < "$FIX/env-start.jsonl" 2> err
for f in pwned pwned2 x; do [ -e "$f" ] && echo "DANGER: $f exists"; done
ls
summ

case_ "options stop at the command: its own options are its own"
rc twilio-mix -r wc -c < "$FIX/env-start.jsonl" 2> /dev/null

case_ "a CallSid that is not CA and 32 hex digits is refused; no command is started"
for sid in CA0123456789abcdef0123456789abcde CA0123456789abcdef0123456789abcdef0 \
    CA0123456789abcdef0123456789abcdeg XX0123456789abcdef0123456789abcdef \
    'CA0123456789abcdef0123456789abcdef/../../x' 'CA../../../../tmp/x'; do
	printf 'start inbound %s\nm inbound 0 8*01\nstop\n' "$sid" | cap > c
	twilio-mix -- sh -c 'touch started; cat >/dev/null' < c 2> err; echo "? $?"
	grep fatal err
done
printf '{"event":"start","start":{"tracks":["inbound"]}}\n' > c
twilio-mix -- sh -c 'touch started' < c 2> err; echo "? $?"
grep fatal err
printf '{"event":"start","start":{"callSid":7,"tracks":["inbound"]}}\n' > c
twilio-mix -r < c 2> err; echo "? $?"
grep fatal err
[ -e started ] && echo "DANGER: a command was started"

case_ "no start: the command is never run"
printf 'connected\nm inbound 0 8*01\nstop\n' | cap > c
rc twilio-mix -- sh -c 'touch started' < c 2> err
[ -e started ] && echo "DANGER: a command was started"
warns

case_ "escaped NULs: a CallSid with one is no start (no command run); a custom parameter with one is left out"
# cJSON decodes \u0000 into the string, where C would see it end: "CA<32 hex>" or "role"
printf '%s\n' '{"event":"start","start":{"callSid":"CA0123456789abcdef0123456789abcdef\u0000../../x","tracks":["inbound"]}}' > c
printf 'm inbound 0 8*01\nstop\n' | cap >> c
rc twilio-mix -- sh -c 'touch started' < c 2> err
[ -e started ] && echo "DANGER: a command was started"
warns
printf '%s\n' '{"event":"start","start":{"callSid":"CA0123456789abcdef0123456789abcdef","tracks":["inbound"],"customParameters":{"tenant":"acme","role\u0000x":"admin","tenant2":"acme\u0000; rm -rf x","note":"\\u0000 is data"}}}' > c
printf 'm inbound 0 8*01\nstop\n' | cap >> c
rc twilio-mix -- sh -c 'env | grep ^TWILIO_ | sort; wc -c' < c 2> err
warns

case_ "a command that cannot be run: 127 not found, 126 not executable"
printf 'start inbound\nm inbound 0 8*01\nstop\n' | cap > c
rc twilio-mix -- ./no-such-command < c 2> err
grep fatal err
: > not-executable
rc twilio-mix -- ./not-executable < c 2> err
grep fatal err

case_ "the command's exit status becomes twilio-mix's"
rc twilio-mix -- sh -c 'cat > /dev/null; exit 3' < c 2> err
warns
rc twilio-mix -- sh -c 'cat > /dev/null; kill -9 $$' < c 2> err
warns

case_ "a command that quits early: twilio-mix still reads all of its input, then exits with its status"
/usr/bin/python3 "$TOP/bench/gen-capture.py" -s 5 > long
rc twilio-mix -- sh -c 'exit 5' < long 2> err
summ | sed 's/;.*//'
grep -c 'discarding the rest of the audio' err
grep 'exited with status 5$' err

case_ "latency: a frame reaches the command while the input is still open"
mkfifo in
twilio-mix -- sh -c 'head -c 378 > got; cat > /dev/null' < in 2> err &
pid=$!
exec 3> in
printf 'start inbound,outbound\nm inbound 0 160*01\nm outbound 0 160*02\n' | cap >&3
if waitfor 20 sh -c 'test "$(wc -c < got)" -eq 378'; then echo "header and first 20 ms frame arrived, input still open"; else echo "NOT YET: $(wc -c < got) bytes"; fi
exec 3>&-
wait $pid; echo "? $?"
od -An -tx1 -j 58 -N 8 got

for sig in TERM INT; do
case_ "SIG$sig: the buffered audio is flushed, the command's stdin closed, exit 0"
rm -f in audio; mkfifo in
twilio-mix -- sh -c 'cat > audio' < in 2> err &
pid=$!
exec 3> in
# inbound 10 ms + outbound 20 ms + inbound 20 ms: one 20 ms frame ready, 10 ms of inbound held
printf 'start inbound,outbound\nm inbound 0 80*01\nm outbound 0 160*02\nm inbound 10 160*03\n' | cap >&3
waitfor 20 sh -c 'test "$(wc -c < audio)" -eq 378' || echo "first frame never arrived"
kill -$sig $pid
wait $pid; echo "? $?"
exec 3>&-
wc -c < audio
od -An -tx1 -v -j 358 audio
grep -c "signal" err
summ
done
