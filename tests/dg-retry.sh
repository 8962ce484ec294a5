# deepgram-stream: refused handshakes. 429 three times then success; 503 retried; 400 (bad
# parameter) exits 100 at once; nothing listening or endless 503 gives up after
# --retry-for with exit 111.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 10 st.raw   # 2.5 s (16000 bytes a second)

case_ "429 three times, then success"
standin --refuse 3:429
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -v summary err | norm
jq -r 'select(.ev=="refuse" or .ev=="connect") | "\(.ev) \(.status // "")"' log
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "503 once, then success"
standin --refuse 1:503
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -c 'HTTP 503' err
finals out.jsonl | wc -l
cleanup

case_ "400 (bad parameter): exit 100 at once"
standin
deepgram-stream -e mulaw -r 8000 -c 2 -u "$DEEPGRAM_URL?channels=two" < st.raw > out.jsonl 2> err; echo "? $?"
norm < err
jq -r 'select(.ev=="refuse") | "refused \(.status)"' log
cleanup

case_ "503 for ever: give up after --retry-for, exit 111"
standin --refuse 1000:503
deepgram-stream -e mulaw -r 8000 -c 2 -T 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -c 'retrying in' err | sed 's/^[1-9][0-9]*$/some retries/'
tail -n 2 err | norm
cleanup

case_ "nothing listening: give up after --retry-for, exit 111"
port=$(freeport)
deepgram-stream -e mulaw -r 8000 -c 2 -T 1 -u "ws://127.0.0.1:$port/v1/listen" < st.raw > out.jsonl 2> err; echo "? $?"
grep 'giving up' err | norm | sed -e 's/after [0-9]* ms/after N ms/' -e 's/port [0-9]*/port N/'
wc -c < out.jsonl
