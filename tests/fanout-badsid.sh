# fanout and subscribe: malformed CallSids and path traversal are refused before any
# path is built (nothing is created); unsafe state folders are refused; usage errors.
. "$TOP/tests/lib.sh"
export CALLPIPE_DIR=$WORK/state CALLPIPE_CALL_GRACE_SECONDS=0

case_ "fanout refuses bad CallSids with exit 100 and creates nothing"
for s in "" CA123 ../../etc "CA0123456789abcdef0123456789abcdef/../x" \
    CA0123456789abcdef0123456789abcdeg AC0123456789abcdef0123456789abcdef \
    "CA0123456789abcdef0123456789abcdef " "../../../tmp/CA0123456789abcdef0123456789abcdef"; do
	echo '{"n":1}' | fanout -c "$s" 2>err; echo "? $? $(cat err)"
done
echo '{"n":1}' | TWILIO_CALL_SID=../../etc fanout 2>err; echo "? $? $(cat err)"
echo '{"n":1}' | env -u TWILIO_CALL_SID fanout 2>err; echo "? $? $(cat err)"
test -e state; echo "state folder exists: $?"

case_ "subscribe refuses them with exit 1 and an end line (bad-request, unknown-call), creating nothing"
for s in ../../etc CA123 "CA0123456789abcdef0123456789abcdef/.."; do
	subscribe -n "$s" 2>err; echo "? $? $(cat err)"
	subscribe -j "$s" 2>/dev/null; echo "? $?"
done
subscribe -n CA0123456789abcdef0123456789abcdef 2>err; echo "unknown: ? $? $(cat err)"
subscribe -j CA0123456789abcdef0123456789abcdef 2>/dev/null; echo "? $?"
subscribe; echo "list: ? $?"
subscribe -j; echo "? $?"
test -e state; echo "state folder exists: $?"

case_ "a group- or world-writable state folder or calls/ folder is refused"
mkdir -m 777 open
CALLPIPE_DIR=$WORK/open fanout -c CA0123456789abcdef0123456789abcdef </dev/null 2>err; echo "? $?"
sed "s#$WORK#WORK#" err
CALLPIPE_DIR=$WORK/open subscribe 2>err; echo "? $?"
sed "s#$WORK#WORK#" err
mkdir -m 700 ok; mkdir -m 770 ok/calls
CALLPIPE_DIR=$WORK/ok fanout -c CA0123456789abcdef0123456789abcdef </dev/null 2>err; echo "? $?"
sed "s#$WORK#WORK#" err
CALLPIPE_DIR=$WORK/ok subscribe -j CA0123456789abcdef0123456789abcdef 2>/dev/null; echo "? $?"
ls ok/calls

case_ "the default state folder: XDG_STATE_HOME, else HOME/.local/state"
echo '{"n":1}' | env -u CALLPIPE_DIR XDG_STATE_HOME=$WORK/xdg fanout -c CA0123456789abcdef0123456789abcdef; echo "? $?"
cat xdg/callpipe/calls/CA0123456789abcdef0123456789abcdef/streams/*/log.jsonl | jq -c 'del(.callpipe)'
echo '{"n":2}' | env -u CALLPIPE_DIR -u XDG_STATE_HOME HOME=$WORK/home fanout -c CA0123456789abcdef0123456789abcdef; echo "? $?"
cat home/.local/state/callpipe/calls/CA0123456789abcdef0123456789abcdef/streams/*/log.jsonl | jq -c 'del(.callpipe)'
stat -c '%a %n' home/.local home/.local/state home/.local/state/callpipe

case_ "usage errors exit 100"
fanout -x </dev/null 2>&1; echo "? $?"
fanout -c CA0123456789abcdef0123456789abcdef extra </dev/null 2>&1; echo "? $?"
fanout -b abc -c CA0123456789abcdef0123456789abcdef </dev/null 2>&1; echo "? $?"
fanout -s 0 -c CA0123456789abcdef0123456789abcdef </dev/null 2>&1; echo "? $?"
subscribe -H 2>&1; echo "? $?"
subscribe -n 2>&1; echo "? $?"
subscribe a b 2>&1; echo "? $?"
subscribe -x 2>&1; echo "? $?"
