# twilio-mix: the WAV it writes is valid for sox/soxi and for an independent reader;
# lengths are fixed up in a regular file and stay at their maximum in a pipe.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/mix/lib.sh"
wavinfo() { /usr/bin/python3 "$FIX/wavinfo.py" "$@"; }
# sox's own decoding of a WAV, and of the raw stream with the format told explicitly
decode() { sox "$1" -t raw -e signed -b 16 - 2> /dev/null; }
rawdecode() { sox -t raw -e mu-law -b 8 -r 8000 -c 2 raw -t raw -e signed -b 16 - 2> /dev/null; }
soxinfo() { echo "soxi: $(soxi -t "$1") $(soxi -e "$1") $(soxi -b "$1") bits, $(soxi -c "$1") ch, $(soxi -r "$1") Hz, $(soxi -s "$1") samples, $(soxi -D "$1") s"; }

/usr/bin/python3 "$TOP/bench/gen-capture.py" -s 3 > call
twilio-mix -r < call > raw 2> /dev/null
rawdecode > pcm

case_ "stdout a regular file: a valid WAV with its real lengths"
twilio-mix < call > call.wav 2> err; echo "? $?"
soxinfo call.wav
wavinfo call.wav
tail -c +59 call.wav > data; same data raw
decode call.wav > back; same back pcm

case_ "stdout a pipe: lengths stay at their maximum; sox still reads every sample"
twilio-mix < call 2> /dev/null | cat > piped.wav
wavinfo piped.wav
tail -c +59 piped.wav > data; same data raw
decode piped.wav > back; same back pcm

case_ "one track: a mono WAV"
/usr/bin/python3 "$TOP/bench/gen-capture.py" -s 2 -t outbound > mono
twilio-mix < mono > mono.wav 2> err; echo "? $?"
soxinfo mono.wav
wavinfo mono.wav

case_ "--raw: no header, bare interleaved mu-law"
twilio-mix --raw < call 2> /dev/null | od -An -c -N 4
wc -c < raw

case_ "stdout opened for appending: the lengths cannot be fixed (warned)"
printf 'x' > app.wav
twilio-mix < call >> app.wav 2> err; echo "? $?"
warns
wavinfo app.wav 1

case_ "stdout a regular file at an offset: the header is fixed where it was written"
{ printf 'abc'; twilio-mix < call 2> /dev/null; } > off.wav
wavinfo off.wav 3

case_ "the long options"
twilio-mix --raw --frame-ms 40 --max-gap-ms 100 --max-lag-ms 0 --max-buffer-ms 5000 < call > out 2> /dev/null; echo "? $?"
same out raw
case_ "bad options: usage, exit 100"
rc twilio-mix -f 0 < /dev/null
rc twilio-mix --frame-ms 1001 < /dev/null
rc twilio-mix -g -1 < /dev/null
rc twilio-mix -l 1e3 < /dev/null
rc twilio-mix -b 0 < /dev/null
rc twilio-mix --bogus < /dev/null 2>&1
