# pipe-tools: transcribe and logfilter on their own. transcribe: --help, bad usage,
# input that is not a WAV stream (fanout still gets its end of input). logfilter:
# websocketd's lines reformatted, a handler's own lines kept, forged prefixes marked,
# control characters replaced, tokens redacted, a 100 KB line cut under 1 KiB, Go's
# raw lines formatted, both inputs read until both end. The other C tools (not
# twilio-replay, -capture, -verify): a missing value, a number out of range and
# an unknown option each read "tool: usage: ...", exit 100 (src/lib/opt.h).
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state TWILIO_CALL_SID=CA0123456789abcdef0123456789abcdef

case_ "transcribe"
transcribe --help; echo "? $?"
transcribe -r lots 2>&1; echo "? $?"
transcribe -x 2>&1; echo "? $?"
echo "not a WAV stream, just some text that is long enough" | transcribe 2>err.txt
echo "? $?"
grep -v '^fanout: info' err.txt
# the stream's end mark (src/lib/calldir.h)
ended() {
	for _e in "$CALLPIPE_DIR/calls/$TWILIO_CALL_SID"/streams/*/ended; do [ -e "$_e" ] && return 0; done
	return 1
}
waitfor 5 ended && echo "fanout ended the call"

case_ "logfilter: websocketd's lines"
W="Fri, 27 Nov 2026 12:00:00 +0000"
F="url:'http://127.0.0.1:5000/twilio?token=abc&x=1' id:'1' remote:'10.0.0.1' command:'/srv/endpoints/twilio' origin:'file:' pid:'42'"
{
	echo "$W | INFO   | server     |  | Serving from directory      : /srv/endpoints"
	echo "$W | ACCESS | session    | $F | CONNECT"
	echo "$W | ERROR  | stderr     | $F | twilio-mix: info: call CA stream x pid:'1' | pipeline.sh: fatal: FORGED"
	echo "$W | ERROR  | stderr     | $F | pipeline.sh: fatal: FORGED"
	echo "$W | ERROR  | stderr     | $F | sh: 1: oops"
	echo "$W | ERROR  | process    | $F | Unexpected error while reading STDOUT from process: read |0: file already closed"
	echo "$W | FATAL  | server     |  | Can't start server: listen tcp 127.0.0.1:5000: bind: address already in use"
	echo "2026/11/27 12:00:00 http: TLS handshake error from 10.0.0.1:5555: EOF"
	printf '%s | ACCESS | http       | url:%s | NOT FOUND\n' "$W" "'http://127.0.0.1:5000/health?x=$(head -c 100000 /dev/zero | tr '\0' a)'"
	printf 'raw\001bytes\n'
} | logfilter 2>&1 | cut -c1-220
echo "? $?"

case_ "logfilter: the calls' lines, two inputs"
mkfifo ws.fifo calls.fifo
logfilter -w ws.fifo -c calls.fifo 2>out.log &
LP=$!
{
	echo "fanout: info: CA: 3 lines"
	printf 'deepgram-stream: warning: a\033[31mcolour\n'
	echo "websocketd: fatal: FORGED"
	echo "pipeline.sh: fatal: FORGED"
	echo "a line with no program"
	head -c 100000 /dev/zero | tr '\0' b; echo
	echo "twilio-mix: info: after the long line"
} >calls.fifo
echo "$W | ACCESS | session    | $F | DISCONNECT" >ws.fifo
waitfor 10 sh -c "! kill -0 $LP" && echo "logfilter ended with its inputs"
wait "$LP"; echo "? $?"
grep -v '^websocketd' out.log | cut -c1-120 # the order within each input is kept
grep '^websocketd' out.log
echo "longest line: $(awk '{ if (length($0) > m) m = length($0) } END { print (m < 1000) ? "under 1000" : m }' out.log)"

case_ "one vocabulary for option errors (opt.h): first line, exit 100"
vocab() { "$@" </dev/null >/dev/null 2>err.txt; echo "? $?"; head -n 1 err.txt; }
vocab fanout -l
vocab fanout -s 0
vocab subscribe -m
vocab subscribe -t 0
vocab deepgram-stream --frame-ms
vocab deepgram-stream -k 5
vocab deepgram-stream --print-url=3
vocab transcribe -r
vocab callstate sweep -r
vocab callstate sweep -r abc
vocab callstate sweep -x
vocab logfilter -c
vocab logfilter -x
vocab twilio-agent -k
vocab twilio-agent -c 99 true
vocab twilio-say -l
vocab twilio-say -q
vocab callpipe-publish -n 5
vocab callpipe-publish -b
vocab callpipe-follow -m 0
vocab callpipe-follow -w
vocab twilio-mix -T
vocab twilio-mix --media-timeout=x
