/* netfail.c: permanent or temporary, for a failure to connect (netfail.h). */
#include <errno.h>

#include "cp.h"
#include "netfail.h"
#include "wsc.h"

int
netfail_http(long status)
{
	if (status == 0 || status == 408 || status == 425 || status == 429)
		return CP_EXIT_TEMP;
	if (status >= 500 && status < 600)
		return CP_EXIT_TEMP;
	return CP_EXIT_PERM;
}

int
netfail_wsc(int fail)
{
	switch (fail) {
	case WSC_F_URL:
	case WSC_F_TLS_LOAD:
	case WSC_F_TLS_CAFILE:
	case WSC_F_TLS_CERT:
	case WSC_F_TLS_PROTO:
		return CP_EXIT_PERM;
	default:
		return CP_EXIT_TEMP;
	}
}

int
netfail_errno(int err)
{
	switch (err) {
	case EACCES:
	case EPERM:
	case EAFNOSUPPORT:
	case EPROTONOSUPPORT:
	case EINVAL:
		return CP_EXIT_PERM;
	default:
		return CP_EXIT_TEMP;
	}
}

const char *
netfail_name(int code)
{
	return code == CP_EXIT_PERM ? "permanent" : "temporary";
}
