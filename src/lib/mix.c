/* mix.c: place Twilio media chunks by timestamp, fill gaps, give up on lagging tracks,
 * hand out interleaved frames. Pure: buffers in, buffers out (see mix.h for the rules). */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "mix.h"
#include "mulaw.h"

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MIX_MINCAP 4096

int
mix_init(struct mix *m, const struct mix_opts *o)
{
	memset(m, 0, sizeof *m);
	if (o->ntracks < 1 || o->ntracks > MIX_MAXTRACKS || o->frame < 1 || o->hold < 1)
		return -1;
	m->o = *o;
	return 0;
}

void
mix_free(struct mix *m)
{
	unsigned i;

	for (i = 0; i < MIX_MAXTRACKS; i++) {
		free(m->t[i].buf);
		m->t[i].buf = NULL;
	}
}

/* Room for `extra` more samples after the track's end. */
static int
reserve(struct mix_track *t, uint64_t written, size_t extra)
{
	size_t len = (size_t)(t->end - written), cap;
	unsigned char *nb;

	if (t->off + len + extra <= t->cap)
		return 0;
	if (t->off > 0) {
		memmove(t->buf, t->buf + t->off, len);
		t->off = 0;
		if (len + extra <= t->cap)
			return 0;
	}
	if (extra > SIZE_MAX / 4 - len)
		return -1;
	cap = t->cap ? t->cap : MIX_MINCAP;
	while (cap < len + extra)
		cap *= 2;
	if ((nb = realloc(t->buf, cap)) == NULL)
		return -1;
	t->buf = nb;
	t->cap = cap;
	return 0;
}

static unsigned char *
tail(struct mix_track *t, uint64_t written)
{
	return t->buf + t->off + (size_t)(t->end - written);
}

/* Fill every track that lags too far behind the furthest one. */
static int
lagcheck(struct mix *m, struct mix_put_info *info)
{
	uint64_t lim, maxend = 0, target;
	unsigned i;

	if (m->o.ntracks < 2)
		return MIX_OK;
	lim = m->o.max_lag && m->o.max_lag < m->o.hold ? m->o.max_lag : m->o.hold;
	for (i = 0; i < m->o.ntracks; i++)
		if (m->t[i].end > maxend)
			maxend = m->t[i].end;
	if (maxend <= lim || maxend - lim <= m->written)
		return MIX_OK;
	target = maxend - lim - m->written;
	target = m->written + target - target % m->o.frame;
	for (i = 0; i < m->o.ntracks; i++) {
		struct mix_track *t = &m->t[i];
		size_t n;

		if (t->end >= target)
			continue;
		n = (size_t)(target - t->end);
		if (reserve(t, m->written, n) < 0)
			return MIX_NOMEM;
		memset(tail(t, m->written), MULAW_SILENCE, n);
		t->end = target;
		t->fill = 1;
		t->lagfill += n;
		if (info)
			info->lagfill[i] += n;
	}
	return MIX_OK;
}

static int
place(struct mix *m, unsigned track, uint64_t ts_ms, const void *src, size_t srclen, int b64,
    struct mix_put_info *info)
{
	struct mix_track *t;
	struct mix_put_info dummy;
	uint64_t p, gap = 0, clamp = 0, drop = 0;
	unsigned char *dst;
	size_t max, n;

	if (info == NULL)
		info = &dummy;
	memset(info, 0, sizeof *info);
	if (m->finished)
		return MIX_DONE;
	if (track >= m->o.ntracks)
		return MIX_BADTRACK;
	t = &m->t[track];
	p = ts_ms * MIX_PER_MS;
	p = p > t->shift ? p - t->shift : 0;
	if (p > t->end) {
		gap = p - t->end;
		if (gap > m->o.max_gap) {
			clamp = gap - m->o.max_gap;
			gap = m->o.max_gap;
		}
	} else if (t->fill)
		drop = t->end - p; /* time already written as lag silence */

	max = b64 ? B64_DECODED_MAX(srclen) : srclen;
	if (reserve(t, m->written, (size_t)gap + max + B64_SLACK) < 0)
		return MIX_NOMEM;
	dst = tail(t, m->written) + gap;
	if (b64) {
		n = b64_decode_fast(src, srclen, dst);
		if (n == B64_BAD)
			return MIX_BADB64;
	} else {
		if (srclen)
			memcpy(dst, src, srclen);
		n = srclen;
	}
	memset(dst - gap, MULAW_SILENCE, (size_t)gap);
	t->bytes += n;
	if (drop > 0) {
		if (drop >= n) {
			t->late += n;
			info->late = n;
			n = 0;
		} else {
			memmove(dst, dst + drop, n - (size_t)drop);
			n -= (size_t)drop;
			t->late += drop;
			info->late = drop;
		}
	}
	t->shift += clamp;
	t->end += gap + n;
	if (gap > 0 || n > 0)
		t->fill = 0;
	t->chunks++;
	t->gap += gap;
	t->clamped += clamp;
	info->gap = gap;
	info->clamped = clamp;
	return lagcheck(m, info);
}

int
mix_put(struct mix *m, unsigned track, uint64_t ts_ms, const char *b64, size_t len,
    struct mix_put_info *info)
{
	return place(m, track, ts_ms, b64, len, 1, info);
}

int
mix_put_raw(struct mix *m, unsigned track, uint64_t ts_ms, const unsigned char *data,
    size_t len, struct mix_put_info *info)
{
	return place(m, track, ts_ms, data, len, 0, info);
}

uint64_t
mix_ready(const struct mix *m)
{
	uint64_t minend = m->t[0].end, n;
	unsigned i;

	for (i = 1; i < m->o.ntracks; i++)
		if (m->t[i].end < minend)
			minend = m->t[i].end;
	if (minend <= m->written)
		return 0;
	n = minend - m->written;
	return m->finished ? n : n - n % m->o.frame;
}

void
mix_read(struct mix *m, unsigned char *out, uint64_t n)
{
	unsigned i;

	if (n == 0)
		return;
	if (m->o.ntracks == 1) {
		memcpy(out, m->t[0].buf + m->t[0].off, (size_t)n);
	} else {
		const unsigned char *a = m->t[0].buf + m->t[0].off;
		const unsigned char *b = m->t[1].buf + m->t[1].off;
		size_t k = 0;

#ifdef __SSE2__
		for (; k + 16 <= n; k += 16) {
			__m128i va = _mm_loadu_si128((const __m128i *)(const void *)(a + k));
			__m128i vb = _mm_loadu_si128((const __m128i *)(const void *)(b + k));

			_mm_storeu_si128((__m128i *)(void *)(out + 2 * k), _mm_unpacklo_epi8(va, vb));
			_mm_storeu_si128((__m128i *)(void *)(out + 2 * k + 16), _mm_unpackhi_epi8(va, vb));
		}
#endif
		for (; k < n; k++) {
			out[2 * k] = a[k];
			out[2 * k + 1] = b[k];
		}
	}
	m->written += n;
	for (i = 0; i < m->o.ntracks; i++) {
		struct mix_track *t = &m->t[i];

		t->off += (size_t)n;
		if (t->end == m->written)
			t->off = 0; /* empty: start again at the front, no copy */
	}
}

int
mix_finish(struct mix *m)
{
	uint64_t maxend = 0;
	unsigned i;

	if (m->finished)
		return MIX_OK;
	for (i = 0; i < m->o.ntracks; i++)
		if (m->t[i].end > maxend)
			maxend = m->t[i].end;
	for (i = 0; i < m->o.ntracks; i++) {
		struct mix_track *t = &m->t[i];
		size_t n = (size_t)(maxend - t->end);

		if (n == 0)
			continue;
		if (reserve(t, m->written, n) < 0)
			return MIX_NOMEM;
		memset(tail(t, m->written), MULAW_SILENCE, n);
		t->end = maxend;
		t->endpad += n;
	}
	m->finished = 1;
	return MIX_OK;
}
