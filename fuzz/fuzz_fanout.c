/* fuzz_fanout: fanout's line handling. There is no single pure line function in
 * src/fanout.c; its path is the bounded line reader (linebuf: lb_fill/lb_next over stdin)
 * then fb_fan of each line into every subscriber's bounded buffer (fanbuf), with readers
 * taking bytes at their own pace. This harness drives exactly that path: the input
 * arrives through a pipe in pieces of fuzzer-chosen sizes, three subscribers drain at
 * fuzzer-chosen rates. No JSON is re-serialized by fanout (lines pass unchanged).
 * Input: byte 0 = line limit and buffer sizes, byte 1.. = the stream; the bytes also
 * serve as the piece sizes and the drain amounts.
 * Invariants: lines come out exactly as a reference split gives them (overlong lines
 * reported once, never delivered); each subscriber receives whole lines, a prefix of the
 * lines it accepted; a buffer never holds more than max + longest line + 1 bytes.
 * fuzz-sources: src/lib/linebuf.c src/lib/fanbuf.c src/lib/bq.c src/lib/io.c */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cp.h"
#include "linebuf.h"
#include "fanbuf.h"

#define REQUIRE(c) do { if (!(c)) abort(); } while (0)
#define NSUB 3

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct sink {
	char *want, *got;       /* accepted lines + '\n'; bytes taken by the reader */
	size_t nwant, ngot, cap;
};

static void
append(char **b, size_t *n, size_t *cap, const char *s, size_t len)
{
	if (len == 0)
		return;
	if (*n + len > *cap) {
		*cap = (*n + len) * 2 + 64;
		*b = realloc(*b, *cap);
		REQUIRE(*b != NULL);
	}
	memcpy(*b + *n, s, len);
	*n += len;
}

/* the reference: the next line of the stream at *pos, as linebuf must report it */
static int
ref_next(const char *s, size_t n, size_t *pos, size_t max, const char **line, size_t *len)
{
	const char *nl;
	size_t l;

	if (*pos >= n)
		return LR_EOF;
	nl = memchr(s + *pos, '\n', n - *pos);
	l = nl ? (size_t)(nl - (s + *pos)) : n - *pos;
	*line = s + *pos;
	*len = l;
	*pos += l + (nl != NULL);
	return l > max ? LR_TOOLONG : LR_LINE;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t maxes[] = { 0, 1, 7, 64, 4096, 70000, 1048576 };
	struct linebuf lb;
	struct fanbuf fb[NSUB], *fv[NSUB];
	struct sink sk[NSUB];
	size_t caps[NSUB], ccap[NSUB], wcap[NSUB];
	size_t longest = 0, pos = 0, rpos = 0, pending = 0, ctl = 0, i;
	const char *s;
	size_t n, max;
	int p[2], eof = 0;

	if (size < 1)
		return 0;
	max = maxes[data[0] % 7];
	s = (const char *)data + 1;
	n = size - 1;
	REQUIRE(pipe(p) == 0);
	REQUIRE(lb_init(&lb, p[0], max) == 0);
	for (i = 0; i < NSUB; i++) {
		static const size_t bmax[] = { 1, 100, 65536 };

		fb_init(&fb[i], bmax[(data[0] / 7 + i) % 3]);
		fv[i] = &fb[i];
		memset(&sk[i], 0, sizeof sk[i]);
		caps[i] = ccap[i] = wcap[i] = 0;
	}
	(void)caps;
	for (;;) {
		char *line;
		size_t len;
		int r;

		/* feed one piece (1..4096 bytes, size from the data) when the reader has none */
		if (pending == 0 && !eof) {
			if (pos < n) {
				size_t k = 1 + ((size_t)(unsigned char)s[ctl++ % n] * 17) % 4096;

				if (k > n - pos)
					k = n - pos;
				REQUIRE(cp_writeall(p[1], s + pos, k) == 0);
				pos += k;
				pending += k;
			} else {
				close(p[1]);
				eof = 1;
			}
		}
		r = lb_fill(&lb);
		REQUIRE(r >= 0 || r == LR_AGAIN);
		if (r > 0) {
			REQUIRE((size_t)r <= pending);
			pending -= (size_t)r;
		}
		REQUIRE(r != 0 || (eof && pending == 0));
		while ((r = lb_next(&lb, &line, &len)) == LR_LINE || r == LR_TOOLONG) {
			const char *rl;
			size_t rlen;
			int rr = ref_next(s, n, &rpos, max, &rl, &rlen);

			REQUIRE(rr == r);
			if (r == LR_TOOLONG)
				continue;
			REQUIRE(len == rlen && memcmp(line, rl, len) == 0 && line[len] == '\0');
			if (len == 0)
				continue; /* fanout counts empty lines and sends nothing */
			if (len > longest)
				longest = len;
			for (i = 0; i < NSUB; i++) {
				int wasclosing = fb[i].closing;
				int fr = wasclosing ? FB_CLOSED : fb_push(&fb[i], line, len);

				REQUIRE(fr == FB_OK || fr == FB_FULL || fr == FB_CLOSED);
				if (fr == FB_OK) {
					append(&sk[i].want, &sk[i].nwant, &wcap[i], line, len);
					append(&sk[i].want, &sk[i].nwant, &wcap[i], "\n", 1);
				}
				REQUIRE(fb_len(&fb[i]) <= fb[i].max + longest + 1);
			}
			/* each reader takes some bytes */
			for (i = 0; i < NSUB; i++) {
				size_t have, take = (size_t)(unsigned char)s[ctl++ % n] * (i + 1) * 3;
				const char *d = fb_data(&fb[i], &have);

				if (take > have)
					take = have;
				append(&sk[i].got, &sk[i].ngot, &ccap[i], d, take);
				fb_consume(&fb[i], take);
			}
		}
		REQUIRE(r == LR_AGAIN || r == LR_EOF);
		if (r == LR_EOF)
			break;
	}
	REQUIRE(rpos >= n); /* every reference line was seen */
	for (i = 0; i < NSUB; i++) {
		size_t have;
		const char *d = fb_data(&fb[i], &have);

		append(&sk[i].got, &sk[i].ngot, &ccap[i], d, have);
		fb_consume(&fb[i], have);
		REQUIRE(fb_len(&fb[i]) == 0);
		/* whole lines, in order: what was taken is a prefix of what was accepted */
		REQUIRE(sk[i].ngot <= sk[i].nwant);
		REQUIRE(sk[i].ngot == 0 || memcmp(sk[i].got, sk[i].want, sk[i].ngot) == 0);
		REQUIRE(sk[i].ngot == 0 || sk[i].got[sk[i].ngot - 1] == '\n');
		if (!fb[i].closing)
			REQUIRE(sk[i].ngot == sk[i].nwant);
		free(sk[i].want);
		free(sk[i].got);
		fb_free(&fb[i]);
	}
	lb_free(&lb);
	close(p[0]);
	return 0;
}
