# hostile: twilio-mix, fanout and deepgram-stream over the hostile-input corpus
# (tests/hostile/*.jsonl: Twilio messages; tests/hostile/deepgram/*.jsonl: Deepgram
# messages) and over large inputs generated here (a 10 MB line, nesting 100,000 deep):
# a clean run (the runner fails on any sanitizer report), a sane exit code, bounded
# output, bounded log lines, bounded peak memory. Exit codes: 0, except 100 for a start
# whose CallSid is not CA + 32 hex digits (twilio-mix refuses the call) and 1 for input
# with no usable start event.
. "$TOP/tests/lib.sh"
SID=CA0123456789abcdef0123456789abcdef
OUTMAX=4194304   # bytes of WAV: the corpus never asks for more than ~2 min of stereo
LOGMAX=64        # stderr lines: warnings of one kind go quiet after a few
mkdir gen
start='{"event":"start","sequenceNumber":"1","start":{"callSid":"'$SID'","streamSid":"MZ0","tracks":["inbound","outbound"],"mediaFormat":{"encoding":"audio/x-mulaw","sampleRate":8000,"channels":1},"customParameters":{}}}'
media() { printf '{"event":"media","media":{"track":"%s","timestamp":"%s","payload":"//////////8="}}\n' "$1" "$2"; }
stop='{"event":"stop","stop":{"callSid":"'$SID'"}}'
big() { head -c "$1" /dev/zero | tr '\0' "$2"; }
# a 10 MB media line between good ones; 10 MB without any newline
{ echo "$start"; media inbound 0; printf '{"event":"media","media":{"track":"inbound","timestamp":"20","payload":"'
  big 10485760 /; printf '"}}\n'; media inbound 20; media outbound 0; echo "$stop"; } >gen/line-10mb.jsonl
{ echo "$start"; media inbound 0; big 10485760 '{'; } >gen/line-10mb-noeol.jsonl
# nesting 100,000 deep (longer than any line twilio-mix keeps), and 30,000 deep (parsed)
{ echo "$start"; big 100000 '['; big 100000 ']'; echo; big 100000 '{' ; echo
  printf '{"event":"media","media":'; big 100000 '['; echo; media inbound 0; echo "$stop"; } >gen/nest-100k.jsonl
{ big 30000 '['; big 30000 ']'; echo
  printf '{"event":"start","start":{"callSid":"%s","tracks":["inbound"],"customParameters":{"a":' $SID; big 30000 '['
  big 30000 ']'; echo '}}}'; echo "$start"
  printf '{"event":"media","media":{"track":"inbound","timestamp":"0","payload":"//8=","x":'; big 20000 '{"a":' | head -c 60000
  echo; media inbound 0; media outbound 0; echo "$stop"; } >gen/nest-30k.jsonl

# check NAME FILE: run twilio-mix on FILE, print exit code and the bound checks
check() {
	twilio-mix <"$2" >out.wav 2>err.txt
	_rc=$?
	_n=$(wc -c <out.wav)
	if [ "$_n" -eq 0 ]; then _o="no audio"
	elif [ "$_n" -gt $OUTMAX ]; then _o="output UNBOUNDED ($_n bytes)"
	elif [ "$(head -c 4 out.wav)" = RIFF ]; then _o="WAV <= $OUTMAX bytes"
	else _o="output NOT A WAV"; fi
	_l=$(wc -l <err.txt)
	_long=$(awk 'length($0) >= 1000' err.txt | wc -l)
	if [ "$_l" -le $LOGMAX ] && [ "$_long" -eq 0 ] && [ "$_l" -ge 1 ]; then _e="log bounded"
	else _e="log NOT bounded ($_l lines, $_long too long)"; fi
	echo "$1: exit $_rc, $_o, $_e"
}
case_ twilio-mix over the committed corpus
for f in "$TOP"/tests/hostile/*.jsonl; do
	check "$(basename "$f")" "$f"
done
case_ the refused CallSid never reached a shell or a path
twilio-mix <"$TOP/tests/hostile/bad-callsid.jsonl" 2>&1 >/dev/null | grep -c 'refusing the call'
ls pwned x 2>/dev/null || echo "nothing created"
case_ twilio-mix over generated large inputs
for f in gen/*.jsonl; do
	check "$(basename "$f")" "$f"
done
case_ the 10 MB line and the deep nesting are skipped, not parsed
for f in line-10mb nest-100k nest-30k; do
	echo "$f: $(twilio-mix <gen/$f.jsonl 2>&1 >/dev/null | grep -o 'skipped ([a-z-]*)' | sort | uniq -c | sed 's/^ *//' | tr '\n' ' ')"
done

# peak NAME BASE CMD...: run CMD (stdin from the caller), print whether its peak RSS
# stayed within BASE + 4 MiB: the 10 MB inputs must never be held whole
peak() {
	_n=$1 _b=$2; shift 2
	/usr/bin/time -f %M -o peak.txt "$@" >/dev/null 2>/dev/null
	_k=$(tail -n 1 peak.txt)
	if [ "$_k" -le $((_b + 4096)) ]; then echo "$_n: peak memory bounded"
	else echo "$_n: peak memory NOT bounded: $_k KiB, baseline $_b KiB"; fi
}
case_ twilio-mix peak memory: the 10 MB lines and deep nesting cost no more than a small call
/usr/bin/time -f %M -o peak.txt twilio-mix <"$TOP/tests/hostile/two-starts.jsonl" >/dev/null 2>&1
base=$(tail -n 1 peak.txt)
for f in line-10mb line-10mb-noeol nest-100k nest-30k; do
	peak $f "$base" twilio-mix <gen/$f.jsonl
done

case_ fanout over every file: exit 0, the log holds at most the input plus a last newline and a callpipe member a line, bounded memory
mkdir -m 700 state
for f in "$TOP"/tests/hostile/*.jsonl "$TOP"/tests/hostile/deepgram/*.jsonl gen/*.jsonl; do
	rm -rf state/calls
	CALLPIPE_DIR=$WORK/state fanout -c $SID <"$f" >fo.out 2>fo.err
	_rc=$?
	_in=$(wc -c <"$f"); _log=$(cat state/calls/$SID/streams/*/log.jsonl 2>/dev/null | wc -c)
	_in=$((_in + ($(wc -l <"$f") + 1) * 200)) # the callpipe member fanout adds: under 200 bytes
	_long=$(awk 'length($0) >= 1000' fo.err | wc -l)
	_ok=yes
	{ [ "$_log" -le $((_in + 1)) ] && [ "$_long" -eq 0 ] && [ ! -s fo.out ]; } || _ok="NO (log $_log of $_in bytes, $_long long log lines)"
	echo "$(basename "$f"): exit $_rc, bounded: $_ok"
done
rm -rf state/calls
CALLPIPE_DIR=$WORK/state /usr/bin/time -f %M -o peak.txt fanout -c $SID <"$TOP/tests/hostile/two-starts.jsonl" >/dev/null 2>&1
base=$(tail -n 1 peak.txt)
for f in line-10mb line-10mb-noeol nest-100k; do
	rm -rf state/calls
	CALLPIPE_DIR=$WORK/state peak "fanout $f" "$base" fanout -c $SID <gen/$f.jsonl
done

case_ deepgram-stream over hostile Deepgram messages: exit 0, bounded output, one line each
sox -n -r 8000 -c 2 -e mu-law -t wav audio.wav trim 0 0.5
# a 10 MB message, nesting 100,000 deep, 10 MB of invalid UTF-8
{ printf '{"type":"Results","channel_index":[0,2],"start":1,"duration":1,"is_final":true,"channel":{"alternatives":[{"transcript":"'
  big 10485760 a; printf '","words":[]}]}}\n'; big 100000 '['; big 100000 ']'; echo; big 100000 '{'; echo
  printf '{"type":"Results","channel_index":[0,2],"start":2,"duration":1,"is_final":true,"x":'; big 30000 '['
  big 30000 ']'; echo '}'; big 10485760 '\377'; echo; } >gen/dg-large.jsonl
for f in "$TOP"/tests/hostile/deepgram/*.jsonl gen/dg-large.jsonl; do
	rm -f port
	"$TOP/tests/hostile/dg-hostile.py" port "$f" &
	srv=$!
	waitfor 10 test -s port || echo "dg-hostile did not start"
	DEEPGRAM_API_KEY=k deepgram-stream -u "ws://127.0.0.1:$(cat port)/v1/listen" <audio.wav >dg.out 2>dg.err
	_rc=$?
	wait $srv
	_in=$(wc -c <"$f"); _n=$(wc -c <dg.out)
	_bad=$(awk 'length($0) > 1048576' dg.out | wc -l)
	_long=$(awk 'length($0) >= 1000' dg.err | wc -l)
	_ok=yes
	{ [ "$_n" -le $((2 * _in + 4096)) ] && [ "$_bad" -eq 0 ] && [ "$_long" -eq 0 ]; } || _ok="NO (output $_n of $_in bytes, $_bad lines over 1 MiB, $_long long log lines)"
	echo "$(basename "$f"): exit $_rc, bounded: $_ok"
done
grep -o 'ignoring a message from Deepgram longer than 1 MiB' dg.err
