/* mix.c: place Twilio media chunks by timestamp, fill gaps, give up on lagging tracks,
 * hand out interleaved frames. Pure: buffers in, buffers out (see mix.h for the rules). */
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "mix.h"
#include "mulaw.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define MIX_AVX2 1
#include <immintrin.h>
#endif
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#define MIX_MINCAP 4096
#define B64_SLACK 32 /* the vector decoder stores 32 bytes for every 24 it decodes */

#ifdef MIX_AVX2
/* Base64 with AVX2, 32 characters at a time (W. Mula's nibble-lookup method): a block
 * with anything outside the alphabet (padding included) is left to the strict scalar
 * decoder, which then decides. Returns the characters consumed (a multiple of 32);
 * stores up to 8 bytes past the decoded data. */
__attribute__((target("avx2"))) static size_t
b64_avx2(const char *in, size_t n, unsigned char *out)
{
	const __m256i lut_lo = _mm256_setr_epi8(
	    0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A,
	    0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x13, 0x1A, 0x1B, 0x1B, 0x1B, 0x1A);
	const __m256i lut_hi = _mm256_setr_epi8(
	    0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
	    0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
	const __m256i lut_roll = _mm256_setr_epi8(
	    0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0, 0, 0, 0);
	const __m256i nib = _mm256_set1_epi8(0x0F), slash = _mm256_set1_epi8(0x2F);
	const __m256i pack = _mm256_setr_epi8(
	    2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1,
	    2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1, -1);
	const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, 7, 7);
	size_t i = 0;

	for (; n - i >= 32; i += 32, out += 24) {
		__m256i s = _mm256_loadu_si256((const __m256i *)(const void *)(in + i));
		__m256i hi = _mm256_and_si256(_mm256_srli_epi32(s, 4), nib);
		__m256i lo = _mm256_and_si256(s, nib);

		if (!_mm256_testz_si256(_mm256_shuffle_epi8(lut_lo, lo), _mm256_shuffle_epi8(lut_hi, hi)))
			break;
		s = _mm256_add_epi8(s, _mm256_shuffle_epi8(lut_roll,
		    _mm256_add_epi8(_mm256_cmpeq_epi8(s, slash), hi)));
		s = _mm256_maddubs_epi16(s, _mm256_set1_epi32(0x01400140));
		s = _mm256_madd_epi16(s, _mm256_set1_epi32(0x00011000));
		s = _mm256_shuffle_epi8(s, pack);
		s = _mm256_permutevar8x32_epi32(s, lanes);
		_mm256_storeu_si256((__m256i *)(void *)out, s);
	}
	return i;
}

static int have_avx2 = -1;
#endif

/* Strict base64 (as b64_decode) into out, which has B64_SLACK bytes to spare. */
static size_t
decode(const char *in, size_t n, unsigned char *out)
{
	size_t done = 0, r;

	if (n % 4 != 0)
		return B64_BAD;
#ifdef MIX_AVX2
	if (have_avx2 && n >= 32) {
		done = b64_avx2(in, n, out);
		if (done == n) {
			/* a full final block cannot hold padding, so this is the whole answer */
			return done / 4 * 3;
		}
	}
#endif
	r = b64_decode(in + done, n - done, out + done / 4 * 3);
	return r == B64_BAD ? B64_BAD : done / 4 * 3 + r;
}

int
mix_init(struct mix *m, const struct mix_opts *o)
{
	memset(m, 0, sizeof *m);
	if (o->ntracks < 1 || o->ntracks > MIX_MAXTRACKS || o->frame < 1 || o->hold < 1)
		return -1;
	m->o = *o;
#ifdef MIX_AVX2
	if (have_avx2 < 0)
		have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
#endif
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
		n = decode(src, srclen, dst);
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
