/* base64.c: RFC 4648 section 4 codec over buffers; a vector decoder for x86-64. */
#include "base64.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define B64_AVX2 1
#include <immintrin.h>
#endif

static const char enc[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* 0..63 for alphabet, 64 for '=', 255 for anything else */
static const unsigned char dec[256] = {
#define X255 255,255,255,255,255,255,255,255,255,255,255,255,255,255,255,255
	X255, X255,
	255,255,255,255,255,255,255,255,255,255,255, 62,255,255,255, 63,
	 52, 53, 54, 55, 56, 57, 58, 59, 60, 61,255,255,255, 64,255,255,
	255,  0,  1,  2,  3,  4,  5,  6,  7,  8,  9, 10, 11, 12, 13, 14,
	 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,255,255,255,255,255,
	255, 26, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40,
	 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51,255,255,255,255,255,
	X255, X255, X255, X255, X255, X255, X255, X255
#undef X255
};

size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t i, o = 0;

	for (i = 0; i + 2 < n; i += 3) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
		out[o++] = enc[v >> 18];
		out[o++] = enc[(v >> 12) & 63];
		out[o++] = enc[(v >> 6) & 63];
		out[o++] = enc[v & 63];
	}
	if (n - i == 1) {
		unsigned v = (unsigned)in[i] << 16;
		out[o++] = enc[v >> 18];
		out[o++] = enc[(v >> 12) & 63];
		out[o++] = '=';
		out[o++] = '=';
	} else if (n - i == 2) {
		unsigned v = (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8;
		out[o++] = enc[v >> 18];
		out[o++] = enc[(v >> 12) & 63];
		out[o++] = enc[(v >> 6) & 63];
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

size_t
b64_decode(const char *in, size_t n, unsigned char *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i, o = 0;

	if (n % 4 != 0)
		return B64_BAD;
	for (i = 0; i < n; i += 4) {
		unsigned a = dec[s[i]], b = dec[s[i + 1]], c = dec[s[i + 2]], d = dec[s[i + 3]];

		if ((a | b | c | d) < 64) {
			unsigned v = a << 18 | b << 12 | c << 6 | d;
			out[o++] = (unsigned char)(v >> 16);
			out[o++] = (unsigned char)(v >> 8);
			out[o++] = (unsigned char)v;
			continue;
		}
		/* padding: only in the last quantum, "xx==" or "xxx=", unused bits zero */
		if (i + 4 != n || a > 63 || b > 63)
			return B64_BAD;
		if (c == 64 && d == 64) {
			if (b & 15)
				return B64_BAD;
			out[o++] = (unsigned char)(a << 2 | b >> 4);
		} else if (c < 64 && d == 64) {
			if (c & 3)
				return B64_BAD;
			out[o++] = (unsigned char)(a << 2 | b >> 4);
			out[o++] = (unsigned char)((b & 15) << 4 | c >> 2);
		} else
			return B64_BAD;
	}
	return o;
}

#ifdef B64_AVX2
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

size_t
b64_decode_fast(const char *in, size_t n, unsigned char *out)
{
	size_t done = 0, r;

	if (n % 4 != 0)
		return B64_BAD;
#ifdef B64_AVX2
	if (have_avx2 < 0)
		have_avx2 = __builtin_cpu_supports("avx2") ? 1 : 0;
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
