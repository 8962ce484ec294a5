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
	memset(st, 0, sizeof *st);
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

/* Removes the words whose middle (shifted) lies at or before cut, rebuilds transcript. */
static int
cutwords(cJSON *alt, double shift, double cut)
{
	cJSON *words = cJSON_GetObjectItemCaseSensitive(alt, "words"), *w, *next;
	size_t len = 0, cap = 0;
	char *t = NULL;

	if (!cJSON_IsArray(words))
		return 0;
	for (w = words->child; w; w = next) {
		double s, e;

		next = w->next;
		if (num(w, "start", &s) && num(w, "end", &e) && (s + e) / 2 + shift <= cut) {
			cJSON_Delete(cJSON_DetachItemViaPointer(words, w));
			continue;
		}
		{
			const cJSON *pw = cJSON_GetObjectItemCaseSensitive(w, "punctuated_word");
			const char *ws;
			size_t wl;

			if (!cJSON_IsString(pw))
				pw = cJSON_GetObjectItemCaseSensitive(w, "word");
			if (!cJSON_IsString(pw) || pw->valuestring == NULL)
				continue;
			ws = pw->valuestring;
			wl = strlen(ws);
			if (len + wl + 2 > cap) {
				char *p;
				cap = (len + wl + 2) * 2;
				p = realloc(t, cap);
				if (p == NULL) {
					free(t);
					return -1;
				}
				t = p;
			}
			if (len)
				t[len++] = ' ';
			memcpy(t + len, ws, wl);
			len += wl;
			t[len] = '\0';
		}
	}
	{
		cJSON *tr = cJSON_CreateString(t ? t : "");
		free(t);
		if (tr == NULL)
			return -1;
		if (cJSON_GetObjectItemCaseSensitive(alt, "transcript"))
			cJSON_ReplaceItemInObjectCaseSensitive(alt, "transcript", tr);
		else
			cJSON_AddItemToObject(alt, "transcript", tr);
	}
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

int
dg_msg(struct dg_state *st, const char *msg, size_t len, double shift, struct dg_out *out)
{
	cJSON *root;
	const cJSON *ty;
	int rewrite = 0, c = -1, n = 0, r = 0, hasnl;
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
		/* valid JSON that cJSON cannot hold (e.g. a string with an escaped NUL ends
		 * early, never an error; this is the rare case of running out of memory) */
		cJSON_Delete(root);
		out->type = DGT_INVALID;
		out->action = DG_DROP;
		out->why = "JSON object that cannot be parsed";
		return 0;
	}
	ty = cJSON_GetObjectItemCaseSensitive(root, "type");
	if (!cJSON_IsString(ty) || ty->valuestring == NULL)
		out->type = DGT_OTHER;
	else if (strcmp(ty->valuestring, "Results") == 0)
		out->type = DGT_RESULTS;
	else if (strcmp(ty->valuestring, "Metadata") == 0)
		out->type = DGT_METADATA;
	else if (strcmp(ty->valuestring, "UtteranceEnd") == 0)
		out->type = DGT_UTTERANCE_END;
	else if (strcmp(ty->valuestring, "SpeechStarted") == 0)
		out->type = DGT_SPEECH_STARTED;
	else
		out->type = DGT_OTHER;

	switch (out->type) {
	case DGT_RESULTS: {
		double start = 0, dur = 0, s, e, fe;
		const cJSON *fin = cJSON_GetObjectItemCaseSensitive(root, "is_final");
		int havestart;

		chanpair(cJSON_GetObjectItemCaseSensitive(root, "channel_index"), &c, &n);
		if (n > 0 && (unsigned)n != st->nch)
			st->nch = (unsigned)n;
		out->is_final = cJSON_IsTrue(fin);
		havestart = num(root, "start", &start);
		(void)num(root, "duration", &dur);
		s = start + shift;
		e = s + dur;
		out->end = e;
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
			break;
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
			if (e > st->final_end[c])
				st->final_end[c] = e;
		}
		break;
	}
	case DGT_UTTERANCE_END:
	case DGT_SPEECH_STARTED: {
		const char *k = out->type == DGT_UTTERANCE_END ? "last_word_end" : "timestamp";
		double v;

		chanpair(cJSON_GetObjectItemCaseSensitive(root, "channel"), &c, &n);
		/* an earlier connection reported events up to there already */
		if (c >= 0 && num(root, k, &v) && st->conns > 1 &&
		    v + shift <= st->replay_end[c] + DG_EPS) {
			out->action = DG_DROP;
			out->why = "event for replayed audio";
			st->events_dropped++;
			break;
		}
		if (shift != 0 && (r = shiftkey(root, k, shift)) > 0)
			rewrite = 1;
		break;
	}
	default:
		break;
	}
	out->channel = c;
	if (r < 0) {
		cJSON_Delete(root);
		out->action = DG_PASS;
		return -1;
	}
	if (out->action == DG_PASS && (rewrite || hasnl)) {
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
