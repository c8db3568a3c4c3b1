/* sekisho-sanitize: the command-line front end of the sanitizer.
 *
 *   sekisho-sanitize [OPTIONS] < in.eml > out.eml
 *   sekisho-sanitize [OPTIONS] -o OUTDIR FILE|DIR...
 *
 * Exit status: 0 every message sanitised (clean or malformed); 1 at least one
 * message failed closed (its output is the notice alone); 2 usage or I/O
 * error; 75 (EX_TEMPFAIL) at least one message produced no output because an
 * item could not be quarantined or an internal error happened: deliver
 * nothing, retry later.  docs/sanitizer.md has the option reference. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/i18n.h"
#include "common/version.h"
#include "common/audit/audit.h"
#include "common/fdio.h"
#include "common/strbuf.h"
#include "sanitizer/san_opts.h"
#include "sanitizer/san_record.h"
#include "sanitizer/sanitize.h"

#define EX_TEMP 75

static struct audit_log *audit;
static const char *queue_id, *env_from;
#define MAX_LIST 256
static const char *env_to[MAX_LIST];
static size_t n_env_to;
static const char *spool_dir;

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-sanitize [OPTIONS] [-o OUTDIR FILE|DIR...]\n"), f);
	fputs(san_opts_usage(), f);
	fputs(_("  --dump-template ja|en   print the built-in notice template and exit\n"
		"  --spool-dir DIR         where a large piped message is spooled (default $TMPDIR or /tmp)\n"
		"  --audit-dir DIR --audit-key FILE   write a mail.sanitized record per message\n"
		"  --queue-id ID --env-from ADDR --env-to ADDR   envelope data for the audit record\n"
		"  -o, --output DIR        batch mode: write OUTDIR/<name> for each input file\n"
		"  -h, --help, --version\n"
		"exit: 0 ok, 1 some message failed closed, 2 usage/I-O error, 75 tempfail (no output)\n"),
	      f);
}

static void write_audit(const struct sanitize_result *res, int rc)
{
	if (!audit)
		return;
	struct san_envelope env = {queue_id, env_from, env_to, n_env_to};
	san_record_mail(audit, res, &env, res->size, rc < 0, NULL);
}

/* Sanitise one input; returns the exit class (0, 1, EX_TEMP, 2). */
static int one(struct sanitize_ctx *ctx, int infd, int outfd, const char *label)
{
	struct strbuf out = STRBUF_INIT;
	struct sanitize_result res;
	int rc = sanitize_fd(ctx, infd, spool_dir, &out, &res);
	write_audit(&res, rc);
	int ex = 0;
	if (rc < 0) {
		fprintf(stderr, _("sekisho-sanitize: %s: no output (tempfail): %s\n"), label, strerror(-rc));
		ex = EX_TEMP;
	} else {
		int w = fdio_write_all(outfd, out.buf, out.len);
		if (w < 0) {
			fprintf(stderr, _("sekisho-sanitize: %s: write: %s\n"), label, strerror(-w));
			ex = 2;
		}
		if (res.status == SANITIZE_FAILED) {
			fprintf(stderr, _("sekisho-sanitize: %s: failed closed: %s\n"), label,
				res.reason ? res.reason : "?");
			if (!ex)
				ex = 1;
		}
	}
	sanitize_result_free(&res);
	strbuf_free(&out);
	return ex;
}

static int worse(int a, int b)
{
	int rank[4] = {0, 1, 3, 2}; /* 0 < 1 < 75 < 2 */
	int ra = a == 0 ? rank[0] : a == 1 ? rank[1] : a == EX_TEMP ? rank[2] : rank[3];
	int rb = b == 0 ? rank[0] : b == 1 ? rank[1] : b == EX_TEMP ? rank[2] : rank[3];
	return ra >= rb ? a : b;
}

static int one_file(struct sanitize_ctx *ctx, const char *path, const char *outdir)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	char op[PATH_MAX];
	if (snprintf(op, sizeof(op), "%s/%s", outdir, base) >= (int)sizeof(op))
		return 2;
	int in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		fprintf(stderr, "sekisho-sanitize: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.tmp", op);
	int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (out < 0) {
		fprintf(stderr, "sekisho-sanitize: %s: %s\n", tmp, strerror(errno));
		close(in);
		return 2;
	}
	int ex = one(ctx, in, out, path);
	close(in);
	if (close(out) < 0 && ex == 0)
		ex = 2;
	if (ex == 0 || ex == 1) {
		if (rename(tmp, op) < 0) {
			fprintf(stderr, "sekisho-sanitize: %s: %s\n", op, strerror(errno));
			ex = 2;
		}
	} else {
		unlink(tmp);
	}
	return ex;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
	i18n_init();
	struct san_opts so;
	san_opts_init(&so);
	const char *outdir = NULL, *adir = NULL, *akey = NULL;
	spool_dir = getenv("TMPDIR");
	enum { O_DUMP = SAN_OPT_LAST + 1, O_ADIR, O_AKEY, O_QID, O_FROM, O_TO, O_SPOOL, O_VERSION };
	static const struct option opts[] = {
		SAN_OPTS_LONG,
		{"dump-template", 1, NULL, O_DUMP},
		{"spool-dir", 1, NULL, O_SPOOL},
		{"audit-dir", 1, NULL, O_ADIR},
		{"audit-key", 1, NULL, O_AKEY},
		{"queue-id", 1, NULL, O_QID},
		{"env-from", 1, NULL, O_FROM},
		{"env-to", 1, NULL, O_TO},
		{"output", 1, NULL, 'o'},
		{"help", 0, NULL, 'h'},
		{"version", 0, NULL, O_VERSION},
		{0},
	};
	int c;
	char why[512] = "";
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		int h = san_opts_handle(&so, c, optarg, why, sizeof(why));
		if (h < 0) {
			fprintf(stderr, "sekisho-sanitize: %s\n", why);
			usage(stderr);
			return 2;
		}
		if (h > 0)
			continue;
		switch (c) {
		case O_DUMP:
			return san_notice_dump(optarg, stdout) < 0 ? 2 : 0;
		case O_SPOOL:
			spool_dir = optarg;
			break;
		case O_QID:
			queue_id = optarg;
			break;
		case O_FROM:
			env_from = optarg;
			break;
		case O_TO:
			if (n_env_to == MAX_LIST) {
				fprintf(stderr, _("sekisho-sanitize: too many --env-to\n"));
				return 2;
			}
			env_to[n_env_to++] = optarg;
			break;
		case O_ADIR:
			adir = optarg;
			break;
		case O_AKEY:
			akey = optarg;
			break;
		case 'o':
			outdir = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case O_VERSION:
			version_print(stdout, "sekisho-sanitize");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (san_opts_open(&so, why, sizeof(why)) < 0) {
		fprintf(stderr, "sekisho-sanitize: %s\n", why);
		goto fail;
	}
	if (!!adir != !!akey) {
		fprintf(stderr, _("sekisho-sanitize: --audit-dir and --audit-key go together\n"));
		goto fail;
	}
	struct audit_key key;
	if (adir) {
		if (audit_key_load(akey, &key, why, sizeof(why)) < 0) {
			fprintf(stderr, _("sekisho-sanitize: audit key: %s\n"), why);
			goto fail;
		}
		struct audit_opts ao = {.dir = adir, .component = "sanitizer", .key = &key, .lock_timeout_ms = 10000};
		int r = audit_open(&ao, &audit, why, sizeof(why));
		audit_key_wipe(&key);
		if (r < 0) {
			fprintf(stderr, _("sekisho-sanitize: audit: %s\n"), why);
			goto fail;
		}
	}
	struct sanitize_ctx *ctx;
	int r = sanitize_ctx_new(&so.cfg, &ctx);
	if (r < 0) {
		fprintf(stderr, _("sekisho-sanitize: init: %s\n"), strerror(-r));
		goto fail;
	}
	int ex = 0;
	if (optind >= argc) {
		if (outdir) {
			usage(stderr);
			ex = 2;
		} else
			ex = one(ctx, 0, 1, "<stdin>");
	} else if (!outdir) {
		fprintf(stderr, _("sekisho-sanitize: files need -o OUTDIR\n"));
		ex = 2;
	} else {
		for (int i = optind; i < argc; i++) {
			struct stat st;
			if (stat(argv[i], &st) < 0) {
				fprintf(stderr, "sekisho-sanitize: %s: %s\n", argv[i], strerror(errno));
				ex = worse(ex, 2);
				continue;
			}
			if (!S_ISDIR(st.st_mode)) {
				ex = worse(ex, one_file(ctx, argv[i], outdir));
				continue;
			}
			struct dirent **list;
			int n = scandir(argv[i], &list, NULL, by_name);
			if (n < 0) {
				ex = worse(ex, 2);
				continue;
			}
			for (int k = 0; k < n; k++) {
				char p[PATH_MAX];
				if (list[k]->d_name[0] != '.' &&
				    snprintf(p, sizeof(p), "%s/%s", argv[i], list[k]->d_name) < (int)sizeof(p) &&
				    stat(p, &st) == 0 && S_ISREG(st.st_mode))
					ex = worse(ex, one_file(ctx, p, outdir));
				free(list[k]);
			}
			free(list);
		}
	}
	sanitize_ctx_free(ctx);
	san_opts_close(&so);
	if (audit && audit_close(audit) < 0) {
		fprintf(stderr, _("sekisho-sanitize: audit log write failed\n"));
		ex = worse(ex, 2);
	}
	return ex;
fail:
	audit_close(audit);
	san_opts_close(&so);
	return 2;
}
