# tests/lib.sh: sourced by transcript tests (. "$TOP/tests/lib.sh").
# Conventions: print "--- case" headers, show "$?" after each command with `rc`,
# normalise non-deterministic output with sed, and never wait without a deadline.

# case NAME: header line in the transcript
case_() { echo "--- $*"; }

# rc CMD...: run CMD, print its exit status as "? N"
rc() { "$@"; echo "? $?"; }

# freeport: a free TCP port on 127.0.0.1 chosen now (bind to port 0, read it back)
freeport() {
	/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# waitfor SECONDS CMD...: retry CMD every 50 ms until it succeeds or the deadline passes
waitfor() {
	_w_end=$(( $(date +%s) + $1 )); shift
	while ! "$@" 2>/dev/null; do
		[ "$(date +%s)" -ge "$_w_end" ] && return 1
		sleep 0.05
	done
	return 0
}

# waitport SECONDS PORT: wait until something listens on 127.0.0.1:PORT
waitport() {
	waitfor "$1" /usr/bin/python3 -c "import socket,sys; socket.create_connection(('127.0.0.1',$2),1)"
}

# killpids PID...: stop processes this test started, by PID, and reap them
killpids() {
	for _p in "$@"; do kill "$_p" 2>/dev/null; done
	for _p in "$@"; do wait "$_p" 2>/dev/null; done
	return 0
}

# hexsum FILE: sha256 of a file, short
hexsum() { sha256sum "$1" | cut -c1-16; }

# pl ASSIGNMENT...: pipeline.sh with a valid base configuration plus the given
# assignments; its output through the test's own norm(), then "? STATUS"
pl() {
	_o=$(env CALLPIPE_BIN="$BIN" CALLPIPE_DIR="$WORK/cfg" DEEPGRAM_API_KEY=testkey \
		PROXY_URL=127.0.0.1:1 "$@" sh "$TOP/pipeline.sh" 2>&1)
	_r=$?
	printf '%s\n' "$_o" | norm
	echo "? $_r"
}

# testca NAME: a throw-away CA in NAME.pem and NAME.key (CN "callpipe NAME")
testca() {
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=callpipe $1" \
		-keyout "$1.key" -out "$1.pem" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
}

# testcert [SAN]: srv.pem and srv.key for 127.0.0.1, signed by ca.pem/ca.key, and both in
# srv.both (for socat); SAN defaults to IP:127.0.0.1
testcert() {
	openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout srv.key -out srv.csr 2>/dev/null
	printf 'subjectAltName=%s\n' "${1:-IP:127.0.0.1}" >ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 \
		-extfile ext -out srv.pem 2>/dev/null
	cat srv.pem srv.key >srv.both
}
