/* san_opts: the options both front ends share, value by value, with the
 * refusals beside the accepted values; and that the shared getopt table
 * names every code. */
#include <errno.h>
#include <getopt.h>
#include <string.h>

#include "sanitizer/san_opts.h"
#include "test/check.h"

int main(void)
{
	static const struct option table[] = {SAN_OPTS_LONG, {0}};
	size_t n = 0;
	for (; table[n].name; n++)
		CHECK(table[n].val == SAN_OPT_FIRST + (int)n && table[n].has_arg == 1, "table entry %zu (%s)", n,
		      table[n].name);
	CHECK(n == SAN_OPT_LAST - SAN_OPT_FIRST + 1, "every shared option in the table (%zu)", n);

	struct san_opts o;
	char why[256];
	san_opts_init(&o);
	CHECK(o.cfg.links == SAN_LINKS_DEFANG && !strcmp(o.cfg.lang, "ja") &&
		      o.cfg.lim.max_message == (size_t)50 << 20 && o.cfg.extra_headers == o.extra,
	      "defaults");
	static const struct {
		int code;
		const char *arg;
		int ret;
	} cases[] = {
		{SAN_OPT_LANG, "en", 1},
		{SAN_OPT_LANG, "fr", -EINVAL},
		{SAN_OPT_LINKS, "remove", 1},
		{SAN_OPT_LINKS, "sideways", -EINVAL},
		{SAN_OPT_CHARSET, "ISO-2022-JP", 1},
		{SAN_OPT_CHARSET, "latin1", -EINVAL},
		{SAN_OPT_MSIZE, "1000", 1},
		{SAN_OPT_MSIZE, "0", -EINVAL},
		{SAN_OPT_MSIZE, "12k", -EINVAL},
		{SAN_OPT_MSIZE, "", -EINVAL},
		{SAN_OPT_MSIZE, "99999999999999999999999", -EINVAL},
		{SAN_OPT_MDEPTH, "3", 1},
		{SAN_OPT_MPARTS, "7", 1},
		{SAN_OPT_MHDR, "9", 1},
		{SAN_OPT_MHLINE, "100", 1},
		{SAN_OPT_MLINE, "200", 1},
		{SAN_OPT_MDEC, "300", 1},
		{SAN_OPT_MSEC, "4", 1},
		{SAN_OPT_QMAX, "5000", 1},
		{SAN_OPT_RETAIN, "90", 1},
		{SAN_OPT_Q, "/nonexistent/q", 1},
		{SAN_OPT_NOTICE, "/x.txt", 1},
		{SAN_OPT_KEEP, "X-Keep", 1},
		{'o', "x", 0},
		{SAN_OPT_LAST + 1, "x", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		why[0] = '\0';
		int r = san_opts_handle(&o, cases[i].code, cases[i].arg, why, sizeof(why));
		CHECK(r == cases[i].ret, "case %zu (%d '%s'): %d", i, cases[i].code, cases[i].arg, r);
		CHECK((r < 0) == (why[0] != '\0'), "case %zu: a refusal says why ('%s')", i, why);
	}
	CHECK(!strcmp(o.cfg.lang, "en") && o.cfg.links == SAN_LINKS_REMOVE && o.cfg.iso2022jp,
	      "lang, links, charset set");
	CHECK(o.cfg.lim.max_message == 1000 && o.cfg.lim.max_depth == 3 && o.cfg.lim.max_parts == 7 &&
		      o.cfg.lim.max_headers == 9 && o.cfg.lim.max_header_line == 100 && o.cfg.lim.max_line == 200 &&
		      o.cfg.lim.max_decoded == 300 && o.cfg.lim.max_seconds == 4,
	      "limits set, refused values left none behind");
	CHECK(o.qmax == 5000 && o.retain_days == 90 && !strcmp(o.qdir, "/nonexistent/q") &&
		      !strcmp(o.notice_path, "/x.txt"),
	      "quarantine and notice options");
	CHECK(o.cfg.n_extra == 1 && !strcmp(o.extra[0], "X-Keep"), "keep-header");
	for (size_t i = 1; i < SAN_OPTS_MAX_LIST; i++)
		san_opts_handle(&o, SAN_OPT_KEEP, "H", why, sizeof(why));
	why[0] = '\0';
	CHECK(san_opts_handle(&o, SAN_OPT_KEEP, "one-too-many", why, sizeof(why)) == -EINVAL && why[0],
	      "keep-header cap");

	/* open: a missing notice file and an unusable quarantine are refused */
	why[0] = '\0';
	CHECK(san_opts_open(&o, why, sizeof(why)) < 0 && why[0], "open refuses a missing notice file: %s", why);
	san_opts_close(&o);
	o.notice_path = NULL;
	why[0] = '\0';
	CHECK(san_opts_open(&o, why, sizeof(why)) < 0 && strstr(why, "quarantine"), "open refuses the quarantine: %s",
	      why);
	san_opts_close(&o);
	o.qdir = NULL;
	CHECK(san_opts_open(&o, why, sizeof(why)) == 0 && !o.cfg.quarantine && !o.cfg.notice, "open with neither");
	san_opts_close(&o);
	return check_done();
}
