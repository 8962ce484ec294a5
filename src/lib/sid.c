/* sid.c: Twilio SIDs are two letters and 32 hex digits; anything else never touches a path. */
#include <string.h>

#include "cp.h"

int
cp_valid_sid(const char *s, const char *prefix)
{
	size_t i;

	if (s == NULL || prefix == NULL || strlen(prefix) != 2)
		return 0;
	if (s[0] != prefix[0] || s[1] != prefix[1])
		return 0;
	for (i = 2; i < 34; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			return 0;
	}
	return s[34] == '\0';
}
