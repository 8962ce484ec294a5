/* annot.c: one member added to a JSON object line, never wrapping it (see annot.h). */
#include <stdio.h>
#include <string.h>

#include "annot.h"

size_t
an_member(char *buf, size_t n, const char *callsid, const char *streamsid,
    unsigned stream, const char *tracks, int64_t offset_ms)
{
	char tr[256];
	const char *p;
	size_t k = 0;
	int r;

	tr[k++] = '[';
	for (p = tracks; p && *p && k < sizeof tr - 40;) {
		size_t len = strcspn(p, ",");

		if (len > 0 && len < 32 && strspn(p, "abcdefghijklmnopqrstuvwxyz_") >= len)
			k += (size_t)snprintf(tr + k, sizeof tr - k, "%s\"%.*s\"", k > 1 ? "," : "", (int)len, p);
		p += len;
		if (*p == ',')
			p++;
	}
	tr[k++] = ']';
	tr[k] = '\0';
	if (offset_ms < 0)
		offset_ms = 0;
	r = snprintf(buf, n, "\"callpipe\":{\"call_sid\":\"%s\",\"stream_sid\":%s%s%s,\"stream\":%u,"
	    "\"tracks\":%s,\"offset\":%lld.%03lld}",
	    callsid, streamsid && *streamsid ? "\"" : "", streamsid && *streamsid ? streamsid : "null",
	    streamsid && *streamsid ? "\"" : "", stream, tr,
	    (long long)(offset_ms / 1000), (long long)(offset_ms % 1000));
	return r > 0 && (size_t)r < n ? (size_t)r : 0;
}

static int
blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

size_t
an_annotate(const char *line, size_t len, const char *member, size_t mlen, char *out)
{
	size_t a = 0, b = len, k;

	while (a < b && blank(line[a]))
		a++;
	while (b > a && blank(line[b - 1]))
		b--;
	if (b - a < 2 || line[a] != '{' || line[b - 1] != '}')
		return 0;
	k = b - 1; /* the final '}' */
	memcpy(out, line, k);
	for (a = k; a > 0 && blank(line[a - 1]); a--)
		;
	if (line[a - 1] != '{') /* not an empty object */
		out[k++] = ',';
	memcpy(out + k, member, mlen);
	k += mlen;
	out[k++] = '}';
	return k;
}
