/* sekisho-cdr: make the safe copy of one file (issue 14), by hand, in
 * scripts and for the worker.
 *
 *   sekisho-cdr [--mode KIND=MODE]... [--name NAME] [--report FILE.json]
 *               [--libexec DIR] [--quiet] IN -o OUT
 *
 * OUT appears only when a copy was made, and then whole: the copy is
 * written to a temporary file in OUT's directory, synced and renamed.  The
 * JSON report (schema in docs/cdr.md) is written the same way whether or
 * not a copy was made.  Exit 0: copy made; 1: no copy (the report's
 * "result" says why; the summary on stdout says it in Japanese and
 * English); 2: usage or system error. */
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
#include "common/fdio.h"
#include "sanitizer/cdr/cdr.h"

#ifndef CDR_LIBEXEC
#define CDR_LIBEXEC "/usr/lib/sekisho"
#endif
static const char cdr_usage[] = "使い方 usage: sekisho-cdr [OPTION]... IN -o OUT\n"
				"ファイルの無害化コピーを作ります。Makes the safe copy of one file (CDR).\n"
				"  -o, --output OUT       the copy (written only on success, atomically)\n"
				"      --report FILE      the JSON report (always written)\n"
				"      --name NAME        the file's original name (default: IN's name)\n"
				"      --mode KIND=MODE   pdf=pixels|vector | ooxml=rebuild|pdf | legacy=rebuild|pdf\n"
				"      --libexec DIR      the converters' directory (default " CDR_LIBEXEC ")\n"
				"      --timeout SEC      wall-clock limit of one conversion (default 60)\n"
				"      --password-fd N    an encrypted archive's password (PPAP), read from fd N\n"
				"  -q, --quiet            no summary on stdout\n"
				"      --check            only check that the sandbox works here (exit 0 or 2)\n"
				"      --help, --version\n"
				"exit: 0 copy made, 1 no copy (see the report), 2 usage or system error\n";

static int cdr_cli_mode(struct cdr_ctx *ctx, const char *arg)
{
	static const struct {
		const char *spec;
		enum cdr_kind kind;
		enum cdr_mode mode;
	} modes[] = {
		{"pdf=pixels", CDR_KIND_PDF, CDR_MODE_PIXELS},         {"pdf=vector", CDR_KIND_PDF, CDR_MODE_VECTOR},
		{"ooxml=rebuild", CDR_KIND_OOXML, CDR_MODE_REBUILD},   {"ooxml=pdf", CDR_KIND_OOXML, CDR_MODE_TO_PDF},
		{"legacy=rebuild", CDR_KIND_LEGACY, CDR_MODE_REBUILD}, {"legacy=pdf", CDR_KIND_LEGACY, CDR_MODE_TO_PDF},
	};
	for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
		if (strcmp(arg, modes[i].spec) == 0) {
			ctx->mode[modes[i].kind] = modes[i].mode;
			return 0;
		}
	return -EINVAL;
}

/* the converters beside this program (the build tree), else CDR_LIBEXEC */
static const char *cdr_cli_libexec(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 32);
	if (n > 0) {
		buf[n] = 0;
		char *slash = strrchr(buf, '/');
		if (slash) {
			strcpy(slash + 1, "sekisho-cdr-image");
			if (access(buf, X_OK) == 0) {
				*slash = 0;
				return buf;
			}
		}
	}
	return CDR_LIBEXEC;
}

/* a temporary file beside path: "DIR/.NAME.XXXXXX" */
static int cdr_cli_temp(const char *path, char *tmp, size_t len)
{
	const char *slash = strrchr(path, '/');
	int dl = slash ? (int)(slash - path + 1) : 0;
	if ((size_t)snprintf(tmp, len, "%.*s.%s.XXXXXX", dl, path, slash ? slash + 1 : path) >= len)
		return -ENAMETOOLONG;
	int fd = mkostemp(tmp, O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

/* fsync, then rename over path; the temp file goes on any failure */
static int cdr_cli_publish(int fd, const char *tmp, const char *path)
{
	int r = 0;
	if (fchmod(fd, 0640) < 0 || fsync(fd) < 0 || rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}

static int cdr_cli_write_report(const char *path, const struct cdr_report *rep)
{
	char tmp[PATH_MAX];
	int fd = cdr_cli_temp(path, tmp, sizeof tmp);
	if (fd < 0)
		return fd;
	char *json = cdr_report_json(rep);
	int r = fdio_write_all(fd, json, strlen(json));
	if (r == 0)
		r = fdio_write_all(fd, "\n", 1);
	free(json);
	if (r == 0)
		r = cdr_cli_publish(fd, tmp, path);
	else
		unlink(tmp);
	close(fd);
	return r;
}

static void cdr_cli_summary(const struct cdr_report *rep, const char *out, int indent)
{
	const char *res = rep->result ? rep->result : "internal-error";
	printf("%*s%s: %s\n%*s  %s\n", indent, "", rep->name ? rep->name : "-", cdr_reason_ja(res), indent, "",
	       cdr_reason_en(res));
	if (rep->detail[0] && strcmp(res, "ok") == 0)
		printf("%*s  (%s)\n", indent, "", rep->detail);
	else if (rep->detail[0])
		printf("%*s  (%s: %s)\n", indent, "", res, rep->detail);
	printf("%*s  入力 input: %s, %llu bytes\n", indent, "", rep->in_type[0] ? rep->in_type : "?",
	       (unsigned long long)rep->in_bytes);
	if (rep->pages)
		printf("%*s  ページ pages: %u\n", indent, "", rep->pages);
	if (strcmp(res, "ok") == 0 && out)
		printf("%*s  コピー copy: %s (%s, %llu bytes, %s)\n", indent, "", out, rep->out_type,
		       (unsigned long long)rep->out_bytes, rep->mode ? rep->mode : "");
	if (rep->nremoved || rep->nremoved_more) {
		printf("%*s  除去したもの removed (%zu):\n", indent, "", rep->nremoved + rep->nremoved_more);
		for (size_t i = 0; i < rep->nremoved; i++)
			printf("%*s    - %s\n", indent, "", rep->removed[i]);
		if (rep->nremoved_more)
			printf("%*s    - … %zu more\n", indent, "", rep->nremoved_more);
	}
	for (size_t i = 0; i < rep->nmembers; i++)
		cdr_cli_summary(&rep->members[i], NULL, indent + 4);
}

int main(int argc, char **argv)
{
	i18n_init();
	static const struct option opts[] = {
		{"output", 1, NULL, 'o'}, {"report", 1, NULL, 'r'},      {"name", 1, NULL, 'n'},
		{"mode", 1, NULL, 'm'},   {"libexec", 1, NULL, 'l'},     {"timeout", 1, NULL, 't'},
		{"quiet", 0, NULL, 'q'},  {"help", 0, NULL, 'h'},        {"version", 0, NULL, 'V'},
		{"check", 0, NULL, 'c'},  {"password-fd", 1, NULL, 'p'}, {NULL, 0, NULL, 0},
	};
	char self[PATH_MAX], tmp[PATH_MAX];
	static char password[1026]; /* 1024 bytes, a newline, the NUL */
	const char *out = NULL, *report = NULL, *name = NULL, *libexec = NULL;
	bool quiet = false;
	struct cdr_ctx ctx;
	cdr_ctx_default(&ctx, NULL);
	int c;
	while ((c = getopt_long(argc, argv, "o:q", opts, NULL)) != -1) {
		switch (c) {
		case 'o':
			out = optarg;
			break;
		case 'r':
			report = optarg;
			break;
		case 'n':
			name = optarg;
			break;
		case 'l':
			libexec = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'm':
			if (cdr_cli_mode(&ctx, optarg) < 0) {
				fprintf(stderr, _("sekisho-cdr: unknown mode %s\n%s"), optarg, cdr_usage);
				return 2;
			}
			break;
		case 't': {
			char *end;
			unsigned long s = strtoul(optarg, &end, 10);
			if (*end || s == 0 || s > 3600) {
				fprintf(stderr, _("sekisho-cdr: --timeout: 1..3600 seconds\n"));
				return 2;
			}
			ctx.limits.timeout_ms = (unsigned)s * 1000;
			break;
		}
		case 'p': {
			/* one line, at most 1024 bytes: read whole, then closed */
			char *end;
			long fd = strtol(optarg, &end, 10);
			ssize_t n = -1;
			if (!*end && fd >= 3 && fd < 1024) {
				size_t got = 0;
				while (got < sizeof(password) - 1 &&
				       (n = read((int)fd, password + got, sizeof(password) - 1 - got)) > 0)
					got += (size_t)n;
				close((int)fd);
				if (n == 0 && got < sizeof(password) - 1) {
					password[got] = 0;
					if (got && password[got - 1] == '\n')
						password[--got] = 0;
					n = got > 0 && !memchr(password, 0, got) && !strchr(password, '\n') ? 1 : -1;
				} else {
					n = -1;
				}
			}
			if (n < 0) {
				fprintf(stderr,
					_("sekisho-cdr: --password-fd: one line of 1..1024 bytes on fd 3..1023\n"));
				return 2;
			}
			ctx.archive_password = password;
			break;
		}
		case 'h':
			fputs(cdr_usage, stdout);
			return 0;
		case 'V':
			version_print(stdout, "sekisho-cdr");
			return 0;
		case 'c': {
			char why[512] = "";
			if (cdr_sandbox_check(&ctx.sandbox, why, sizeof why) < 0) {
				printf("サンドボックスが使えません / the sandbox does not work here: %s\n", why);
				return 2;
			}
			printf("サンドボックスは使えます / the sandbox works (%s)\n", CDR_SANDBOX_BWRAP);
			return 0;
		}
		default:
			fputs(cdr_usage, stderr);
			return 2;
		}
	}
	if (optind + 1 != argc || !out) {
		fputs(cdr_usage, stderr);
		return 2;
	}
	const char *in = argv[optind];
	if (!name) {
		const char *slash = strrchr(in, '/');
		name = slash ? slash + 1 : in;
	}
	ctx.libexec = libexec ? libexec : cdr_cli_libexec(self, sizeof self);

	int in_fd = open(in, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (in_fd < 0 || fstat(in_fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		fprintf(stderr, "sekisho-cdr: %s: %s\n", in, in_fd < 0 ? strerror(errno) : _("not a regular file"));
		return 2;
	}
	int out_fd = cdr_cli_temp(out, tmp, sizeof tmp);
	if (out_fd < 0) {
		fprintf(stderr, "sekisho-cdr: %s: %s\n", out, strerror(-out_fd));
		return 2;
	}
	struct cdr_report rep = {0};
	int r = cdr_convert(&ctx, name, in_fd, out_fd, &rep);
	close(in_fd);
	int rc = 0;
	if (r == 0) {
		int p = cdr_cli_publish(out_fd, tmp, out);
		if (p < 0) {
			fprintf(stderr, "sekisho-cdr: %s: %s\n", out, strerror(-p));
			rc = 2;
		}
	} else {
		unlink(tmp);
		rc = strcmp(rep.result, "internal-error") == 0 || strcmp(rep.result, "sandbox-setup") == 0 ? 2 : 1;
	}
	close(out_fd);
	if (report) {
		int w = cdr_cli_write_report(report, &rep);
		if (w < 0) {
			fprintf(stderr, "sekisho-cdr: %s: %s\n", report, strerror(-w));
			rc = 2;
		}
	}
	if (!quiet)
		cdr_cli_summary(&rep, r == 0 ? out : NULL, 0);
	cdr_report_free(&rep);
	explicit_bzero(password, sizeof(password));
	return rc;
}
