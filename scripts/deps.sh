#!/bin/sh
# deps.sh: install what callpipe needs on Debian, from the machine's own apt sources.
# Adds <codename>-backports (copied from the first Debian stanza, no mirror named here)
# only when the installed libcurl lacks WebSocket support.
set -eu
prog=deps
say() { printf '%s: %s\n' "$prog" "$*" >&2; }
die() { printf '%s: fatal: %s\n' "$prog" "$*" >&2; exit 100; }

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive

pkgs="build-essential pkg-config websocketd socat libcjson-dev libssl-dev openssl sox
libsox-fmt-all espeak-ng python3-websockets mandoc jq clang libclang-rt-14-dev curl
redis-server libhiredis-dev haproxy chromium gnuplot-nox fonts-dejavu-core"

curl_has_ws() {
	command -v curl-config >/dev/null 2>&1 || return 1
	curl-config --protocols 2>/dev/null | grep -qx 'WSS\{0,1\}'
}

missing=
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
		missing="$missing $p"
done

# node and npm drive the browser and third-party client tests; keep a node that is there
command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"

updated=0
if [ -n "$missing" ]; then
	say "installing:$missing"
	$SUDO apt-get update -q >/dev/null
	updated=1
	# shellcheck disable=SC2086
	$SUDO apt-get install -y -q --no-install-recommends $missing >/dev/null
fi

node_deps() { # npm packages of the tests and the bench, from tests/node/package-lock.json
	(cd "$(dirname "$0")/../tests/node" && npm ci --no-audit --no-fund --silent) ||
		die "cannot install the npm packages of tests/node"
	say "npm packages installed in tests/node/node_modules"
}

if curl_has_ws; then
	say "libcurl $(curl-config --version | cut -d' ' -f2) has WebSocket support"
	node_deps
	exit 0
fi

. /etc/os-release
codename=${VERSION_CODENAME:?no VERSION_CODENAME in /etc/os-release}
bp=/etc/apt/sources.list.d/callpipe-backports.sources
if ! grep -rqs -- "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
	# Copy URIs and Signed-By of the machine's first Debian stanza (deb822 or one-line).
	uri= key=
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
		key=$(awk '/^Signed-By:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources)
	fi
	if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
		uri=$(awk '$1=="deb" && $0 !~ /security/ {for(i=2;i<=NF;i++) if($i ~ /^[a-z]+:\/\//){print $i; exit}}' /etc/apt/sources.list)
	fi
	[ -n "$uri" ] || die "cannot find a Debian source entry to copy for ${codename}-backports"
	[ -n "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
	tmp=$bp.tmp.$$
	printf 'Types: deb\nURIs: %s\nSuites: %s-backports\nComponents: main\nSigned-By: %s\n' \
		"$uri" "$codename" "$key" | $SUDO tee "$tmp" >/dev/null
	$SUDO mv "$tmp" "$bp"
	say "added ${codename}-backports from $uri"
	updated=0
fi
[ "$updated" -eq 1 ] || $SUDO apt-get update -q >/dev/null
$SUDO apt-get install -y -q --no-install-recommends -t "${codename}-backports" \
	libcurl4-openssl-dev libcurl4 curl >/dev/null ||
	die "cannot install libcurl4-openssl-dev from ${codename}-backports"
curl_has_ws || die "installed libcurl $(curl-config --version) still lacks ws/wss"
say "libcurl $(curl-config --version | cut -d' ' -f2) has WebSocket support"
node_deps
