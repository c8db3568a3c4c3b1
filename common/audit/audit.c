/* audit: the audit trail writer's handle (see audit.h, docs/audit.md).
 *
 * Contract:
 *  - audit_open checks the options, takes the directory lock, finds where
 *    the chain stands (resume), starts the I/O and writer threads and
 *    writes the opening records synchronously, so that a log that cannot
 *    be written fails at open.
 *  - Producers (audit_emit, any thread) claim one fixed-size slot of a
 *    preallocated ring (a bounded MPMC queue after D. Vyukov: each slot
 *    carries a turn counter, producers claim slots with one CAS) and copy
 *    the event into it (audit_slot.c).  No allocation, no lock, no I/O on
 *    that path (only a futex wake when the writer sleeps); when the ring
 *    is full the event is dropped and counted under a small mutex.
 *  - The stages behind the queue each have their file: the writer thread
 *    (audit_writer.c), record encoding and the MAC chain (audit_encode.c),
 *    write(2) and fsync (audit_io.c), rotation and retention
 *    (audit_rotate.c); audit_log.h shows them in order.
 *  - The log owns everything it allocates; audit_close frees it.  Errors
 *    are -errno and the optional on_error hook; nothing prints. */
#include "common/audit/audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/monotime.h"

static int64_t default_now(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool event_name_ok(const char *ev, size_t *ret_len)
{
	size_t n = 0;
	for (; ev[n]; n++) {
		char c = ev[n];
		if (n >= AUDIT_EVENT_MAX || !((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.'))
			return false;
	}
	*ret_len = n;
	return n > 0;
}

static void count_drop(struct audit_log *l, int64_t ts)
{
	pthread_mutex_lock(&l->drop_mu);
	if (!l->drop_first_ns)
		l->drop_first_ns = ts;
	l->drop_last_ns = ts;
	atomic_fetch_add(&l->dropped, 1);
	pthread_mutex_unlock(&l->drop_mu);
}

int audit_emit(struct audit_log *l, const char *event, const struct audit_field *fields, size_t n)
{
	size_t evlen;
	if (!l || !event || !event_name_ok(event, &evlen) || (n && !fields))
		return -EINVAL;
	if (atomic_load_explicit(&l->closing, memory_order_relaxed))
		return -EPIPE;
	int64_t ts = l->now(l->now_arg);
	uint64_t pos = atomic_load_explicit(&l->enq_pos, memory_order_relaxed);
	struct audit_slot *s;
	for (;;) {
		s = audit_log_slot(l, pos);
		uint64_t turn = atomic_load_explicit(&s->turn, memory_order_acquire);
		int64_t dif = (int64_t)(turn - pos);
		if (dif == 0) {
			if (atomic_compare_exchange_weak_explicit(&l->enq_pos, &pos, pos + 1, memory_order_relaxed,
								  memory_order_relaxed))
				break;
		} else if (dif < 0) {
			count_drop(l, ts);
			return -ENOBUFS;
		} else {
			pos = atomic_load_explicit(&l->enq_pos, memory_order_relaxed);
		}
	}
	s->ts_ns = ts;
	memcpy(s->event, event, evlen + 1);
	audit_slot_fill(s, l->slot_bytes, l->max_str, fields, n);
	atomic_store_explicit(&s->turn, pos + 1, memory_order_release);
	/* Pairs with the fence in writer_sleep (audit_writer.c): either the
	 * writer sees this slot before sleeping or we see it asleep and wake
	 * it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&l->sleeping, memory_order_relaxed))
		audit_writer_wake(l);
	return 0;
}

void audit_note_error(struct audit_log *l, int err, const char *fmt, ...)
{
	int zero = 0;
	atomic_compare_exchange_strong(&l->first_error, &zero, err);
	atomic_store(&l->st_last_error, err);
	if (l->on_error) {
		char why[512];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, sizeof why, fmt, ap);
		va_end(ap);
		l->on_error(l->on_error_arg, err, why);
	}
}

static bool component_ok(const char *c)
{
	size_t n = 0;
	for (; c[n]; n++)
		if (n >= 32 ||
		    !((c[n] >= 'a' && c[n] <= 'z') || (c[n] >= '0' && c[n] <= '9') || c[n] == '_' || c[n] == '-'))
			return false;
	return n > 0;
}

static int take_lock(struct audit_log *l, unsigned timeout_ms, char *why, size_t whylen)
{
	l->lockfd = openat(l->dirfd, ".lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (l->lockfd < 0) {
		int e = -errno;
		audit_record_why(why, whylen, "cannot open lock %s/.lock: %s", l->dir, strerror(-e));
		return e;
	}
	int64_t deadline = monotime_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		if (flock(l->lockfd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR) {
			int e = -errno;
			audit_record_why(why, whylen, "cannot lock %s/.lock: %s", l->dir, strerror(-e));
			return e;
		}
		if (monotime_ns() >= deadline) {
			audit_record_why(why, whylen, "%s is locked by another writer", l->dir);
			return -EBUSY;
		}
		struct timespec ts = {0, 10 * 1000000};
		nanosleep(&ts, NULL);
	}
}

/* Find where the chain stands: the last verified record of the newest
 * file that has one.  Decide whether to append to the newest file (it
 * ends cleanly, same day, not full) or to start a new one. */
static int resume(struct audit_log *l, char *why, size_t whylen)
{
	char **names;
	size_t n;
	int r = audit_record_list(l->dirfd, &names, &n);
	if (r < 0) {
		audit_record_why(why, whylen, "cannot list %s: %s", l->dir, strerror(-r));
		return r;
	}
	memcpy(l->pend_mac, AUDIT_ZERO_MAC, sizeof l->pend_mac);
	l->pend_seq = 0;
	l->prev_closed = -1;
	if (n == 0) {
		l->open_reason = "new";
		audit_record_list_free(names, n);
		return 0;
	}
	struct audit_record_tail newest = {0}, t;
	bool found = false;
	uint64_t bad = 0;
	size_t examined = 0;
	for (size_t k = n; k-- > 0 && examined < 8; examined++) {
		int fd = openat(l->dirfd, names[k], O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			r = -errno;
			audit_record_why(why, whylen, "cannot open %s/%s: %s", l->dir, names[k], strerror(-r));
			break;
		}
		r = audit_record_tail(fd, l->mac, &t);
		close(fd);
		if (r < 0) {
			audit_record_why(why, whylen, "cannot read %s/%s: %s", l->dir, names[k], strerror(-r));
			break;
		}
		if (k == n - 1)
			newest = t;
		bad += t.bad_lines;
		if (t.found) {
			found = true;
			l->pend_seq = t.last_seq;
			memcpy(l->pend_mac, t.last_mac, sizeof l->pend_mac);
			l->prev_closed = strcmp(t.last_event, "log.close") == 0;
			break;
		}
	}
	if (r >= 0 && !found && bad) {
		r = -EKEYREJECTED;
		audit_record_why(why, whylen,
				 "the newest records in %s do not verify with this key (wrong key or tampered log); "
				 "refusing to continue the chain",
				 l->dir);
	}
	if (r < 0) {
		audit_record_list_free(names, n);
		return r;
	}
	l->seq = l->pend_seq;
	memcpy(l->mac_hex, l->pend_mac, sizeof l->mac_hex);
	audit_record_fname_parse(names[n - 1], &l->cur_fname);
	snprintf(l->cur_name, sizeof l->cur_name, "%s", names[n - 1]);
	l->prev_torn = newest.torn;
	l->prev_torn_at = newest.good_end;
	snprintf(l->prev_name, sizeof l->prev_name, "%s", names[n - 1]);
	audit_record_list_free(names, n);

	int64_t now = l->now(l->now_arg);
	char ts[AUDIT_TS_LEN];
	int today, fday = 0;
	audit_record_ts(&l->tsc, now, ts, &today, NULL);
	if (!l->prev_torn && newest.found) {
		int64_t fns;
		if (audit_record_ts_parse(newest.last_ts, &fns) == 0)
			audit_record_ts(&l->tsc, fns, ts, &fday, NULL);
	}
	bool same_day = (l->flags & AUDIT_OPT_NO_DAILY_ROTATION) || fday == today;
	if (!l->prev_torn && newest.found && same_day && newest.size < l->rotate_bytes) {
		int fd = openat(l->dirfd, l->cur_name, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0) {
			r = -errno;
			audit_record_why(why, whylen, "cannot open %s/%s: %s", l->dir, l->cur_name, strerror(-r));
			return r;
		}
		l->fd = fd;
		l->cur_size = newest.size;
		l->file_good = newest.size;
		l->cur_day = today;
		l->open_pending = false;
		l->prev_name[0] = '\0';
		return 0;
	}
	l->open_reason = "start";
	return 0;
}

static void log_free(struct audit_log *l)
{
	if (!l)
		return;
	if (l->io_started) {
		pthread_mutex_lock(&l->io_mu);
		l->io_stop = true;
		pthread_cond_signal(&l->io_cv);
		pthread_mutex_unlock(&l->io_mu);
		pthread_join(l->io_thread, NULL);
	}
	free(l->job.buf);
	free(l->spare);
	if (l->fd >= 0)
		close(l->fd);
	if (l->lockfd >= 0)
		close(l->lockfd); /* releases the flock */
	if (l->dirfd >= 0)
		close(l->dirfd);
	json_object_put(l->jesc);
	audit_record_mac_free(l->mac);
	free(l->ring);
	free(l->out);
	free(l->dir);
	pthread_mutex_destroy(&l->drop_mu);
	pthread_mutex_destroy(&l->mu);
	pthread_cond_destroy(&l->cond);
	pthread_mutex_destroy(&l->io_mu);
	pthread_cond_destroy(&l->io_cv);
	pthread_cond_destroy(&l->io_done_cv);
	free(l);
}

static size_t pow2_at_least(size_t n)
{
	size_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

int audit_open(const struct audit_opts *o, struct audit_log **ret_log, char *why, size_t whylen)
{
	if (!o || !ret_log || !o->dir || !o->dir[0] || !o->component || !o->key) {
		audit_record_why(why, whylen, "audit_open: dir, component and key are required");
		return -EINVAL;
	}
	if (!component_ok(o->component)) {
		audit_record_why(why, whylen, "bad component name \"%.40s\" (want [a-z0-9_-]{1,32})", o->component);
		return -EINVAL;
	}
	if (o->key->len < AUDIT_KEY_MIN || o->key->len > AUDIT_KEY_MAX) {
		audit_record_why(why, whylen, "bad key length %zu", o->key->len);
		return -EINVAL;
	}
	size_t slot_bytes = o->slot_bytes ? o->slot_bytes : 4096;
	size_t nslots = o->queue_slots ? o->queue_slots : 4096;
	if (slot_bytes < 512 || slot_bytes > 65536 || nslots > (1u << 20) ||
	    (o->rotate_bytes && o->rotate_bytes < 4096) || o->fsync > AUDIT_FSYNC_NONE) {
		audit_record_why(why, whylen, "audit_open: option out of range");
		return -EINVAL;
	}
	size_t stride = (sizeof(struct audit_slot) + slot_bytes + 63) & ~(size_t)63;
	if (pow2_at_least(nslots) * stride > (1ull << 30)) {
		audit_record_why(why, whylen, "audit_open: queue larger than 1 GiB");
		return -EINVAL;
	}
	struct audit_log *l = calloc(1, sizeof *l);
	if (!l)
		return -ENOMEM;
	l->fd = l->dirfd = l->lockfd = -1;
	pthread_mutex_init(&l->drop_mu, NULL);
	pthread_mutex_init(&l->mu, NULL);
	pthread_cond_init(&l->cond, NULL);
	pthread_mutex_init(&l->io_mu, NULL);
	pthread_cond_init(&l->io_done_cv, NULL);
	{
		/* The I/O thread's fsync deadline is on the monotonic clock. */
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->io_cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	l->io_fd = -1;
	int r = -ENOMEM;
	if (!(l->dir = strdup(o->dir)))
		goto fail;
	snprintf(l->component, sizeof l->component, "%s", o->component);
	if (o->host) {
		snprintf(l->host, sizeof l->host, "%s", o->host);
	} else if (gethostname(l->host, sizeof l->host - 1) < 0) {
		snprintf(l->host, sizeof l->host, "unknown");
	}
	{
		/* The host name goes into every record: keep it valid UTF-8. */
		unsigned char tmp[256];
		int fl = 0;
		size_t hn = audit_slot_copy_utf8(tmp, sizeof tmp - 1, (const unsigned char *)l->host, strlen(l->host),
						 &fl, NULL);
		memcpy(l->host, tmp, hn);
		l->host[hn] = '\0';
	}
	l->slot_bytes = slot_bytes;
	l->max_str = o->max_str ? o->max_str : 1024;
	if (l->max_str > slot_bytes / 2)
		l->max_str = slot_bytes / 2;
	l->nslots = pow2_at_least(nslots < 2 ? 2 : nslots);
	l->mask = l->nslots - 1;
	l->fsync_mode = o->fsync;
	l->fsync_interval_ns = (int64_t)(o->fsync_interval_ms ? o->fsync_interval_ms : 100) * 1000000;
	l->rotate_bytes = o->rotate_bytes ? o->rotate_bytes : 64ull << 20;
	l->retain_bytes = o->retain_bytes;
	l->retain_seconds = o->retain_seconds;
	l->clock_interval_ns = (int64_t)(o->clock_interval_s ? o->clock_interval_s : 3600) * 1000000000;
	l->flags = o->flags;
	l->now = o->now ? o->now : default_now;
	l->now_arg = o->now_arg;
	l->on_error = o->on_error;
	l->on_error_arg = o->on_error_arg;
	l->io_last_fsync = monotime_ns();
	if (!(l->mac = audit_record_mac_new(o->key)) || !(l->jesc = json_object_new_string("")))
		goto fail;
	{
		struct json_object *h = json_object_new_string(l->host);
		size_t hl;
		const char *hq = h ? json_object_to_json_string_length(h, AUDIT_JSON_FLAGS, &hl) : NULL;
		if (!hq || hl >= sizeof l->host_json) {
			json_object_put(h);
			goto fail;
		}
		memcpy(l->host_json, hq, hl + 1);
		json_object_put(h);
	}
	if (mkdir(l->dir, 0700) < 0 && errno != EEXIST) {
		r = -errno;
		audit_record_why(why, whylen, "cannot create %s: %s", l->dir, strerror(-r));
		goto fail;
	}
	if ((l->dirfd = open(l->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
		r = -errno;
		audit_record_why(why, whylen, "cannot open %s: %s", l->dir, strerror(-r));
		goto fail;
	}
	if ((r = take_lock(l, o->lock_timeout_ms, why, whylen)) < 0 || (r = resume(l, why, whylen)) < 0)
		goto fail;
	if ((r = -pthread_create(&l->io_thread, NULL, audit_io_main, l)) < 0) {
		audit_record_why(why, whylen, "cannot start the I/O thread: %s", strerror(-r));
		goto fail;
	}
	l->io_started = true;

	/* Opening records, written synchronously: if they cannot be written
	 * the caller learns it now. */
	if (l->fd < 0) {
		if ((r = audit_rotate(l, l->open_reason)) < 0) {
			audit_record_why(why, whylen, "cannot start a log file in %s: %s", l->dir, strerror(-r));
			goto fail;
		}
	} else {
		struct json_object *d = json_object_new_object();
		if (!d)
			goto fail;
		r = audit_encode_add(d, "file", json_object_new_string(l->cur_name));
		if (!r)
			r = audit_encode_add(d, "offset", json_object_new_int64((int64_t)l->cur_size));
		if (!r)
			r = audit_encode_add(d, "prev_closed", json_object_new_boolean(l->prev_closed == 1));
		if (!r)
			r = audit_encode_add(d, "writer_pid", json_object_new_int64(getpid()));
		if (!r)
			r = audit_encode_record(l, l->now(l->now_arg), "log.resume", d, AUDIT_REC_INTERNAL);
		else
			json_object_put(d);
		if (r < 0)
			goto fail;
		if ((r = audit_rotate_retain(l)) < 0) {
			audit_record_why(why, whylen, "retention in %s failed: %s", l->dir, strerror(-r));
			goto fail;
		}
	}
	if (!(l->flags & AUDIT_OPT_NO_CLOCK_STATUS))
		audit_encode_clock(l, "open");
	if ((r = audit_io_flush(l)) < 0 || (r = audit_io_fsync(l)) < 0) {
		audit_record_why(why, whylen, "cannot write to %s/%s: %s", l->dir, l->cur_name, strerror(-r));
		goto fail;
	}

	/* The ring: turn counters start at the slot index (Vyukov). */
	l->stride = stride;
	if (!(l->ring = aligned_alloc(64, l->nslots * stride))) {
		r = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < l->nslots; i++)
		atomic_init(&audit_log_slot(l, i)->turn, i);
	if ((r = -pthread_create(&l->thread, NULL, audit_writer_main, l)) < 0) {
		audit_record_why(why, whylen, "cannot start the writer thread: %s", strerror(-r));
		goto fail;
	}
	l->thread_started = true;
	*ret_log = l;
	return 0;
fail:
	if (r == -ENOMEM && why && !why[0])
		audit_record_why(why, whylen, "out of memory");
	log_free(l);
	return r;
}

int audit_flush(struct audit_log *l)
{
	if (!l)
		return -EINVAL;
	uint64_t target = atomic_load(&l->enq_pos);
	pthread_mutex_lock(&l->mu);
	uint64_t w = atomic_load(&l->flush_want);
	while (w < target && !atomic_compare_exchange_weak(&l->flush_want, &w, target))
		;
	pthread_mutex_unlock(&l->mu);
	audit_writer_wake(l);
	pthread_mutex_lock(&l->mu);
	while (l->flush_done < target && !l->dead)
		pthread_cond_wait(&l->cond, &l->mu);
	pthread_mutex_unlock(&l->mu);
	return atomic_load(&l->st_last_error);
}

int audit_close(struct audit_log *l)
{
	if (!l)
		return 0;
	atomic_store(&l->closing, true);
	audit_writer_wake(l);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	int r = atomic_load(&l->first_error);
	log_free(l);
	return r;
}

void audit_get_stats(struct audit_log *l, struct audit_stats *st)
{
	memset(st, 0, sizeof *st);
	uint64_t dropped = atomic_load(&l->dropped);
	st->emitted = atomic_load(&l->enq_pos) + dropped;
	st->dropped = dropped;
	st->written = atomic_load(&l->st_written);
	st->lost_io = atomic_load(&l->st_lost_io);
	st->internal = atomic_load(&l->st_internal);
	st->truncated = atomic_load(&l->st_truncated);
	st->fsyncs = atomic_load(&l->st_fsyncs);
	st->files = atomic_load(&l->st_files);
	st->last_seq = atomic_load(&l->st_last_seq);
	st->last_error = atomic_load(&l->st_last_error);
}

const char *audit_current_file(struct audit_log *l)
{
	pthread_mutex_lock(&l->mu);
	snprintf(l->path_copy, sizeof l->path_copy, "%s/%s", l->dir, l->cur_name);
	pthread_mutex_unlock(&l->mu);
	return l->path_copy;
}
