# deepgram-stream against a hostile or broken Deepgram (tests/fixtures/dg-scripted.py
# and the stand-in): sessions that end without progress count toward -T, so endless
# reconnects end, with bounded replay; a Deepgram that stops reading for good is
# replaced after -S seconds and the audio replayed; a final with impossible times is
# reported and does not silence its channel; a 101 that is not a WebSocket upgrade is
# refused; reserved close codes are answered with a valid one; failure classes (3xx,
# 408, wss:// to a plain server) are the same as in every tool.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 12 st.raw   # 3 s of stereo mu-law
xwait() { wait $XPID 2>/dev/null; XPID=; } # for a server that stops by itself
clean() { sed -e 's/127\.0\.0\.1:[0-9]*/HOST/g' -e 's/?[^: ]*/?QUERY/' -e 's/after [0-9.]* s:/after T s:/' -e 's/in [0-9.]* s/in T s/g'; }

case_ "every connection: one message, then cut: gives up after -T although the input ended"
scripted flap
deepgram-stream -e mulaw -r 8000 -c 2 -T 3 -u "$XURL" < st.raw > out.jsonl 2> err; echo "? $?"
n=$(grep -c '"ev":"request"' xlog)
[ "$n" -ge 2 ] && [ "$n" -le 10 ] && echo "connections: between 2 and 10"
tail -n 1 err | sed 's/attempts: .*/attempts: CAUSE/'
sed -n 's/.*replayed \([0-9]*\) ms.*/\1/p' err | awk '{ print ($1 <= 30000) ? "replayed audio bounded" : "replayed " $1 " ms" }'

case_ "a Deepgram that stops reading and never resumes: replaced after -S 2, nothing lost"
# 48 kHz stereo linear16 (192000 bytes a second): the stall outgrows the socket buffers
/usr/bin/python3 -c '
import sys
sys.stdout.buffer.write(bytes(((i * 7) ^ (i >> 9)) & 255 for i in range(192000 * 12)))' > big.raw
standin --stall-after 1 --stall-for 86400
deepgram-stream -e linear16 -r 48000 -c 2 -S 2 -p 1000 < big.raw > out.jsonl 2> err; echo "? $?"
grep -c 'connection 1 lost after .*Deepgram stalled: no byte out and no message in for 2 s; reconnecting' err
jq -r 'select(.ev=="connect" or .ev=="stall" or .ev=="control") | "\(.ev) \(.conn) \(.type // "")"' log
finals out.jsonl > got
expect_finals big.raw 2 2 48000 | cmp - got && echo finals match the input audio
cleanup

case_ "a final at 1e9 s: reported, dropped; the channel's later finals still arrive"
scripted implausible
deepgram-stream -e mulaw -r 8000 -c 1 -u "$XURL" < st.raw > out.jsonl 2> err; echo "? $?"
jq -r 'select(.type=="Results") | .channel.alternatives[0].transcript' out.jsonl
grep -c 'warning: ignoring a Results message with impossible times (ends at 2000000000.000 s; ' err
sed -n 's/.*\(ignored messages [0-9]*\)/\1/p' err
cleanup

case_ "a 101 that is not a WebSocket upgrade: refused at once, exit 100"
for m in no-upgrade bad-accept; do
	scripted $m
	deepgram-stream -e mulaw -r 8000 -c 2 -u "$XURL" < st.raw > out.jsonl 2> err; echo "? $?"
	clean < err
	cleanup
done

case_ "reserved close codes are never sent back: 1002 instead; valid ones are echoed"
for code in 1005 1006 1015 0 2999 5000 1001 4000; do
	scripted close $code
	deepgram-stream -e mulaw -r 8000 -c 2 -T 1 -u "$XURL" < st.raw > out.jsonl 2> err
	echo "close $code ($?): answered $(jq -r 'select(.ev=="answer") | .code' xlog)"
	xwait
done

case_ "entities after a trim index the words kept"
mkraw 16 st4.raw  # 4 s
scripted entities
deepgram-stream -e mulaw -r 8000 -c 2 -p 1000 -u "$XURL" < st4.raw > out.jsonl 2> err; echo "? $?"
jq -c 'select(.type=="Results") | [.channel_index[0], .start, .duration, .channel.alternatives[0].transcript, .channel.alternatives[0].entities]' out.jsonl
cleanup

case_ "failure classes: 3xx permanent, 408 temporary, wss:// to a plain server permanent"
standin --refuse 1:301
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
clean < err | sed 's/ (dg-error.*//'
cleanup
standin --refuse 1:408
deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -c 'HTTP 408.*retrying in' err
finals out.jsonl | wc -l
deepgram-stream -e mulaw -r 8000 -c 2 -u "wss${DEEPGRAM_URL#ws}" < st.raw > out.jsonl 2> err; echo "? $?"
grep -c 'wrong version number' err
grep -c 'retrying' err
cleanup
