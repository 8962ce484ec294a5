# twilio-replay: refused upgrades are classified as deepgram-stream classifies them
# (netfail.h): 3xx and other 4xx permanent (100), 408, 429 and 5xx temporary (111);
# usage errors in the one vocabulary; --help prints the man page's SYNOPSIS.
. "$TOP/tests/lib.sh"
HPID=
trap '[ -n "$HPID" ] && killpids $HPID' EXIT
# synopsis PAGE: the SYNOPSIS of man/PAGE as one line
synopsis() {
	mandoc -T ascii "$TOP/man/$1" | col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
		sed '1d;$d' | tr -s ' \t\n' '   ' | sed 's/^ *//; s/ *$//'
}
printf '%s\n' '{"event":"connected","protocol":"Call","version":"1.0.0"}' > call.jsonl

"$TOP/tests/fixtures/http-status" port 2>http.err &
HPID=$!
waitfor 10 test -s port || echo "http-status did not start"
P=$(cat port)

case_ "HTTP status of a refused upgrade -> exit status (the same as deepgram-stream's)"
for st in 301 302 307 308 400 401 403 404 408 425 429 500 502 503; do
	twilio-replay -t 5 "ws://127.0.0.1:$P/$st" < call.jsonl 2>err
	echo "$st ? $? $(sed "s/:$P/:PORT/" err)"
done

case_ "--help: the usage of the man page's SYNOPSIS, on stdout, exit 0"
twilio-replay --help > help; echo "? $?"
cat help
[ "$(cat help)" = "usage: $(synopsis twilio-replay.1)" ] && echo "same as SYNOPSIS"

case_ "usage errors: one line naming the problem, exit 100"
rc twilio-replay -q ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay --nosuch ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -n < call.jsonl 2>&1
rc twilio-replay -f --timeout < call.jsonl 2>&1
rc twilio-replay --fast=1 ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -n 0 ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -t 99999 ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -s 0x10 ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -s inf ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -d -1 ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -f -s 2 ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -H nocolon ws://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay http://127.0.0.1:1/ < call.jsonl 2>&1
rc twilio-replay -C nonexistent.pem wss://127.0.0.1:1/ < call.jsonl 2>&1
