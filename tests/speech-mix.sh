# Speech fixture: espeak-ng -> sox (8 kHz mu-law) -> twilio-capture -> twilio-mix.
# The mixed WAV must have the speech's duration and its energy on the right channel,
# and a capture without jitter or drops must come back byte for byte.
. "$TOP/tests/lib.sh"
# key FILE NAME: one value from wavinfo's "key value" lines
key() { wavinfo "$1" | awk -v k="$2" '$1 == k { print $2 }'; }
# wins FILE CH: the RMS of channel CH per 100 ms window, one per line
wins() { wavinfo -w 100 "$1" | awk -v c="$2" '$1 == "win" { print $(3 + c) }'; }
yesno() { if "$@"; then echo yes; else echo NO; fi; }
# within A B N: |A - B| <= N
within() { [ $(( $1 > $2 ? $1 - $2 : $2 - $1 )) -le "$3" ]; }
# allff FILE: every byte is mu-law silence
allff() { [ "$(tr -d '\377' < "$1" | wc -c)" -eq 0 ]; }

# a fixed voice and speed, so the fixture is the same on every run
espeak-ng -v en-us -s 160 -w speech.wav "The quick brown fox jumps over the lazy dog, twice."
espeak-ng -v en-gb -s 140 -w other.wav "Yes."
sox -D speech.wav -r 8000 -c 1 -e mu-law speech8k.wav
sox -D other.wav -r 8000 -c 1 -e mu-law other8k.wav
sox -D -n -r 8000 -c 1 -e mu-law silence.wav trim 0 0.5
sf=$(key speech8k.wav frames)
of=$(key other8k.wav frames)
wavinfo -x 0 speech8k.wav > speech.raw
wavinfo -x 0 other8k.wav > other.raw
wins speech8k.wav 0 > speech.win
loud=$(awk '$1 > 1000' speech.win | wc -l)

case_ "fixture: speech is longer than 1.5 s and loud in at least 10 windows; silence is 0.5 s of 0xFF"
echo "speech over 1.5 s: $(yesno [ "$sf" -gt 12000 ])"
echo "speech loud in >= 10 windows: $(yesno [ "$loud" -ge 10 ])"
echo "other speech shorter than speech: $(yesno [ "$of" -lt "$sf" ])"
key silence.wav frames
wavinfo -x 0 silence.wav > silence.raw
echo "silence all 0xFF: $(yesno allff silence.raw)"

check() { # MIX SPEECHCH: duration and energy checks of a two-channel mix
	wavinfo "$1" | grep -E '^(format|channels|rate|bits) '
	mf=$(key "$1" frames)
	echo "duration is the speech's, within one frame: $(yesno within "$mf" "$sf" 160)"
	echo "soxi agrees on the length: $(yesno [ "$(soxi -s "$1")" -eq "$mf" ])"
	sc=$2 qc=$((1 - $2))
	wins "$1" "$sc" | head -n "$(wc -l < speech.win)" > got.win
	echo "channel $sc has the speech's energy in every 100 ms window: $(yesno cmp -s got.win speech.win)"
	echo "channel $qc is silent: $(yesno [ "$(wins "$1" "$qc" | sort -u)" = 0 ])"
}

case_ "inbound speech, outbound 0.5 s of silence"
twilio-capture speech8k.wav silence.wav > in.jsonl; echo "? $?"
twilio-mix < in.jsonl > in.wav; echo "? $?"
check in.wav 0

case_ "tracks swapped: inbound silence, outbound speech"
twilio-capture silence.wav speech8k.wav > out.jsonl; echo "? $?"
twilio-mix < out.jsonl > out.wav; echo "? $?"
check out.wav 1

case_ "round trip: each channel is the input's mu-law bytes, then silence to the end"
roundtrip() { # WAV CH RAW: channel CH starts with RAW, and the rest is 0xFF
	wavinfo -x "$2" "$1" > ch.raw
	n=$(wc -c < "$3")
	head -c "$n" ch.raw | cmp -s - "$3" && tail -c +"$((n + 1))" ch.raw > rest.raw && allff rest.raw
}
echo "inbound speech on channel 0: $(yesno roundtrip in.wav 0 speech.raw)"
echo "outbound silence on channel 1: $(yesno roundtrip in.wav 1 silence.raw)"
echo "outbound speech on channel 1: $(yesno roundtrip out.wav 1 speech.raw)"
echo "channel 0 exactly as long as the speech: $(yesno [ "$(key in.wav frames)" -eq "$sf" ])"

case_ "different speech on each track: both come back exactly"
twilio-capture speech8k.wav other8k.wav | twilio-mix > both.wav; echo "? $?"
echo "channel 0: $(yesno roundtrip both.wav 0 speech.raw)"
echo "channel 1: $(yesno roundtrip both.wav 1 other.raw)"

case_ "irregular chunk sizes (80..320 bytes) still come back exactly"
twilio-capture -z 80-320 -s 9 speech8k.wav other8k.wav | twilio-mix > irr.wav; echo "? $?"
echo "channel 0: $(yesno roundtrip irr.wav 0 speech.raw)"
echo "channel 1: $(yesno roundtrip irr.wav 1 other.raw)"

case_ "outbound 300 ms late: channel 1 is 2400 bytes of silence, then the speech"
twilio-capture -l 300 other8k.wav speech8k.wav | twilio-mix > late.wav; echo "? $?"
wavinfo -x 1 late.wav > late1.raw
head -c 2400 late1.raw > lead.raw
echo "lead silent: $(yesno allff lead.raw)"
tail -c +2401 late1.raw | head -c "$(wc -c < speech.raw)" | cmp -s - speech.raw && echo "then the speech: yes"
echo "length is speech + 300 ms: $(yesno [ "$(key late.wav frames)" -eq $((sf + 2400)) ])"

case_ "one track: a mono WAV of the speech"
twilio-capture speech8k.wav | twilio-mix > mono.wav; echo "? $?"
key mono.wav channels
echo "same bytes: $(yesno roundtrip mono.wav 0 speech.raw)"

case_ "a pipe gets a streaming header; wavinfo reads it to the end"
twilio-mix < in.jsonl | wavinfo - | grep -E '^(riff|declared) '
echo "same frames as the file: $(yesno [ "$(twilio-mix < in.jsonl | wavinfo - | awk '$1 == "frames" { print $2 }')" -eq "$(key in.wav frames)" ])"
