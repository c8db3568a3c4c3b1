/* audit_io: the I/O thread, write(2) and fdatasync off the writer thread.
 *
 * Contract: double buffering.  The writer fills one output buffer while the
 * I/O thread writes the other (audit_io_submit hands it over,
 * audit_io_collect takes the result).  fdatasync runs after every buffer
 * (AUDIT_FSYNC_EVERY), at most every fsync_interval (BATCH, on the
 * monotonic clock) or only on request (NONE; rotation and close ask).  The
 * chain state a buffer carries is committed only when its bytes reached the
 * file; a failed write is cut back with ftruncate (or the file is
 * abandoned) and the buffer's events, and those buffered meanwhile, are
 * counted as lost and reported.  Everything shared with the writer is under
 * io_mu.  Errors go to audit_note_error; nothing prints. */
#include "common/audit/audit_log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"

static int write_all(int fd, const char *buf, size_t len, size_t *ret_off)
{
	size_t off = 0;
	int r = 0;
	while (off < len) {
		ssize_t n = write(fd, buf + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			break;
		}
		off += (size_t)n;
	}
	*ret_off = off;
	return r;
}

/* The I/O thread: writes the buffer in flight, cuts the file back after a
 * partial write (or marks it abandoned), and runs fdatasync by policy and
 * on request. */
void *audit_io_main(void *arg)
{
	struct audit_log *l = arg;
	pthread_mutex_lock(&l->io_mu);
	for (;;) {
		bool job = l->job.active && !l->job.done;
		bool sync = l->sync_req > l->sync_done;
		bool batch = l->io_dirty && l->fsync_mode == AUDIT_FSYNC_BATCH;
		int64_t left = batch ? l->io_last_fsync + l->fsync_interval_ns - monotime_ns() : 0;
		if (!job && !sync && !(batch && left <= 0)) {
			if (l->io_stop)
				break;
			if (batch) {
				struct timespec ts;
				clock_gettime(CLOCK_MONOTONIC, &ts);
				int64_t t = (int64_t)ts.tv_nsec + left;
				ts.tv_sec += (time_t)(t / 1000000000);
				ts.tv_nsec = (long)(t % 1000000000);
				pthread_cond_timedwait(&l->io_cv, &l->io_mu, &ts);
			} else {
				pthread_cond_wait(&l->io_cv, &l->io_mu);
			}
			continue;
		}
		if (job) {
			char *buf = l->job.buf;
			size_t len = l->job.len, off;
			int fd = l->job.fd;
			uint64_t start = l->job.start_size;
			pthread_mutex_unlock(&l->io_mu);
			int r = write_all(fd, buf, len, &off);
			bool abandoned = false;
			/* Never leave a partial line to be appended to. */
			if (r < 0 && off > 0 && ftruncate(fd, (off_t)start) < 0)
				abandoned = true;
			int fr = 0;
			if (!r && l->fsync_mode == AUDIT_FSYNC_EVERY) {
				fr = fdatasync(fd) < 0 ? -errno : 0;
				if (!fr)
					atomic_fetch_add_explicit(&l->st_fsyncs, 1, memory_order_relaxed);
			}
			if (r < 0)
				audit_note_error(l, r, "write to %s: %s", l->dir, strerror(-r));
			if (fr < 0)
				audit_note_error(l, fr, "fdatasync %s: %s", l->dir, strerror(-fr));
			pthread_mutex_lock(&l->io_mu);
			l->io_fd = fd;
			if (!r && (l->fsync_mode != AUDIT_FSYNC_EVERY || fr < 0))
				l->io_dirty = true;
			l->job.err = r;
			l->job.abandoned = abandoned;
			l->job.done = true;
			pthread_cond_broadcast(&l->io_done_cv);
			continue;
		}
		uint64_t gen = l->sync_req;
		int fd = l->io_fd;
		bool dirty = l->io_dirty;
		pthread_mutex_unlock(&l->io_mu);
		int r = 0;
		if (dirty && fd >= 0) {
			r = fdatasync(fd) < 0 ? -errno : 0;
			if (r < 0)
				audit_note_error(l, r, "fdatasync %s: %s", l->dir, strerror(-r));
			else
				atomic_fetch_add_explicit(&l->st_fsyncs, 1, memory_order_relaxed);
		}
		pthread_mutex_lock(&l->io_mu);
		if (!r)
			l->io_dirty = false;
		l->io_last_fsync = monotime_ns();
		if (sync) {
			l->sync_done = gen;
			l->sync_err = r;
			pthread_cond_broadcast(&l->io_done_cv);
		}
	}
	pthread_mutex_unlock(&l->io_mu);
	return NULL;
}

/* Count the user records of the output buffer as lost and drop it, with
 * the chain state it built. */
static void discard_out(struct audit_log *l)
{
	if (l->buf_user) {
		int64_t now = l->now(l->now_arg);
		if (l->io_lost == l->io_reported)
			l->io_first_ns = now;
		l->io_last_ns = now;
		l->io_lost += l->buf_user;
		atomic_fetch_add_explicit(&l->st_lost_io, l->buf_user, memory_order_relaxed);
	}
	l->out_len = 0;
	l->buf_user = 0;
	l->open_buffered = false;
	l->pend_seq = l->seq;
	memcpy(l->pend_mac, l->mac_hex, sizeof l->pend_mac);
	l->drop_reported_pend = l->drop_reported;
	l->io_reported_pend = l->io_reported;
}

/* Wait for the buffer in flight and take its result.  On success the
 * chain tip and the loss accounting it carried are committed.  On failure
 * its events are lost, and so is everything buffered since (it chains on
 * the failed records); the chain resumes from the last committed record. */
int audit_io_collect(struct audit_log *l)
{
	pthread_mutex_lock(&l->io_mu);
	while (l->job.active && !l->job.done)
		pthread_cond_wait(&l->io_done_cv, &l->io_mu);
	if (!l->job.active) {
		pthread_mutex_unlock(&l->io_mu);
		return 0;
	}
	l->job.active = false;
	int r = l->job.err;
	pthread_mutex_unlock(&l->io_mu);
	free(l->spare);
	l->spare = l->job.buf;
	l->spare_cap = l->job.cap;
	l->job.buf = NULL;
	if (!r) {
		l->file_good += l->job.len;
		l->seq = l->job.end_seq;
		memcpy(l->mac_hex, l->job.end_mac, sizeof l->mac_hex);
		atomic_fetch_add_explicit(&l->st_written, l->job.user, memory_order_relaxed);
		atomic_store_explicit(&l->st_last_seq, l->seq, memory_order_relaxed);
		l->drop_reported = l->job.drop_rep;
		l->io_reported = l->job.io_rep;
		if (l->job.has_open)
			l->open_pending = false;
		return 0;
	}
	l->buf_user += l->job.user;
	discard_out(l);
	l->cur_size = l->file_good;
	if (l->job.abandoned && l->fd >= 0) {
		pthread_mutex_lock(&l->io_mu);
		l->io_fd = -1;
		l->io_dirty = false;
		pthread_mutex_unlock(&l->io_mu);
		close(l->fd);
		l->fd = -1;
		snprintf(l->prev_name, sizeof l->prev_name, "%s", l->cur_name);
		l->prev_torn = true;
		l->prev_torn_at = l->file_good;
	}
	return r;
}

/* Hand the output buffer to the I/O thread (after collecting the one in
 * flight) and continue in the other buffer. */
int audit_io_submit(struct audit_log *l)
{
	int r = audit_io_collect(l);
	if (r < 0 || l->out_len == 0)
		return r;
	if (l->fd < 0) {
		discard_out(l);
		return -EBADF;
	}
	pthread_mutex_lock(&l->io_mu);
	l->job.buf = l->out;
	l->job.len = l->out_len;
	l->job.cap = l->out_cap;
	l->job.user = l->buf_user;
	l->job.has_open = l->open_buffered;
	l->job.end_seq = l->pend_seq;
	memcpy(l->job.end_mac, l->pend_mac, sizeof l->job.end_mac);
	l->job.drop_rep = l->drop_reported_pend;
	l->job.io_rep = l->io_reported_pend;
	l->job.fd = l->fd;
	l->job.start_size = l->file_good;
	l->job.active = true;
	l->job.done = false;
	l->job.abandoned = false;
	l->job.err = 0;
	pthread_cond_signal(&l->io_cv);
	pthread_mutex_unlock(&l->io_mu);
	l->cur_size = l->file_good + l->job.len;
	l->out = l->spare;
	l->out_cap = l->spare_cap;
	l->spare = NULL;
	l->spare_cap = 0;
	l->out_len = 0;
	l->buf_user = 0;
	l->open_buffered = false;
	return 0;
}

/* Write everything buffered and wait until it is in the file. */
int audit_io_flush(struct audit_log *l)
{
	int r = audit_io_submit(l);
	int r2 = audit_io_collect(l);
	return r < 0 ? r : r2;
}

/* fdatasync what the I/O thread wrote (call audit_io_flush first). */
int audit_io_fsync(struct audit_log *l)
{
	pthread_mutex_lock(&l->io_mu);
	uint64_t gen = ++l->sync_req;
	pthread_cond_signal(&l->io_cv);
	while (l->sync_done < gen)
		pthread_cond_wait(&l->io_done_cv, &l->io_mu);
	int r = l->sync_err;
	pthread_mutex_unlock(&l->io_mu);
	return r;
}

/* The current file is about to be closed: the I/O thread forgets it. */
void audit_io_forget_fd(struct audit_log *l)
{
	pthread_mutex_lock(&l->io_mu);
	l->io_fd = -1;
	l->io_dirty = false;
	pthread_mutex_unlock(&l->io_mu);
}
