# bench/lib.sh: sourced by bench/run.sh and bench/redis.sh ($top set).

# needbin BIN TOOL...: every callpipe tool is built in BIN, or exit 100
needbin() {
	_b=$1; shift
	for _t in "$@"; do
		[ -x "$_b/$_t" ] || { echo "bench: fatal: $_b/$_t is missing: run make first" >&2; exit 100; }
	done
}

# needcmd CMD...: every outside command is installed, or exit 100
needcmd() {
	for _t in "$@"; do
		command -v "$_t" >/dev/null 2>&1 || { echo "bench: fatal: $_t is missing (make deps)" >&2; exit 100; }
	done
}

# buildtools DIR PROG...: the bench's own tools (bench/PROG.c) into DIR, rebuilt when
# a source is newer (temp name + rename: never half-written)
buildtools() {
	_d=$1; shift
	mkdir -p "$_d" || exit 111
	for _p in "$@"; do
		if [ ! -x "$_d/$_p" ] || [ "$top/bench/$_p.c" -nt "$_d/$_p" ] || [ "$top/bench/bws.h" -nt "$_d/$_p" ]; then
			${CC:-cc} -std=c11 -O2 -g -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
			    -o "$_d/$_p.tmp.$$" "$top/bench/$_p.c" -lcrypto &&
			    mv -f "$_d/$_p.tmp.$$" "$_d/$_p" ||
			    { rm -f "$_d/$_p.tmp.$$"; echo "bench: fatal: unable to build $_p" >&2; exit 111; }
		fi
	done
}

# morefds: hundreds of calls need more than 1024 descriptors in websocketd and the
# load generator
morefds() {
	_n=$(ulimit -Hn)
	[ "$_n" = unlimited ] && _n=65536
	[ "$_n" -gt 65536 ] && _n=65536
	ulimit -n "$_n" 2>/dev/null
}
