/* base64.h: standard alphabet, '=' padding; strict decoding (no whitespace, padding only at the end). */
#ifndef CP_BASE64_H
#define CP_BASE64_H
#include <stddef.h>

#define B64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4)
#define B64_DECODED_MAX(n) (((n) / 4) * 3)
#define B64_BAD ((size_t)-1)

size_t b64_encode(const unsigned char *in, size_t n, char *out); /* writes NUL too */
size_t b64_decode(const char *in, size_t n, unsigned char *out); /* length, or B64_BAD */
/* The same answer as b64_decode, 32 characters at a time with AVX2 where the CPU has
 * it; out needs B64_SLACK bytes beyond the decoded length (the vector stores). */
#define B64_SLACK 32
size_t b64_decode_fast(const char *in, size_t n, unsigned char *out);
#endif
