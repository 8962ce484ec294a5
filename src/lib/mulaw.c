/* mulaw.c: G.711 mu-law codec (bias 0x84, clip 32635), as in the ITU reference. */
#include "mulaw.h"

uint8_t
mulaw_encode(int16_t pcm)
{
	int v = pcm, sign = 0, exp, mant;

	if (v < 0) {
		v = -v;
		sign = 0x80;
	}
	if (v > 32635)
		v = 32635;
	v += 0x84;
	for (exp = 7; exp > 0 && !(v & (0x80 << exp)); exp--)
		;
	mant = (v >> (exp + 3)) & 0x0F;
	return (uint8_t)~(sign | exp << 4 | mant);
}

int16_t
mulaw_decode(uint8_t u)
{
	int v, exp, mant;

	u = (uint8_t)~u;
	exp = (u >> 4) & 7;
	mant = u & 0x0F;
	v = ((mant << 3) + 0x84) << exp;
	v -= 0x84;
	return (int16_t)((u & 0x80) ? -v : v);
}
