/* sekisho-quarantine: list, show, release and expire quarantined items.
 *
 *   sekisho-quarantine --dir DIR list
 *   sekisho-quarantine --dir DIR show ID
 *   sekisho-quarantine --dir DIR release ID --to FILE --by USER --reason TEXT
 *                      --audit-dir DIR --audit-key FILE
 *   sekisho-quarantine --dir DIR expire --retain-days N
 *
 * release writes the item's exact bytes to a new file (mode 0600, never
 * overwriting) for an authorised person and records a quarantine.release
 * audit event; without an audit log it refuses.  Exit: 0 ok, 1 not found,
 * 2 usage or I/O error. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/i18n.h"
#include "common/version.h"
#include "common/audit/audit.h"
#include "sanitizer/san_quarantine.h"

static void usage(FILE *f)
{
	/* TRANSLATORS: the usage; option names, metavariables (FILE, DIR, N, ...),
	 * values and defaults stay as they are written */
	fputs(_("usage: sekisho-quarantine --dir DIR list | show ID | expire --retain-days N\n"
		"       sekisho-quarantine --dir DIR release ID --to FILE --by USER --reason TEXT\n"
		"                          --audit-dir DIR --audit-key FILE\n"
		"       sekisho-quarantine --help | --version\n"),
	      f);
}

static const char *js(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : "";
}

static struct json_object *meta(const char *dir, const char *sha)
{
	char p[4200];
	snprintf(p, sizeof(p), "%s/%s.json", dir, sha);
	return json_object_from_file(p);
}

static int cmd_list(struct san_quarantine *q)
{
	const char *dir = san_quarantine_dir(q);
	struct dirent **l;
	int n = scandir(dir, &l, NULL, alphasort);
	if (n < 0) {
		perror(dir);
		return 2;
	}
	/* TRANSLATORS: the header of the list's columns, 16, 19, 10 and 10
	 * terminal columns wide and two spaces apart (SIZE right-aligned): pad
	 * the translation with spaces to the same columns (a Japanese character
	 * takes two).  The rows below are values (kind, dates): not translated. */
	puts(_("ID                STORED               KIND              SIZE  NAME / TYPE"));
	for (int i = 0; i < n; i++) {
		const char *d = l[i]->d_name;
		size_t len = strlen(d);
		if (len == 69 && strcmp(d + 64, ".json") == 0) {
			char sha[65];
			snprintf(sha, sizeof(sha), "%.64s", d);
			struct json_object *o = meta(dir, sha);
			if (o) {
				struct json_object *v;
				time_t t = json_object_object_get_ex(o, "stored", &v) ? (time_t)json_object_get_int64(v)
										      : 0;
				char ts[32];
				struct tm tm;
				strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
				printf("%.16s  %-19s  %-10s  %10s  %s %s\n", sha, ts, js(o, "kind"), js(o, "size"),
				       js(o, "name"), js(o, "detected_type"));
				json_object_put(o);
			}
		}
		free(l[i]);
	}
	free(l);
	return 0;
}

int main(int argc, char **argv)
{
	i18n_init();
	const char *dir = NULL, *to = NULL, *by = NULL, *reason = NULL, *adir = NULL, *akey = NULL;
	unsigned long retain = 0;
	static const struct option opts[] = {
		{"dir", 1, NULL, 'd'},         {"to", 1, NULL, 't'},
		{"by", 1, NULL, 'b'},          {"reason", 1, NULL, 'r'},
		{"audit-dir", 1, NULL, 'A'},   {"audit-key", 1, NULL, 'K'},
		{"retain-days", 1, NULL, 'R'}, {"help", 0, NULL, 'h'},
		{"version", 0, NULL, 'V'},     {0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			dir = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'b':
			by = optarg;
			break;
		case 'r':
			reason = optarg;
			break;
		case 'A':
			adir = optarg;
			break;
		case 'K':
			akey = optarg;
			break;
		case 'R':
			retain = strtoul(optarg, NULL, 10);
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			version_print(stdout, "sekisho-quarantine");
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!dir || optind >= argc) {
		usage(stderr);
		return 2;
	}
	const char *cmd = argv[optind];
	char why[512] = "";
	struct san_quarantine_opts qo = {.dir = dir};
	struct san_quarantine *q;
	if (san_quarantine_open(&qo, &q, why, sizeof(why)) < 0) {
		fprintf(stderr, "sekisho-quarantine: %s\n", why);
		return 2;
	}
	int ex = 0;
	if (!strcmp(cmd, "list")) {
		ex = cmd_list(q);
	} else if (!strcmp(cmd, "expire")) {
		if (!retain) {
			usage(stderr);
			ex = 2;
		} else {
			san_quarantine_close(q);
			qo.retain_seconds = (uint64_t)retain * 86400;
			if (san_quarantine_open(&qo, &q, why, sizeof(why)) < 0) {
				fprintf(stderr, "sekisho-quarantine: %s\n", why);
				return 2;
			}
		}
	} else if ((!strcmp(cmd, "show") || !strcmp(cmd, "release")) && optind + 1 < argc) {
		char sha[65];
		int r = san_quarantine_find(q, argv[optind + 1], sha);
		if (r < 0) {
			fprintf(stderr, "sekisho-quarantine: %s: %s\n", argv[optind + 1],
				r == -ENOENT             ? "no such item"
					: r == -ENOTUNIQ ? "ambiguous id"
							 : "bad id");
			san_quarantine_close(q);
			return r == -ENOENT ? 1 : 2;
		}
		struct json_object *o = meta(dir, sha);
		if (!strcmp(cmd, "show")) {
			puts(o ? json_object_to_json_string_ext(
					 o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE)
			       : "{}");
		} else if (!to || !by || !reason || !adir || !akey) {
			fprintf(stderr,
				_("sekisho-quarantine: release needs --to, --by, --reason, --audit-dir and --audit-key\n"));
			ex = 2;
		} else {
			struct audit_key key;
			struct audit_log *log = NULL;
			if (audit_key_load(akey, &key, why, sizeof(why)) < 0) {
				fprintf(stderr, "sekisho-quarantine: %s\n", why);
				ex = 2;
				goto done;
			}
			struct audit_opts ao = {
				.dir = adir, .component = "sanitizer", .key = &key, .lock_timeout_ms = 10000};
			int ar = audit_open(&ao, &log, why, sizeof(why));
			audit_key_wipe(&key);
			if (ar < 0) {
				fprintf(stderr, _("sekisho-quarantine: audit: %s\n"), why);
				ex = 2;
				goto done;
			}
			char src[4200];
			snprintf(src, sizeof(src), "%s/%s.data", dir, sha);
			int in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
			int out = in < 0 ? -1 : open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
			const char *result = "ok";
			if (in < 0 || out < 0) {
				perror(in < 0 ? src : to);
				result = "error";
				ex = 2;
			} else {
				char buf[65536];
				ssize_t n;
				while ((n = read(in, buf, sizeof(buf))) > 0)
					if (write(out, buf, (size_t)n) != n) {
						result = "error";
						ex = 2;
						break;
					}
				if (n < 0 || fsync(out) < 0) {
					result = "error";
					ex = 2;
				}
			}
			if (in >= 0)
				close(in);
			if (out >= 0)
				close(out);
			char qid[SAN_QID_LEN + 1];
			snprintf(qid, sizeof(qid), "%.*s", SAN_QID_LEN, sha);
			struct audit_field f[] = {
				AUDIT_STR("quarantine_id", qid),
				AUDIT_STR("sha256", sha),
				AUDIT_STR("name", o ? js(o, "name") : ""),
				AUDIT_STR("kind", o ? js(o, "kind") : ""),
				AUDIT_STR("message_id", o ? js(o, "message_id") : ""),
				AUDIT_STR("to", to),
				AUDIT_STR("user", by),
				AUDIT_STR("reason", reason),
				AUDIT_STR("result", result),
			};
			audit_emit(log, "quarantine.release", f, AUDIT_N(f));
			if (audit_close(log) < 0) {
				fprintf(stderr, _("sekisho-quarantine: audit write failed\n"));
				ex = 2;
			}
			if (ex == 0)
				printf(_("released %s to %s\n"), qid, to);
		}
done:
		if (o)
			json_object_put(o);
	} else {
		usage(stderr);
		ex = 2;
	}
	san_quarantine_close(q);
	return ex;
}
