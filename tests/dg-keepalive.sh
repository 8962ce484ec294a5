# deepgram-stream: KeepAlive while the input pauses for 15 s (the stand-in closes with
# 1011 NET-0001 after 10 s without a frame): the connection survives, the stand-in logs
# KeepAlive text frames, and the audio after the pause still gets its finals.
# Also: a ping from the server in mid-stream is answered and the stream goes on; without
# KeepAlive the 1011 close makes it reconnect and nothing is lost.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 8 a.raw   # 2 s
mkraw 12 all.raw
tail -c +32001 all.raw > b.raw  # the 3rd second: all.raw = a.raw + b.raw

case_ "15 s input stall: KeepAlive keeps the connection"
standin --idle-timeout 10
{ cat a.raw; sleep 15; cat b.raw; } | deepgram-stream -e mulaw -r 8000 -c 2 > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev != "audio") | "\(.ev) \(.type // "") \(.code // "")"' log | uniq -c | sed 's/^ *[0-9]* \(control KeepAlive\)/N \1/'
n=$(jq -r 'select(.type=="KeepAlive")' log | grep -c KeepAlive)
[ "$n" -ge 3 ] && echo "at least 3 KeepAlives"
jq -r 'select(.ev=="bad")' log
finals out.jsonl > got
expect_finals all.raw 2 1 8000 | cmp - got && echo finals match the input audio
sed -n 's/.*summary: //p' err | sed 's/keepalives [0-9]*/keepalives N/'
cleanup

case_ "a ping in mid-stream is answered, the stream goes on"
standin --ping-after 1
deepgram-stream -e mulaw -r 8000 -c 2 < all.raw > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev=="ping" or .ev=="pong" or .ev=="bad" or .ev=="close") | "\(.ev) \(.code // "")"' log | sort
finals out.jsonl > got
expect_finals all.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "no KeepAlive (-k 60000): the stand-in closes 1011 NET-0001, deepgram-stream reconnects, nothing lost"
standin --idle-timeout 1
{ cat a.raw; sleep 2.5; cat b.raw; } | deepgram-stream -e mulaw -r 8000 -c 2 -k 60000 > out.jsonl 2> err; echo "? $?"
jq -r 'select(.ev == "close") | "\(.ev) \(.code) \(.by)"' log | sort -u
[ "$(grep -c '"ev":"connect"' log)" -ge 2 ] && echo reconnected
grep -c 'connection 1 lost after .*closed by Deepgram: 1011 .*net0001.*reconnecting in' err
finals out.jsonl > got
expect_finals all.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup
