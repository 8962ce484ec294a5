# deepgram-stream's credentials: DEEPGRAM_API_KEY goes as "Authorization: Token",
# DEEPGRAM_ACCESS_TOKEN (a short-lived JWT from Deepgram's token grant) as "Bearer";
# exactly one of them; a refused or expired token is permanent (exit 100). No secret
# is ever printed: not the key or token (even when a server reflects the Authorization
# header in dg-error), not a password in DEEPGRAM_URL.
. "$TOP/tests/lib.sh"
. "$TOP/tests/fixtures/dg-lib.sh"
mkraw 8 st.raw   # 2 s of stereo mu-law

case_ "DEEPGRAM_ACCESS_TOKEN is sent as Bearer: every final arrives"
standin --token tok-abc-123456
(unset DEEPGRAM_API_KEY; DEEPGRAM_ACCESS_TOKEN=tok-abc-123456 deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?")
jq -r 'select(.ev=="connect" or .ev=="refuse") | .ev' log
finals out.jsonl > got
expect_finals st.raw 2 1 8000 | cmp - got && echo finals match the input audio
cleanup

case_ "a refused (expired) token: exit 100 at once, the token never printed"
standin --token tok-abc-123456
(unset DEEPGRAM_API_KEY; DEEPGRAM_ACCESS_TOKEN=expired-tok-999 deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?")
norm < err | sed 's/?[^:]*: HTTP/?QUERY: HTTP/'
grep -c expired-tok-999 err
jq -r 'select(.ev=="refuse") | "refused \(.status)"' log
cleanup

case_ "both set, or a token with a space: exit 100 before any request"
DEEPGRAM_ACCESS_TOKEN=x rc deepgram-stream -e mulaw -r 8000 -c 2 < st.raw 2>&1
(unset DEEPGRAM_API_KEY; DEEPGRAM_ACCESS_TOKEN='a b' rc deepgram-stream -e mulaw -r 8000 -c 2 < st.raw 2>&1)

case_ "a server that reflects the Authorization header in dg-error: the key is redacted"
scripted reflect-auth
DEEPGRAM_API_KEY=supersecretkey123 deepgram-stream -e mulaw -r 8000 -c 2 -u "$XURL" < st.raw > out.jsonl 2> err; echo "? $?"
norm < err | sed 's/?[^:]*: HTTP/?QUERY: HTTP/'
grep -c supersecretkey123 err

case_ "a password in DEEPGRAM_URL is never printed, in any warning"
standin --refuse 2:503
DEEPGRAM_URL="ws://someone:urlpassword99@${DEEPGRAM_URL#ws://}" deepgram-stream -e mulaw -r 8000 -c 2 < st.raw > out.jsonl 2> err; echo "? $?"
grep -c urlpassword99 err
grep -c 'unable to connect to ws://\*\*\*@127.0.0.1:[0-9]*/v1/listen?.*HTTP 503' err
scripted flap
DEEPGRAM_URL="ws://someone:urlpassword99@127.0.0.1:$(cat xport)/v1/listen" deepgram-stream -e mulaw -r 8000 -c 2 -T 2 < st.raw > out.jsonl 2> err; echo "? $?"
echo "password printed: $(grep -c urlpassword99 err) times"
