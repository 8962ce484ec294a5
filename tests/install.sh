# make install / make uninstall into a DESTDIR: pipeline.sh installed as callpipe-server,
# which works through a symlink with no callpipe tool on PATH (a call replayed into it
# is transcribed by the installed stand-in); the demo runs from the install; a failed
# copy stops make with its error; uninstall removes every file install made.
. "$TOP/tests/lib.sh"
SPID= PLPID=
cleanup() {
	[ -n "$PLPID" ] && kill -TERM "$PLPID" 2>/dev/null && wait "$PLPID"
	[ -n "$SPID" ] && killpids "$SPID"
	PLPID= SPID=
}
trap cleanup EXIT
unset MAKEFLAGS MFLAGS MAKELEVEL PROXY_URL DEEPGRAM_API_KEY DEEPGRAM_URL CERT_PEM KEY_PEM \
	CALLPIPE_BIN CALLPIPE_DIR \
	TWILIO_AUTH_TOKEN CALLPIPE_PUBLIC_URL CALLPIPE_CLIENT_TOKEN
san=
[ "$VARIANT" = san ] && san=SAN=1
# mk TARGET VAR=...: make in the source tree, for this variant's build
mk() { make -s -C "$TOP" O="build/$VARIANT" BINDIR="$BIN" $san "$@" >>make.out 2>make.err; }
# only the system's folders: nothing of callpipe's on PATH
CLEAN=/usr/bin:/bin
P=/opt/cp
D=$WORK/dest
R=$D$P

case_ "make install DESTDIR=… PREFIX=/opt/cp: what lands where"
mk install DESTDIR="$D" PREFIX=$P; echo "? $?"
tools=$(cd "$TOP/src" && ls *.c | sed 's/\.c$//')
for t in $tools; do cmp -s "$BIN/$t" "$R/bin/$t" || echo "bin/$t: missing or not the build's"; done
echo "every tool of the build is in bin/"
mans=$(cd "$TOP/man" && ls)
for m in $mans; do cmp -s "$TOP/man/$m" "$R/share/man/man${m##*.}/$m" || echo "$m: missing"; done
echo "every man page is in share/man"
# the rest
(cd "$R" && find . ! -type d | sort | sed 's|^\./||' |
	grep -v '^share/callpipe/\(examples\|endpoints\|cgi\|static\)/' |
	grep -vxF "$(printf 'bin/%s\n' $tools; for m in $mans; do echo "share/man/man${m##*.}/$m"; done)")
for d in examples endpoints cgi static; do
	[ -z "$(cd "$TOP/$d" && find . -type f | sort | while read -r f; do cmp -s "$f" "$R/share/callpipe/$d/$f" || echo "$f"; done)" ] &&
		echo "share/callpipe/$d: same files as the source tree"
done
readlink "$R/share/callpipe/bin"
[ -e "$R/bin/pipeline.sh" ] || echo "no generically named pipeline.sh in bin"

case_ "callpipe-server through a symlink elsewhere, PATH=$CLEAN: it finds its tools"
mkdir elsewhere
ln -s "$R/bin/callpipe-server" elsewhere/cps
ln -s "$R/bin/callpipe-standin" elsewhere/standin
env PATH=$CLEAN elsewhere/standin --key k --port 0 --port-file sport 2>standin.err &
SPID=$!
waitfor 10 test -s sport || echo "the stand-in did not start"
PORT=$(freeport)
env PATH=$CLEAN PROXY_URL=127.0.0.1:$PORT DEEPGRAM_API_KEY=k \
	DEEPGRAM_URL="ws://127.0.0.1:$(cat sport)/v1/listen" CALLPIPE_DIR="$WORK/state" \
	elsewhere/cps 2>server.log &
PLPID=$!
waitfor 15 curl -sf -o /dev/null "http://127.0.0.1:$PORT/health" ||
	{ echo "callpipe-server did not start"; tail -n 5 server.log; }
S=$(jq -r 'select(.event == "start") | .start.callSid' "$R/share/callpipe/examples/call.jsonl")
env PATH=$CLEAN "$R/bin/twilio-replay" -f "ws://127.0.0.1:$PORT/twilio" \
	< "$R/share/callpipe/examples/call.jsonl"; echo "replay ? $?"
waitfor 20 env CALLPIPE_DIR="$WORK/state" PATH=$CLEAN "$R/bin/callstate" ended "$S" ||
	echo "the call did not end"
n=$(cat "$WORK/state/calls/$S"/streams/*/log.jsonl | jq -r -f "$R/share/callpipe/examples/finals.jq" | wc -l)
[ "$n" -gt 0 ] && echo "finals in the call's log"
kill -TERM "$PLPID"; wait "$PLPID"; echo "callpipe-server exit $?"
PLPID=
killpids "$SPID"; SPID=

case_ "callpipe-demo from the install, PATH=$CLEAN"
env PATH=$CLEAN "$R/bin/callpipe-demo" > demo.out 2> demo.err; echo "? $?"
grep -q ' final: ' demo.out && echo "finals printed"
grep -o 'pipeline.sh exit [0-9]*' demo.out

case_ "a failed copy stops make with its error (share/callpipe is a file here)"
mkdir -p "$WORK/dest2$P/share"
: > "$WORK/dest2$P/share/callpipe"
mk install DESTDIR="$WORK/dest2" PREFIX=$P; echo "? $?"
grep -c 'share/callpipe' make.err | awk '{ print ($1 > 0) ? "the error names share/callpipe" : "no error shown" }'

case_ "make uninstall removes every file make install made"
mk uninstall DESTDIR="$D" PREFIX=$P; echo "? $?"
find "$D" ! -type d | wc -l | tr -d ' '
