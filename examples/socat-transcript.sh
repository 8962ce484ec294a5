#!/bin/sh
# socat-transcript.sh: serve one call's transcript over TCP with socat.
# usage: sh examples/socat-transcript.sh CALLSID [PORT]    (PORT default 7000)
# Every TCP client gets the call so far (subscribe -H) and then each new message, one JSON
# line each, then the end line, until the call ends (the server then closes) or the client
# goes away (subscribe sees its output close). Try: nc 127.0.0.1 7000 | jq -r -f examples/finals.jq
# Listens on 127.0.0.1 only; put ssh -L or a TLS proxy in front to read it from elsewhere.
set -eu
sid=${1:?usage: socat-transcript.sh CALLSID [PORT]}
port=${2:-7000}
case $sid in CA*[!0-9a-fA-F]* | [!C]* | ?[!A]*) sid= ;; esac
[ ${#sid} -eq 34 ] || { echo "socat-transcript.sh: fatal: bad CallSid: want CA and 32 hex digits" >&2; exit 100; }
case $port in '' | *[!0-9]*) echo "socat-transcript.sh: fatal: bad port" >&2; exit 100 ;; esac
exec socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork" "EXEC:subscribe -H $sid"
