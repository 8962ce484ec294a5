/* twcall.h: one Twilio Media Streams call as twilio-mix keeps it, one input
 * line at a time. Pure (no I/O, no logging): twc_line() parses a line, moves
 * the call's state (start sets up the mixer, media goes into it, stop ends
 * it), counts what it skipped, and tells the caller what is left to do: log,
 * run the command, pass the line on (-E), write the frames mix_ready() has. */
#ifndef CP_TWCALL_H
#define CP_TWCALL_H
#include <stddef.h>
#include <stdint.h>

#include "mix.h"
#include "twilio.h"

struct twcall {
	struct mix_opts mo;       /* ntracks comes from start */
	struct mix mx;            /* set up by start */
	int started, stopped, finished;
	unsigned nch;             /* channels: tracks named by start */
	int chan[TW_NTRACKS];     /* track -> channel, or -1 */
	char tracks[32];          /* "inbound,outbound" */
	uint64_t nmsg, nignored, nchunks[TW_NTRACKS];
	uint64_t nbad[TW_R_N];    /* skipped lines by reason */
};

enum twc_do {
	TWC_NOTHING,  /* connected, or a line after stop that was not the first */
	TWC_SKIP,     /* skipped: reason and detail say why (already counted) */
	TWC_IGNORE,   /* the first line after stop */
	TWC_REFUSE,   /* start with a CallSid that is not CA + 32 hex digits */
	TWC_START,    /* the call started: m holds the start event */
	TWC_MEDIA,    /* audio went into the mixer: info says what it took */
	TWC_EVENT,    /* mark or dtmf: pass the line on */
	TWC_STOP,     /* stop: pass the line on; the mixer is finished */
	TWC_NOMEM     /* out of memory (or the mixer refused its options) */
};

struct twc_out {
	enum twc_do what;
	enum tw_reason reason;    /* TWC_SKIP */
	const char *detail;       /* TWC_SKIP */
	struct tw_msg m;          /* valid until the next twc_line */
	struct mix_put_info info; /* TWC_MEDIA */
	unsigned lagstart;        /* TWC_MEDIA: bit per channel that began
	                             lag-filling with this chunk */
};

void twc_init(struct twcall *c, const struct mix_opts *o);
void twc_free(struct twcall *c);
/* One line (len bytes, s[len] == '\0'). */
void twc_line(struct twcall *c, const char *s, size_t len, struct twc_out *r);
/* A line too long to read, counted as one message. */
void twc_toolong(struct twcall *c, const char *detail, struct twc_out *r);
/* End of input: every track padded and ready. MIX_OK or MIX_NOMEM. */
int twc_finish(struct twcall *c);
#endif
