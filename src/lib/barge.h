/* barge.h: barge-in for a bot on a bidirectional Twilio Media Stream, as pure
 * functions over lines (no I/O), so twilio-agent's rules can be unit-tested.
 *
 * The bot's audio is playing from the first media it sends until Twilio echoes
 * the mark that follows it. While it plays, the caller starting to speak (a
 * Deepgram SpeechStarted, or an interim Results with words, on the caller's
 * channel) is a barge-in: the caller sends Twilio a clear and tells the bot.
 * From then on the bot's media is muted until it sends a mark or a clear, which
 * ends the interrupted utterance. */
#ifndef CP_BARGE_H
#define CP_BARGE_H
#include <stddef.h>

#define BARGE_NAME_MAX 64

struct barge {
	long chan;              /* the caller's channel */
	char lastmark[BARGE_NAME_MAX + 1]; /* the bot's last mark sent */
	int waitmark;           /* that mark is not echoed yet */
	int fresh;              /* media sent since the last mark */
	int muted;              /* after a barge-in, until a mark or clear */
};

/* What to do with a line the bot wrote. */
enum barge_bot {
	BARGE_SEND,   /* pass it to Twilio */
	BARGE_MUTED,  /* media after a barge-in: dropped */
	BARGE_BAD     /* not a media/mark/clear message for this stream: *why */
};

void barge_init(struct barge *b, long chan);
int barge_playing(const struct barge *b);
/* A Deepgram message: its trigger ("SpeechStarted" or "interim") if it is a
 * barge-in, which the state then records (clear sent, muted), else NULL. */
const char *barge_dg(struct barge *b, const char *line, size_t len);
/* A Twilio event line (mark echo, dtmf, stop). */
void barge_event(struct barge *b, const char *line, size_t len);
/* A line the bot wrote, for stream sid. */
enum barge_bot barge_bot(struct barge *b, const char *line, size_t len,
    const char *sid, const char **why);
#endif
