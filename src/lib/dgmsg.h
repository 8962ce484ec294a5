/* dgmsg.h: what deepgram-stream does with one incoming Deepgram message, as a pure
 * function (no I/O), so it can be unit-tested and fuzzed.
 *
 * Times: a connection's messages count seconds from the start of THAT connection's audio.
 * The caller passes shift = seconds of input before the connection's first audio byte
 * (the replayed audio's start offset), and every time field is moved by it: Results
 * start and words[].start/end, UtteranceEnd last_word_end, SpeechStarted timestamp.
 * Metadata (duration etc.) is left as Deepgram sent it.
 *
 * Dedupe, per channel (channel_index[0]): the state keeps the end of the last final
 * result delivered. A final that ends at or before it (1 ms tolerance) was delivered
 * already: dropped. A final that starts before it and ends after it overlaps: the words
 * whose middle lies before it are removed, the transcript is rebuilt from the remaining
 * words (punctuated_word, else word, joined by spaces), start/duration are cut to the
 * new part, and entities[].start_word/end_word (end exclusive) are moved to index the
 * kept words (an entity that lost a word is removed). An interim result that ends at or before it is dropped (it describes audio
 * whose final was delivered); later interims pass (shifted).
 * An UtteranceEnd whose last_word_end is at or before the channel's final end as it was
 * when the connection opened (dg_newconn), and a SpeechStarted whose timestamp is
 * strictly before it, describe replayed audio that an earlier connection reported
 * already: dropped; so is, after a reconnect, an event at or before the last one of
 * its type delivered for its channel. (If the previous connection
 * died between a final and its UtteranceEnd, that UtteranceEnd is lost, never doubled.)
 *
 * Plausibility: a Result with a negative start or duration, or (when the caller sets
 * st->heard, the seconds of input sent so far) ending more than DG_SLACK past it, is
 * DG_DROP and counted in implausible: it never moves the dedupe state.
 *
 * Validity: the output is JSON Lines, one message a line, so a message must be exactly
 * one JSON object (RFC 8259, valid UTF-8, no raw control characters or NUL bytes, no
 * lone UTF-16 surrogate escapes, nesting at most DG_JSON_DEPTH, at most
 * DG_JSON_MAXVALUES values): anything else is
 * DG_DROP with type DGT_INVALID and a short reason (dg_json_check).
 *
 * Output: DG_PASS (forward the input bytes unchanged), DG_REWRITE (forward out->text: a
 * compact re-serialization; done only when times changed, words were cut, or the input
 * has a tab, CR or LF between tokens), DG_DROP. Shifted numbers are written rounded to
 * microseconds, with at least one decimal ("3.0", "12.48"). */
#ifndef CP_DGMSG_H
#define CP_DGMSG_H
#include <stddef.h>

#define DG_MAXCH 32
#define DG_EPS 0.001
#define DG_SLACK 1.0 /* s: how far past the audio sent a Result may end */
#define DG_TMAX 1e9 /* time values beyond +-1e9 s are not times: left alone */
#define DG_JSON_DEPTH 512 /* deepest nesting accepted (cJSON's own limit is 1000) */
#define DG_JSON_MAXVALUES 16384 /* most values (objects, arrays, scalars) in a message:
                                 * cJSON spends ~80 bytes on each (a 1 MiB "[0,0,...]"
                                 * would take 40 MB); a Results has ~7 per word */

enum { DG_PASS = 0, DG_REWRITE = 1, DG_DROP = 2 };
enum {
	DGT_INVALID = 0,  /* not exactly one valid JSON object: always DG_DROP */
	DGT_RESULTS,
	DGT_METADATA,
	DGT_UTTERANCE_END,
	DGT_SPEECH_STARTED,
	DGT_OTHER         /* any other "type" (e.g. Error) or none: passed unchanged */
};

struct dg_state {
	double final_end[DG_MAXCH]; /* absolute end of the last delivered final, 0 if none */
	double replay_end[DG_MAXCH]; /* final_end when the current connection opened */
	double ue_end[DG_MAXCH];    /* last UtteranceEnd last_word_end delivered, -1 none */
	double ss_end[DG_MAXCH];    /* last SpeechStarted timestamp delivered, -1 none */
	unsigned nch;               /* channels that results are tracked for (>= 1) */
	unsigned conns;             /* dg_newconn calls */
	double heard;               /* absolute seconds of audio sent on this connection;
	                             * < 0: unknown (no check) */
	unsigned long finals, dups, trimmed, interims_dropped, events_dropped, implausible;
};

struct dg_out {
	int action;   /* DG_PASS, DG_REWRITE, DG_DROP */
	int type;     /* DGT_* */
	int is_final; /* Results with is_final true */
	int channel;  /* Results/UtteranceEnd/SpeechStarted channel, -1 if none */
	double end;   /* Results: absolute end (shifted start + duration) */
	char *text;   /* DG_REWRITE: malloc'd compact JSON without newline (caller frees) */
	size_t len;
	const char *why; /* DG_DROP: short reason */
};

/* nch: the audio's channel count (results for channel c >= nch are still handled;
 * nch grows to the total that channel_index reports). */
void dg_state_init(struct dg_state *st, unsigned nch);

/* Call when a connection opens, the first one too (before its first message). */
void dg_newconn(struct dg_state *st);

/* Handles one text message. Returns 0, or -1 when out of memory (out->action DG_PASS). */
int dg_msg(struct dg_state *st, const char *msg, size_t len, double shift, struct dg_out *out);

/* NULL when msg[0..len) is exactly one JSON object (RFC 8259: strict grammar, valid
 * UTF-8, no NUL byte, no lone surrogate escape, nesting <= DG_JSON_DEPTH, values <=
 * DG_JSON_MAXVALUES), else a short
 * reason ("not valid UTF-8", "contains a NUL byte", "not a JSON object", "not valid
 * JSON (...)"). *ws is set when a tab, CR or LF appears between tokens. No recursion,
 * no allocation. */
const char *dg_json_check(const char *msg, size_t len, int *ws);

/* Seconds of input that every tracked channel has final results for: the minimum over
 * channels of final_end (the replay buffer may forget audio before it). */
double dg_confirmed(const struct dg_state *st);

/* Writes v rounded to microseconds, with at least one decimal; returns the length. */
int dg_fmt_time(char *buf, size_t size, double v);
#endif
