# twilio-say refuses bad input and bad usage with one line naming what was wrong, exit 100,
# and writes no mark for audio it could not read; --help prints the usage.
. "$TOP/tests/lib.sh"
export TWILIO_STREAM_SID=MZ0123456789abcdef0123456789abcdef
try() { "$@" > out 2> err; echo "? $? ($(wc -l < out) lines out)"; cat err; }

case_ "stdin is not audio"
echo "this is not a WAV" | try twilio-say
case_ "stdin is empty"
try twilio-say < /dev/null
try twilio-say -r < /dev/null
case_ "the TTS command is missing, or writes no audio"
try twilio-say -T no-such-tts-command -t hello
try twilio-say -T true -t hello
case_ "bad stream SID, mark name, text, lead, file type"
unset TWILIO_STREAM_SID
try twilio-say -c
try twilio-say -s 'MZ1"}' -c
try twilio-say -s MZ1 -m 'a name' -c
try twilio-say -s MZ1 -t ''
try twilio-say -s MZ1 -t "$(head -c 5000 /dev/zero | tr '\0' a)"
try twilio-say -s MZ1 -l 60001 -c
try twilio-say -s MZ1 -f 'wav; rm -rf x' -c
case_ "usage"
try twilio-say -s MZ1 -r -t hello
try twilio-say -s MZ1 extra
twilio-say --help; echo "? $?"
