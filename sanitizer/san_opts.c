/* san_opts: shared option parsing of the sanitiser front ends (see
 * san_opts.h).  Contract: a bad value leaves the options unchanged and
 * explains itself in why. */
#include "sanitizer/san_opts.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/i18n.h"

void san_opts_init(struct san_opts *o)
{
	memset(o, 0, sizeof(*o));
	sanitize_config_defaults(&o->cfg);
	o->cfg.extra_headers = o->extra;
}

int san_opts_parse_size(const char *s, size_t *ret)
{
	char *e;
	errno = 0;
	unsigned long long v = strtoull(s, &e, 10);
	if (errno || e == s || *e || v == 0)
		return -EINVAL;
	*ret = (size_t)v;
	return 0;
}

int san_opts_handle(struct san_opts *o, int code, const char *arg, char *why, size_t whylen)
{
	struct sanitize_config *c = &o->cfg;
	size_t v;
	switch (code) {
	case SAN_OPT_LANG:
		if (strcmp(arg, "ja") && strcmp(arg, "en")) {
			snprintf(why, whylen, "--lang: ja or en, not '%s'", arg);
			return -EINVAL;
		}
		c->lang = arg;
		return 1;
	case SAN_OPT_NOTICE:
		o->notice_path = arg;
		return 1;
	case SAN_OPT_LINKS:
		if (!strcmp(arg, "defang"))
			c->links = SAN_LINKS_DEFANG;
		else if (!strcmp(arg, "keep"))
			c->links = SAN_LINKS_KEEP;
		else if (!strcmp(arg, "remove"))
			c->links = SAN_LINKS_REMOVE;
		else {
			snprintf(why, whylen, "--links: defang, keep or remove, not '%s'", arg);
			return -EINVAL;
		}
		return 1;
	case SAN_OPT_CHARSET:
		if (!strcasecmp(arg, "utf-8"))
			c->iso2022jp = false;
		else if (!strcasecmp(arg, "iso-2022-jp"))
			c->iso2022jp = true;
		else {
			snprintf(why, whylen, "--charset: utf-8 or iso-2022-jp, not '%s'", arg);
			return -EINVAL;
		}
		return 1;
	case SAN_OPT_KEEP:
		if (c->n_extra == SAN_OPTS_MAX_LIST) {
			snprintf(why, whylen, "too many --keep-header");
			return -EINVAL;
		}
		o->extra[c->n_extra++] = arg;
		return 1;
	case SAN_OPT_Q:
		o->qdir = arg;
		return 1;
	case SAN_OPT_QMAX:
	case SAN_OPT_RETAIN:
	case SAN_OPT_MSIZE:
	case SAN_OPT_MDEPTH:
	case SAN_OPT_MPARTS:
	case SAN_OPT_MHDR:
	case SAN_OPT_MHLINE:
	case SAN_OPT_MLINE:
	case SAN_OPT_MDEC:
	case SAN_OPT_MSEC:
		if (san_opts_parse_size(arg, &v) < 0) {
			snprintf(why, whylen, "bad number '%s'", arg);
			return -EINVAL;
		}
		switch (code) {
		case SAN_OPT_QMAX:
			o->qmax = v;
			break;
		case SAN_OPT_RETAIN:
			o->retain_days = v;
			break;
		case SAN_OPT_MSIZE:
			c->lim.max_message = v;
			break;
		case SAN_OPT_MDEPTH:
			c->lim.max_depth = (unsigned)v;
			break;
		case SAN_OPT_MPARTS:
			c->lim.max_parts = (unsigned)v;
			break;
		case SAN_OPT_MHDR:
			c->lim.max_headers = (unsigned)v;
			break;
		case SAN_OPT_MHLINE:
			c->lim.max_header_line = v;
			break;
		case SAN_OPT_MLINE:
			c->lim.max_line = v;
			break;
		case SAN_OPT_MDEC:
			c->lim.max_decoded = v;
			break;
		default:
			c->lim.max_seconds = (unsigned)v;
			break;
		}
		return 1;
	default:
		return 0;
	}
}

int san_opts_open(struct san_opts *o, char *why, size_t whylen)
{
	if (o->notice_path) {
		int r = san_notice_load(o->cfg.lang ? o->cfg.lang : "ja", o->notice_path, &o->notice, why, whylen);
		if (r < 0)
			return r;
		o->cfg.notice = o->notice;
	}
	if (o->qdir) {
		struct san_quarantine_opts qo = {.dir = o->qdir,
						 .max_bytes = o->qmax,
						 .retain_seconds = (uint64_t)o->retain_days * 86400,
						 .group_read = o->qgroup_read};
		char w[480] = "";
		int r = san_quarantine_open(&qo, &o->q, w, sizeof(w));
		if (r < 0) {
			snprintf(why, whylen, "quarantine: %s", w);
			return r;
		}
		o->cfg.quarantine = o->q;
	}
	return 0;
}

void san_opts_close(struct san_opts *o)
{
	san_quarantine_close(o->q);
	san_notice_free(o->notice);
	o->q = NULL;
	o->notice = NULL;
	o->cfg.quarantine = NULL;
	o->cfg.notice = NULL;
}

const char *san_opts_usage(void)
{
	/* TRANSLATORS: the shared options in the usage of sekisho-sanitize and
	 * sekisho-milter; option names, metavariables (FILE, DIR, N, BYTES),
	 * values and defaults stay as they are written */
	return _("  --lang ja|en            notice language (default ja)\n"
		 "  --notice FILE           notice template file\n"
		 "  --links defang|keep|remove   links in HTML and URLs in text (default defang)\n"
		 "  --charset utf-8|iso-2022-jp  output charset (default utf-8)\n"
		 "  --keep-header NAME      keep this header too (repeatable)\n"
		 "  --quarantine DIR        keep originals and removed items here (0700)\n"
		 "  --quarantine-max BYTES  size cap of the quarantine (default 10 GiB)\n"
		 "  --retain-days N         delete quarantined items older than N days\n"
		 "  --max-size BYTES --max-depth N --max-parts N --max-headers N\n"
		 "  --max-header-line BYTES --max-line BYTES --max-decoded BYTES --max-seconds N\n");
}
