#!/bin/sh
# fuzz/run.sh [-s] [-o dir] [seconds]: build every libFuzzer harness fuzz/fuzz_*.c with
# clang -fsanitize=fuzzer,address,undefined into build/fuzz/ (or dir), then run each for
# the given seconds (default 60) starting from its committed seeds fuzz/corpus/<name>/;
# new inputs go to <dir>/corpus/<name>/, crashes to <dir>/crashes/. Prints one line per
# harness: executions and findings. -s (smoke): run each harness over its seeds only,
# nothing new. FUZZ_ONLY="wav base64" limits the harnesses. Exit 1 if anything crashed,
# 111 if a harness did not build.
# A harness names the library files it needs in a comment line:
#   fuzz-sources: src/lib/wav.c ...      (and optionally  fuzz-libs: -lcjson)
# A harness whose sources are not there yet is skipped with a note.
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
smoke=0 out=$top/build/fuzz
while getopts so: c; do
	case $c in
	s) smoke=1 ;;
	o) out=$OPTARG ;;
	*) echo "usage: fuzz/run.sh [-s] [-o dir] [seconds]" >&2; exit 100 ;;
	esac
done
shift $((OPTIND - 1))
secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "fuzz/run.sh: fatal: seconds must be a number: $secs" >&2; exit 100 ;; esac
CC_FUZZ=${CC_FUZZ:-clang}
command -v "$CC_FUZZ" >/dev/null 2>&1 || { echo "fuzz/run.sh: fatal: need clang (CC_FUZZ=$CC_FUZZ)" >&2; exit 111; }
FFLAGS="-g -O1 -std=c11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
mkdir -p "$out/crashes" "$out/corpus" || exit 111

crashed=0 broken=0
for h in "$top"/fuzz/fuzz_*.c; do
	[ -f "$h" ] || continue
	name=$(basename "$h" .c); short=${name#fuzz_}
	if [ -n "${FUZZ_ONLY:-}" ]; then
		case " $FUZZ_ONLY " in *" $short "*|*" $name "*) ;; *) continue ;; esac
	fi
	srcs=$(sed -n 's/.*fuzz-sources:\(.*\)$/\1/p' "$h" | sed 's/\*\///' | head -n 1)
	libs=$(sed -n 's/.*fuzz-libs:\(.*\)$/\1/p' "$h" | sed 's/\*\///' | head -n 1)
	missing=
	paths=
	for s in $srcs; do
		[ -f "$top/$s" ] || missing="$missing $s"
		paths="$paths $top/$s"
	done
	if [ -n "$missing" ]; then
		echo "$name: skipped: not there yet:$missing"
		continue
	fi
	bin=$out/$name
	# shellcheck disable=SC2086
	if ! $CC_FUZZ $FFLAGS -I"$top/src/lib" -o "$bin" "$h" $paths $libs -lm >"$out/$name.build.log" 2>&1; then
		echo "$name: FAILED to build (see $out/$name.build.log)"
		sed -n 1,20p "$out/$name.build.log" >&2
		broken=1
		continue
	fi
	seeds=$top/fuzz/corpus/$short
	if [ $smoke -eq 1 ]; then
		n=0 bad=0
		for f in "$seeds"/*; do
			[ -f "$f" ] || continue
			n=$((n + 1))
			"$bin" -runs=1 "$f" >"$out/$name.smoke.log" 2>&1 || { bad=$((bad + 1)); echo "$name: seed $(basename "$f") FAILED" ; tail -n 30 "$out/$name.smoke.log" >&2; }
		done
		echo "$name: built; $n seeds, $bad failed"
		[ $bad -eq 0 ] || crashed=1
		continue
	fi
	mkdir -p "$out/corpus/$short"
	log=$out/$name.log
	before=$(ls "$out/crashes" 2>/dev/null | grep -c "^$name-")
	t0=$(date +%s)
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=1048576 -len_control=100 \
	    -print_final_stats=1 -artifact_prefix="$out/crashes/$name-" \
	    "$out/corpus/$short" "$seeds" >"$log" 2>&1
	rc=$?
	el=$(( $(date +%s) - t0 ))
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	cov=$(grep -E '^#[0-9]+.*(DONE|INITED|pulse|NEW|REDUCE)' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\) ft: \([0-9]*\) corp: \([0-9]*\).*/cov \1, ft \2, corpus \3/p')
	found=$(( $(ls "$out/crashes" 2>/dev/null | grep -c "^$name-") - before ))
	if [ $rc -ne 0 ]; then
		crashed=1
		echo "$name: ${execs:-?} executions in ${el}s; ${cov:-}; CRASH (exit $rc), $found artifact(s) in $out/crashes"
		grep -E 'ERROR: |SUMMARY: |runtime error' "$log" | head -n 5
	else
		echo "$name: ${execs:-?} executions in ${el}s; ${cov:-}; $found findings"
	fi
done
[ $broken -eq 0 ] || exit 111
[ $crashed -eq 0 ] || exit 1
exit 0
