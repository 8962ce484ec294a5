/* Tests for sha1.c: FIPS 180 vectors, a million 'a's fed in odd pieces, and RFC 6455's
 * Sec-WebSocket-Accept example. */
#include <stdio.h>
#include <string.h>

#include "base64.h"
#include "sha1.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static int
hexis(const unsigned char d[SHA1_LEN], const char *want)
{
	char got[2 * SHA1_LEN + 1];
	int i;

	for (i = 0; i < SHA1_LEN; i++)
		snprintf(got + 2 * i, 3, "%02x", d[i]);
	if (strcmp(got, want) == 0)
		return 1;
	fprintf(stderr, "got %s\nwant %s\n", got, want);
	return 0;
}

int
main(void)
{
	static const char *abc2 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	unsigned char d[SHA1_LEN], a[1000];
	char acc[32], cat[128];
	struct sha1 s;
	size_t i, k;

	sha1("abc", 3, d);
	CHECK(hexis(d, "a9993e364706816aba3e25717850c26c9cd0d89d"));
	sha1("", 0, d);
	CHECK(hexis(d, "da39a3ee5e6b4b0d3255bfef95601890afd80709"));
	sha1(abc2, strlen(abc2), d);
	CHECK(hexis(d, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"));
	memset(a, 'a', sizeof a);
	sha1_init(&s);
	for (i = 0, k = 1; i < 1000000; i += k, k = k % 997 + 1) /* pieces of 1..997 */
		sha1_update(&s, a, i + k > 1000000 ? 1000000 - i : k);
	sha1_final(&s, d);
	CHECK(hexis(d, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"));
	for (k = 0; k < 130; k++) { /* every padding length: one update = byte at a time */
		unsigned char d2[SHA1_LEN];

		sha1(a, k, d);
		sha1_init(&s);
		for (i = 0; i < k; i++)
			sha1_update(&s, a, 1);
		sha1_final(&s, d2);
		CHECK(memcmp(d, d2, SHA1_LEN) == 0);
	}
	snprintf(cat, sizeof cat, "%s%s", "dGhlIHNhbXBsZSBub25jZQ==",
	    "258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
	sha1(cat, strlen(cat), d);
	b64_encode(d, SHA1_LEN, acc);
	CHECK(strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0);
	if (failures)
		fprintf(stderr, "test-sha1: %d failures\n", failures);
	return failures != 0;
}
