/* credis.c: CALLPIPE_REDIS_URL, connecting, and the scripts that keep the
 * registry (layout in credis.h). Times come from the Redis server (TIME), so
 * the hosts' clocks need not agree. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calldir.h"
#include "cp.h"
#include "credis.h"

static int
fail(char *err, size_t n, const char *msg)
{
	snprintf(err, n, "%s", msg);
	return -1;
}

/* Percent-decode src[0..len) into dst (size n); -1 if malformed or too long. */
static int
pctdecode(char *dst, size_t n, const char *src, size_t len)
{
	size_t i, k = 0;

	for (i = 0; i < len; i++) {
		unsigned c = (unsigned char)src[i];

		if (c == '%') {
			if (i + 2 >= len)
				return -1;
			if (sscanf(src + i + 1, "%2x", &c) != 1 || c == 0)
				return -1;
			i += 2;
		}
		if (k + 1 >= n)
			return -1;
		dst[k++] = (char)c;
	}
	dst[k] = '\0';
	return 0;
}

static int
parsedb(const char *s, struct rurl *u, char *err, size_t n)
{
	long long v;

	if (*s == '\0')
		return 0;
	if (cp_strtonum(s, 0, 1000000, &v) < 0)
		return fail(err, n,
		    "CALLPIPE_REDIS_URL: the database must be a number");
	u->db = (int)v;
	return 0;
}

static int
parseunix(const char *s, struct rurl *u, char *err, size_t n)
{
	const char *q = strchr(s, '?');
	size_t len = q ? (size_t)(q - s) : strlen(s);

	if (len == 0 || s[0] != '/' || len >= sizeof u->path)
		return fail(err, n,
		    "CALLPIPE_REDIS_URL: unix:// needs an absolute socket path "
		    "(unix:///run/redis/redis.sock)");
	memcpy(u->path, s, len);
	u->path[len] = '\0';
	if (q != NULL) {
		if (strncmp(q, "?db=", 4) != 0)
			return fail(err, n,
			    "CALLPIPE_REDIS_URL: the only unix:// parameter is "
			    "?db=N");
		if (parsedb(q + 4, u, err, n) < 0)
			return -1;
	}
	snprintf(u->shown, sizeof u->shown, "unix://%s", u->path);
	return 0;
}

static int
parseuser(const char *s, size_t len, struct rurl *u, char *err, size_t n)
{
	const char *colon = memchr(s, ':', len);

	if (colon == NULL)
		return fail(err, n,
		    "CALLPIPE_REDIS_URL: write the login as user:password@ "
		    "or :password@");
	if (pctdecode(u->user, sizeof u->user, s, (size_t)(colon - s)) < 0 ||
	    pctdecode(u->pass, sizeof u->pass, colon + 1,
		len - (size_t)(colon - s) - 1) < 0)
		return fail(err, n,
		    "CALLPIPE_REDIS_URL: malformed or too long user or "
		    "password");
	return 0;
}

static int
parsehost(const char *s, size_t len, struct rurl *u, char *err, size_t n)
{
	const char *port = NULL, *end = s + len;
	long long v;
	char num[8];

	if (len > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', len);

		if (rb == NULL || rb - s - 1 <= 0 ||
		    (size_t)(rb - s - 1) >= sizeof u->host)
			return fail(
			    err, n, "CALLPIPE_REDIS_URL: bad IPv6 address");
		memcpy(u->host, s + 1, (size_t)(rb - s - 1));
		u->host[rb - s - 1] = '\0';
		if (rb + 1 < end && rb[1] != ':')
			return fail(
			    err, n, "CALLPIPE_REDIS_URL: bad IPv6 address");
		port = rb + 1 < end ? rb + 2 : NULL;
	} else {
		const char *colon = memchr(s, ':', len);
		size_t hl = colon ? (size_t)(colon - s) : len;

		if (hl == 0 || hl >= sizeof u->host)
			return fail(err, n,
			    "CALLPIPE_REDIS_URL has no host "
			    "(redis://host:port)");
		memcpy(u->host, s, hl);
		u->host[hl] = '\0';
		port = colon ? colon + 1 : NULL;
	}
	if (strspn(u->host,
		"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789.-:") != strlen(u->host))
		return fail(err, n, "CALLPIPE_REDIS_URL: bad host name");
	u->port = 6379;
	if (port != NULL) {
		if (end - port <= 0 || (size_t)(end - port) >= sizeof num)
			return fail(err, n, "CALLPIPE_REDIS_URL: bad port");
		memcpy(num, port, (size_t)(end - port));
		num[end - port] = '\0';
		if (cp_strtonum(num, 1, 65535, &v) < 0)
			return fail(err, n,
			    "CALLPIPE_REDIS_URL: the port must be 1 to 65535");
		u->port = (int)v;
	}
	return 0;
}

int
cr_parse(const char *s, struct rurl *u, char *err, size_t n)
{
	const char *at, *slash, *hp;
	size_t i;

	memset(u, 0, sizeof *u);
	if (s == NULL || *s == '\0')
		return fail(err, n, "CALLPIPE_REDIS_URL is not set");
	for (i = 0; s[i] != '\0'; i++)
		if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
			return fail(err, n,
			    "CALLPIPE_REDIS_URL contains white space or "
			    "control characters");
	if (strncmp(s, "unix://", 7) == 0)
		return parseunix(s + 7, u, err, n);
	if (strncmp(s, "redis://", 8) != 0)
		return fail(err, n,
		    "CALLPIPE_REDIS_URL must start with redis:// or unix://");
	s += 8;
	slash = strchr(s, '/');
	/* a '/' or '@' in a password must be percent-encoded */
	at = memchr(s, '@', slash ? (size_t)(slash - s) : strlen(s));
	if (at != NULL) {
		if (parseuser(s, (size_t)(at - s), u, err, n) < 0)
			return -1;
		hp = at + 1;
	} else {
		hp = s;
	}
	slash = strchr(hp, '/');
	if (parsehost(
		hp, slash ? (size_t)(slash - hp) : strlen(hp), u, err, n) < 0)
		return -1;
	if (slash != NULL && parsedb(slash + 1, u, err, n) < 0)
		return -1;
	snprintf(u->shown, sizeof u->shown, "redis://%s%s%s%s:%d/%d",
	    u->pass[0] ? "***@" : "", strchr(u->host, ':') ? "[" : "", u->host,
	    strchr(u->host, ':') ? "]" : "", u->port, u->db);
	return 0;
}

redisContext *
cr_connect(const struct rurl *u, int nonblock, int timeout_ms)
{
	struct timeval tv = { timeout_ms / 1000, (timeout_ms % 1000) * 1000 };
	redisContext *c;

	if (u->path[0] != '\0')
		c = nonblock ? redisConnectUnixNonBlock(u->path)
			     : redisConnectUnixWithTimeout(u->path, tv);
	else
		c = nonblock ? redisConnectNonBlock(u->host, u->port)
			     : redisConnectWithTimeout(u->host, u->port, tv);
	if (c != NULL && !nonblock && c->err == 0)
		(void)redisSetTimeout(c, tv);
	return c;
}

int
cr_appendlogin(redisContext *c, const struct rurl *u)
{
	char db[16];
	int k = 0;

	if (u->pass[0] != '\0') {
		if (u->user[0] != '\0')
			redisAppendCommand(c, "AUTH %s %s", u->user, u->pass);
		else
			redisAppendCommand(c, "AUTH %s", u->pass);
		k++;
	}
	if (u->db != 0) {
		snprintf(db, sizeof db, "%d", u->db);
		redisAppendCommand(c, "SELECT %s", db);
		k++;
	}
	return k;
}

redisContext *
cr_open(const struct rurl *u, int timeout_ms, char *err, size_t n, int *refused)
{
	redisContext *c = cr_connect(u, 0, timeout_ms);
	int k, i;

	*refused = 0;
	if (c == NULL) {
		snprintf(
		    err, n, "unable to connect to %s: out of memory", u->shown);
		return NULL;
	}
	if (c->err) {
		snprintf(
		    err, n, "unable to connect to %s: %s", u->shown, c->errstr);
		redisFree(c);
		return NULL;
	}
	k = cr_appendlogin(c, u);
	for (i = 0; i < k; i++) {
		redisReply *r = NULL;

		if (redisGetReply(c, (void **)&r) != REDIS_OK || r == NULL) {
			snprintf(err, n, "unable to log in to %s: %s", u->shown,
			    c->errstr);
			redisFree(c);
			return NULL;
		}
		if (r->type == REDIS_REPLY_ERROR) {
			/* Redis's own text never holds the password */
			snprintf(err, n, "%s refused the login: %.200s",
			    u->shown, r->str);
			*refused = 1;
			freeReplyObject(r);
			redisFree(c);
			return NULL;
		}
		freeReplyObject(r);
	}
	return c;
}

void
cr_key(char *buf, const char *prefix, const char *sid)
{
	snprintf(buf, CR_KEYMAX, "%s%s", prefix, sid);
}

long long
cr_retain(void)
{
	const char *s = getenv("CALLPIPE_RETAIN_DAYS");
	long long d;

	if (s == NULL || *s == '\0')
		return 7LL * 86400;
	if (cp_strtonum(s, 1, 36500, &d) < 0)
		return -1;
	return d * 86400;
}

/* Every script starts with the server's time in ms. */
#define NOW                                                                    \
	"local t = redis.call('TIME') "                                        \
	"local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / "     \
	"1000) "

/* KEYS live ended info stream; ARGV sid streamsid host started params start
 * ttl_ms retain_s maxlen. A new stream (or one Redis forgot) is counted and its
 * start recorded. */
const char cr_lua_register[] =
    NOW "local f = 'live:' .. ARGV[2] "
	"if redis.call('HSETNX', KEYS[3], f, 1) == 1 then "
	" redis.call('HINCRBY', KEYS[3], 'nlive', 1) "
	" redis.call('HINCRBY', KEYS[3], 'streams', 1) "
	" redis.call('HSETNX', KEYS[3], 'started', ARGV[4]) "
	" redis.call('HSETNX', KEYS[3], 'params', ARGV[5]) "
	" redis.call('HSET', KEYS[3], 'host', ARGV[3]) "
	" redis.call('HDEL', KEYS[3], 'ended', 'reason', 'error') "
	" redis.call('ZREM', KEYS[2], ARGV[1]) "
	" redis.call('XADD', KEYS[4], 'MAXLEN', '~', ARGV[9], '*', 'k', 's', "
	"'s', ARGV[2],"
	"  'h', ARGV[3], 'start', ARGV[6]) "
	"end "
	"redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[7]), ARGV[1]) "
	"redis.call('EXPIRE', KEYS[3], ARGV[8]) "
	"redis.call('EXPIRE', KEYS[4], ARGV[8]) "
	"return 1";

/* KEYS live info stream; ARGV sid streamsid ttl_ms retain_s. 0: not registered
 * (Redis lost it, or a sweep ended it): the caller registers again. */
const char cr_lua_heartbeat[] =
    NOW "if redis.call('HEXISTS', KEYS[2], 'live:' .. ARGV[2]) == 0 then "
	"return 0 end "
	"redis.call('ZADD', KEYS[1], 'GT', now + tonumber(ARGV[3]), ARGV[1]) "
	"redis.call('EXPIRE', KEYS[2], ARGV[4]) "
	"redis.call('EXPIRE', KEYS[3], ARGV[4]) "
	"return 1";

/* KEYS live info stream; ARGV sid streamsid reason error grace_ms retain_s
 * maxlen. The last live stream's end leaves the call live for the grace period:
 * a new stream within it continues the call, else a sweep ends it. */
const char cr_lua_end[] = NOW
    "redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*', 'k', 'e', 's', "
    "ARGV[2],"
    " 'r', ARGV[3]) "
    "if ARGV[3] ~= 'call-ended' then "
    " redis.call('HSET', KEYS[2], 'reason', ARGV[3], 'error', ARGV[4]) end "
    "if redis.call('HDEL', KEYS[2], 'live:' .. ARGV[2]) == 1 then "
    " if redis.call('HINCRBY', KEYS[2], 'nlive', -1) <= 0 then "
    "  redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[5]), ARGV[1]) end "
    "end "
    "redis.call('EXPIRE', KEYS[2], ARGV[6]) "
    "redis.call('EXPIRE', KEYS[3], ARGV[6]) "
    "return 1";

/* KEYS live ended; ARGV iso-now retain_s maxlen keep. Ends every call whose
 * live-until has passed: ZREM decides who does it, so each call gets exactly
 * one end record. A call with streams still counted live lost its host (no
 * heartbeat). */
const char cr_lua_sweep[] = NOW
    "local n = 0 "
    "for _, sid in ipairs(redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now,"
    " 'LIMIT', 0, 64)) do "
    " if redis.call('ZREM', KEYS[1], sid) == 1 then "
    "  local info = 'callpipe:info:' .. sid "
    "  local st = 'callpipe:call:' .. sid "
    "  local r = redis.call('HGET', info, 'reason') or 'call-ended' "
    "  local e = redis.call('HGET', info, 'error') or '' "
    "  if tonumber(redis.call('HGET', info, 'nlive') or '0') > 0 then "
    "   r = 'transcription-failed' "
    "   e = 'host ' .. (redis.call('HGET', info, 'host') or '?') .. ' stopped"
    " sending heartbeats' end "
    "  for _, k in ipairs(redis.call('HKEYS', info)) do "
    "   if string.sub(k, 1, 5) == 'live:' then redis.call('HDEL', info, k) end "
    "end "
    "  redis.call('HSET', info, 'nlive', 0, 'ended', ARGV[1], 'reason', r, "
    "'error', e) "
    "  redis.call('ZADD', KEYS[2], now, sid) "
    "  redis.call('XADD', st, 'MAXLEN', '~', ARGV[3], '*', 'k', 'E', 'r', r, "
    "'x', e) "
    "  redis.call('EXPIRE', info, ARGV[2]) "
    "  redis.call('EXPIRE', st, ARGV[2]) "
    "  n = n + 1 "
    " end "
    "end "
    "redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[2]) * "
    "1000) "
    "redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[4])) "
    "return n";

int
cr_sweep(redisContext *c, long long retain)
{
	char now[CD_TIMELEN], ret[24], keep[24];
	redisReply *r;
	int rc;

	cd_isotime(time(NULL), now, sizeof now);
	snprintf(ret, sizeof ret, "%lld", retain);
	snprintf(keep, sizeof keep, "%d", CR_ENDED_KEEP);
	r = redisCommand(c, "EVAL %s 2 %s %s %s %s %s %s", cr_lua_sweep,
	    CR_LIVE, CR_ENDED, now, ret, "100000", keep);
	if (r == NULL)
		return -1;
	rc = r->type == REDIS_REPLY_ERROR ? -1 : 0;
	if (rc < 0)
		cp_warn("unable to sweep the call registry: %.200s", r->str);
	freeReplyObject(r);
	return rc;
}
