/* audit_rotate: rotation and retention of the log's files.
 *
 * Contract: runs on the writer thread (or in audit_open before it starts).
 * A new file is started when the record's local day changes, when the file
 * reaches rotate_bytes, or after a write error abandoned the current one:
 * the old file is flushed, fsynced and closed, the next name is created
 * O_EXCL (names sort in creation order even if the clock steps back), the
 * directory is fsynced and the new file's log.open is buffered.  Retention
 * deletes the oldest files beyond retain_bytes or retain_seconds, each
 * deletion first recorded (log.retention) and made durable, so that the
 * verifier tells retention from deletion.  Errors are -errno, also passed
 * to audit_note_error. */
#include "common/audit/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void fsync_dir(struct audit_log *l)
{
	if (fsync(l->dirfd) < 0)
		audit_note_error(l, -errno, "fsync directory %s: %s", l->dir, strerror(errno));
}

/* Start a new file: flush and close the current one, create the next name
 * (O_EXCL), fsync the directory, buffer its log.open, apply retention. */
int audit_rotate(struct audit_log *l, const char *reason)
{
	if (l->fd >= 0) {
		audit_io_flush(l);
		if (l->fd >= 0) {
			audit_io_fsync(l);
			audit_io_forget_fd(l);
			close(l->fd);
			l->fd = -1;
			snprintf(l->prev_name, sizeof l->prev_name, "%s", l->cur_name);
			l->prev_torn = false;
		}
		l->prev_closed = -1;
	}
	int64_t now = l->now(l->now_arg);
	char ts[AUDIT_TS_LEN];
	struct audit_record_fname f;
	int day;
	audit_record_ts(&l->tsc, now, ts, &day, f.stamp);
	f.stamp[15] = '\0';
	/* Names must sort in creation order even if the clock stepped back. */
	if (l->cur_name[0] && strcmp(f.stamp, l->cur_fname.stamp) < 0)
		memcpy(f.stamp, l->cur_fname.stamp, sizeof f.stamp);
	f.counter = l->cur_name[0] ? l->cur_fname.counter + 1 : 1;
	char name[AUDIT_NAME_LEN];
	int fd = -1, e = 0;
	for (int tries = 0; tries < 100; tries++, f.counter++) {
		audit_record_fname_format(&f, name);
		fd = openat(l->dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd >= 0 || errno != EEXIST)
			break;
	}
	if (fd < 0) {
		e = -errno;
		audit_note_error(l, e, "create %s/%s: %s", l->dir, name, strerror(-e));
		return e;
	}
	fsync_dir(l);
	l->fd = fd;
	l->cur_fname = f;
	pthread_mutex_lock(&l->mu);
	snprintf(l->cur_name, sizeof l->cur_name, "%s", name);
	pthread_mutex_unlock(&l->mu);
	l->cur_size = 0;
	l->file_good = 0;
	/* The file belongs to the day of the record that caused it. */
	if (day < l->cur_day)
		day = l->cur_day;
	l->cur_day = day;
	l->open_pending = true;
	l->open_reason = reason;
	atomic_fetch_add_explicit(&l->st_files, 1, memory_order_relaxed);
	int r = audit_encode_open(l);
	if (r < 0)
		return r;
	r = audit_rotate_retain(l);
	return r;
}

/* Delete the oldest files beyond the age/size limits.  Each deletion is
 * first recorded (log.retention with the file's last seq and mac) and made
 * durable, so that the verifier tells retention from deletion. */
int audit_rotate_retain(struct audit_log *l)
{
	if (!l->retain_bytes && !l->retain_seconds)
		return 0;
	char **names;
	size_t n;
	int r = audit_record_list(l->dirfd, &names, &n);
	if (r < 0) {
		audit_note_error(l, r, "list %s: %s", l->dir, strerror(-r));
		return r;
	}
	uint64_t *sizes = calloc(n ? n : 1, sizeof *sizes);
	if (!sizes) {
		audit_record_list_free(names, n);
		return -ENOMEM;
	}
	uint64_t total = 0;
	size_t cur = n;
	for (size_t i = 0; i < n; i++) {
		struct stat st;
		if (fstatat(l->dirfd, names[i], &st, AT_SYMLINK_NOFOLLOW) == 0)
			sizes[i] = (uint64_t)st.st_size;
		if (strcmp(names[i], l->cur_name) == 0) {
			cur = i;
			sizes[i] = l->cur_size + l->out_len;
		}
		total += sizes[i];
	}
	int64_t now = l->now(l->now_arg);
	for (size_t i = 0; i < cur && i < n; i++) {
		int fd = openat(l->dirfd, names[i], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		struct audit_record_tail t;
		if (fd < 0 || audit_record_tail(fd, l->mac, &t) < 0)
			memset(&t, 0, sizeof t);
		if (fd >= 0)
			close(fd);
		const char *why = NULL;
		int64_t last_ns;
		if (l->retain_bytes && total > l->retain_bytes)
			why = "size";
		else if (l->retain_seconds && t.found && audit_record_ts_parse(t.last_ts, &last_ns) == 0 &&
			 now - last_ns > (int64_t)l->retain_seconds * 1000000000)
			why = "age";
		if (!why)
			break;
		struct json_object *d = json_object_new_object();
		if (!d) {
			r = -ENOMEM;
			break;
		}
		r = audit_encode_add(d, "file", json_object_new_string(names[i]));
		if (!r)
			r = t.found ? audit_encode_add(d, "last_seq", json_object_new_int64((int64_t)t.last_seq))
				    : audit_encode_add_null(d, "last_seq");
		if (!r)
			r = t.found ? audit_encode_add(d, "last_mac", json_object_new_string(t.last_mac))
				    : audit_encode_add_null(d, "last_mac");
		if (!r)
			r = t.found ? audit_encode_add(d, "last_ts", json_object_new_string(t.last_ts))
				    : audit_encode_add_null(d, "last_ts");
		if (!r)
			r = audit_encode_add(d, "bytes", json_object_new_int64((int64_t)sizes[i]));
		if (!r)
			r = audit_encode_add(d, "torn", json_object_new_boolean(t.torn));
		if (!r)
			r = audit_encode_add(d, "reason", json_object_new_string(why));
		if (r) {
			json_object_put(d);
			break;
		}
		/* AUDIT_REC_OPEN: no rotation check here (we are inside one). */
		if ((r = audit_encode_record(l, now, "log.retention", d, AUDIT_REC_OPEN)) < 0)
			break;
		if ((r = audit_io_flush(l)) < 0 || (r = audit_io_fsync(l)) < 0)
			break;
		if (unlinkat(l->dirfd, names[i], 0) < 0) {
			r = -errno;
			audit_note_error(l, r, "delete %s/%s: %s", l->dir, names[i], strerror(-r));
			break;
		}
		fsync_dir(l);
		total -= sizes[i];
	}
	free(sizes);
	audit_record_list_free(names, n);
	return r;
}
