/* annot.h: the member fanout adds to every message (contracts: "Every message a
 * subscriber gets"). Pure functions over buffers. */
#ifndef ANNOT_H
#define ANNOT_H

#include <stddef.h>
#include <stdint.h>

/* "callpipe":{"call_sid":…,"stream_sid":…|null,"stream":n,"tracks":[…],"offset":s}
 * into buf; tracks is "inbound,outbound" (names other than [a-z_] are left out).
 * Returns its length, or 0 if it does not fit. */
size_t an_member(char *buf, size_t n, const char *callsid, const char *streamsid,
    unsigned stream, const char *tracks, int64_t offset_ms);

/* line (len bytes, one JSON object, no newline) with member added before its final
 * '}' into out (room for len + mlen + 1 bytes); its length, or 0 if the line is not
 * a JSON object (first and last non-blank bytes '{' and '}'). */
size_t an_annotate(const char *line, size_t len, const char *member, size_t mlen, char *out);

#endif
