# bench-smoke: `make bench-smoke` (bench/run.sh --smoke) runs end to end on this build's
# tools, so the benchmark scripts cannot rot. Checks behaviour only, never speed: it ran,
# the table has every expected row (the Node peer's too), no audio was lost on callpipe
# or on the peer, the charts were drawn, bench/RESULTS.md was left alone.
# All figures are normalised to N.
. "$TOP/tests/lib.sh"

res=$TOP/bench/RESULTS.md
before=$( [ -f "$res" ] && hexsum "$res" || echo none)

case_ "bench/run.sh --smoke"
# the bench traces processes with strace, and LeakSanitizer cannot run under ptrace: on the
# sanitizer build, leaks are the other tests' business here (ASan and UBSan stay on)
[ "$VARIANT" = san ] && export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
TMPDIR=$WORK BENCH_BIN=$BIN sh "$TOP/bench/run.sh" --smoke >table.txt 2>bench.err
echo "? $?"

case_ "table rows (figures normalised)"
awk -F'|' 'NF >= 5 && $2 !~ /^-+$/ {
	s = $2; f = $3; v = $4
	gsub(/^ +| +$/, "", s); gsub(/^ +| +$/, "", f); gsub(/^ +| +$/, "", v)
	gsub(/[0-9][0-9,.]*/, "N", f); gsub(/[0-9][0-9,.]*/, "N", v)
	# a ratio callpipe / peer is n/a when the figure of the peer is 0 (tiny smoke sizes)
	gsub(/Nx|n\/a/, "R", v)
	# speed is never asserted: a slow machine may fail the p99 criterion of the smoke step
	sub(/ \(FAIL\)$/, "", v); sub(/^none of the steps$/, "N calls", v)
	# whether deepgram-stream paused its input or dropped the oldest audio depends on timing
	sub(/, input paused when full/, "", f)
	# syscall counts: which processes were traced (the commonest syscalls vary)
	if (s == "syscalls") {
		t = v; v = ""
		split("websocketd twilio-mix deepgram-stream fanout peer", names, " ")
		for (i = 1; i <= 5; i++)
			if (index("; " t, "; " names[i] " ") > 0)
				v = v (v == "" ? "" : ", ") names[i]
	}
	print s " | " f " | " v
}' table.txt

case_ "no audio lost in the smoke calls"
grep 'lost audio chunks' table.txt | awk -F'|' '{ split($4, a, " "); print "lost " a[1] }'
grep 'lost chunks;' table.txt | awk -F'|' '{ split($4, a, ";"); gsub(/ /, "", a[1]); print "lost " a[1] }'

case_ "the peer ran the same calls: every call and subscriber completed on both"
grep -c '^bench: vs peer: \(callpipe\|peer\), ' bench.err
grep '^bench: note: \|subscribers got nothing' bench.err || echo "no failed calls or silent subscribers"

case_ "the smoke results went to a temporary file, not bench/RESULTS.md"
tmp=$(sed -n 's/^bench: smoke results in \(.*\) (not bench\/RESULTS.md)$/\1/p' bench.err)
case $tmp in "$WORK"/callpipe-bench-smoke.*) echo "temp file in TMPDIR" ;; *) echo "unexpected: '$tmp'" ;; esac
sed -n '/^|/p' "$tmp" | cmp -s - table.txt && echo "same table as printed"
grep -q '^# callpipe benchmark results (smoke run' "$tmp" && echo "titled as a smoke run"
grep -q '^- commit: ' "$tmp" && echo "has commit"
grep -q '^- machine: [0-9]* CPUs' "$tmp" && echo "has machine"
for c in cpu latency; do
	head -c 8 "$tmp-$c.png" | od -An -c | tr -d ' \n' | grep -q '211PNG' && echo "chart $c: a PNG"
done
after=$( [ -f "$res" ] && hexsum "$res" || echo none)
[ "$before" = "$after" ] && echo "RESULTS.md untouched"

case_ "no problems reported"
grep -c 'PROBLEM' bench.err || :
