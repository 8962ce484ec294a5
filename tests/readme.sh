# README.md's "Compose them" recipe runs as written, and so do the sh blocks of
# examples/README.md's "Make a capture" section (files are made before they are used), from a copy of the repository root
# (bin, tests, examples), with the stand-in's port 8500 replaced by a free one.
. "$TOP/tests/lib.sh"
SP=
trap '[ -n "$SP" ] && killpids $SP; [ -s root/standin.pid ] && killpids "$(cat root/standin.pid)"' EXIT
unset DEEPGRAM_URL DEEPGRAM_API_KEY DEEPGRAM_CA_FILE
export CALLPIPE_DIR="$WORK/state"
mkdir root
ln -s "$BIN" root/bin
ln -s "$TOP/tests" root/tests
ln -s "$TOP/examples" root/examples
port=$(freeport)
# the indented block after the heading, up to its first blank line
sed -n '/^## Compose them$/,/^## /p' "$TOP/README.md" |
	awk '/^    / { on = 1; print substr($0, 5); next } on { exit }' > recipe
case_ "the recipe"
cat recipe
grep -c 8500 recipe
sed -e "s/8500/$port/g" -e '/dg-standin --port/a echo $! > standin.pid' recipe > run.sh

case_ "run as written (set -e: any failing command stops it)"
(cd root && sh -e ../run.sh > ../out 2> ../err); echo "? $?"
grep -E '^(Channels|Sample Rate|Sample Encoding)' out
echo "finals printed by finals.jq: $(grep -cE '^ +[0-9.]+ (caller|callee): ' out)"
echo "finals in transcript.jsonl: $(jq -r 'select(.type == "Results" and .is_final) | .type' root/transcript.jsonl | wc -l | awk '{ print ($1 > 0) ? "some" : "none" }')"
S=$(jq -r 'select(.event == "start") | .start.callSid' root/call.jsonl)
echo "fanout kept the call: $(find "$CALLPIPE_DIR" -path "*$S*" -type f -size +0 | grep -c . | awk '{ print ($1 > 0) ? "yes" : "no" }')"
gone() { ! kill -0 "$1" 2>/dev/null || case $(ps -o stat= -p "$1") in Z*) true ;; *) false ;; esac; }
waitfor 10 gone "$(cat root/standin.pid)" && echo "the stand-in is gone after kill"

case_ "examples/README.md, Make a capture: its sh blocks in order, as written (set -e)"
sed -n '/^## Make a capture/,/^## Serve/p' "$TOP/examples/README.md" |
	awk '/^```sh$/ { on = 1; next } /^```$/ { on = 0; next } on' > capture.sh
mkdir cap
(cd cap && PATH="$BIN:$PATH" sh -e ../capture.sh > ../cap.out 2> ../cap.err); echo "? $?"
for f in caller.wav callee.flac mycall.jsonl mono.jsonl rough.jsonl rough.wav; do
	[ -s "cap/$f" ] && echo "$f made"
done
jq -r 'select(.event == "start") | .start.tracks | join(",")' cap/mycall.jsonl cap/mono.jsonl
