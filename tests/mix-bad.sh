# twilio-mix: bad input gets a one-line warning and the call goes on; the audio is
# exactly what the good messages alone give. A string with an escaped NUL (\u0000, or a
# \u escape that is not hex, which cJSON also decodes to NUL) is never read cut short:
# a start with such a CallSid is not a start, such a stop is not a stop.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/mix/lib.sh"

M='{"event":"media","media":{"track":"inbound","timestamp":'
cap <<'S' > good
connected
start inbound,outbound
m inbound 0 8*01
m outbound 0 8*02
dtmf
mark
m inbound 2 8*03
m outbound 1 8*04
stop
S
{
	cap <<'S'
connected
raw {"event":"media","media":{"track":"inbound","timestamp":"0","payload":"AQID"}}
raw {"event":"start","start":{"callSid":"CA0123456789abcdef0123456789abcdef\u0000../../x","tracks":["inbound"]}}
start inbound,outbound
m inbound 0 8*01
raw this is not JSON
raw {"event":"media","media":{"track":"inbound","timestamp":"8","payload":"AQID"}
raw {"event":"stop"} trailing
raw [1,2,3]
raw "media"
raw {"event":7}
raw {"Event":"media"}
raw {"event":"media","media":"AQID"}
raw {"event":"media","media":{"track":7,"timestamp":"8","payload":"AQID"}}
raw {"event":"media","media":{"track":"both","timestamp":"8","payload":"AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":8,"payload":"AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"-8","payload":"AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8.0","payload":"AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"99999999999999999999999","payload":"AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8","payload":"AQI"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8","payload":"AQ!D"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8","payload":"AQ ID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8","payload":7}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8"}}
raw {"event":"hangup","sequenceNumber":"9"}
raw {"event":"media","media":{"track":"inbound\u0000x","timestamp":"8","payload":"AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8","payload":"AQID\u0000AQID"}}
raw {"event":"media","media":{"track":"inbound","timestamp":"8\uZZZZ","payload":"AQID"}}
raw {"event":"stop\u0000x"}
raw {"event":"start","start":{"callSid":"CA0123456789abcdef0123456789abcdef","tracks":["inbound"]}}
m outbound 0 8*02
dtmf
mark
S
	printf '\n'                       # empty line
	printf '  \t \r\n'                # blank line
	printf '%s"8",\000"payload":"AQID"}}\n' "$M"   # NUL byte
	/usr/bin/python3 -c 'print("{\"event\":\"media\",\"media\":{\"x\":\"" + "A" * 70000 + "\"}}")'
	printf '%s"2","payload":"AwMDAwMDAwM="}}\r\n' "$M"   # CRLF: fine
	cap <<'S'
m outbound 1 8*04
stop
m inbound 3 8*05
raw not JSON after stop
S
} > bad

case_ "every kind of bad line, mixed with good ones"
twilio-mix -r < bad > out 2> err; echo "? $?"
twilio-mix -r < good > exp 2>/dev/null
same out exp
od -An -tx1 -v out
warns
summ
case_ "every stderr line is one line under 1 KiB"
awk 'length($0) > 1000 { n++ } END { print NR " lines, " n + 0 " too long" }' err

case_ "missing final newline: the last line is still read"
grep -v "\"stop\"" good | head -c -1 > nonl
tail -c 20 nonl | od -An -c | tail -n 1
twilio-mix -r < nonl > out 2> err; echo "? $?"
same out exp
warns
case_ "missing final newline on a truncated line: skipped as not JSON"
{ head -n 8 good; tail -n 1 good | head -c 20; } > trunc
twilio-mix -r < trunc > out 2> err; echo "? $?"
same out exp
warns

case_ "a 100 MB line is discarded as it streams by, never held"
{ head -n 3 good; printf '{"event":"media","x":"'; head -c 100000000 /dev/zero | tr '\0' a; printf '"}\n'; tail -n +4 good; } > huge
/usr/bin/time -f '%M' -o rss twilio-mix -r < huge > out 2> err; echo "? $?"
same out exp
warns
echo "peak RSS under 60 MB: $(tail -n 1 rss | awk '{ print ($1 < 60000) ? "yes" : "no (" $1 " KB)" }')"
case_ "100 MB without any newline at all"
head -c 100000000 /dev/zero | tr '\0' a | /usr/bin/time -f '%M' -o rss twilio-mix -r > out 2> err; echo "? $?"
wc -c < out
warns
echo "peak RSS under 60 MB: $(tail -n 1 rss | awk '{ print ($1 < 60000) ? "yes" : "no (" $1 " KB)" }')"

case_ "no start at all: no audio, one line, exit 1"
grep -v '"start"' good | twilio-mix -r > out 2> err; echo "? $?"
wc -c < out
warns
summ
