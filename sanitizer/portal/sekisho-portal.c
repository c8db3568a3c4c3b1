/* sekisho-portal: the LGWAN-side file portal (docs/portal.md, "LGWAN portal").
 *
 *   sekisho-portal serve --listen ADDR:PORT --cert F --key F --state DIR --links DIR
 *                        --copies DIR --releases DIR --queue DIR --audit-dir DIR --audit-key F
 *                        [--originals on|off] [--two-approvers] [--release-hours N]
 *                        [--max-conn N] [--max-conn-per-ip N] [--login-fails N] [--lockout-seconds N]
 *   sekisho-portal user add NAME ROLE|passwd NAME|del NAME|list --state DIR [--password-stdin]
 *
 * serve runs the HTTPS server (ptl_http) with the portal's pages
 * (ptl_portal) until SIGTERM or SIGINT, and once a minute deletes release
 * files that were downloaded or expired.  user edits STATE/accounts (roles
 * approver and operator); the running portal picks changes up at the next
 * login.
 *
 * Exit status: 0, 1 (runtime failure), 2 (usage).  Messages go to stderr
 * once, at the edge; the pages and the audit trail are the portal's voice. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "common/audit/audit.h"
#include "common/i18n.h"
#include "common/svc.h"
#include "common/version.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_http.h"
#include "sanitizer/portal/ptl_portal.h"
#include "sanitizer/portal/ptl_users.h"

/* The usage: on stdout for --help (exit 0), on stderr for a usage error
 * (exit 2). */
static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-portal serve --listen ADDR:PORT --cert F --key F --state DIR --links DIR\n"
		"                            --copies DIR --releases DIR --queue DIR --audit-dir DIR --audit-key F\n"
		"                            [--originals on|off] [--two-approvers] [--release-hours N]\n"
		"                            [--max-conn N] [--max-conn-per-ip N] [--login-fails N] [--lockout-seconds N]\n"
		"       sekisho-portal user add NAME approver|operator --state DIR [--password-stdin]\n"
		"       sekisho-portal user passwd NAME --state DIR [--password-stdin]\n"
		"       sekisho-portal user del NAME --state DIR\n"
		"       sekisho-portal user list --state DIR\n"
		"       sekisho-portal -h | --help | --version\n"
		"the LGWAN-side file portal (HTTPS); exit status: 0, 1 runtime failure, 2 usage\n"),
	      f);
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *e;
	errno = 0;
	unsigned long v = strtoul(s, &e, 10);
	if (errno || !*s || *e || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* ----------------------------------------------------------------- user -- */

/* A password from stdin (one line) or, on a terminal, typed twice without echo. */
static int read_password(bool from_stdin, char *out, size_t outlen)
{
	if (from_stdin) {
		if (!fgets(out, (int)outlen, stdin))
			return -EINVAL;
		out[strcspn(out, "\r\n")] = 0;
		return *out ? 0 : -EINVAL;
	}
	int tty = open("/dev/tty", O_RDWR | O_CLOEXEC);
	if (tty < 0)
		return -ENOTTY;
	struct termios old, quiet;
	if (tcgetattr(tty, &old) < 0) {
		close(tty);
		return -ENOTTY;
	}
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	char again[PTL_PASSWORD_MAX + 2];
	FILE *f = fdopen(tty, "r+");
	int r = -EINVAL;
	if (f) {
		tcsetattr(tty, TCSAFLUSH, &quiet);
		fputs("パスワード / Password: ", f);
		fflush(f);
		bool a = fgets(out, (int)outlen, f) != NULL;
		fputs("\nもう一度 / Again: ", f);
		fflush(f);
		bool b = a && fgets(again, sizeof again, f) != NULL;
		fputs("\n", f);
		tcsetattr(tty, TCSAFLUSH, &old);
		if (b) {
			out[strcspn(out, "\r\n")] = 0;
			again[strcspn(again, "\r\n")] = 0;
			r = *out && !strcmp(out, again) ? 0 : -EINVAL;
		}
		explicit_bzero(again, sizeof again);
		fclose(f);
	} else {
		close(tty);
	}
	return r;
}

static int cmd_user(int argc, char **argv)
{
	static const struct option opts[] = {
		{"state", 1, NULL, 's'},
		{"password-stdin", 0, NULL, 'p'},
		{"help", 0, NULL, 'h'},
		{0},
	};
	const char *state = NULL;
	bool pw_stdin = false;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 's')
			state = optarg;
		else if (ch == 'p')
			pw_stdin = true;
		else if (ch == 'h') {
			usage(stdout);
			return 0;
		} else {
			usage(stderr);
			return 2;
		}
	}
	char **a = argv + optind;
	int na = argc - optind;
	if (!state || na < 1) {
		usage(stderr);
		return 2;
	}
	const char *verb = a[0];
	bool add = !strcmp(verb, "add"), passwd = !strcmp(verb, "passwd"), del = !strcmp(verb, "del"),
	     list = !strcmp(verb, "list");
	if (!(add && na == 3) && !(passwd && na == 2) && !(del && na == 2) && !(list && na == 1)) {
		usage(stderr);
		return 2;
	}
	enum ptl_role role = PTL_ROLE_NONE;
	if (add) {
		role = ptl_role_parse(a[2]);
		if (role != PTL_ROLE_APPROVER && role != PTL_ROLE_OPERATOR) {
			fprintf(stderr,
				_("sekisho-portal: role must be approver or operator (staff belongs to sekisho-upload)\n"));
			return 2;
		}
		if (!ptl_user_name_ok(a[1])) {
			fprintf(stderr, _("sekisho-portal: user name must be [a-z0-9._-], 1 to 32 characters\n"));
			return 2;
		}
	}
	char *path = ptl_portal_accounts_path(state);
	/* one editor at a time: the rewrite is atomic, but two would lose one's change */
	char *lockp = xasprintf("%s.lock", path);
	int lock = open(lockp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	free(lockp);
	if (lock < 0 || flock(lock, LOCK_EX) < 0) {
		fprintf(stderr, _("sekisho-portal: %s: cannot lock: %s\n"), path, strerror(errno));
		free(path);
		return 1;
	}
	struct ptl_users u;
	char why[512];
	int rc = 0;
	if (ptl_users_load(path, &u, why, sizeof why) < 0) {
		fprintf(stderr, "sekisho-portal: %s\n", why);
		rc = 1;
	} else if (list) {
		for (size_t i = 0; i < u.n; i++)
			printf("%s\t%s%s\n", u.v[i].name, ptl_role_name(u.v[i].role),
			       u.v[i].disabled ? "\tdisabled" : "");
	} else {
		char pw[PTL_PASSWORD_MAX + 2] = "";
		int r = 0;
		if (add || passwd) {
			if ((add && ptl_users_find(&u, a[1])) || (passwd && !ptl_users_find(&u, a[1])))
				r = add ? -EEXIST : -ENOENT;
			else if (read_password(pw_stdin, pw, sizeof pw) < 0)
				r = -EINVAL,
				fprintf(stderr, _("sekisho-portal: no password, or the two did not match\n"));
		}
		if (!r)
			r = add          ? ptl_users_add(&u, a[1], role, pw)
				: passwd ? ptl_users_passwd(&u, a[1], pw)
					 : ptl_users_del(&u, a[1]);
		explicit_bzero(pw, sizeof pw);
		if (!r)
			r = ptl_users_save(path, &u);
		if (r < 0) {
			fprintf(stderr, _("sekisho-portal: user %s %s: %s\n"), verb, a[1],
				r == -EEXIST           ? _("exists already")
					: r == -ENOENT ? _("no such user")
						       : strerror(-r));
			rc = 1;
		}
	}
	ptl_users_free(&u);
	close(lock);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------- serve -- */

static void on_audit_error(void *arg, int err, const char *why)
{
	(void)arg;
	svc_log(SVC_ERR, "sekisho-portal", _("audit: %s (%s)"), why, strerror(-err));
}

static int cmd_serve(int argc, char **argv)
{
	enum {
		O_LISTEN = 256,
		O_CERT,
		O_KEY,
		O_STATE,
		O_LINKS,
		O_COPIES,
		O_RELEASES,
		O_QUEUE,
		O_ADIR,
		O_AKEY,
		O_ORIG,
		O_TWO,
		O_HOURS,
		O_MAXC,
		O_MAXIP,
		O_FAILS,
		O_LOCK
	};
	static const struct option opts[] = {
		{"listen", 1, NULL, O_LISTEN},
		{"cert", 1, NULL, O_CERT},
		{"key", 1, NULL, O_KEY},
		{"state", 1, NULL, O_STATE},
		{"links", 1, NULL, O_LINKS},
		{"copies", 1, NULL, O_COPIES},
		{"releases", 1, NULL, O_RELEASES},
		{"queue", 1, NULL, O_QUEUE},
		{"audit-dir", 1, NULL, O_ADIR},
		{"audit-key", 1, NULL, O_AKEY},
		{"originals", 1, NULL, O_ORIG},
		{"two-approvers", 0, NULL, O_TWO},
		{"release-hours", 1, NULL, O_HOURS},
		{"max-conn", 1, NULL, O_MAXC},
		{"max-conn-per-ip", 1, NULL, O_MAXIP},
		{"login-fails", 1, NULL, O_FAILS},
		{"lockout-seconds", 1, NULL, O_LOCK},
		{"help", 0, NULL, 'h'},
		{0},
	};
	struct ptl_http_opts ho = {0};
	struct ptl_portal_opts po = {.originals = true, .release_hours = 24};
	const char *akey = NULL;
	int ch;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		int r = 0;
		switch (ch) {
		case O_LISTEN:
			ho.listen = optarg;
			break;
		case O_CERT:
			ho.cert_file = optarg;
			break;
		case O_KEY:
			ho.key_file = optarg;
			break;
		case O_STATE:
			po.state = optarg;
			break;
		case O_LINKS:
			po.links = optarg;
			break;
		case O_COPIES:
			po.copies = optarg;
			break;
		case O_RELEASES:
			po.releases = optarg;
			break;
		case O_QUEUE:
			po.queue = optarg;
			break;
		case O_ADIR:
			po.audit_dir = optarg;
			break;
		case O_AKEY:
			akey = optarg;
			break;
		case O_ORIG:
			if (strcmp(optarg, "on") && strcmp(optarg, "off"))
				r = -EINVAL;
			po.originals = !strcmp(optarg, "on");
			break;
		case O_TWO:
			po.two_approvers = true;
			break;
		case O_HOURS:
			r = parse_uint(optarg, 24 * 30, &po.release_hours);
			if (!r && !po.release_hours)
				r = -EINVAL;
			break;
		case O_MAXC:
			r = parse_uint(optarg, 100000, &ho.max_conn);
			break;
		case O_MAXIP:
			r = parse_uint(optarg, 100000, &ho.max_conn_per_ip);
			break;
		case O_FAILS:
			r = parse_uint(optarg, 1000, &po.login.max_user);
			break;
		case O_LOCK:
			r = parse_uint(optarg, 86400 * 7, &po.login.lockout_s);
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
		if (r < 0) {
			fprintf(stderr, _("sekisho-portal: bad value for %s: %s\n"), argv[optind - 1], optarg);
			return 2;
		}
	}
	if (optind != argc || !ho.listen || !ho.cert_file || !ho.key_file || !po.state || !po.links || !po.copies ||
	    !po.releases || !po.queue || !po.audit_dir || !akey) {
		usage(stderr);
		return 2;
	}
	/* the signals serve waits for: blocked before any thread exists */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	char why[512];
	struct audit_key key;
	if (audit_key_load(akey, &key, why, sizeof why) < 0) {
		svc_log(SVC_ERR, "sekisho-portal", _("audit key: %s"), why);
		return 1;
	}
	struct audit_opts ao = {.dir = po.audit_dir,
				.component = "portal",
				.key = &key,
				.lock_timeout_ms = 10000,
				.on_error = on_audit_error};
	struct audit_log *audit;
	int r = audit_open(&ao, &audit, why, sizeof why);
	audit_key_wipe(&key);
	if (r < 0) {
		svc_log(SVC_ERR, "sekisho-portal", _("audit: %s"), why);
		return 1;
	}
	struct ptl_portal *portal;
	r = ptl_portal_new(&po, audit, &portal, why, sizeof why);
	if (r < 0) {
		svc_log(SVC_ERR, "sekisho-portal", "%s", why);
		audit_close(audit);
		return 1;
	}
	ho.routes = ptl_portal_routes(&ho.nroutes);
	ho.refuse = ptl_portal_refuse;
	ho.done = ptl_portal_done;
	ho.arg = portal;
	struct ptl_http *http;
	r = ptl_http_start(&ho, &http, why, sizeof why);
	if (r < 0) {
		svc_log(SVC_ERR, "sekisho-portal", "%s", why);
		ptl_portal_free(portal);
		audit_close(audit);
		return 1;
	}
	(void)audit_emit(audit, "portal.start",
			 (struct audit_field[]){AUDIT_STR("listen", ho.listen), AUDIT_BOOL("originals", po.originals),
						AUDIT_BOOL("two_approvers", po.two_approvers),
						AUDIT_UINT("release_hours", po.release_hours)},
			 4);
	(void)audit_flush(audit);
	svc_log(SVC_INFO, "sekisho-portal", _("listening on %s"), ho.listen);
	/* systemd (Type=notify): ready once the listener is bound; the
	 * watchdog from this loop, which also runs the sweep (the HTTP
	 * threads are libmicrohttpd's) */
	char status[160];
	snprintf(status, sizeof status, "serving HTTPS on %s", ho.listen);
	svc_ready(status);
	uint64_t wd = svc_watchdog_usec();
	int64_t last_sweep = 0;
	for (;;) {
		struct timespec tick = {.tv_sec = 60};
		if (wd)
			tick = (struct timespec){.tv_sec = (time_t)(wd / 2000000),
						 .tv_nsec = (long)(wd / 2 % 1000000) * 1000};
		int sig = sigtimedwait(&sigs, NULL, &tick);
		if (sig == SIGTERM || sig == SIGINT)
			break;
		if (wd)
			svc_watchdog();
		int64_t now = (int64_t)time(NULL);
		if (now - last_sweep >= 60) {
			(void)ptl_portal_sweep(portal, now);
			last_sweep = now;
		}
	}
	svc_stopping();
	ptl_http_stop(http);
	(void)audit_emit(audit, "portal.stop", NULL, 0);
	ptl_portal_free(portal);
	if (audit_close(audit) < 0) {
		svc_log(SVC_ERR, "sekisho-portal", _("audit log write failed"));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	i18n_init();
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	if (!strcmp(argv[1], "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(argv[1], "user"))
		return cmd_user(argc - 1, argv + 1);
	if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc == 2 && !strcmp(argv[1], "--version")) {
		version_print(stdout, "sekisho-portal");
		return 0;
	}
	usage(stderr);
	return 2;
}
