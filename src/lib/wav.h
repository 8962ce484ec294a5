/* wav.h: RIFF/WAVE headers for streams. While streaming, the RIFF, fact and data lengths
 * stay at 0xFFFFFFFF; wav_header() with the real data length fixes them afterwards. */
#ifndef CP_WAV_H
#define CP_WAV_H
#include <stddef.h>
#include <stdint.h>

enum { WAV_PCM = 1, WAV_ALAW = 6, WAV_MULAW = 7 };
#define WAV_STREAMING 0xFFFFFFFFu
#define WAV_HDR_MAX 64

struct wav_fmt {
	unsigned format;   /* WAV_PCM, WAV_ALAW, WAV_MULAW */
	unsigned channels; /* 1..WAV_MAX_CHANNELS */
	unsigned rate;     /* samples per second */
	unsigned bits;     /* 16 for PCM, 8 for mu-law/A-law */
};
#define WAV_MAX_CHANNELS 32

/* Writes the header into out (WAV_HDR_MAX bytes); returns its length.
 * PCM: 44 bytes. mu-law/A-law: 58 bytes (18-byte fmt + fact chunk, as sox writes). */
size_t wav_header(unsigned char *out, const struct wav_fmt *f, uint32_t datalen);

/* Parses a header at the start of buf. Returns 1 and sets *f, *hdrlen (bytes before the
 * audio) and *datalen (WAV_STREAMING if unknown); 0 if more bytes are needed; -1 if it is
 * not a usable WAV, with *why set to a short reason. Unknown chunks before data are skipped
 * (at most WAV_SCAN_MAX bytes of header). */
#define WAV_SCAN_MAX 65536
int wav_parse(const unsigned char *buf, size_t len, struct wav_fmt *f, size_t *hdrlen,
    uint32_t *datalen, const char **why);

/* Name of the format for Deepgram's encoding parameter: "linear16", "mulaw", "alaw". */
const char *wav_encoding(const struct wav_fmt *f);
#endif
