/* netfail.h: one answer, for every tool that connects, to "retry or not?".
 * Each function returns CP_EXIT_PERM (100: the same request will fail again:
 * bad URL, credentials, certificate, a server that is not what the URL says) or
 * CP_EXIT_TEMP (111: the network, the server's load or a limit may clear).
 * Unknown codes are temporary: a supervisor that retries a permanent failure
 * wastes time, one that gives up on a temporary one loses a call. */
#ifndef NETFAIL_H
#define NETFAIL_H

/* The HTTP status of a refused WebSocket upgrade (anything but 101; 0 = no
 * answer). 3xx is permanent (the URL is wrong: an upgrade is never redirected);
 * 408, 425, 429 and 5xx are temporary; other 4xx, 1xx and 2xx are permanent. */
int netfail_http(long status);

/* A wsc_failclass() (WSC_F_*): a TLS handshake that fails on "wrong version
 * number" (wss:// to a plain server) or on a certificate or host name is
 * permanent, like a bad URL, a CA file that cannot be read or a missing
 * libssl; resolving, connecting, timeouts, resets and broken HTTP answers are
 * temporary. */
int netfail_wsc(int fail);

/* An errno from connect/send/recv: EACCES, EPERM, EAFNOSUPPORT,
 * EPROTONOSUPPORT, EINVAL are permanent, everything else temporary. */
int netfail_errno(int err);

/* "permanent" or "temporary", for messages. */
const char *netfail_name(int code);

#endif
