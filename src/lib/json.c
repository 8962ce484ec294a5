/* json.c: dg_json_check (declared in dgmsg.h): is a message exactly one JSON
 * object? A strict RFC 8259 grammar walk with no recursion and no allocation:
 * valid UTF-8, no NUL byte, no lone surrogate escape, bounded nesting and
 * value count. Pure: no I/O. */
#include <string.h>

#include "dgmsg.h"

#define STR(x) #x
#define XSTR(x) STR(x)

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 if invalid. */
static size_t
utf8len(const unsigned char *p, size_t n)
{
	unsigned char c = p[0], lo = 0x80, hi = 0xbf;
	size_t k, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		k = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		k = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f; /* no UTF-16 surrogates */
	} else if (c >= 0xf0 && c <= 0xf4) {
		k = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < k)
		return 0;
	if (p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < k; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return k;
}

static int
hex4(const unsigned char *p, unsigned *v)
{
	int i;

	*v = 0;
	for (i = 0; i < 4; i++) {
		unsigned char c = p[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = c - '0';
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)(c | 0x20) - 'a' + 10;
		else
			return 0;
		*v = *v << 4 | d;
	}
	return 1;
}

/* The string starting at p[*i] == '"'. NULL if valid (then *i is past it), else why. */
static const char *
jstring(const unsigned char *p, size_t len, size_t *i)
{
	size_t j = *i + 1, k;

	for (;;) {
		unsigned c, v, w;

		if (j >= len)
			return "not valid JSON (unterminated string)";
		c = p[j];
		if (c == '"') {
			*i = j + 1;
			return NULL;
		}
		if (c < 0x20)
			return "not valid JSON (control character in a string)";
		if (c >= 0x80) {
			if ((k = utf8len(p + j, len - j)) == 0)
				return "not valid UTF-8";
			j += k;
			continue;
		}
		if (c != '\\') {
			j++;
			continue;
		}
		if (j + 1 >= len)
			return "not valid JSON (unterminated string)";
		c = p[j + 1];
		if (c != 'u') {
			if (strchr("\"\\/bfnrt", (int)c) == NULL || c == 0)
				return "not valid JSON (bad escape in a string)";
			j += 2;
			continue;
		}
		if (len - j < 6 || !hex4(p + j + 2, &v))
			return "not valid JSON (bad \\u escape)";
		j += 6;
		if (v >= 0xdc00 && v <= 0xdfff)
			return "not valid JSON (lone UTF-16 surrogate)";
		if (v >= 0xd800 && v <= 0xdbff) {
			if (len - j < 6 || p[j] != '\\' || p[j + 1] != 'u' || !hex4(p + j + 2, &w) ||
			    w < 0xdc00 || w > 0xdfff)
				return "not valid JSON (lone UTF-16 surrogate)";
			j += 6;
		}
	}
}

/* The number at p[*i]. NULL if valid (then *i is past it), else why. */
static const char *
jnumber(const unsigned char *p, size_t len, size_t *i)
{
	size_t j = *i;

#define DIGIT(x) ((x) >= '0' && (x) <= '9')
	if (j < len && p[j] == '-')
		j++;
	if (j < len && p[j] == '0')
		j++;
	else if (j < len && DIGIT(p[j]))
		while (j < len && DIGIT(p[j]))
			j++;
	else
		return "not valid JSON (bad number)";
	if (j < len && p[j] == '.') {
		j++;
		if (j >= len || !DIGIT(p[j]))
			return "not valid JSON (bad number)";
		while (j < len && DIGIT(p[j]))
			j++;
	}
	if (j < len && (p[j] == 'e' || p[j] == 'E')) {
		j++;
		if (j < len && (p[j] == '+' || p[j] == '-'))
			j++;
		if (j >= len || !DIGIT(p[j]))
			return "not valid JSON (bad number)";
		while (j < len && DIGIT(p[j]))
			j++;
	}
#undef DIGIT
	*i = j;
	return NULL;
}

/* A string, number, true, false or null at p[*i]. NULL if valid (then *i is past
 * it), else why. */
static const char *
scalar(const unsigned char *p, size_t len, size_t *i)
{
	unsigned c = p[*i];

	if (c == '"')
		return jstring(p, len, i);
	if (c == '-' || (c >= '0' && c <= '9'))
		return jnumber(p, len, i);
	if (len - *i >= 4 && memcmp(p + *i, "true", 4) == 0)
		*i += 4;
	else if (len - *i >= 5 && memcmp(p + *i, "false", 5) == 0)
		*i += 5;
	else if (len - *i >= 4 && memcmp(p + *i, "null", 4) == 0)
		*i += 4;
	else if (c >= 0x80 && utf8len(p + *i, len - *i) == 0)
		return "not valid UTF-8";
	else
		return "not valid JSON";
	return NULL;
}

/* Past the JSON white space at p[i]; *ws set when it holds more than spaces. */
static size_t
skipws(const unsigned char *p, size_t len, size_t i, int *ws)
{
	for (; i < len && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
	    p[i] == '\r'); i++)
		if (p[i] != ' ')
			*ws = 1;
	return i;
}

const char *
dg_json_check(const char *msg, size_t len, int *ws)
{
	const unsigned char *p = (const unsigned char *)msg;
	unsigned char stack[(DG_JSON_DEPTH + 7) / 8]; /* bit set: object, clear: array */
	enum { VALUE, VALUE_OR_CLOSE, KEY, KEY_OR_CLOSE, COLON, AFTER } state = VALUE;
	size_t i = 0, depth = 0, values = 0;
	int top = 1;

	*ws = 0;
	if (memchr(msg, '\0', len) != NULL)
		return "contains a NUL byte";
	for (;;) {
		unsigned c;
		const char *why;

		i = skipws(p, len, i, ws);
		if (i >= len)
			return top ? "not a JSON object (empty)" :
			    state == AFTER && depth == 0 ? NULL : "not valid JSON (truncated)";
		c = p[i];
		if (top && c != '{') {
			if (c >= 0x80 && utf8len(p + i, len - i) == 0)
				return "not valid UTF-8";
			return "not a JSON object";
		}
		top = 0;
		switch (state) {
		case VALUE_OR_CLOSE:
			if (c == ']') {
				depth--;
				i++;
				state = AFTER;
				break;
			}
			/* FALLTHROUGH */
		case VALUE:
			if (++values > DG_JSON_MAXVALUES)
				return "more than " XSTR(DG_JSON_MAXVALUES) " JSON values";
			if (c == '{' || c == '[') {
				if (depth >= DG_JSON_DEPTH)
					return "not valid JSON (nested too deeply)";
				if (c == '{')
					stack[depth / 8] |= (unsigned char)(1u << depth % 8);
				else
					stack[depth / 8] &= (unsigned char)~(1u << depth % 8);
				depth++;
				i++;
				state = c == '{' ? KEY_OR_CLOSE : VALUE_OR_CLOSE;
				break;
			}
			state = AFTER;
			if ((why = scalar(p, len, &i)) != NULL)
				return why;
			break;
		case KEY_OR_CLOSE:
			if (c == '}') {
				depth--;
				i++;
				state = AFTER;
				break;
			}
			/* FALLTHROUGH */
		case KEY:
			if (c != '"')
				return c >= 0x80 && utf8len(p + i, len - i) == 0 ? "not valid UTF-8" :
				    "not valid JSON (expected a key)";
			if ((why = jstring(p, len, &i)) != NULL)
				return why;
			state = COLON;
			break;
		case COLON:
			if (c != ':')
				return "not valid JSON (expected ':')";
			i++;
			state = VALUE;
			break;
		case AFTER: {
			int obj;

			if (depth == 0)
				return c >= 0x80 && utf8len(p + i, len - i) == 0 ? "not valid UTF-8" :
				    "not valid JSON (data after the object)";
			obj = stack[(depth - 1) / 8] >> (depth - 1) % 8 & 1;
			if (c == ',') {
				i++;
				state = obj ? KEY : VALUE;
			} else if (c == (obj ? '}' : ']')) {
				i++;
				depth--;
			} else
				return c >= 0x80 && utf8len(p + i, len - i) == 0 ? "not valid UTF-8" :
				    "not valid JSON (expected ',' or a closing bracket)";
			break;
		}
		}
	}
}
