# subscribe-url-hostile: subscribe --url against a /client that misbehaves (a python
# websockets server, tests/subscribe-url/hostile-client.py): refused upgrades map to the
# exit-code table, a binary or too long message is skipped and reported, a connection
# that ends without callpipe.end is a failure (111), a missing calls list is reported,
# and a signal while waiting ends it quietly (0).
. "$TOP/tests/lib.sh"

/usr/bin/python3 "$TOP/tests/subscribe-url/hostile-client.py" port 2>server.err &
HP=$!
trap 'killpids $HP' EXIT
waitfor 10 test -s port || echo "the server did not start"
U=ws://127.0.0.1:$(cat port)
norm() { sed "s/127.0.0.1:[0-9]*/127.0.0.1:P/g"; }

case_ "refused upgrades"
for s in 401 404 429 503; do
	subscribe --url "$U/status/$s" -j 2>&1 | norm; echo "? $(subscribe --url "$U/status/$s" -j >/dev/null 2>&1; echo $?)"
done

case_ "a binary message and a 9 MiB one"
subscribe --url "$U/odd" CA0123456789abcdef0123456789abcdef >odd.out 2>odd.err; echo "? $?"
cat odd.out
norm <odd.err

case_ "closed without callpipe.end"
subscribe --url "$U/drop" CA0123456789abcdef0123456789abcdef 2>&1 | norm
subscribe --url "$U/drop" -j 2>&1 | norm
subscribe --url "$U/drop" CA0123456789abcdef0123456789abcdef >/dev/null 2>&1; echo "? $?"

case_ "no calls list first"
subscribe --url "$U/nolist" CA0123456789abcdef0123456789abcdef 2>&1; echo "? $?"
subscribe --url "$U/nolist" 2>&1; echo "? $?"

case_ "a signal while waiting"
subscribe --url "$U/slowlist" -j >slow.out 2>slow.err &
SP=$!
sleep 0.5
kill -TERM "$SP"
wait "$SP"; echo "? $?"
cat slow.out slow.err
