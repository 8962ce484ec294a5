# fuzz-smoke: every libFuzzer harness builds (clang, -fsanitize=fuzzer,address,undefined)
# and runs clean over each of its committed seeds; no new inputs are generated.
. "$TOP/tests/lib.sh"
case_ build every harness and run its seeds
rc sh "$TOP/fuzz/run.sh" -s -o "$WORK/fuzz" 0
case_ a harness that aborts on a seed is reported and fails the run
mkdir -p h/fuzz/corpus/boom h/src && ln -s "$TOP/src/lib" h/src/lib && cp "$TOP/fuzz/run.sh" h/fuzz/
cat >h/fuzz/fuzz_boom.c <<'C'
/* fuzz-sources: src/lib/base64.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);
int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { if (n >= 4 && memcmp(d, "boom", 4) == 0) abort(); return 0; }
C
printf 'fine' >h/fuzz/corpus/boom/a
printf 'boom' >h/fuzz/corpus/boom/b
# this crash is expected: its report goes to stderr, not to the runner's sanitizer logs
ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 rc sh h/fuzz/run.sh -s -o "$WORK/h-out" 0 2>/dev/null
