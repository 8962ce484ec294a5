# call-disk: a full disk never stops the live transcript (issue 9, 5). In a private
# mount namespace (unshare), the state folder is a small tmpfs, filled up: fanout still
# serves the stream (liveness is a lock, no data written), the subscriber gets every line
# and the end line, lines that cannot be logged cost one warning. A read-only state
# folder gives one fatal line.
. "$TOP/tests/lib.sh"
SID=CA0123456789abcdef0123456789abcdef
if ! unshare -rm true 2>/dev/null; then
	echo "unshare -rm is not available: user namespaces are needed" >&2
	exit 1
fi
cat >inner.sh <<'EOS'
set -u
SID=$1
mkdir -p disk
mount -t tmpfs -o size=256k,mode=700 tmpfs disk || exit 1
export CALLPIPE_DIR=$PWD/disk/state CALLPIPE_CALL_GRACE_SECONDS=0
mkdir -m 700 "$CALLPIPE_DIR"
dd if=/dev/zero of=disk/fill bs=4k 2>/dev/null
echo "disk full: $(df --output=avail disk | tail -n 1 | tr -d ' ') KiB free"
mkfifo in
TWILIO_START='{"event":"start"}' fanout -c $SID <in 2>fanout.err & FP=$!
exec 3>in
i=0
while ! subscribe | grep -q "^$SID " && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
subscribe $SID >sub.out 2>sub.err 3>&- & SP=$!
i=0
while [ "$(ls "$CALLPIPE_DIR"/calls/$SID/streams/*/subscribers | wc -l)" -lt 1 ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
n=1
while [ $n -le 200 ]; do printf '{"n":%d,"pad":"%0500d"}\n' $n 0; n=$((n + 1)); done >&3
exec 3>&-
wait $FP; echo "fanout ? $?"
wait $SP; echo "subscribe ? $?"
echo "subscriber lines: $(grep -c '"n":' sub.out)"
tail -n 1 sub.out
echo "logged bytes: $(cat "$CALLPIPE_DIR"/calls/$SID/streams/*/log.jsonl | wc -c)"
echo "ended mark: $(ls "$CALLPIPE_DIR"/calls/$SID/streams/*/ended | wc -l)"
callstate ended $SID && echo "the call has ended"
grep -c warning fanout.err
grep -o 'warning: unable to [a-z ]*' fanout.err | sort | uniq -c | sed 's/^ *//'
rm -f disk/fill
mount -o remount,ro disk
S2=CA00000000000000000000000000000002
echo '{"n":1}' | fanout -c $S2 2>ro.err; echo "? $?"
sed "s|$PWD|WORK|" ro.err
umount disk
EOS
case_ "a full disk: the subscriber gets every line; one warning; a read-only disk: one fatal line"
unshare -rm sh inner.sh $SID
