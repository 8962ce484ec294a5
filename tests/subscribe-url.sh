# subscribe-url: subscribe --url follows a call of a real server (pipeline.sh, websocketd,
# the stand-in) through /client and prints what the local form prints: the calls list,
# a call joined halfway with its history, an ended call, the last line; refusals in
# one line with the exit-code table; the token goes in a header and never into the
# server's log.
. "$TOP/tests/lib.sh"
. "$TOP/tests/bin/server-lib.sh"

iso() { sed 's/[0-9]\{4\}-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z/TIME/g' "$@"; }
start_standin
start_pipeline "interim_results=true"
U=ws://127.0.0.1:$PORT
S=$(sid 21)

case_ "bad use"
subscribe --url "http://127.0.0.1:$PORT" "$S" 2>&1; echo "? $?"
subscribe --url "ws://user:secret@127.0.0.1:$PORT" "$S" 2>&1; echo "? $?"
subscribe --url "$U/client?callsid=$S" 2>&1; echo "? $?"
subscribe --token abc "$S" 2>usage.err; echo "? $?"; head -n 1 usage.err
subscribe --url "$U" --token 'has space' "$S" 2>&1; echo "? $?"
subscribe --url "$U" CA123 2>&1; echo "? $?"
subscribe --url "ws://127.0.0.1:$(freeport)" "$S" 2>conn.err; echo "? $?"
sed 's/port [0-9]*/port P/; s/:[0-9]*\/client/:P\/client/; s/ after [0-9]* ms//' conn.err

case_ "the calls list, remote and local"
subscribe --url "$U" 2>&1; echo "? $?"
subscribe --url "$U" -j >remote.json; echo "? $?"
subscribe -j >local.json
same remote.json local.json
fake-capture -c "$S" -s 6 >call.jsonl
nlines() { [ "$(cat "$@" 2>/dev/null | wc -l)" -ge "$N" ]; }
subscribe -w 10 "$S" >early.out 2>early.err &
EP=$!
twilio-replay "$U/twilio" <call.jsonl 2>replay.err &
RP=$!
N=8 waitfor 15 nlines early.out || echo "no results yet"
hold "$RP"
at=$(wc -l <early.out)
subscribe --url "$U/" >remote.txt; echo "? $?"
subscribe >local.txt
same remote.txt local.txt
iso remote.txt
subscribe --url "$U" -j >remote.json
subscribe -j >local.json
same remote.json local.json

case_ "a call joined halfway, with its history"
subscribe --url "$U" -H "$S" >remote.out 2>remote.err &
SP=$!
subscribe -H "$S" >local.out 2>local.err &
LP=$!
N=8 waitfor 10 nlines remote.out || echo "the remote subscriber got no history"
N=8 waitfor 10 nlines local.out || echo "the local subscriber got no history"
kill -CONT "$RP"
waitexit 30 "$RP"; echo "twilio-replay exit $?"
waitexit 20 "$LP"; echo "local exit $?"
waitexit 20 "$SP"; echo "remote exit $?"
waitexit 20 "$EP"; echo "early local exit $?"
subscribe -H "$S" >all.out 2>all.err
summary all.out
same local.out all.out
same remote.out local.out
tail -n 1 remote.out
[ "$at" -ge 8 ] && [ "$at" -lt "$(wc -l <all.out)" ] && echo "joined while the call was live"
sed "s/127.0.0.1:[0-9]*/127.0.0.1:P/" remote.err

case_ "an ended call and an unknown one: the last line says why"
subscribe --url "$U" -H "$S" >ended.out 2>&1; echo "? $?"
same ended.out all.out
subscribe --url "$U" -w 1 "$(sid 22)" 2>&1; echo "? $?"
stop_pipeline

case_ "with a client token (the server logs every URL: CALLPIPE_LOGLEVEL=access)"
T=0123456789abcdef.token-of-this-test
CALLPIPE_LOGLEVEL=access CALLPIPE_CLIENT_TOKEN=$T start_pipeline
U=ws://127.0.0.1:$PORT
subscribe --url "$U" -j 2>&1; echo "? $?"
subscribe --url "$U" --token "${T}x" -j 2>&1; echo "? $?"
subscribe --url "$U" --token "$T" -j >tok.json 2>&1; echo "? $?"
iso tok.json
CALLPIPE_CLIENT_TOKEN=$T subscribe --url "$U" -j >tok.json 2>&1; echo "? $?"
iso tok.json
subscribe --url "$U" --token "${T}x" "$S" 2>&1; echo "? $?"
stop_pipeline
echo "lines naming the token in the server's log: $(grep -c "$T" "$WORK/pipeline.log")"
