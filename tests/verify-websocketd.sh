# twilio-verify inside a websocketd handler: the header arrives (lower-case on the wire)
# as HTTP_X_TWILIO_SIGNATURE, the path as REQUEST_URI; the handler refuses at once.
. "$TOP/tests/lib.sh"
tok=fedcba9876543210fedcba9876543210
mkdir ep
cat >ep/twilio <<'H'
#!/bin/sh
# like a real handler, keep reading stdin after answering: websocketd may close the
# socket before delivering the last line of a handler that exits at once
if twilio-verify; then echo accepted; exec cat >/dev/null; else echo "twilio: warning: refused call from $REMOTE_ADDR" >&2; exit 100; fi
H
chmod +x ep/twilio
port=$(freeport)
TWILIO_AUTH_TOKEN=$tok CALLPIPE_PUBLIC_URL=wss://calls.example.com \
    websocketd --address=127.0.0.1 --port="$port" --dir=ep \
    --passenv=PATH,TWILIO_AUTH_TOKEN,CALLPIPE_PUBLIC_URL,ASAN_OPTIONS,UBSAN_OPTIONS \
    >wsd.log 2>&1 &
wsd=$!
waitport 10 "$port" || echo "websocketd did not start"
sign() { printf '%s' "$1" | openssl dgst -sha1 -hmac "$tok" -binary | base64; }
client() { # path [signature]: print what the handler answered, or how the socket closed
	/usr/bin/python3 - "$port" "$@" <<'P'
import asyncio, sys, websockets
port, path = sys.argv[1], sys.argv[2]
hdr = {"x-twilio-signature": sys.argv[3]} if len(sys.argv) > 3 else {}
async def main():
    try:
        async with websockets.connect("ws://127.0.0.1:%s%s" % (port, path), extra_headers=hdr, open_timeout=5) as w:
            msg = await asyncio.wait_for(w.recv(), 5)
            print(msg)
    except websockets.exceptions.ConnectionClosed as e:
        print("closed without a message")
asyncio.run(main())
P
}
case_ valid signature, both port forms and the https twin
client /twilio "$(sign wss://calls.example.com/twilio)"
client /twilio "$(sign wss://calls.example.com:443/twilio)"
client /twilio "$(sign https://calls.example.com/twilio)"
client '/twilio?x=1' "$(sign 'wss://calls.example.com/twilio?x=1')"
case_ refused: wrong URL, wrong token, no header
client /twilio "$(sign wss://calls.example.com/other)"
client /twilio "$(printf %s wss://calls.example.com/twilio | openssl dgst -sha1 -hmac wrong -binary | base64)"
client /twilio
killpids $wsd
case_ log: one refusal line per refused call, with the remote address, never the token
grep -o 'twilio-verify: warning: refused: [^|]*$' wsd.log
grep -o 'twilio: warning: refused call from .*$' wsd.log
echo "lines with the token: $(grep -c "$tok" wsd.log)"
