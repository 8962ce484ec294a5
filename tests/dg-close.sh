# deepgram-stream: end of input. CloseStream, then finals that arrive late (the stand-in
# delays every Results by 1.5 s) are still printed, then Metadata, then the close frame is
# answered and the exit is 0. A server that never finishes: --close-timeout, exit 1.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 14 st.raw   # 3.5 s (16000 bytes a second)

case_ "late finals after CloseStream are printed, then Metadata, exit 0"
standin --delay-ms 1500
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev != "audio") | "\(.ev) \(.type // "") \(.code // "") \(.by // "")"' log
jq -r '.type' out.jsonl | uniq -c
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "a server that never finishes: give up after --close-timeout, exit 1"
standin --stall-after 1 --stall-for 30
deepgram-stream -e mulaw -r 8000 -c 2 -t 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -v 'info: summary' err
cleanup
