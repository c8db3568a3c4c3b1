/* audit_writer: the writer thread of a log.
 *
 * Contract: one thread per log drains the queue in rounds of at most
 * DRAIN_MAX events, has them encoded (audit_encode.c) into the output
 * buffer and hands the buffer to the I/O thread (audit_io.c) when it is
 * full, the queue is empty or a flush is asked for; it writes audit.lost
 * before the next records whenever events were dropped or lost, and
 * clock.status hourly.  When idle it sleeps on a futex that producers wake
 * (audit_writer_wake).  At close it drains everything, writes log.close and
 * makes it durable.  Nothing prints; failures are counted as losses. */
#include "common/audit/audit_log.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Writer batching: records per drain round and the buffer size at which it
 * is written out.  One write(2) per batch keeps the syscall cost off the
 * per-record path. */
#define DRAIN_MAX 1024
#define OUT_FLUSH (256u * 1024)

/* Wake the writer (a producer saw it asleep, a flush, a close): the other
 * half of writer_sleep's futex wait. */
void audit_writer_wake(struct audit_log *l)
{
	__atomic_fetch_add(&l->wake_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &l->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Take up to DRAIN_MAX queued events into the output buffer. */
static size_t drain(struct audit_log *l)
{
	size_t got = 0;
	while (got < DRAIN_MAX && l->out_len < OUT_FLUSH) {
		struct audit_slot *s = audit_log_slot(l, l->deq_pos);
		uint64_t turn = atomic_load_explicit(&s->turn, memory_order_acquire);
		if (turn != l->deq_pos + 1)
			break;
		if (atomic_load_explicit(&l->dropped, memory_order_relaxed) != l->drop_reported_pend ||
		    l->io_lost != l->io_reported_pend)
			audit_encode_lost(l);
		if (l->fd >= 0 && l->open_pending && !l->open_buffered)
			audit_encode_open(l);
		if (s->flags & EF_TRUNC)
			atomic_fetch_add_explicit(&l->st_truncated, 1, memory_order_relaxed);
		int r = audit_encode_slot(l, s);
		if (r < 0) {
			/* Could not even be serialised or no file: lost, and said so. */
			int64_t now = l->now(l->now_arg);
			if (l->io_lost == l->io_reported_pend)
				l->io_first_ns = now;
			l->io_last_ns = now;
			l->io_lost++;
			atomic_fetch_add_explicit(&l->st_lost_io, 1, memory_order_relaxed);
		}
		atomic_store_explicit(&s->turn, l->deq_pos + l->nslots, memory_order_release);
		l->deq_pos++;
		got++;
		if (l->fsync_mode == AUDIT_FSYNC_EVERY)
			audit_io_flush(l);
	}
	return got;
}

static bool queue_nonempty(struct audit_log *l)
{
	struct audit_slot *s = audit_log_slot(l, l->deq_pos);
	return atomic_load_explicit(&s->turn, memory_order_acquire) == l->deq_pos + 1;
}

static void writer_sleep(struct audit_log *l, int64_t timeout_ns)
{
	uint32_t w = __atomic_load_n(&l->wake_word, __ATOMIC_SEQ_CST);
	atomic_store(&l->sleeping, 1);
	atomic_thread_fence(memory_order_seq_cst);
	if (!queue_nonempty(l) && !atomic_load(&l->closing) && atomic_load(&l->flush_want) <= l->flush_done) {
		struct timespec ts = {.tv_sec = timeout_ns / 1000000000, .tv_nsec = timeout_ns % 1000000000};
		syscall(SYS_futex, &l->wake_word, FUTEX_WAIT_PRIVATE, w, &ts, NULL, 0);
	}
	atomic_store(&l->sleeping, 0);
}

static void periodic(struct audit_log *l)
{
	if (!(l->flags & AUDIT_OPT_NO_CLOCK_STATUS)) {
		int64_t now = l->now(l->now_arg);
		if (!l->have_clock || now - l->last_clock_ns >= l->clock_interval_ns || now < l->last_clock_ns)
			audit_encode_clock(l, "hourly");
	}
}

void *audit_writer_main(void *arg)
{
	struct audit_log *l = arg;
	for (;;) {
		size_t got = drain(l);
		periodic(l);
		if (got == 0 &&
		    (atomic_load(&l->dropped) != l->drop_reported_pend || l->io_lost != l->io_reported_pend))
			audit_encode_lost(l);
		if (l->out_len && (got == 0 || l->out_len >= OUT_FLUSH || !queue_nonempty(l)))
			audit_io_submit(l);
		uint64_t want = atomic_load(&l->flush_want);
		if (want > l->flush_done && l->deq_pos >= want) {
			audit_io_flush(l);
			audit_io_fsync(l);
			pthread_mutex_lock(&l->mu);
			l->flush_done = want;
			pthread_cond_broadcast(&l->cond);
			pthread_mutex_unlock(&l->mu);
		}
		if (got)
			continue;
		/* Idle: take the result of the write in flight (statistics,
		 * loss accounting) before sleeping. */
		audit_io_collect(l);
		if (atomic_load(&l->closing) && l->deq_pos == atomic_load(&l->enq_pos))
			break;
		writer_sleep(l, 1000000000);
	}
	/* Close: report losses, write log.close, make it durable.  The
	 * counts in log.close are exact once the buffers are written. */
	audit_encode_lost(l);
	audit_io_flush(l);
	struct json_object *d = json_object_new_object();
	if (d) {
		int r = audit_encode_add(d, "written",
					 json_object_new_int64((int64_t)(atomic_load(&l->st_written) + l->buf_user)));
		if (!r)
			r = audit_encode_add(d, "dropped", json_object_new_int64((int64_t)atomic_load(&l->dropped)));
		if (!r)
			r = audit_encode_add(d, "lost_io", json_object_new_int64((int64_t)l->io_lost));
		if (!r)
			audit_encode_record(l, l->now(l->now_arg), "log.close", d, AUDIT_REC_INTERNAL);
		else
			json_object_put(d);
	}
	audit_io_flush(l);
	audit_io_fsync(l);
	pthread_mutex_lock(&l->mu);
	l->dead = true;
	l->flush_done = UINT64_MAX;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}
