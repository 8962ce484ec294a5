/* wav.c: WAV header writer and tolerant stream parser. */
#include <string.h>

#include "wav.h"

static void
le16(unsigned char *p, unsigned v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void
le32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
	p[2] = (unsigned char)(v >> 16);
	p[3] = (unsigned char)(v >> 24);
}

static unsigned
rd16(const unsigned char *p)
{
	return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static uint32_t
rd32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t
addsat(uint32_t a, uint32_t b)
{
	return a > WAV_STREAMING - b ? WAV_STREAMING : a + b;
}

size_t
wav_header(unsigned char *out, const struct wav_fmt *f, uint32_t datalen)
{
	unsigned blockalign = f->channels * (f->bits / 8);
	int pcm = f->format == WAV_PCM;
	size_t fmtlen = pcm ? 16 : 18, n;
	uint32_t frames = blockalign ? datalen / blockalign : 0;

	if (datalen == WAV_STREAMING)
		frames = WAV_STREAMING;
	memcpy(out, "RIFF", 4);
	memcpy(out + 8, "WAVEfmt ", 8);
	le32(out + 16, (uint32_t)fmtlen);
	le16(out + 20, f->format);
	le16(out + 22, f->channels);
	le32(out + 24, f->rate);
	le32(out + 28, f->rate * blockalign);
	le16(out + 32, blockalign);
	le16(out + 34, f->bits);
	n = 36;
	if (!pcm) {
		le16(out + 36, 0); /* cbSize */
		memcpy(out + 38, "fact", 4);
		le32(out + 42, 4);
		le32(out + 46, frames);
		n = 50;
	}
	memcpy(out + n, "data", 4);
	le32(out + n + 4, datalen);
	n += 8;
	le32(out + 4, addsat((uint32_t)(n - 8), datalen));
	return n;
}

int
wav_parse(const unsigned char *buf, size_t len, struct wav_fmt *f, size_t *hdrlen,
    uint32_t *datalen, const char **why)
{
	size_t off = 12;
	int havefmt = 0;

	*why = "not a RIFF/WAVE stream";
	if (len >= 4 && memcmp(buf, "RIFF", 4) != 0)
		return -1;
	if (len >= 12 && memcmp(buf + 8, "WAVE", 4) != 0)
		return -1;
	for (;;) {
		uint32_t clen;

		if (off > WAV_SCAN_MAX) {
			*why = "no data chunk within the first 64 KiB";
			return -1;
		}
		if (len < off + 8)
			return 0;
		clen = rd32(buf + off + 4);
		if (memcmp(buf + off, "data", 4) == 0) {
			if (!havefmt) {
				*why = "data chunk before fmt chunk";
				return -1;
			}
			*hdrlen = off + 8;
			*datalen = clen == 0 ? WAV_STREAMING : clen; /* 0: some streamers write 0 */
			return 1;
		}
		if (memcmp(buf + off, "fmt ", 4) == 0) {
			const unsigned char *p = buf + off + 8;
			unsigned tag;

			if (clen < 16 || clen > 1024) {
				*why = "bad fmt chunk length";
				return -1;
			}
			if (len < off + 8 + clen)
				return 0;
			tag = rd16(p);
			if (tag == 0xFFFE && clen >= 40) /* WAVE_FORMAT_EXTENSIBLE: subformat GUID */
				tag = rd16(p + 24);
			f->format = tag;
			f->channels = rd16(p + 2);
			f->rate = rd32(p + 4);
			f->bits = rd16(p + 14);
			if (tag == WAV_PCM && f->bits != 16) {
				*why = "only 16-bit PCM is supported";
				return -1;
			}
			if ((tag == WAV_MULAW || tag == WAV_ALAW) && f->bits != 8) {
				*why = "mu-law/A-law must be 8 bits per sample";
				return -1;
			}
			if (tag != WAV_PCM && tag != WAV_MULAW && tag != WAV_ALAW) {
				*why = "unsupported format tag (need PCM 16-bit, mu-law or A-law)";
				return -1;
			}
			if (f->channels < 1 || f->channels > WAV_MAX_CHANNELS) {
				*why = "channel count out of range (1..32)";
				return -1;
			}
			if (f->rate < 1000 || f->rate > 192000) {
				*why = "sample rate out of range (1000..192000)";
				return -1;
			}
			havefmt = 1;
		}
		if (clen > WAV_SCAN_MAX) {
			*why = "header chunk too large";
			return -1;
		}
		off += 8 + clen + (clen & 1);
	}
}

const char *
wav_encoding(const struct wav_fmt *f)
{
	switch (f->format) {
	case WAV_PCM:
		return "linear16";
	case WAV_MULAW:
		return "mulaw";
	case WAV_ALAW:
		return "alaw";
	}
	return NULL;
}
