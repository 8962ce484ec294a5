#!/bin/sh
# deps.sh: install what callpipe needs on Debian, from the machine's own apt sources.
# libssl-dev gives the headers wsc's TLS module is compiled against; libssl3 is the
# library it loads (dlopen) at a process's first wss:// connection.
set -eu
prog=deps
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: fatal: %s\n' "$prog" "$*" >&2; exit 100; }

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

pkgs="build-essential pkg-config websocketd socat libcjson-dev libssl-dev libssl3 openssl sox
libsox-fmt-all espeak-ng python3-websockets mandoc jq clang libclang-rt-14-dev curl
redis-server libhiredis-dev haproxy chromium gnuplot-nox fonts-dejavu-core strace"

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done

# node and npm drive the browser and third-party client tests; keep a node that is there
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

if [ -n "$missing" ]; then
	say "installing:$missing"
	$SUDO apt-get update -q >/dev/null
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

node_deps() { # npm packages of the tests and the bench, from tests/node/package-lock.json
	(cd "$(dirname "$0")/../tests/node" && npm ci --no-audit --no-fund --silent) ||
		die "cannot install the npm packages of tests/node"
	say "npm packages installed in tests/node/node_modules"
}

node_deps
