/* Unit tests for the shared library's pure code: base64, mu-law, WAV, numbers, SIDs,
 * lines, folder stamps. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base64.h"
#include "cp.h"
#include "dirstamp.h"
#include "linebuf.h"
#include "mulaw.h"
#include "wav.h"

static int failures;
#define CHECK(c) do { if (!(c)) { failures++; fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #c); } } while (0)

static void
test_base64(void)
{
	unsigned char out[64], all[256];
	char enc[400];
	size_t n, i;

	CHECK(b64_decode("", 0, out) == 0);
	CHECK(b64_decode("Zg==", 4, out) == 1 && out[0] == 'f');
	CHECK(b64_decode("Zm8=", 4, out) == 2 && memcmp(out, "fo", 2) == 0);
	CHECK(b64_decode("Zm9v", 4, out) == 3 && memcmp(out, "foo", 3) == 0);
	CHECK(b64_decode("Zm9vYg==", 8, out) == 4);
	CHECK(b64_decode("Zm9", 3, out) == B64_BAD);         /* truncated */
	CHECK(b64_decode("Zg=", 3, out) == B64_BAD);         /* bad padding */
	CHECK(b64_decode("Z===", 4, out) == B64_BAD);
	CHECK(b64_decode("Zg==Zg==", 8, out) == B64_BAD);    /* padding in the middle */
	CHECK(b64_decode("Zm 9", 4, out) == B64_BAD);        /* whitespace */
	CHECK(b64_decode("Zm9v\n", 5, out) == B64_BAD);
	CHECK(b64_decode("Zh==", 4, out) == B64_BAD);        /* non-zero unused bits */
	CHECK(b64_decode("Zm-_", 4, out) == B64_BAD);        /* url alphabet */
	CHECK(b64_decode("Zm9\0", 4, out) == B64_BAD);       /* NUL */
	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (n = 0; n < 200; n++) {
		unsigned char back[256];
		size_t e = b64_encode(all + 56, n, enc);
		CHECK(e == B64_ENCODED_LEN(n) && strlen(enc) == e);
		CHECK(b64_decode(enc, e, back) == n && memcmp(back, all + 56, n) == 0);
	}
	b64_encode((const unsigned char *)"foobar", 6, enc);
	CHECK(strcmp(enc, "Zm9vYmFy") == 0);
}

static void
test_mulaw(void)
{
	int i;

	CHECK(mulaw_encode(0) == 0xFF);
	CHECK(mulaw_decode(0xFF) == 0);
	CHECK(mulaw_decode(0x7F) == 0);
	CHECK(mulaw_encode(32767) == 0x80);
	CHECK(mulaw_encode(-32768) == 0x00);
	CHECK(mulaw_decode(0x80) == 32124 && mulaw_decode(0x00) == -32124);
	/* decode then encode is the identity on every code except negative zero */
	for (i = 0; i < 256; i++)
		if (i != 0x7F)
			CHECK(mulaw_encode(mulaw_decode((uint8_t)i)) == i);
	/* monotonic: larger input never encodes to a smaller magnitude */
	for (i = -32768; i + 97 <= 32767; i += 97)
		CHECK(mulaw_decode(mulaw_encode((int16_t)i)) <= mulaw_decode(mulaw_encode((int16_t)(i + 97))));
}

static void
test_wav(void)
{
	struct wav_fmt f = { WAV_MULAW, 2, 8000, 8 }, g;
	unsigned char h[WAV_HDR_MAX + 16];
	size_t n, hl;
	uint32_t dl;
	const char *why;

	n = wav_header(h, &f, WAV_STREAMING);
	CHECK(n == 58);
	CHECK(memcmp(h, "RIFF", 4) == 0 && h[4] == 0xFF && h[7] == 0xFF);
	CHECK(h[20] == 7 && h[22] == 2 && h[32] == 2 && h[34] == 8);
	CHECK(wav_parse(h, n, &g, &hl, &dl, &why) == 1);
	CHECK(hl == 58 && dl == WAV_STREAMING && g.format == WAV_MULAW && g.channels == 2 && g.rate == 8000);
	CHECK(strcmp(wav_encoding(&g), "mulaw") == 0);
	for (hl = 0; hl < n; hl++) /* every prefix asks for more */
		CHECK(wav_parse(h, hl, &g, &hl, &dl, &why) == 0 || hl == 0);
	n = wav_header(h, &f, 1600);
	CHECK(wav_parse(h, n, &g, &hl, &dl, &why) == 1 && dl == 1600);
	CHECK(h[4] == (unsigned char)(50 + 1600) && h[5] == (unsigned char)((50 + 1600) >> 8));
	CHECK(h[46] == (unsigned char)800 && h[47] == (unsigned char)(800 >> 8)); /* fact: frames */
	f = (struct wav_fmt){ WAV_PCM, 1, 16000, 16 };
	n = wav_header(h, &f, 0);
	CHECK(n == 44 && h[20] == 1 && h[28] == (unsigned char)32000 && h[29] == (unsigned char)(32000 >> 8));
	CHECK(wav_parse(h, n, &g, &hl, &dl, &why) == 1 && hl == 44 && g.bits == 16 && g.rate == 16000);
	CHECK(strcmp(wav_encoding(&g), "linear16") == 0);
	CHECK(wav_parse((const unsigned char *)"RIFX0000WAVE", 12, &g, &hl, &dl, &why) == -1);
	h[34] = 24; /* 24-bit PCM refused */
	CHECK(wav_parse(h, n, &g, &hl, &dl, &why) == -1);
}

static void
test_num(void)
{
	long long v;
	uint64_t u;

	CHECK(cp_strtonum("20", 1, 1000, &v) == 0 && v == 20);
	CHECK(cp_strtonum("0", 1, 1000, &v) == -1);
	CHECK(cp_strtonum("20x", 1, 1000, &v) == -1);
	CHECK(cp_strtonum("", 1, 1000, &v) == -1);
	CHECK(cp_strtonum("99999999999999999999", 0, 10, &v) == -1);
	CHECK(cp_digits("18446744073709551615", UINT64_MAX, &u) == 0 && u == UINT64_MAX);
	CHECK(cp_digits("18446744073709551616", UINT64_MAX, &u) == -1);
	CHECK(cp_digits("4294967296", 0xFFFFFFFFu, &u) == -1);
	CHECK(cp_digits("-1", UINT64_MAX, &u) == -1);
	CHECK(cp_digits("+1", UINT64_MAX, &u) == -1);
	CHECK(cp_digits(" 1", UINT64_MAX, &u) == -1);
	CHECK(cp_digits("007", 10, &u) == 0 && u == 7);
}

static void
test_sid(void)
{
	CHECK(cp_valid_sid("CA0123456789abcdef0123456789ABCDEF", "CA"));
	CHECK(!cp_valid_sid("CA0123456789abcdef0123456789ABCDE", "CA"));
	CHECK(!cp_valid_sid("CA0123456789abcdef0123456789ABCDEF0", "CA"));
	CHECK(!cp_valid_sid("MZ0123456789abcdef0123456789ABCDEF", "CA"));
	CHECK(!cp_valid_sid("CA../../../../etc/passwd0123456789", "CA"));
	CHECK(!cp_valid_sid("", "CA"));
	CHECK(!cp_valid_sid(NULL, "CA"));
}

static void
test_linebuf(void)
{
	static const char in[] = "one\n\ntwo\r\nthree-is-far-too-long-for-max\nfo\0r\nlast";
	char big[300000];
	struct linebuf lb;
	int p[2], r;
	char *l;
	size_t n;

	CHECK(pipe(p) == 0);
	CHECK(write(p[1], in, sizeof in - 1) == (ssize_t)(sizeof in - 1));
	close(p[1]);
	CHECK(lb_init(&lb, p[0], 16) == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_LINE && n == 3 && strcmp(l, "one") == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_LINE && n == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_LINE && n == 4 && strcmp(l, "two\r") == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_TOOLONG);
	CHECK(lb_getline(&lb, &l, &n) == LR_LINE && n == 4 && memcmp(l, "fo\0r", 4) == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_LINE && n == 4 && strcmp(l, "last") == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_EOF);
	lb_free(&lb);
	close(p[0]);

	/* a line much longer than the buffer is discarded as it streams, once reported */
	CHECK(pipe(p) == 0);
	memset(big, 'x', sizeof big);
	if (fork() == 0) {
		close(p[0]);
		(void)!write(p[1], "a\n", 2);
		cp_writeall(p[1], big, sizeof big);
		(void)!write(p[1], "\nb\n", 3);
		_exit(0);
	}
	close(p[1]);
	CHECK(lb_init(&lb, p[0], 1024) == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_LINE && strcmp(l, "a") == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_TOOLONG);
	r = lb_getline(&lb, &l, &n);
	CHECK(r == LR_LINE && strcmp(l, "b") == 0);
	CHECK(lb_getline(&lb, &l, &n) == LR_EOF);
	CHECK(lb.toolong == 1 && lb.cap < 2 * 65536 + 2048);
	lb_free(&lb);
	close(p[0]);
}

/* The racy-clean rule on made-up times, then on a real folder: an entry made
 * right after a read is never missed, and a quiet folder is not read again. */
static void
test_dirstamp(void)
{
	struct dirstamp ds;
	struct stat st;
	struct timespec now;
	char dir[] = "/tmp/test-lib.XXXXXX", path[64];
	int fd;

	memset(&st, 0, sizeof st);
	st.st_ino = 7;
	st.st_mtim.tv_sec = st.st_ctim.tv_sec = 1000;
	now.tv_sec = 1000;
	now.tv_nsec = DS_RACY_NS - 1;         /* read in the mtime's tick */
	ds_record(&ds, &st, &now);
	CHECK(ds.racy && ds_differs(&ds, &st));
	now.tv_nsec = DS_RACY_NS;             /* read well after it */
	ds_record(&ds, &st, &now);
	CHECK(!ds.racy && !ds_differs(&ds, &st));
	st.st_mtim.tv_nsec = 1;               /* a change a nanosecond later */
	CHECK(ds_differs(&ds, &st));
	st.st_mtim.tv_nsec = 0;
	st.st_ctim.tv_nsec = 1;
	CHECK(ds_differs(&ds, &st));
	st.st_ctim.tv_nsec = 0;
	st.st_ino = 8;                        /* another folder under the name */
	CHECK(ds_differs(&ds, &st));
	st.st_ino = 7;
	now.tv_sec = 999;                     /* the clock was set back */
	ds_record(&ds, &st, &now);
	CHECK(ds.racy);

	CHECK(mkdtemp(dir) != NULL);
	CHECK((fd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	memset(&ds, 0, sizeof ds);
	CHECK(ds_changed(&ds, fd));           /* never read */
	ds_reading(&ds, fd);
	snprintf(path, sizeof path, "%s/a", dir);
	CHECK(mkfifo(path, 0600) == 0);       /* same tick as the read, most likely */
	CHECK(ds_changed(&ds, fd));
	usleep(2 * DS_RACY_NS / 1000);
	ds_reading(&ds, fd);
	CHECK(!ds_changed(&ds, fd));          /* quiet and well past the mtime */
	snprintf(path, sizeof path, "%s/b", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(ds_changed(&ds, fd));
	CHECK(unlink(path) == 0);
	snprintf(path, sizeof path, "%s/a", dir);
	CHECK(unlink(path) == 0);
	close(fd);
	CHECK(rmdir(dir) == 0);
}

int
main(void)
{
	test_base64();
	test_mulaw();
	test_wav();
	test_num();
	test_sid();
	test_linebuf();
	test_dirstamp();
	if (failures) {
		fprintf(stderr, "test-lib: %d checks failed\n", failures);
		return 1;
	}
	printf("test-lib: all checks passed\n");
	return 0;
}
