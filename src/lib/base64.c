/* base64.c: RFC 4648 section 4 codec over buffers. */
#include "base64.h"

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
