/* mulaw.h: G.711 mu-law. 0xFF is silence (positive zero). */
#ifndef CP_MULAW_H
#define CP_MULAW_H
#include <stdint.h>

#define MULAW_SILENCE 0xFF

uint8_t mulaw_encode(int16_t pcm);
int16_t mulaw_decode(uint8_t u);
#endif
