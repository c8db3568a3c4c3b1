/* lx_state: the forwarder's resume point (see lx_state.h).
 *
 * Contract: the file is read with a size cap (LX_STATE_MAX_BYTES) and
 * parsed strictly with json-c; every member is checked (mac is 64
 * lowercase hex or empty, names fit their buffers).  Saving never
 * overwrites the old state in place. */
#include "tools/logexport/lx_state.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/fdio.h"
#include "common/xalloc.h"
#include "tools/logexport/lx_json.h"
#include "tools/logexport/lx_time.h"

__attribute__((format(printf, 3, 4))) static void why_printf(char *why, size_t n, const char *fmt, ...)
{
	if (!why || !n)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, n, fmt, ap);
	va_end(ap);
}

static bool is_mac(const char *s)
{
	if (strlen(s) != 64)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static bool copy_str(struct json_object *o, const char *key, char *dst, size_t n)
{
	const char *s = lx_json_str(o, key);
	if (!s || strlen(s) >= n)
		return false;
	memcpy(dst, s, strlen(s) + 1);
	return true;
}

int lx_state_load(const char *path, struct lx_state *ret_state, char *why, size_t whylen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		int r = -errno;
		if (r != -ENOENT)
			why_printf(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	char buf[LX_STATE_MAX_BYTES + 1];
	size_t len = 0;
	for (;;) {
		ssize_t n = read(fd, buf + len, sizeof buf - len);
		if (n < 0) {
			int r = -errno;
			close(fd);
			why_printf(why, whylen, "%s: %s", path, strerror(-r));
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == sizeof buf) {
			close(fd);
			why_printf(why, whylen, "%s: %s", path, "larger than a state file can be");
			return -EINVAL;
		}
	}
	close(fd);
	buf[len] = '\0';
	struct json_object *o = json_tokener_parse(buf);
	struct lx_state st = {0};
	uint64_t version = 0;
	bool ok = o && json_object_is_type(o, json_type_object) && lx_json_u64(o, "version", &version) &&
		version == 1 && copy_str(o, "dir", st.dir, sizeof st.dir) && lx_json_u64(o, "seq", &st.seq) &&
		copy_str(o, "mac", st.mac, sizeof st.mac) && (st.mac[0] == '\0' || is_mac(st.mac)) &&
		copy_str(o, "file", st.file, sizeof st.file) && !strchr(st.file, '/') &&
		lx_json_u64(o, "offset", &st.offset);
	if (ok) {
		copy_str(o, "to", st.to, sizeof st.to);
		copy_str(o, "updated", st.updated, sizeof st.updated);
		lx_json_u64(o, "sent", &st.sent);
	}
	json_object_put(o);
	if (!ok || (st.seq && !st.mac[0])) {
		why_printf(why, whylen, "%s: %s", path, "not a sekisho-logexport forward state file");
		return -EINVAL;
	}
	*ret_state = st;
	return 0;
}

int lx_state_save(const char *path, const struct lx_state *state, char *why, size_t whylen)
{
	struct json_object *o = json_object_new_object();
	json_object_object_add(o, "version", json_object_new_int(1));
	json_object_object_add(o, "dir", json_object_new_string(state->dir));
	json_object_object_add(o, "to", json_object_new_string(state->to));
	json_object_object_add(o, "seq", json_object_new_uint64(state->seq));
	json_object_object_add(o, "mac", json_object_new_string(state->mac));
	json_object_object_add(o, "file", json_object_new_string(state->file));
	json_object_object_add(o, "offset", json_object_new_uint64(state->offset));
	json_object_object_add(o, "sent", json_object_new_uint64(state->sent));
	char now[32];
	struct timespec tsp;
	clock_gettime(CLOCK_REALTIME, &tsp);
	json_object_object_add(o, "updated",
			       json_object_new_string(lx_time_format((int64_t)tsp.tv_sec * LX_NS_PER_SEC, now)));
	const char *text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *tmp = xasprintf("%s.tmp", path);
	int r = 0;
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		r = -errno;
		goto out;
	}
	r = fdio_write_all(fd, text, strlen(text));
	if (!r && write(fd, "\n", 1) != 1)
		r = -EIO;
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (!r) {
		char *d = xstrdup(path);
		int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		free(d);
		if (dfd >= 0) {
			if (fsync(dfd) < 0)
				r = -errno;
			close(dfd);
		}
	}
	if (r)
		unlink(tmp);
out:
	if (r)
		why_printf(why, whylen, "cannot write state %s: %s", path, strerror(-r));
	free(tmp);
	json_object_put(o);
	return r;
}
