/* dgmsg.c: time shift and dedupe of Deepgram messages (see dgmsg.h). Pure: no I/O. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "dgmsg.h"

#define STR(x) #x
#define XSTR(x) STR(x)

void
dg_state_init(struct dg_state *st, unsigned nch)
{
	unsigned c;

	memset(st, 0, sizeof *st);
	st->heard = -1;
	for (c = 0; c < DG_MAXCH; c++)
		st->ue_end[c] = st->ss_end[c] = -1;
	st->nch = nch < 1 ? 1 : nch > DG_MAXCH ? DG_MAXCH : nch;
}

void
dg_newconn(struct dg_state *st)
{
	memcpy(st->replay_end, st->final_end, sizeof st->replay_end);
	st->conns++;
}

double
dg_confirmed(const struct dg_state *st)
{
	double m = st->final_end[0];
	unsigned c;

	for (c = 1; c < st->nch; c++)
		if (st->final_end[c] < m)
			m = st->final_end[c];
	return m;
}

int
dg_fmt_time(char *buf, size_t size, double v)
{
	long long us;
	int n;

	if (!isfinite(v))
		v = 0;
	if (v > DG_TMAX)
		v = DG_TMAX;
	if (v < -DG_TMAX)
		v = -DG_TMAX;
	us = llround(v * 1e6);
	if (us < 0)
		n = snprintf(buf, size, "-%lld.%06lld", -us / 1000000, -us % 1000000);
	else
		n = snprintf(buf, size, "%lld.%06lld", us / 1000000, us % 1000000);
	if (n <= 0 || (size_t)n >= size)
		return n;
	while (n > 2 && buf[n - 1] == '0' && buf[n - 2] != '.')
		buf[--n] = '\0';
	return n;
}

/* Replaces a number item by a raw item holding v formatted (keeps its key). */
static int
setraw(cJSON *it, double v)
{
	char b[64];
	char *s;

	dg_fmt_time(b, sizeof b, v);
	s = strdup(b);
	if (s == NULL)
		return -1;
	it->type = cJSON_Raw;
	it->valuestring = s;
	it->valuedouble = v;
	return 0;
}

static int
num(const cJSON *o, const char *key, double *v)
{
	const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it) || !(fabs(it->valuedouble) <= DG_TMAX))
		return 0;
	*v = it->valuedouble;
	return 1;
}

/* Shifts the number o[key] by shift; 1 if changed, 0 if absent, -1 out of memory. */
static int
shiftkey(cJSON *o, const char *key, double shift)
{
	cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);

	if (!cJSON_IsNumber(it) || !(fabs(it->valuedouble) <= DG_TMAX))
		return 0;
	return setraw(it, it->valuedouble + shift) < 0 ? -1 : 1;
}

/* [c, n] from an array item; c = -1 if absent or odd. */
static void
chanpair(const cJSON *a, int *c, int *n)
{
	const cJSON *x;

	*c = -1;
	*n = 0;
	if (!cJSON_IsArray(a))
		return;
	x = cJSON_GetArrayItem(a, 0);
	if (cJSON_IsNumber(x) && x->valuedouble >= 0 && x->valuedouble < DG_MAXCH &&
	    x->valuedouble == floor(x->valuedouble))
		*c = (int)x->valuedouble;
	x = cJSON_GetArrayItem(a, 1);
	if (cJSON_IsNumber(x) && x->valuedouble >= 1 && x->valuedouble <= DG_MAXCH &&
	    x->valuedouble == floor(x->valuedouble))
		*n = (int)x->valuedouble;
}

/* Appends word w's text (punctuated_word, else word) to t, space-separated. */
static int
addword(const cJSON *w, char **t, size_t *len, size_t *cap)
{
	const cJSON *pw = cJSON_GetObjectItemCaseSensitive(w, "punctuated_word");
	size_t wl;

	if (!cJSON_IsString(pw))
		pw = cJSON_GetObjectItemCaseSensitive(w, "word");
	if (!cJSON_IsString(pw) || pw->valuestring == NULL)
		return 0;
	wl = strlen(pw->valuestring);
	if (*len + wl + 2 > *cap) {
		size_t c = (*len + wl + 2) * 2;
		char *p = realloc(*t, c);

		if (p == NULL)
			return -1;
		*t = p;
		*cap = c;
	}
	if (*len)
		(*t)[(*len)++] = ' ';
	memcpy(*t + *len, pw->valuestring, wl);
	*len += wl;
	(*t)[*len] = '\0';
	return 0;
}

/* Moves entities[].start_word/end_word (end exclusive) to the kept words: map[i] is
 * the new index of old word i, -1 if cut. An entity that touches a cut word, or
 * indexes no kept word, is removed. */
static void
fixentities(cJSON *alt, const int *map, int nold, int nnew)
{
	cJSON *ents = cJSON_GetObjectItemCaseSensitive(alt, "entities"), *e, *next;

	if (!cJSON_IsArray(ents))
		return;
	for (e = ents->child; e; e = next) {
		cJSON *sw = cJSON_GetObjectItemCaseSensitive(e, "start_word");
		cJSON *ew = cJSON_GetObjectItemCaseSensitive(e, "end_word");
		double a, b;
		int ok;

		next = e->next;
		a = cJSON_IsNumber(sw) ? sw->valuedouble : -1;
		b = cJSON_IsNumber(ew) ? ew->valuedouble : -1;
		ok = a >= 0 && a == floor(a) && b == floor(b) && a < b && b <= nold;
		ok = ok && map[(int)a] >= 0 && map[(int)b - 1] >= 0 &&
		    map[(int)b - 1] - map[(int)a] == (int)b - 1 - (int)a &&
		    map[(int)b - 1] < nnew;
		if (!ok) {
			cJSON_Delete(cJSON_DetachItemViaPointer(ents, e));
			continue;
		}
		cJSON_SetNumberValue(sw, map[(int)a]);
		cJSON_SetNumberValue(ew, map[(int)b - 1] + 1);
	}
}

/* Removes the words whose middle (shifted) lies at or before cut, rebuilds the
 * transcript and moves the entities to the kept words. */
static int
cutwords(cJSON *alt, double shift, double cut)
{
	cJSON *words = cJSON_GetObjectItemCaseSensitive(alt, "words"), *w, *next, *tr;
	size_t len = 0, cap = 0;
	char *t = NULL;
	int *map, nold, nnew = 0, i = 0;

	if (!cJSON_IsArray(words))
		return 0;
	nold = cJSON_GetArraySize(words);
	map = malloc(((size_t)nold + 1) * sizeof *map);
	if (map == NULL)
		return -1;
	for (w = words->child; w; w = next, i++) {
		double s, e;

		next = w->next;
		if (num(w, "start", &s) && num(w, "end", &e) && (s + e) / 2 + shift <= cut) {
			map[i] = -1;
			cJSON_Delete(cJSON_DetachItemViaPointer(words, w));
			continue;
		}
		map[i] = nnew++;
		if (addword(w, &t, &len, &cap) < 0) {
			free(map);
			free(t);
			return -1;
		}
	}
	fixentities(alt, map, nold, nnew);
	free(map);
	tr = cJSON_CreateString(t ? t : "");
	free(t);
	if (tr == NULL)
		return -1;
	if (cJSON_GetObjectItemCaseSensitive(alt, "transcript"))
		cJSON_ReplaceItemInObjectCaseSensitive(alt, "transcript", tr);
	else
		cJSON_AddItemToObject(alt, "transcript", tr);
	return 0;
}

/* Shifts word times of every alternative. */
static int
shiftwords(cJSON *root, double shift)
{
	cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "channel"), *alt, *w;

	if (!cJSON_IsObject(ch))
		return 0;
	cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(ch, "alternatives")) {
		cJSON_ArrayForEach(w, cJSON_GetObjectItemCaseSensitive(alt, "words")) {
			if (shiftkey(w, "start", shift) < 0 || shiftkey(w, "end", shift) < 0)
				return -1;
		}
	}
	return 0;
}

static int
cutall(cJSON *root, double shift, double cut)
{
	cJSON *ch = cJSON_GetObjectItemCaseSensitive(root, "channel"), *alt;

	if (!cJSON_IsObject(ch))
		return 0;
	cJSON_ArrayForEach(alt, cJSON_GetObjectItemCaseSensitive(ch, "alternatives"))
		if (cutwords(alt, shift, cut) < 0)
			return -1;
	return 0;
}

/* The JSON validator, dg_json_check, is in json.c. */

/* Times a Result cannot have: negative, or ending past the audio sent so far. */
static int
implausible(const struct dg_state *st, double start, double dur, double end)
{
	if (start < -DG_EPS || dur < 0)
		return 1;
	return st->heard >= 0 && end > st->heard + DG_SLACK;
}

/* Results: drop a repeat, trim an overlap, shift the rest, track the final end.
 * Returns 1 when the message changed, 0 when not, -1 when out of memory. */
static int
on_results(struct dg_state *st, cJSON *root, double shift, struct dg_out *out)
{
	double start = 0, dur = 0, s, e, fe;
	int havestart, c, n, r = 0, rewrite = 0;

	chanpair(cJSON_GetObjectItemCaseSensitive(root, "channel_index"), &c, &n);
	if (n > 0 && (unsigned)n != st->nch)
		st->nch = (unsigned)n;
	out->channel = c;
	out->is_final = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "is_final"));
	havestart = num(root, "start", &start);
	(void)num(root, "duration", &dur);
	s = start + shift;
	e = s + dur;
	out->end = e;
	if (havestart && implausible(st, start, dur, e)) {
		/* a final far beyond the audio would silence its channel for good */
		out->action = DG_DROP;
		out->why = "result times outside the audio sent";
		st->implausible++;
		return 0;
	}
	fe = c >= 0 ? st->final_end[c] : 0;
	if (c >= 0 && havestart && e <= fe + DG_EPS) {
		out->action = DG_DROP;
		if (out->is_final) {
			st->dups++;
			out->why = "final result for audio already transcribed";
		} else {
			st->interims_dropped++;
			out->why = "interim result for audio already transcribed";
		}
		return 0;
	}
	if (havestart && shift != 0)
		rewrite = 1;
	if (out->is_final && c >= 0 && havestart && s < fe - DG_EPS) {
		/* overlaps what was delivered: keep only the new part */
		cJSON *it;

		st->trimmed++;
		if (cutall(root, shift, fe) < 0)
			r = -1;
		it = cJSON_GetObjectItemCaseSensitive(root, "start");
		if (r == 0 && setraw(it, fe) < 0)
			r = -1;
		it = cJSON_GetObjectItemCaseSensitive(root, "duration");
		if (r == 0 && cJSON_IsNumber(it) && setraw(it, e - fe) < 0)
			r = -1;
		if (r == 0 && shift != 0 && shiftwords(root, shift) < 0)
			r = -1;
		rewrite = 1;
	} else if (rewrite) {
		if (shiftkey(root, "start", shift) < 0 || shiftwords(root, shift) < 0)
			r = -1;
	}
	if (out->is_final && c >= 0) {
		st->finals++;
		if (havestart && e > st->final_end[c])
			st->final_end[c] = e;
	}
	return r < 0 ? -1 : rewrite;
}

/* UtteranceEnd and SpeechStarted: drop what an earlier connection reported,
 * shift the rest. Returns 1 when changed, 0 when not, -1 when out of memory. */
static int
on_event(struct dg_state *st, cJSON *root, double shift, struct dg_out *out)
{
	const char *k = out->type == DGT_UTTERANCE_END ? "last_word_end" : "timestamp";
	double v, *hw;
	int c, n, r;

	chanpair(cJSON_GetObjectItemCaseSensitive(root, "channel"), &c, &n);
	out->channel = c;
	hw = c < 0 ? NULL : out->type == DGT_UTTERANCE_END ? &st->ue_end[c] :
	    &st->ss_end[c];
	/* an earlier connection reported events up to there already: up to its
	 * replay point, and each event at or before the last one delivered */
	if (c >= 0 && num(root, k, &v) && st->conns > 1 &&
	    (v + shift <= st->replay_end[c] + DG_EPS || v + shift <= *hw + DG_EPS)) {
		out->action = DG_DROP;
		out->why = "event for replayed audio";
		st->events_dropped++;
		return 0;
	}
	if (c >= 0 && num(root, k, &v) && v + shift > *hw)
		*hw = v + shift;
	if (shift != 0 && (r = shiftkey(root, k, shift)) != 0)
		return r;
	return 0;
}

static int
msgtype(const cJSON *root)
{
	const cJSON *ty = cJSON_GetObjectItemCaseSensitive(root, "type");

	if (!cJSON_IsString(ty) || ty->valuestring == NULL)
		return DGT_OTHER;
	if (strcmp(ty->valuestring, "Results") == 0)
		return DGT_RESULTS;
	if (strcmp(ty->valuestring, "Metadata") == 0)
		return DGT_METADATA;
	if (strcmp(ty->valuestring, "UtteranceEnd") == 0)
		return DGT_UTTERANCE_END;
	if (strcmp(ty->valuestring, "SpeechStarted") == 0)
		return DGT_SPEECH_STARTED;
	return DGT_OTHER;
}

int
dg_msg(struct dg_state *st, const char *msg, size_t len, double shift,
    struct dg_out *out)
{
	cJSON *root;
	int r = 0, hasnl;
	const char *why;

	memset(out, 0, sizeof *out);
	out->channel = -1;
	if (!(fabs(shift) <= DG_TMAX))
		shift = 0;
	if ((why = dg_json_check(msg, len, &hasnl)) != NULL) {
		out->type = DGT_INVALID;
		out->action = DG_DROP;
		out->why = why;
		return 0;
	}
	root = cJSON_ParseWithLength(msg, len);
	if (!cJSON_IsObject(root)) {
		/* valid JSON that cJSON cannot hold (e.g. a string with an escaped NUL
		 * ends early, never an error; this is the rare case of running out of
		 * memory) */
		cJSON_Delete(root);
		out->type = DGT_INVALID;
		out->action = DG_DROP;
		out->why = "JSON object that cannot be parsed";
		return 0;
	}
	out->type = msgtype(root);
	if (out->type == DGT_RESULTS)
		r = on_results(st, root, shift, out);
	else if (out->type == DGT_UTTERANCE_END || out->type == DGT_SPEECH_STARTED)
		r = on_event(st, root, shift, out);
	if (r < 0) {
		cJSON_Delete(root);
		out->action = DG_PASS;
		return -1;
	}
	if (out->action == DG_PASS && (r > 0 || hasnl)) {
		out->text = cJSON_PrintUnformatted(root);
		if (out->text == NULL) {
			cJSON_Delete(root);
			return -1;
		}
		out->len = strlen(out->text);
		out->action = DG_REWRITE;
	}
	cJSON_Delete(root);
	return 0;
}
