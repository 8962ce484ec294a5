/* bws.h: the little WebSocket (RFC 6455) and timing code shared by the benchmark's own
 * load generator (loadgen.c) and Deepgram sink (dg-sink.c). Header-only, static functions:
 * bench/run.sh compiles each program from one .c file. Plain TCP on 127.0.0.1 only.
 *
 * Tag layout: the load generator writes this at the start of every 160-byte mu-law
 * payload (one 20 ms chunk of one track). twilio-mix places chunk k of a track at byte
 * 160*k of its channel, so the sink finds a tag at every 160-byte boundary of every
 * channel and can tell exactly which message's audio it just received, and when it was
 * sent (CLOCK_MONOTONIC is one clock for every process on the machine). */
#ifndef BWS_H
#define BWS_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define TAG_M0 0xB5
#define TAG_M1 0x3C
#define TAG_LEN 24
#define CHUNK 160 /* bytes of one 20 ms chunk of one track */
/* tag: [0..1] magic, [2] phase, [3] track (0 inbound, 1 outbound), [4..7] call,
 * [8..11] seq (chunk number from 0), [12..19] send time (us, CLOCK_MONOTONIC),
 * [20] results-every (chunks per channel between Results from the sink; 0 = none),
 * [21] check = xor of bytes 0..20, [22..23] 0xAA */

static inline uint64_t
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static inline void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v; p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16); p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t
get32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void
tag_put(unsigned char *p, int phase, int track, uint32_t call, uint32_t seq, uint64_t t,
    int every)
{
	int i;
	unsigned char x = 0;

	p[0] = TAG_M0; p[1] = TAG_M1; p[2] = (unsigned char)phase; p[3] = (unsigned char)track;
	put32(p + 4, call); put32(p + 8, seq);
	put32(p + 12, (uint32_t)t); put32(p + 16, (uint32_t)(t >> 32));
	p[20] = (unsigned char)every;
	for (i = 0; i < 21; i++)
		x ^= p[i];
	p[21] = x; p[22] = 0xAA; p[23] = 0xAA;
}

/* 1 if p holds a valid tag */
static inline int
tag_ok(const unsigned char *p)
{
	int i;
	unsigned char x = 0;

	if (p[0] != TAG_M0 || p[1] != TAG_M1 || p[22] != 0xAA || p[23] != 0xAA)
		return 0;
	for (i = 0; i < 21; i++)
		x ^= p[i];
	return x == p[21];
}

static inline uint64_t
tag_time(const unsigned char *p)
{
	return (uint64_t)get32(p + 12) | (uint64_t)get32(p + 16) << 32;
}

static const char b64c[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* standard base64 with padding; returns the length written (no NUL) */
static inline size_t
b64enc(char *o, const unsigned char *s, size_t n)
{
	size_t i, k = 0;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)s[i] << 16 | (uint32_t)s[i + 1] << 8 | s[i + 2];
		o[k++] = b64c[v >> 18]; o[k++] = b64c[(v >> 12) & 63];
		o[k++] = b64c[(v >> 6) & 63]; o[k++] = b64c[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)s[i] << 16 | (i + 1 < n ? (uint32_t)s[i + 1] << 8 : 0);
		o[k++] = b64c[v >> 18]; o[k++] = b64c[(v >> 12) & 63];
		o[k++] = i + 1 < n ? b64c[(v >> 6) & 63] : '=';
		o[k++] = '=';
	}
	return k;
}

/* a growable byte buffer: data at [off, len) */
struct buf {
	unsigned char *p;
	size_t off, len, cap;
};

static inline void
buf_need(struct buf *b, size_t n)
{
	if (b->off > 0 && (b->off == b->len || b->len + n > b->cap)) {
		memmove(b->p, b->p + b->off, b->len - b->off);
		b->len -= b->off;
		b->off = 0;
	}
	if (b->len + n > b->cap) {
		size_t c = b->cap ? b->cap : 4096;
		while (c < b->len + n)
			c *= 2;
		b->p = realloc(b->p, c);
		if (b->p == NULL) {
			fprintf(stderr, "bench: fatal: out of memory\n");
			exit(111);
		}
		b->cap = c;
	}
}

static inline void
buf_add(struct buf *b, const void *s, size_t n)
{
	buf_need(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static inline size_t
buf_used(const struct buf *b)
{
	return b->len - b->off;
}

static inline void
buf_free(struct buf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

/* Appends a frame header for a payload of n bytes; with mask, a zero masking key
 * (valid per RFC 6455: the server unmasks with it; this is a benchmark, not a browser).
 * Returns the header length. */
static inline void
ws_hdr(struct buf *b, int opcode, size_t n, int mask)
{
	unsigned char h[14];
	size_t k = 0;

	h[k++] = (unsigned char)(0x80 | opcode);
	if (n < 126) {
		h[k++] = (unsigned char)((mask ? 0x80 : 0) | n);
	} else if (n < 65536) {
		h[k++] = (unsigned char)((mask ? 0x80 : 0) | 126);
		h[k++] = (unsigned char)(n >> 8); h[k++] = (unsigned char)n;
	} else {
		int i;
		h[k++] = (unsigned char)((mask ? 0x80 : 0) | 127);
		for (i = 7; i >= 0; i--)
			h[k++] = (unsigned char)((uint64_t)n >> (8 * i));
	}
	if (mask) {
		memset(h + k, 0, 4);
		k += 4;
	}
	buf_add(b, h, k);
}

static inline void
ws_frame(struct buf *b, int opcode, const void *s, size_t n, int mask)
{
	ws_hdr(b, opcode, n, mask);
	buf_add(b, s, n);
}

/* Parses one frame at the front of b. Returns 1 with *op, *fin, *pl (unmasked in
 * place), *pn set and the frame consumed; 0 if incomplete; -1 if malformed. */
static inline int
ws_parse(struct buf *b, int *op, int *fin, unsigned char **pl, size_t *pn)
{
	unsigned char *p = b->p + b->off;
	size_t have = buf_used(b), k = 2, n, i;
	int masked;
	unsigned char key[4];

	if (have < 2)
		return 0;
	*fin = p[0] >> 7;
	*op = p[0] & 15;
	masked = p[1] >> 7;
	n = p[1] & 127;
	if (n == 126) {
		if (have < 4)
			return 0;
		n = (size_t)p[2] << 8 | p[3];
		k = 4;
	} else if (n == 127) {
		if (have < 10)
			return 0;
		n = 0;
		for (i = 0; i < 8; i++)
			n = n << 8 | p[2 + i];
		if (n > (64u << 20))
			return -1;
		k = 10;
	}
	if (masked) {
		if (have < k + 4)
			return 0;
		memcpy(key, p + k, 4);
		k += 4;
	}
	if (have < k + n)
		return 0;
	*pl = p + k;
	*pn = n;
	if (masked && (key[0] | key[1] | key[2] | key[3]))
		for (i = 0; i < n; i++)
			p[k + i] ^= key[i & 3];
	b->off += k + n;
	return 1;
}

/* Writes as much of b as the (non-blocking) socket takes. -1 on a real error. */
static inline int
buf_flush(struct buf *b, int fd)
{
	while (buf_used(b) > 0) {
		ssize_t w = write(fd, b->p + b->off, buf_used(b));
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN)
				return 0;
			return -1;
		}
		b->off += (size_t)w;
	}
	b->off = b->len = 0;
	return 0;
}

/* Reads what the socket has into b. Returns bytes read, 0 at EOF, -1 on error, -2 on
 * EAGAIN with nothing read. */
static inline ssize_t
buf_read(struct buf *b, int fd)
{
	ssize_t tot = 0;

	for (;;) {
		ssize_t r;
		buf_need(b, 65536);
		r = read(fd, b->p + b->len, b->cap - b->len);
		if (r > 0) {
			b->len += (size_t)r;
			tot += r;
			if ((size_t)r < 65536)
				return tot;
			continue;
		}
		if (r == 0)
			return tot > 0 ? tot : 0;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN)
			return tot > 0 ? tot : -2;
		return -1;
	}
}

#endif
