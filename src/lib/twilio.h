/* twilio.h: a pure parser for Twilio Media Streams messages, one JSON object per line.
 * No I/O: tw_parse() turns one line into a struct tw_msg, or rejects it with a reason.
 *
 * Memory: cJSON allocates through a per-line arena (cJSON_InitHooks, installed by
 * tw_init() for the whole process). Every pointer in a struct tw_msg points into that
 * arena and stays valid only until the next tw_parse() call; copy what you keep. */
#ifndef CP_TWILIO_H
#define CP_TWILIO_H
#include <stddef.h>
#include <stdint.h>

enum tw_event { TW_NONE, TW_CONNECTED, TW_START, TW_MEDIA, TW_DTMF, TW_MARK, TW_STOP };

/* Why a line was skipped. The parser returns TW_R_EMPTY .. TW_R_START; the others are
 * for the caller (line reader, call state), so that one table counts every reason. */
enum tw_reason {
	TW_OK = 0,
	TW_R_EMPTY,      /* empty or blank line */
	TW_R_NUL,        /* NUL byte in the line */
	TW_R_JSON,       /* not JSON */
	TW_R_TYPE,       /* not an object, or a field missing or of the wrong type */
	TW_R_EVENT,      /* unknown event */
	TW_R_TRACK,      /* media.track not "inbound"/"outbound" */
	TW_R_TIMESTAMP,  /* media.timestamp not a string of decimal digits (or out of range) */
	TW_R_PAYLOAD,    /* media.payload not a string, or (caller) not valid base64 */
	TW_R_START,      /* start without usable tracks or with an unsupported media format */
	TW_R_TOOLONG,    /* caller: line longer than the limit */
	TW_R_EARLY,      /* caller: media before start */
	TW_R_DUPSTART,   /* caller: a second start */
	TW_R_UNDECLARED, /* caller: media for a track the start did not name */
	TW_R_N
};
extern const char *const tw_reason_name[TW_R_N]; /* short keys: "not-json", ... */

enum { TW_INBOUND = 0, TW_OUTBOUND = 1, TW_NTRACKS = 2 };
#define TW_TRACK_BIT(t) (1u << (t))
#define TW_TIMESTAMP_MAX 1000000000000000ULL /* ms; larger is rejected, not wrapped */

struct tw_param {
	const char *name, *value;
};

struct tw_msg {
	enum tw_event event;
	/* media */
	int track;               /* TW_INBOUND or TW_OUTBOUND */
	uint64_t timestamp;      /* ms since the stream started */
	const char *payload;     /* base64 text, not decoded */
	size_t payload_len;
	/* start */
	const char *call_sid;    /* NULL when missing; NOT validated here */
	const char *stream_sid;  /* NULL when missing */
	const char *account_sid; /* NULL when missing */
	unsigned tracks;         /* TW_TRACK_BIT(TW_INBOUND) | TW_TRACK_BIT(TW_OUTBOUND) */
	const char *start_json;  /* the whole message, compact JSON */
	struct tw_param *params; /* customParameters with string values, in message order */
	size_t nparams;
	size_t badparams;        /* customParameters entries skipped (value not a string) */
	size_t nulparams;        /* customParameters entries skipped (escaped NUL in name or value) */
	/* rejection */
	const char *detail;      /* one short line: why the message was rejected */
	int fast;                /* 1 if the media fast path parsed it (for tests) */
};

int tw_init(void); /* 0, or -1 if out of memory */
void tw_free(void);

/* Parses one line (len bytes; line[len] must be '\0'). Returns TW_OK and fills *m,
 * or a reason with m->detail set. A string that cJSON would decode with a NUL in it
 * (an escape such as \u0000), which C would read cut short, is never used: the message
 * is rejected (TW_R_NUL), except that such a custom parameter is left out (nulparams).
 * A media line without backslashes and with one "payload" literal is parsed without
 * cJSON copying the payload (the fast path: same result, doc/twilio-fastpath.md). */
enum tw_reason tw_parse(const char *line, size_t len, struct tw_msg *m);

const char *tw_track_name(int track); /* "inbound" / "outbound" */

extern int tw_fastpath; /* 1 (default); 0 makes every line take the full parse (tests) */
#endif
