/* sha1.h: SHA-1 (FIPS 180-4), for the WebSocket handshake's Sec-WebSocket-Accept only
 * (RFC 6455 4.2.2): not for anything that needs collision resistance. */
#ifndef CP_SHA1_H
#define CP_SHA1_H
#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

struct sha1 {
	uint32_t h[5];
	uint64_t n;                /* bytes hashed so far */
	unsigned char buf[64];
};

void sha1_init(struct sha1 *s);
void sha1_update(struct sha1 *s, const void *p, size_t n);
void sha1_final(struct sha1 *s, unsigned char out[SHA1_LEN]);
void sha1(const void *p, size_t n, unsigned char out[SHA1_LEN]); /* all three at once */
#endif
