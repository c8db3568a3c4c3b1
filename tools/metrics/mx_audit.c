/* mx_audit: incremental counting of audit records (tools/metrics/mx_audit.h). */
#include "tools/metrics/mx_audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/audit/audit_record.h"
#include "common/xalloc.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The audit-*.jsonl names of dir, sorted (the writer's names sort in
 * time order). */
static int list_files(const char *dir, char ***ret, size_t *ret_n)
{
	DIR *d = opendir(dir);
	if (!d)
		return -errno;
	char **v = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		if (strncmp(e->d_name, "audit-", 6) || l < 12 || l > AUDIT_NAME_LEN ||
		    strcmp(e->d_name + l - 6, ".jsonl"))
			continue;
		xgrow(&v, &cap, n + 1, sizeof(*v));
		v[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(v, n, sizeof(*v), cmp_names);
	*ret = v;
	*ret_n = n;
	return 0;
}

static struct json_object *obj_member(struct json_object *o, const char *k)
{
	struct json_object *v;
	if (json_object_object_get_ex(o, k, &v) && json_object_is_type(v, json_type_object))
		return v;
	v = json_object_new_object();
	json_object_object_add(o, k, v);
	return v;
}

static void bump(struct json_object *counts, const char *key, uint64_t by)
{
	struct json_object *v;
	if (json_object_object_get_ex(counts, key, &v) && json_object_is_type(v, json_type_int)) {
		json_object_set_uint64(v, json_object_get_uint64(v) + by);
		return;
	}
	json_object_object_add(counts, key, json_object_new_uint64(by));
}

/* A short lowercase word ([a-z0-9._-], 1..47 bytes): event names, results,
 * components.  Anything else is not used as a label. */
static bool word_ok(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n < 48 && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

/* Count one line (without its newline) into counts. */
static void count_line(struct json_object *counts, const char *line, size_t len)
{
	struct json_object *r = audit_record_parse(line, len);
	const char *ev = r ? audit_record_get_str(r, "event") : NULL;
	if (!ev || !word_ok(ev)) {
		bump(counts, "unreadable", 1);
		json_object_put(r);
		return;
	}
	/* events are counted under the record's own component ("" when it
	 * has none that is a word: the chain's name then) */
	const char *comp = audit_record_get_str(r, "component");
	if (!comp || !word_ok(comp))
		comp = "";
	char key[112];
	snprintf(key, sizeof key, "event\t%s\t%s", comp, ev);
	struct json_object *v;
	if (!json_object_object_get_ex(counts, key, &v) && json_object_object_length(counts) >= MX_AUDIT_MAX_KEYS)
		snprintf(key, sizeof key, "event\t%s\tother", comp);
	bump(counts, key, 1);
	if (comp[0] && !json_object_object_get_ex(counts, "component", &v))
		json_object_object_add(counts, "component", json_object_new_string(comp));

	struct json_object *data = NULL, *x;
	json_object_object_get_ex(r, "data", &data);
	uint64_t u;
	if (!strcmp(ev, "audit.lost") && audit_record_data_u64(r, "count", &u))
		bump(counts, "lost", u);
	else if (!strcmp(ev, "clock.status") && data && json_object_object_get_ex(data, "synchronized", &x) &&
		 json_object_is_type(x, json_type_boolean))
		json_object_object_add(counts, "clock", json_object_new_int(json_object_get_boolean(x) ? 1 : 0));
	else if (!strcmp(ev, "mail.sanitized")) {
		bump(counts, "mail", 1);
		if (data && json_object_object_get_ex(data, "removed", &x) && json_object_is_type(x, json_type_array))
			bump(counts, "mail_removed", json_object_array_length(x));
	} else if (!strcmp(ev, "file.sanitized")) {
		const char *res = audit_record_data_str(r, "result");
		snprintf(key, sizeof key, "cdr\t%s", res && word_ok(res) && strlen(res) < 16 ? res : "other");
		bump(counts, key, 1);
	} else if (!strcmp(ev, "portal.download"))
		bump(counts, "download\tcopy", 1);
	else if (!strcmp(ev, "portal.release"))
		bump(counts, "download\toriginal", 1);
	else if (!strcmp(ev, "portal.approve"))
		bump(counts, "decision\tapprove", 1);
	else if (!strcmp(ev, "portal.deny"))
		bump(counts, "decision\tdeny", 1);
	else if (!strcmp(ev, "portal.login_failed") || !strcmp(ev, "upload.login_failed"))
		bump(counts, "login_failed", 1);
	else if (!strcmp(ev, "upload.received"))
		bump(counts, "upload", 1);
	json_object_put(r);
}

/* Read file from *off, counting complete lines, at most *budget bytes;
 * *off moves past the last complete line. */
static int read_file(const char *dir, const char *name, uint64_t *off, uint64_t *budget, struct json_object *counts)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno; /* retired meanwhile */
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EINVAL;
	}
	if (*off > (uint64_t)st.st_size)
		*off = (uint64_t)st.st_size; /* shrank: never count twice */
	size_t cap = AUDIT_LINE_MAX + 1, have = 0;
	char *buf = xmalloc(cap);
	bool skipping = false; /* inside an over-long line */
	uint64_t pos = *off;
	int r = 0;
	while (*budget > 0) {
		size_t want = cap - have;
		if (want > *budget)
			want = (size_t)*budget;
		ssize_t n = pread(fd, buf + have, want, (off_t)(pos + have));
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		*budget -= (uint64_t)n;
		have += (size_t)n;
		size_t start = 0;
		for (;;) {
			char *nl = memchr(buf + start, '\n', have - start);
			if (!nl)
				break;
			size_t len = (size_t)(nl - (buf + start));
			if (skipping)
				skipping = false;
			else
				count_line(counts, buf + start, len);
			start += len + 1;
		}
		pos += start;
		memmove(buf, buf + start, have - start);
		have -= start;
		if (have == cap) { /* no newline in AUDIT_LINE_MAX bytes */
			bump(counts, "unreadable", 1);
			skipping = true;
			pos += have;
			have = 0;
		}
	}
	/* an over-long line cut by the end of what is there: its rest is
	 * read as one more unreadable line next time */
	*off = pos;
	free(buf);
	close(fd);
	return r;
}

int mx_audit_update(struct json_object *state, const char *dir, uint64_t max_bytes, char *why, size_t whylen)
{
	char **files = NULL;
	size_t n = 0;
	int r = list_files(dir, &files, &n);
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", dir, strerror(-r));
		return r;
	}
	struct json_object *ch = obj_member(state, dir), *v;
	struct json_object *counts = obj_member(ch, "counts");
	const char *cur = json_object_object_get_ex(ch, "file", &v) ? json_object_get_string(v) : "";
	uint64_t off = json_object_object_get_ex(ch, "offset", &v) ? json_object_get_uint64(v) : 0;
	char curfile[AUDIT_NAME_LEN + 1];
	snprintf(curfile, sizeof curfile, "%s", cur ? cur : "");
	uint64_t budget = max_bytes ? max_bytes : ((uint64_t)1 << 30);
	for (size_t i = 0; i < n && r == 0 && budget > 0; i++) {
		int c = strcmp(files[i], curfile);
		if (c < 0)
			continue; /* read in an earlier run */
		if (c > 0) {
			snprintf(curfile, sizeof curfile, "%s", files[i]);
			off = 0;
		}
		r = read_file(dir, files[i], &off, &budget, counts);
		if (r < 0)
			snprintf(why, whylen, "%s/%s: %s", dir, files[i], strerror(-r));
	}
	json_object_object_add(ch, "file", json_object_new_string(curfile));
	json_object_object_add(ch, "offset", json_object_new_uint64(off));
	for (size_t i = 0; i < n; i++)
		free(files[i]);
	free(files);
	return r;
}

static uint64_t get_u(struct json_object *counts, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(counts, k, &v) && json_object_is_type(v, json_type_int)
		? json_object_get_uint64(v)
		: 0;
}

void mx_audit_emit(struct json_object *state, struct mx_set *s)
{
	json_object_object_foreach(state, dir, ch)
	{
		struct json_object *counts, *v;
		if (!json_object_is_type(ch, json_type_object) || !json_object_object_get_ex(ch, "counts", &counts))
			continue;
		const char *base = strrchr(dir, '/') ? strrchr(dir, '/') + 1 : dir;
		const char *comp =
			json_object_object_get_ex(counts, "component", &v) ? json_object_get_string(v) : base;
		json_object_object_foreach(counts, k, val)
		{
			if (!json_object_is_type(val, json_type_int))
				continue;
			uint64_t u = json_object_get_uint64(val);
			if (!strncmp(k, "event\t", 6)) {
				/* "event\t<component>\t<event>" */
				const char *tab = strchr(k + 6, '\t');
				if (!tab)
					continue;
				char c[64];
				snprintf(c, sizeof c, "%.*s", (int)(tab - (k + 6)), k + 6);
				mx_sum(s, "sekisho_audit_events_total", u, "component", c[0] ? c : comp, "event",
				       tab + 1, NULL);
			} else if (!strncmp(k, "cdr\t", 4))
				mx_sum(s, "sekisho_cdr_jobs_total", u, "result", k + 4, NULL);
			else if (!strncmp(k, "download\t", 9))
				mx_sum(s, "sekisho_portal_downloads_total", u, "what", k + 9, NULL);
			else if (!strncmp(k, "decision\t", 9))
				mx_sum(s, "sekisho_portal_decisions_total", u, "decision", k + 9, NULL);
		}
		mx_sum(s, "sekisho_audit_lost_total", get_u(counts, "lost"), "component", comp, NULL);
		mx_sum(s, "sekisho_audit_unreadable_lines_total", get_u(counts, "unreadable"), "component", comp, NULL);
		if (json_object_object_get_ex(counts, "clock", &v))
			mx_add(s, "sekisho_clock_synchronized", (uint64_t)json_object_get_int(v), "component", comp,
			       NULL);
		if (json_object_object_get_ex(counts, "mail", &v)) {
			mx_sum(s, "sekisho_mail_sanitized_total", get_u(counts, "mail"), NULL);
			mx_sum(s, "sekisho_mail_attachments_removed_total", get_u(counts, "mail_removed"), NULL);
		}
		if (json_object_object_get_ex(counts, "login_failed", &v))
			mx_sum(s, "sekisho_portal_login_failures_total", get_u(counts, "login_failed"), NULL);
		if (json_object_object_get_ex(counts, "upload", &v))
			mx_sum(s, "sekisho_uploads_total", get_u(counts, "upload"), NULL);
	}
}
