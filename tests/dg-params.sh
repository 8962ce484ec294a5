# deepgram-stream's query for a phone call: the defaults (model=nova-3, smart_format,
# interim_results, utterance_end_ms=1000, vad_events) are added unless the URL or -P
# sets them; a parameter the user sets wins; -P name=value adds one, -P name= turns a
# default off; -n prints the final URL without connecting and without a password.
# The stand-in logs the query it received, and behaves as the parameters say.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 8 st.raw   # 2 s of stereo mu-law
/usr/bin/python3 -c '
import struct, sys
sys.stdout.buffer.write(b"RIFF" + struct.pack("<I", 36 + 8000) + b"WAVEfmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 16000, 2, 16)
    + b"data" + struct.pack("<I", 8000) + bytes(8000))' > l16.wav

case_ "-n: the defaults, then the audio's parameters; nothing connects"
deepgram-stream -n -e mulaw -r 8000 -c 2 -u ws://127.0.0.1:1/v1/listen; echo "? $?"

case_ "the URL's own values win; -P adds, -P name= turns a default off; values are escaped"
deepgram-stream -n -e mulaw -r 8000 -c 1 \
	-u 'ws://127.0.0.1:1/v1/listen?model=nova-2-phonecall&interim_results=false#frag' \
	-P language=en -P vad_events= -P 'keyterm=call back&x' -P encoding=alaw; echo "? $?"

case_ "-n reads the WAV header for the format, needs no key, never shows a password"
(unset DEEPGRAM_API_KEY; deepgram-stream -n -u 'wss://me:s3cretpass@127.0.0.1:1/v1/listen' < l16.wav 2>err); echo "? $?"
grep -c s3cretpass err

case_ "-n never prints the key, wherever it appears"
DEEPGRAM_API_KEY=verysecretkey1 deepgram-stream -n -e mulaw -r 8000 -c 1 -u 'ws://127.0.0.1:1/v1/listen?x=verysecretkey1' | sed 's/&.*//'

case_ "bad -P: exit 100"
rc deepgram-stream -n -e mulaw -r 8000 -c 1 -P 'bad name=x' 2>&1
rc deepgram-stream -n -e mulaw -r 8000 -c 1 -P novalue 2>&1

case_ "what the stand-in receives, and what it then sends"
standin
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
jq -c 'select(.ev=="connect") | .query' log
jq -r '.type' out.jsonl | sort | uniq -c | sed 's/^ *//'
echo "punctuated words (smart_format): $(jq -r 'select(.type=="Results") | .channel.alternatives[0].words[] | has("punctuated_word")' out.jsonl | sort -u)"
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "-P smart_format=false -P interim_results=false: no punctuated_word, no interims, no UtteranceEnd"
standin
deepgram-stream -e mulaw -r 8000 -c 2 -P smart_format=false -P interim_results=false < st.raw > out.jsonl 2> err; echo "? $?"
jq -c 'select(.ev=="connect") | .query' log
jq -r '.type + " " + (if .type == "Results" then (.is_final | tostring) else "" end)' out.jsonl | sort | uniq -c | sed 's/^ *//'
echo "punctuated words: $(jq -r 'select(.type=="Results") | .channel.alternatives[0].words[] | has("punctuated_word")' out.jsonl | sort -u)"
cleanup
