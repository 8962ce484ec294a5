# twilio-verify: X-Twilio-Signature checked against signatures computed independently
# with openssl dgst (HMAC-SHA1, base64), for every accepted and refused URL form.
. "$TOP/tests/lib.sh"
tok=0123456789abcdef0123456789abcdef
sign() { # token url
	printf '%s' "$2" | openssl dgst -sha1 -hmac "$1" -binary | base64
}
# v SIG [VAR=value...] [-- args]: run twilio-verify with a clean environment
v() {
	_s=$1; shift
	env -i PATH="$PATH" ASAN_OPTIONS="${ASAN_OPTIONS:-}" UBSAN_OPTIONS="${UBSAN_OPTIONS:-}" \
	    TWILIO_AUTH_TOKEN=$tok CALLPIPE_PUBLIC_URL=wss://example.com REQUEST_URI=/twilio \
	    HTTP_X_TWILIO_SIGNATURE="$_s" "$@" 2>>err.log
	echo "? $?"
}
# e: show and clear the stderr collected so far
e() { cat err.log; : >err.log; }
: >err.log

case_ correct signature over the URL as configured
v "$(sign $tok wss://example.com/twilio)" twilio-verify
case_ port form: base without :443, Twilio signed with it
v "$(sign $tok wss://example.com:443/twilio)" twilio-verify
case_ port form: base with :443, Twilio signed without it, and with it
v "$(sign $tok wss://example.com/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com:443 twilio-verify
v "$(sign $tok wss://example.com:443/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com:443 twilio-verify
case_ https twin of the wss URL, with and without :443
v "$(sign $tok https://example.com/twilio)" twilio-verify
v "$(sign $tok https://example.com:443/twilio)" twilio-verify
case_ base given as https: the wss form is accepted too
v "$(sign $tok wss://example.com/twilio)" CALLPIPE_PUBLIC_URL=https://example.com/ twilio-verify
case_ wrong token
v "$(sign wrongtoken wss://example.com/twilio)" twilio-verify
e
case_ wrong URL: other path, other host, trailing slash, query added
v "$(sign $tok wss://example.com/other)" twilio-verify
v "$(sign $tok wss://example.org/twilio)" twilio-verify
v "$(sign $tok wss://example.com/twilio/)" twilio-verify
v "$(sign $tok 'wss://example.com/twilio?a=1')" twilio-verify
e
case_ wrong port form: a port other than the default is never dropped or added
v "$(sign $tok wss://example.com:8443/twilio)" twilio-verify
v "$(sign $tok wss://example.com/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com:8443 twilio-verify
v "$(sign $tok wss://example.com:8443/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com:8443 twilio-verify
v "$(sign $tok wss://example.com:80/twilio)" twilio-verify
e
case_ http vs wss: plain-text schemes never match a TLS base, and the reverse
v "$(sign $tok http://example.com/twilio)" twilio-verify
v "$(sign $tok ws://example.com/twilio)" twilio-verify
v "$(sign $tok wss://example.com/twilio)" CALLPIPE_PUBLIC_URL=ws://example.com twilio-verify
e
case_ ws base: :80 is its default port, http its twin
v "$(sign $tok ws://example.com:80/twilio)" CALLPIPE_PUBLIC_URL=ws://example.com twilio-verify
v "$(sign $tok http://example.com/twilio)" CALLPIPE_PUBLIC_URL=ws://example.com:80 twilio-verify
v "$(sign $tok ws://example.com:443/twilio)" CALLPIPE_PUBLIC_URL=ws://example.com twilio-verify
e
case_ missing header, empty header
env -i PATH="$PATH" TWILIO_AUTH_TOKEN=$tok CALLPIPE_PUBLIC_URL=wss://example.com REQUEST_URI=/twilio \
    twilio-verify 2>>err.log; echo "? $?"
v "" twilio-verify
e
case_ tampered signature: truncated, case flipped, trailing newline, padding dropped
good=$(sign $tok wss://example.com/twilio)
v "$(printf %s "$good" | cut -c1-27)" twilio-verify
v "$(printf %s "$good" | tr 'a-zA-Z' 'A-Za-z')" twilio-verify
v "$good
" twilio-verify
v "${good%=}" twilio-verify
v " $good" twilio-verify
e
case_ huge header: 100000 bytes, and 257 bytes of a valid signature repeated
v "$(head -c 100000 /dev/zero | tr '\0' A)" twilio-verify
v "$(printf '%s%s%s%s%s%s%s%s%s%s' "$good" "$good" "$good" "$good" "$good" "$good" "$good" "$good" "$good" "$good" | cut -c1-257)" twilio-verify
e
case_ empty or missing token: usage error, nothing verified
v "$good" TWILIO_AUTH_TOKEN= twilio-verify
env -i PATH="$PATH" CALLPIPE_PUBLIC_URL=wss://example.com REQUEST_URI=/twilio \
    HTTP_X_TWILIO_SIGNATURE="$good" twilio-verify 2>>err.log; echo "? $?"
e
case_ path prefix in the public URL
v "$(sign $tok wss://example.com/cp/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com/cp/ twilio-verify
v "$(sign $tok wss://example.com:443/cp/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com/cp twilio-verify
v "$(sign $tok wss://example.com/twilio)" CALLPIPE_PUBLIC_URL=wss://example.com/cp twilio-verify
e
case_ options override the environment
v "$(sign $tok wss://calls.example.net/hook)" twilio-verify -u wss://calls.example.net -p /hook
v "$(sign $tok wss://example.com/twilio)" twilio-verify -u wss://calls.example.net -p /hook
e
case_ request path from REQUEST_URI with its query, or SCRIPT_NAME PATH_INFO QUERY_STRING
v "$(sign $tok 'wss://example.com/twilio?a=1&b=%20')" REQUEST_URI='/twilio?a=1&b=%20' twilio-verify
env -i PATH="$PATH" TWILIO_AUTH_TOKEN=$tok CALLPIPE_PUBLIC_URL=wss://example.com \
    SCRIPT_NAME=/twilio PATH_INFO=/x QUERY_STRING='q=2' \
    HTTP_X_TWILIO_SIGNATURE="$(sign $tok 'wss://example.com/twilio/x?q=2')" twilio-verify; echo "? $?"
env -i PATH="$PATH" TWILIO_AUTH_TOKEN=$tok CALLPIPE_PUBLIC_URL=wss://example.com \
    HTTP_X_TWILIO_SIGNATURE="$good" twilio-verify 2>>err.log; echo "? $?"
e
case_ IPv6 host with default port
v "$(sign $tok 'wss://[2001:db8::1]/twilio')" CALLPIPE_PUBLIC_URL='wss://[2001:db8::1]:443' twilio-verify
case_ bad usage: unknown scheme, no host, bad port, no URL, extra argument, unknown option
v "$good" CALLPIPE_PUBLIC_URL=ftp://example.com twilio-verify
v "$good" CALLPIPE_PUBLIC_URL=wss:///twilio twilio-verify
v "$good" CALLPIPE_PUBLIC_URL=wss://example.com:44x3 twilio-verify
v "$good" CALLPIPE_PUBLIC_URL= twilio-verify
v "$good" twilio-verify extra
v "$good" twilio-verify -x
e
case_ the token never appears in any message
for s in "$good" bad "" "$tok"; do
	v "$s" twilio-verify
	v "$s" twilio-verify -p /other
done
wc -l <err.log | sed 's/^ */messages: /'
grep -c "$tok" err.log | sed 's/^/messages with the token: /'
case_ "--help: the usage of the man page's SYNOPSIS, on stdout, exit 0; a missing value is a usage error"
: >err.log
twilio-verify --help > help; echo "? $?"
syn=$(mandoc -T ascii "$TOP/man/twilio-verify.1" | col -b | sed -n '/^SYNOPSIS/,/^DESCRIPTION/p' |
	sed '1d;$d' | tr -s ' \t\n' '   ' | sed 's/^ *//; s/ *$//')
[ "$(cat help)" = "usage: $syn" ] && echo "same as SYNOPSIS" || { cat help; echo "$syn"; }
v "$good" twilio-verify -u
e
