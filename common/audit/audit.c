/* audit: the tamper-evident audit trail writer (see audit.h, docs/audit.md).
 *
 * Contract:
 *  - Producers (audit_emit, any thread) copy an event into one fixed-size
 *    slot of a preallocated ring (a bounded MPMC queue after D. Vyukov:
 *    each slot carries a turn counter, producers claim slots with one CAS).
 *    No allocation, no lock, no I/O on that path (only a futex wake when
 *    the writer sleeps); when the ring is full the event is dropped and
 *    counted under a small mutex (the slow path).
 *  - One writer thread per log drains the ring: lays out each record
 *    (every string escaped by json-c), computes the MAC over the chain,
 *    appends the line to a buffer, rotates files by size and local day,
 *    applies retention, records clock.status hourly, and writes audit.lost
 *    before the next records whenever events were dropped or lost.
 *  - One I/O thread per log write(2)s full buffers and runs fdatasync by
 *    policy (double buffering: the writer fills one buffer while the other
 *    is written), so that neither producers nor the writer wait for disks.
 *  - Chain state (seq, mac) is committed only when the bytes reached the
 *    file; a failed write is cut back with ftruncate (or the file is
 *    abandoned and the next file's log.open says where it was torn), and
 *    the events of that buffer and of the one filled meanwhile are counted
 *    as lost and reported.
 *  - The log owns everything it allocates; audit_close frees it.  Errors
 *    are -errno and the optional on_error hook; nothing prints. */
#include "common/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/audit_record.h"
#include "common/monotime.h"
#include "common/utf8.h"

#define JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Writer batching: records per drain round and the buffer size at which it
 * is written out.  One write(2) per batch keeps the syscall cost off the
 * per-record path. */
#define DRAIN_MAX 1024
#define OUT_FLUSH (256u * 1024)

/* Entry flags.  TRUNC and BADUTF8 propagate to the top-level field (they
 * become the record's marks); ESC bits say whether the value or the name
 * holds a byte that JSON escaping changes, found while copying so that
 * the writer does not scan again. */
enum { EF_TRUNC = 1, EF_BADUTF8 = 2, EF_VESC = 4, EF_NESC = 8 };

/* Slot layout: header, then slot_bytes of encoded fields.  The encoding is
 * private to this file and only ever read back by the same process:
 *   entry  = type u8, flags u8, namelen u8, name bytes, NUL, payload
 *   STR/HEX payload = u32 length, bytes        INT/UINT = 8 bytes
 *   BOOL = 1 byte   IP = family u8, 16 bytes   NULL = nothing
 *   LIST/OBJ payload = u16 count, entries (STRLIST is stored as a LIST) */
struct slot {
	_Atomic uint64_t turn;
	int64_t ts_ns;
	uint32_t used;
	uint16_t nfields;
	uint16_t omitted;
	uint8_t flags;
	char event[AUDIT_EVENT_MAX + 1];
	unsigned char data[];
};

struct audit_log {
	/* Producer side: separate cache lines for the claim counter and the
	 * writer's wake-up word. */
	alignas(64) _Atomic uint64_t enq_pos;
	alignas(64) uint32_t wake_word; /* futex word, accessed with __atomic builtins */
	_Atomic int sleeping;
	_Atomic bool closing;
	alignas(64) uint64_t deq_pos; /* writer only */

	unsigned char *ring;
	size_t nslots, mask, stride, slot_bytes, max_str;

	/* Drops (slow path, under drop_mu). */
	pthread_mutex_t drop_mu;
	_Atomic uint64_t dropped;
	int64_t drop_first_ns, drop_last_ns;

	/* Flush/close handshake. */
	pthread_mutex_t mu;
	pthread_cond_t cond;
	_Atomic uint64_t flush_want;
	uint64_t flush_done;
	bool dead;

	/* Configuration. */
	char *dir;
	char component[33];
	char host[256];
	enum audit_fsync fsync_mode;
	int64_t fsync_interval_ns;
	uint64_t rotate_bytes, retain_bytes, retain_seconds;
	int64_t clock_interval_ns;
	unsigned flags;
	audit_now_fn *now;
	void *now_arg;
	audit_error_fn *on_error;
	void *on_error_arg;

	/* Writer state (writer thread, or the opener before it starts). */
	struct audit_record_mac *mac;
	struct json_object *jesc; /* scratch string for json-c's escaping */
	char host_json[6 * 255 + 3]; /* the host name as a JSON string, escaped by json-c */
	int dirfd, lockfd, fd;
	char cur_name[AUDIT_NAME_LEN];
	struct audit_record_fname cur_fname;
	uint64_t cur_size;
	int cur_day;
	bool open_pending;     /* the current file still needs its log.open */
	bool open_buffered;    /* ... and it is in the output buffer */
	const char *open_reason;
	char prev_name[AUDIT_NAME_LEN];
	bool prev_torn;
	uint64_t prev_torn_at;
	int prev_closed;       /* -1 unknown/not applicable, 0/1 */

	uint64_t seq;          /* committed chain tip */
	char mac_hex[AUDIT_MAC_HEX + 1];
	uint64_t pend_seq;     /* tip including buffered lines */
	char pend_mac[AUDIT_MAC_HEX + 1];

	char *out;
	size_t out_len, out_cap;
	uint64_t buf_user;     /* user records in out */
	uint64_t drop_reported, drop_reported_pend;
	uint64_t io_lost, io_reported, io_reported_pend;
	int64_t io_first_ns, io_last_ns;
	uint64_t file_good;    /* bytes of the current file known written */
	char *spare;           /* the other output buffer (double buffering) */
	size_t spare_cap;
	int64_t last_clock_ns;
	bool have_clock;
	struct audit_record_tscache tsc;
	_Atomic int first_error;

	/* The I/O thread: write(2) and fdatasync off the writer thread, one
	 * buffer in flight while the writer fills the other.  Everything
	 * below is under io_mu. */
	pthread_t io_thread;
	bool io_started, io_stop;
	pthread_mutex_t io_mu;
	pthread_cond_t io_cv, io_done_cv;
	struct {
		char *buf;
		size_t len, cap;
		uint64_t user;         /* emitted events in it */
		bool has_open;         /* it holds the file's log.open */
		uint64_t end_seq;      /* chain tip after it */
		char end_mac[AUDIT_MAC_HEX + 1];
		uint64_t drop_rep, io_rep; /* losses reported up to it */
		int fd;
		uint64_t start_size;   /* file size before it */
		bool active, done, abandoned;
		int err;
	} job;
	uint64_t sync_req, sync_done;
	int sync_err;
	int io_fd;             /* the file fdatasync applies to */
	bool io_dirty;         /* written, not yet synced */
	int64_t io_last_fsync;

	/* Statistics, read by other threads. */
	_Atomic uint64_t st_written, st_lost_io, st_internal, st_truncated, st_fsyncs, st_files, st_last_seq;
	_Atomic int st_last_error;

	pthread_t thread;
	bool thread_started;
	char path_copy[PATH_MAX];
};

static char hexdig_lower(unsigned v)
{
	return "0123456789abcdef"[v & 15];
}

static int64_t default_now(void *arg)
{
	(void)arg;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static struct slot *slot_at(struct audit_log *l, uint64_t pos)
{
	return (struct slot *)(void *)(l->ring + (pos & l->mask) * l->stride);
}

/* ------------------------------------------------------ producer side -- */

static void wake_writer(struct audit_log *l)
{
	__atomic_fetch_add(&l->wake_word, 1, __ATOMIC_SEQ_CST);
	syscall(SYS_futex, &l->wake_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* Copy UTF-8 with repair: invalid sequences become U+FFFD.  Stops before
 * the first character that does not fit in cap (flagging EF_TRUNC), so a
 * cut string always ends on a character boundary.  *esc is set when a
 * byte needs JSON escaping (control, '"', '\\'). */
static size_t utf8_copy(unsigned char *dst, size_t cap, const unsigned char *s, size_t n, int *flags, bool *esc)
{
	size_t i = 0, o = 0;
	bool e = false;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			/* ASCII run: the common case.  Eight bytes at a time while
			 * none is non-ASCII, a control character, '"' or '\\'
			 * (SWAR tests), then byte by byte. */
			size_t lim = n - i < cap - o ? n - i : cap - o;
			size_t k = 0;
			const uint64_t ones = 0x0101010101010101u, highs = 0x8080808080808080u;
			while (k + 8 <= lim) {
				uint64_t w;
				memcpy(&w, s + i + k, 8);
				uint64_t q = w ^ (ones * '"'), b = w ^ (ones * '\\');
				uint64_t bad = (w & highs) | ((w - ones * 0x20) & ~w & highs) | ((q - ones) & ~q & highs) |
					       ((b - ones) & ~b & highs);
				if (bad)
					break;
				memcpy(dst + o + k, &w, 8);
				k += 8;
			}
			for (; k < lim && s[i + k] < 0x80; k++) {
				unsigned char b = s[i + k];
				e |= b < 0x20 || b == '"' || b == '\\';
				dst[o + k] = b;
			}
			i += k;
			o += k;
			if (k == 0)
				break; /* no room */
			continue;
		}
		uint32_t cp;
		size_t L = utf8_decode(s + i, n - i, &cp);
		if (L) {
			if (o + L > cap)
				break;
			memcpy(dst + o, s + i, L);
			o += L;
			i += L;
		} else {
			if (o + 3 > cap)
				break;
			dst[o++] = 0xef;
			dst[o++] = 0xbf;
			dst[o++] = 0xbd;
			i++;
			*flags |= EF_BADUTF8;
		}
	}
	if (i < n)
		*flags |= EF_TRUNC;
	if (esc)
		*esc = e;
	return o;
}

struct enc {
	unsigned char *p;
	size_t cap, len, max_str;
};

/* Names already used in one object, so that a repeated name is left out
 * (as json-c would not write a name twice).  Only the first 64 names of an
 * object are remembered; callers pass distinct names anyway. */
struct seen {
	const char *name[AUDIT_FIELDS_MAX];
	size_t len[AUDIT_FIELDS_MAX];
	size_t n;
};

/* True when name was seen before; otherwise remembers it. */
static bool seen_dup(struct seen *sn, const char *name)
{
	const char *nm = name ? name : "";
	size_t l = strnlen(nm, AUDIT_NAME_MAX);
	for (size_t i = 0; i < sn->n; i++)
		if (sn->len[i] == l && memcmp(sn->name[i], nm, l) == 0)
			return true;
	if (sn->n < AUDIT_FIELDS_MAX) {
		sn->name[sn->n] = nm;
		sn->len[sn->n++] = l;
	}
	return false;
}

static bool enc_room(const struct enc *e, size_t n)
{
	return e->cap - e->len >= n;
}

/* Encode one field.  Returns its flags (>= 0) or -1 when it did not fit
 * at all (nothing written). */
static int enc_field(struct enc *e, const struct audit_field *f, int depth)
{
	size_t start = e->len;
	const char *name = f->name ? f->name : "";
	size_t nl = strnlen(name, AUDIT_NAME_MAX + 1);
	int flags = 0;
	if (nl > AUDIT_NAME_MAX) {
		nl = AUDIT_NAME_MAX;
		flags |= EF_TRUNC;
	}
	enum audit_type t = f->type;
	if ((t == AUDIT_T_STR || t == AUDIT_T_HEX) && !f->u.str.p)
		t = AUDIT_T_NULL;
	if (t == AUDIT_T_STRLIST && !f->u.strlist.v && f->u.strlist.n)
		t = AUDIT_T_NULL;
	if ((t == AUDIT_T_LIST || t == AUDIT_T_OBJ) && !f->u.sub.v && f->u.sub.n)
		t = AUDIT_T_NULL;
	if (t < AUDIT_T_STR || t > AUDIT_T_NULL)
		t = AUDIT_T_NULL, flags |= EF_TRUNC;
	bool nested = t == AUDIT_T_STRLIST || t == AUDIT_T_LIST || t == AUDIT_T_OBJ;
	if (nested && depth >= AUDIT_DEPTH_MAX)
		return -1;
	if (!enc_room(e, 3 + nl + 1))
		return -1;
	unsigned char *hdr = e->p + e->len;
	hdr[0] = (unsigned char)(t == AUDIT_T_STRLIST ? AUDIT_T_LIST : t);
	hdr[2] = (unsigned char)nl;
	e->len += 3;
	/* Names are ASCII identifiers by contract; repair anyway so that the
	 * record stays valid UTF-8. */
	int nflags = 0, own = 0;
	bool esc;
	size_t nw = utf8_copy(e->p + e->len, nl, (const unsigned char *)name, nl, &nflags, &esc);
	hdr[2] = (unsigned char)nw;
	e->len += nw;
	e->p[e->len++] = '\0';
	flags |= nflags & EF_BADUTF8;
	if (esc)
		own |= EF_NESC;

	switch (t) {
	case AUDIT_T_STR: {
		if (!enc_room(e, 4)) {
			e->len = start;
			return -1;
		}
		size_t room = e->cap - e->len - 4;
		if (room > e->max_str)
			room = e->max_str;
		size_t n = f->u.str.len == SIZE_MAX ? strnlen(f->u.str.p, room + 1) : f->u.str.len;
		uint32_t w = (uint32_t)utf8_copy(e->p + e->len + 4, room, (const unsigned char *)f->u.str.p, n, &flags, &esc);
		if (esc)
			own |= EF_VESC;
		memcpy(e->p + e->len, &w, 4);
		e->len += 4 + w;
		break;
	}
	case AUDIT_T_HEX: {
		if (!enc_room(e, 4)) {
			e->len = start;
			return -1;
		}
		size_t room = e->cap - e->len - 4;
		size_t lim = e->max_str / 2 < AUDIT_HEX_MAX ? e->max_str / 2 : AUDIT_HEX_MAX;
		if (room > lim)
			room = lim;
		size_t n = f->u.str.len;
		if (n > room) {
			n = room;
			flags |= EF_TRUNC;
		}
		uint32_t w = (uint32_t)n;
		memcpy(e->p + e->len, &w, 4);
		memcpy(e->p + e->len + 4, f->u.str.p, n);
		e->len += 4 + n;
		break;
	}
	case AUDIT_T_INT:
	case AUDIT_T_UINT:
		if (!enc_room(e, 8)) {
			e->len = start;
			return -1;
		}
		memcpy(e->p + e->len, t == AUDIT_T_INT ? (const void *)&f->u.i : (const void *)&f->u.u, 8);
		e->len += 8;
		break;
	case AUDIT_T_BOOL:
		if (!enc_room(e, 1)) {
			e->len = start;
			return -1;
		}
		e->p[e->len++] = f->u.b ? 1 : 0;
		break;
	case AUDIT_T_IP:
		if (!enc_room(e, 17)) {
			e->len = start;
			return -1;
		}
		e->p[e->len] = (unsigned char)(f->u.ip.family == 6 ? 6 : 4);
		memcpy(e->p + e->len + 1, &f->u.ip.addr, 16);
		e->len += 17;
		break;
	case AUDIT_T_NULL:
		break;
	case AUDIT_T_STRLIST:
	case AUDIT_T_LIST:
	case AUDIT_T_OBJ: {
		if (!enc_room(e, 2)) {
			e->len = start;
			return -1;
		}
		size_t cpos = e->len;
		e->len += 2;
		size_t n = t == AUDIT_T_STRLIST ? f->u.strlist.n : f->u.sub.n;
		uint16_t cnt = 0;
		struct seen sn;
		sn.n = 0;
		for (size_t i = 0; i < n; i++) {
			int r;
			if (t == AUDIT_T_OBJ && seen_dup(&sn, f->u.sub.v[i].name)) {
				flags |= EF_TRUNC;
				continue;
			}
			if (cnt == UINT16_MAX) {
				flags |= EF_TRUNC;
				break;
			}
			if (t == AUDIT_T_STRLIST) {
				struct audit_field c = {.name = NULL, .type = AUDIT_T_STR,
							.u.str = {.p = f->u.strlist.v[i], .len = SIZE_MAX}};
				r = enc_field(e, &c, depth + 1);
			} else {
				r = enc_field(e, &f->u.sub.v[i], depth + 1);
			}
			if (r < 0) {
				/* Out of room: later elements would not fit either
				 * in a meaningful way; stop here. */
				flags |= EF_TRUNC;
				break;
			}
			flags |= r & (EF_TRUNC | EF_BADUTF8);
			cnt++;
		}
		memcpy(e->p + cpos, &cnt, 2);
		break;
	}
	}
	hdr[1] = (unsigned char)(flags | own);
	return flags;
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
	struct slot *s;
	for (;;) {
		s = slot_at(l, pos);
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
	struct enc e = {.p = s->data, .cap = l->slot_bytes, .len = 0, .max_str = l->max_str};
	uint16_t nf = 0, omitted = 0;
	uint8_t sflags = 0;
	struct seen sn;
	sn.n = 0;
	for (size_t i = 0; i < n; i++) {
		if (i >= AUDIT_FIELDS_MAX) {
			omitted = (uint16_t)(omitted + (n - i > UINT16_MAX ? UINT16_MAX : n - i));
			break;
		}
		if (seen_dup(&sn, fields[i].name)) {
			omitted++;
			continue;
		}
		int r = enc_field(&e, &fields[i], 0);
		if (r < 0) {
			omitted++;
			continue;
		}
		sflags |= (uint8_t)(r & (EF_TRUNC | EF_BADUTF8));
		nf++;
	}
	if (omitted)
		sflags |= EF_TRUNC;
	s->used = (uint32_t)e.len;
	s->nfields = nf;
	s->omitted = omitted;
	s->flags = sflags;
	atomic_store_explicit(&s->turn, pos + 1, memory_order_release);
	/* Pairs with the fence in writer_sleep: either the writer sees this
	 * slot before sleeping or we see it asleep and wake it. */
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load_explicit(&l->sleeping, memory_order_relaxed))
		wake_writer(l);
	return 0;
}

/* -------------------------------------------------------- writer side -- */

static void note_error(struct audit_log *l, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void note_error(struct audit_log *l, int err, const char *fmt, ...)
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

static int add(struct json_object *o, const char *key, struct json_object *v)
{
	if (!v)
		return -ENOMEM;
	if (json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY) < 0) {
		json_object_put(v);
		return -ENOMEM;
	}
	return 0;
}

/* json-c represents JSON null as a NULL value. */
static int add_null(struct json_object *o, const char *key)
{
	return json_object_object_add_ex(o, key, NULL, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY) < 0
		       ? -ENOMEM
		       : 0;
}

static struct json_object *jstr(const char *s)
{
	return json_object_new_string(s);
}

static struct json_object *jts(struct audit_log *l, int64_t ns)
{
	char ts[AUDIT_TS_LEN];
	audit_record_ts(&l->tsc, ns, ts, NULL, NULL);
	return jstr(ts);
}

static int out_reserve(struct audit_log *l, size_t need)
{
	if (l->out_cap - l->out_len >= need)
		return 0;
	size_t cap = l->out_cap ? l->out_cap : 1u << 20;
	while (cap - l->out_len < need)
		cap *= 2;
	char *p = realloc(l->out, cap);
	if (!p)
		return -ENOMEM;
	l->out = p;
	l->out_cap = cap;
	return 0;
}

static int rotate(struct audit_log *l, const char *reason);
static int flush_out(struct audit_log *l);

enum rec_kind { REC_USER, REC_INTERNAL, REC_OPEN };

/* Appending to the output buffer (which only grows; offsets stay valid). */
static int out_put(struct audit_log *l, const void *p, size_t n)
{
	if (l->out_cap - l->out_len < n && out_reserve(l, n) < 0)
		return -ENOMEM;
	memcpy(l->out + l->out_len, p, n);
	l->out_len += n;
	return 0;
}

static int out_puts(struct audit_log *l, const char *s)
{
	return out_put(l, s, strlen(s));
}

/* A JSON string.  The escaping is json-c's (JSON_FLAGS); when the bytes
 * contain nothing json-c would escape, its output is the bytes between
 * quotes, which we write without the call (audit_record_json_plain; the
 * equivalence is a unit test). */
static int out_str_esc(struct audit_log *l, const char *s, size_t n, bool esc)
{
	if (!esc) {
		if (out_reserve(l, n + 2) < 0)
			return -ENOMEM;
		char *o = l->out + l->out_len;
		o[0] = '"';
		memcpy(o + 1, s, n);
		o[n + 1] = '"';
		l->out_len += n + 2;
		return 0;
	}
	if (n > INT32_MAX || json_object_set_string_len(l->jesc, s, (int)n) != 1)
		return -ENOMEM;
	size_t len;
	const char *q = json_object_to_json_string_length(l->jesc, JSON_FLAGS, &len);
	return q ? out_put(l, q, len) : -ENOMEM;
}

static int out_u64(struct audit_log *l, uint64_t v)
{
	char buf[24], *p = buf + sizeof buf;
	do
		*--p = (char)('0' + v % 10);
	while ((v /= 10));
	return out_put(l, p, (size_t)(buf + sizeof buf - p));
}

static int out_i64(struct audit_log *l, int64_t v)
{
	if (v >= 0)
		return out_u64(l, (uint64_t)v);
	if (out_put(l, "-", 1) < 0)
		return -ENOMEM;
	return out_u64(l, (uint64_t)0 - (uint64_t)v);
}

/* Start a record: rotate first when it belongs to a new local day or the
 * file is full, then write the envelope up to "data": (everything but the
 * data value is from fixed character sets or escaped once at open). */
static int rec_begin(struct audit_log *l, int64_t ts_ns, const char *event, enum rec_kind kind, size_t *ret_start)
{
	char ts[AUDIT_TS_LEN];
	int day;
	int r = 0;
	audit_record_ts(&l->tsc, ts_ns, ts, &day, NULL);
	if (kind != REC_OPEN) {
		if (l->fd < 0)
			r = rotate(l, "error");
		else if (!(l->flags & AUDIT_OPT_NO_DAILY_ROTATION) && day > l->cur_day)
			r = rotate(l, "day");
		else if (l->cur_size + l->out_len >= l->rotate_bytes)
			r = rotate(l, "size");
		if (r < 0 && l->fd < 0)
			return r;
	}
	*ret_start = l->out_len;
	size_t tl = strlen(ts), hl = strlen(l->host_json), cl = strlen(l->component), el = strlen(event);
	if (out_reserve(l, 96 + tl + hl + cl + el) < 0)
		return -ENOMEM;
	/* Plain copies: ts, component and event are from fixed character sets,
	 * host_json was escaped by json-c at open. */
	char *o = l->out + l->out_len;
#define PUT(p, n) (memcpy(o, (p), (n)), o += (n))
	PUT("{\"ts\":\"", 7);
	PUT(ts, tl);
	PUT("\",\"host\":", 9);
	PUT(l->host_json, hl);
	PUT(",\"component\":\"", 14);
	PUT(l->component, cl);
	PUT("\",\"event\":\"", 11);
	PUT(event, el);
	PUT("\",\"seq\":", 8);
#undef PUT
	l->out_len = (size_t)(o - l->out);
	if (out_u64(l, l->pend_seq + 1) < 0 || out_put(l, ",\"data\":", 8) < 0)
		return -ENOMEM;
	return 0;
}

/* Finish a record started at start: add prev, MAC the text, append the
 * mac member and the newline.  On failure the partial record is dropped. */
static int rec_end(struct audit_log *l, size_t start, enum rec_kind kind)
{
	char hex[AUDIT_MAC_HEX + 1];
	if (out_reserve(l, 10 + AUDIT_MAC_HEX + AUDIT_MAC_SUFFIX_LEN + 1) < 0) {
		l->out_len = start;
		return -ENOMEM;
	}
	char *o = l->out + l->out_len;
	memcpy(o, ",\"prev\":\"", 9);
	memcpy(o + 9, l->pend_mac, AUDIT_MAC_HEX);
	memcpy(o + 9 + AUDIT_MAC_HEX, "\"}", 2);
	l->out_len += 11 + AUDIT_MAC_HEX;
	int r = audit_record_mac_hex(l->mac, l->out + start, l->out_len - start, NULL, 0, hex);
	if (r < 0) {
		l->out_len = start;
		return r;
	}
	o = l->out + l->out_len - 1; /* the final "}" */
	memcpy(o, ",\"mac\":\"", 8);
	memcpy(o + 8, hex, AUDIT_MAC_HEX);
	memcpy(o + 8 + AUDIT_MAC_HEX, "\"}\n", 3);
	l->out_len += AUDIT_MAC_SUFFIX_LEN;
	l->pend_seq++;
	memcpy(l->pend_mac, hex, sizeof hex);
	if (kind == REC_USER)
		l->buf_user++;
	else
		atomic_fetch_add_explicit(&l->st_internal, 1, memory_order_relaxed);
	if (kind == REC_OPEN)
		l->open_buffered = true;
	return 0;
}

/* A writer record whose data is a json-c object (consumed), serialised by
 * json-c. */
static int put_record(struct audit_log *l, int64_t ts_ns, const char *event, struct json_object *data,
		      enum rec_kind kind)
{
	size_t start, dlen = 0;
	int r = rec_begin(l, ts_ns, event, kind, &start);
	const char *ds = r ? NULL : json_object_to_json_string_length(data, JSON_FLAGS, &dlen);
	if (!r && !ds)
		r = -ENOMEM;
	if (!r)
		r = out_put(l, ds, dlen);
	json_object_put(data);
	if (r) {
		if (l->out_len > start && l->fd >= 0)
			l->out_len = start;
		return r;
	}
	return rec_end(l, start, kind);
}

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
static void *io_main(void *arg)
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
				note_error(l, r, "write to %s: %s", l->dir, strerror(-r));
			if (fr < 0)
				note_error(l, fr, "fdatasync %s: %s", l->dir, strerror(-fr));
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
				note_error(l, r, "fdatasync %s: %s", l->dir, strerror(-r));
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
static int io_collect(struct audit_log *l)
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
static int io_submit(struct audit_log *l)
{
	int r = io_collect(l);
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
static int flush_out(struct audit_log *l)
{
	int r = io_submit(l);
	int r2 = io_collect(l);
	return r < 0 ? r : r2;
}

/* fdatasync what the I/O thread wrote (call flush_out first). */
static int do_fsync(struct audit_log *l)
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
static void io_forget_fd(struct audit_log *l)
{
	pthread_mutex_lock(&l->io_mu);
	l->io_fd = -1;
	l->io_dirty = false;
	pthread_mutex_unlock(&l->io_mu);
}

static void fsync_dir(struct audit_log *l)
{
	if (fsync(l->dirfd) < 0)
		note_error(l, -errno, "fsync directory %s: %s", l->dir, strerror(errno));
}

static int put_open(struct audit_log *l)
{
	struct json_object *d = json_object_new_object();
	if (!d)
		return -ENOMEM;
	int r = add(d, "file", jstr(l->cur_name));
	if (!r)
		r = l->prev_name[0] ? add(d, "prev_file", jstr(l->prev_name)) : add_null(d, "prev_file");
	if (!r && l->prev_name[0])
		r = add(d, "prev_end", jstr(l->prev_torn ? "torn" : "clean"));
	if (!r && l->prev_torn)
		r = add(d, "prev_torn_at", json_object_new_int64((int64_t)l->prev_torn_at));
	if (!r && l->prev_closed >= 0)
		r = add(d, "prev_closed", json_object_new_boolean(l->prev_closed));
	if (!r)
		r = add(d, "reason", jstr(l->open_reason));
	if (!r)
		r = add(d, "writer_pid", json_object_new_int64(getpid()));
	if (r) {
		json_object_put(d);
		return r;
	}
	return put_record(l, l->now(l->now_arg), "log.open", d, REC_OPEN);
}

static int retention(struct audit_log *l);

/* Start a new file: flush and close the current one, create the next name
 * (O_EXCL), fsync the directory, buffer its log.open, apply retention. */
static int rotate(struct audit_log *l, const char *reason)
{
	if (l->fd >= 0) {
		flush_out(l);
		if (l->fd >= 0) {
			do_fsync(l);
			io_forget_fd(l);
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
		note_error(l, e, "create %s/%s: %s", l->dir, name, strerror(-e));
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
	int r = put_open(l);
	if (r < 0)
		return r;
	r = retention(l);
	return r;
}

/* Delete the oldest files beyond the age/size limits.  Each deletion is
 * first recorded (log.retention with the file's last seq and mac) and made
 * durable, so that the verifier tells retention from deletion. */
static int retention(struct audit_log *l)
{
	if (!l->retain_bytes && !l->retain_seconds)
		return 0;
	char **names;
	size_t n;
	int r = audit_record_list(l->dirfd, &names, &n);
	if (r < 0) {
		note_error(l, r, "list %s: %s", l->dir, strerror(-r));
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
		r = add(d, "file", jstr(names[i]));
		if (!r)
			r = t.found ? add(d, "last_seq", json_object_new_int64((int64_t)t.last_seq)) : add_null(d, "last_seq");
		if (!r)
			r = t.found ? add(d, "last_mac", jstr(t.last_mac)) : add_null(d, "last_mac");
		if (!r)
			r = t.found ? add(d, "last_ts", jstr(t.last_ts)) : add_null(d, "last_ts");
		if (!r)
			r = add(d, "bytes", json_object_new_int64((int64_t)sizes[i]));
		if (!r)
			r = add(d, "torn", json_object_new_boolean(t.torn));
		if (!r)
			r = add(d, "reason", jstr(why));
		if (r) {
			json_object_put(d);
			break;
		}
		/* REC_OPEN: no rotation check here (we are inside one). */
		if ((r = put_record(l, now, "log.retention", d, REC_OPEN)) < 0)
			break;
		if ((r = flush_out(l)) < 0 || (r = do_fsync(l)) < 0)
			break;
		if (unlinkat(l->dirfd, names[i], 0) < 0) {
			r = -errno;
			note_error(l, r, "delete %s/%s: %s", l->dir, names[i], strerror(-r));
			break;
		}
		fsync_dir(l);
		total -= sizes[i];
	}
	free(sizes);
	audit_record_list_free(names, n);
	return r;
}

/* audit.lost, before the next records, when events were dropped (queue
 * full) or lost (write errors) since the last report. */
static void put_lost(struct audit_log *l)
{
	uint64_t d = atomic_load(&l->dropped);
	uint64_t qf = d - l->drop_reported_pend;
	uint64_t io = l->io_lost - l->io_reported_pend;
	if (!qf && !io)
		return;
	int64_t first = 0, last = 0;
	if (qf) {
		pthread_mutex_lock(&l->drop_mu);
		d = atomic_load(&l->dropped);
		qf = d - l->drop_reported_pend;
		first = l->drop_first_ns;
		last = l->drop_last_ns;
		l->drop_first_ns = 0;
		pthread_mutex_unlock(&l->drop_mu);
	}
	if (io) {
		if (!first || (l->io_first_ns && l->io_first_ns < first))
			first = l->io_first_ns;
		if (l->io_last_ns > last)
			last = l->io_last_ns;
	}
	if (!first)
		first = last;
	struct json_object *dd = json_object_new_object();
	if (!dd)
		return;
	char msg[96];
	snprintf(msg, sizeof msg, "%llu records lost", (unsigned long long)(qf + io));
	int r = add(dd, "message", jstr(msg));
	if (!r)
		r = add(dd, "count", json_object_new_int64((int64_t)(qf + io)));
	if (!r)
		r = add(dd, "queue_full", json_object_new_int64((int64_t)qf));
	if (!r)
		r = add(dd, "io_error", json_object_new_int64((int64_t)io));
	if (!r)
		r = add(dd, "first_ts", jts(l, first));
	if (!r)
		r = add(dd, "last_ts", jts(l, last));
	if (!r)
		r = add(dd, "total_lost", json_object_new_int64((int64_t)(d + l->io_lost)));
	if (r) {
		json_object_put(dd);
		return;
	}
	uint64_t save_d = l->drop_reported_pend, save_io = l->io_reported_pend;
	l->drop_reported_pend = d;
	l->io_reported_pend = l->io_lost;
	if (put_record(l, l->now(l->now_arg), "audit.lost", dd, REC_INTERNAL) < 0) {
		l->drop_reported_pend = save_d;
		l->io_reported_pend = save_io;
	}
}

static void put_clock(struct audit_log *l, const char *reason)
{
	struct audit_clock_status cs;
	struct json_object *d = json_object_new_object();
	if (!d)
		return;
	int r;
	if (audit_clock_probe(&cs) < 0) {
		r = add(d, "synchronized", json_object_new_boolean(0));
		if (!r)
			r = add(d, "error", jstr("adjtimex failed"));
	} else {
		r = add(d, "synchronized", json_object_new_boolean(cs.synced));
		if (!r)
			r = add(d, "sta_unsync", json_object_new_boolean(cs.sta_unsync));
		if (!r)
			r = add(d, "state", json_object_new_int(cs.state));
		if (!r)
			r = add(d, "maxerror_us", json_object_new_int64(cs.maxerror_us));
		if (!r)
			r = add(d, "esterror_us", json_object_new_int64(cs.esterror_us));
		if (!r)
			r = add(d, "offset_us", json_object_new_int64(cs.offset_us));
		if (!r)
			r = add(d, "source", jstr(cs.source));
	}
	if (!r)
		r = add(d, "reason", jstr(reason));
	if (r) {
		json_object_put(d);
		return;
	}
	int64_t now = l->now(l->now_arg);
	l->last_clock_ns = now;
	l->have_clock = true;
	put_record(l, now, "clock.status", d, REC_INTERNAL);
}

/* Read one encoded entry header (see struct slot). */
static bool dec_entry(const unsigned char **pp, const unsigned char *end, int *ret_type, int *ret_flags,
		      const char **ret_name, size_t *ret_namelen)
{
	const unsigned char *p = *pp;
	if (end - p < 4)
		return false;
	*ret_type = p[0];
	*ret_flags = p[1];
	size_t nl = p[2];
	if ((size_t)(end - p) < 3 + nl + 1)
		return false;
	*ret_name = (const char *)p + 3;
	*ret_namelen = nl;
	*pp = p + 3 + nl + 1;
	return true;
}

/* Write one encoded value as JSON.  0, -EBADMSG (malformed slot: cannot
 * happen) or -ENOMEM. */
static int emit_value(struct audit_log *l, const unsigned char **pp, const unsigned char *end, int type, int fl)
{
	const unsigned char *p = *pp;
	int r = 0;
	switch (type) {
	case AUDIT_T_STR:
	case AUDIT_T_HEX: {
		uint32_t n;
		if (end - p < 4)
			return -EBADMSG;
		memcpy(&n, p, 4);
		p += 4;
		if ((size_t)(end - p) < n || (type == AUDIT_T_HEX && n > AUDIT_HEX_MAX))
			return -EBADMSG;
		if (type == AUDIT_T_STR) {
			r = out_str_esc(l, (const char *)p, n, fl & EF_VESC);
		} else {
			char hex[2 * AUDIT_HEX_MAX + 2];
			hex[0] = '"';
			for (uint32_t i = 0; i < n; i++) {
				hex[1 + 2 * i] = hexdig_lower(p[i] >> 4);
				hex[2 + 2 * i] = hexdig_lower(p[i] & 15);
			}
			hex[1 + 2 * n] = '"';
			r = out_put(l, hex, 2 * (size_t)n + 2);
		}
		p += n;
		break;
	}
	case AUDIT_T_INT:
	case AUDIT_T_UINT: {
		if (end - p < 8)
			return -EBADMSG;
		if (type == AUDIT_T_INT) {
			int64_t i;
			memcpy(&i, p, 8);
			r = out_i64(l, i);
		} else {
			uint64_t u;
			memcpy(&u, p, 8);
			r = out_u64(l, u);
		}
		p += 8;
		break;
	}
	case AUDIT_T_BOOL:
		if (end - p < 1)
			return -EBADMSG;
		r = out_puts(l, *p ? "true" : "false");
		p++;
		break;
	case AUDIT_T_IP: {
		if (end - p < 17)
			return -EBADMSG;
		u128 a;
		memcpy(&a, p + 1, 16);
		char buf[INADDR_STRLEN];
		size_t bl = 0;
		if (p[0] == 4 && a <= INADDR_V4_MAX) {
			/* Dotted quad without printf: this is on every flow record. */
			for (int k = 3; k >= 0; k--) {
				unsigned v = (unsigned)(a >> (8 * k)) & 0xff;
				if (v >= 100)
					buf[bl++] = (char)('0' + v / 100);
				if (v >= 10)
					buf[bl++] = (char)('0' + v / 10 % 10);
				buf[bl++] = (char)('0' + v % 10);
				if (k)
					buf[bl++] = '.';
			}
		} else {
			inaddr_format(p[0], a, buf);
			bl = strlen(buf);
		}
		r = out_str_esc(l, buf, bl, false); /* [0-9a-f.:] only */
		p += 17;
		break;
	}
	case AUDIT_T_NULL:
		r = out_puts(l, "null");
		break;
	case AUDIT_T_LIST:
	case AUDIT_T_OBJ: {
		uint16_t cnt;
		if (end - p < 2)
			return -EBADMSG;
		memcpy(&cnt, p, 2);
		p += 2;
		r = out_put(l, type == AUDIT_T_LIST ? "[" : "{", 1);
		for (uint16_t i = 0; !r && i < cnt; i++) {
			int t, cfl;
			const char *name;
			size_t nl;
			if (!dec_entry(&p, end, &t, &cfl, &name, &nl))
				return -EBADMSG;
			if (i)
				r = out_put(l, ",", 1);
			if (!r && type == AUDIT_T_OBJ && !(r = out_str_esc(l, name, nl, cfl & EF_NESC)))
				r = out_put(l, ":", 1);
			if (!r)
				r = emit_value(l, &p, end, t, cfl);
		}
		if (!r)
			r = out_put(l, type == AUDIT_T_LIST ? "]" : "}", 1);
		break;
	}
	default:
		return -EBADMSG;
	}
	*pp = p;
	return r;
}

/* A list of the top-level names whose entries carry flag. */
static int emit_marks(struct audit_log *l, struct slot *s, int flag, const char *key)
{
	const unsigned char *p = s->data, *end = s->data + s->used;
	bool any = false;
	int r = 0;
	for (uint16_t i = 0; !r && i < s->nfields; i++) {
		int t, fl;
		const char *name;
		size_t nl;
		if (!dec_entry(&p, end, &t, &fl, &name, &nl))
			return -EBADMSG;
		if (fl & flag) {
			if (!any && !(r = out_puts(l, key)))
				r = out_put(l, "[", 1);
			else if (any)
				r = out_put(l, ",", 1);
			any = true;
			if (!r)
				r = out_str_esc(l, name, nl, fl & EF_NESC);
		}
		if (!r) {
			/* Skip the value: emit it into the buffer and drop it. */
			size_t save = l->out_len;
			r = emit_value(l, &p, end, t, fl);
			l->out_len = save;
		}
	}
	if (!r && any)
		r = out_put(l, "]", 1);
	return r;
}

/* Serialise a queued event as one record. */
static int put_slot(struct audit_log *l, struct slot *s)
{
	size_t start;
	int r = rec_begin(l, s->ts_ns, s->event, REC_USER, &start);
	if (r < 0)
		return r;
	/* Escaping grows a byte to at most 6 ("\u00XX"): reserve once. */
	if (out_reserve(l, 6 * (size_t)s->used + 256) < 0)
		r = -ENOMEM;
	if (!r)
		r = out_put(l, "{", 1);
	const unsigned char *p = s->data, *end = s->data + s->used;
	for (uint16_t i = 0; !r && i < s->nfields; i++) {
		int t, fl;
		const char *name;
		size_t nl;
		if (!dec_entry(&p, end, &t, &fl, &name, &nl)) {
			r = -EBADMSG;
			break;
		}
		if (i)
			r = out_put(l, ",", 1);
		if (!r && !(r = out_str_esc(l, name, nl, fl & EF_NESC)))
			r = out_put(l, ":", 1);
		if (!r)
			r = emit_value(l, &p, end, t, fl);
	}
	if (!r && (s->flags & EF_TRUNC) && s->nfields)
		r = emit_marks(l, s, EF_TRUNC, ",\"_truncated\":");
	if (!r && (s->flags & EF_BADUTF8))
		r = emit_marks(l, s, EF_BADUTF8, s->nfields ? ",\"_invalid_utf8\":" : "\"_invalid_utf8\":");
	if (!r && s->omitted) {
		r = out_puts(l, s->nfields || (s->flags & EF_BADUTF8) ? ",\"_omitted\":" : "\"_omitted\":");
		if (!r)
			r = out_u64(l, s->omitted);
	}
	if (!r)
		r = out_put(l, "}", 1);
	if (r) {
		l->out_len = start;
		return r;
	}
	return rec_end(l, start, REC_USER);
}

/* Take up to DRAIN_MAX queued events into the output buffer. */
static size_t drain(struct audit_log *l)
{
	size_t got = 0;
	while (got < DRAIN_MAX && l->out_len < OUT_FLUSH) {
		struct slot *s = slot_at(l, l->deq_pos);
		uint64_t turn = atomic_load_explicit(&s->turn, memory_order_acquire);
		if (turn != l->deq_pos + 1)
			break;
		if (atomic_load_explicit(&l->dropped, memory_order_relaxed) != l->drop_reported_pend ||
		    l->io_lost != l->io_reported_pend)
			put_lost(l);
		if (l->fd >= 0 && l->open_pending && !l->open_buffered)
			put_open(l);
		if (s->flags & EF_TRUNC)
			atomic_fetch_add_explicit(&l->st_truncated, 1, memory_order_relaxed);
		int r = put_slot(l, s);
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
			flush_out(l);
	}
	return got;
}

static bool queue_nonempty(struct audit_log *l)
{
	struct slot *s = slot_at(l, l->deq_pos);
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
			put_clock(l, "hourly");
	}
}

static void *writer_main(void *arg)
{
	struct audit_log *l = arg;
	for (;;) {
		size_t got = drain(l);
		periodic(l);
		if (got == 0 && (atomic_load(&l->dropped) != l->drop_reported_pend || l->io_lost != l->io_reported_pend))
			put_lost(l);
		if (l->out_len && (got == 0 || l->out_len >= OUT_FLUSH || !queue_nonempty(l)))
			io_submit(l);
		uint64_t want = atomic_load(&l->flush_want);
		if (want > l->flush_done && l->deq_pos >= want) {
			flush_out(l);
			do_fsync(l);
			pthread_mutex_lock(&l->mu);
			l->flush_done = want;
			pthread_cond_broadcast(&l->cond);
			pthread_mutex_unlock(&l->mu);
		}
		if (got)
			continue;
		/* Idle: take the result of the write in flight (statistics,
		 * loss accounting) before sleeping. */
		io_collect(l);
		if (atomic_load(&l->closing) && l->deq_pos == atomic_load(&l->enq_pos))
			break;
		writer_sleep(l, 1000000000);
	}
	/* Close: report losses, write log.close, make it durable.  The
	 * counts in log.close are exact once the buffers are written. */
	put_lost(l);
	flush_out(l);
	struct json_object *d = json_object_new_object();
	if (d) {
		int r = add(d, "written", json_object_new_int64((int64_t)(atomic_load(&l->st_written) + l->buf_user)));
		if (!r)
			r = add(d, "dropped", json_object_new_int64((int64_t)atomic_load(&l->dropped)));
		if (!r)
			r = add(d, "lost_io", json_object_new_int64((int64_t)l->io_lost));
		if (!r)
			put_record(l, l->now(l->now_arg), "log.close", d, REC_INTERNAL);
		else
			json_object_put(d);
	}
	flush_out(l);
	do_fsync(l);
	pthread_mutex_lock(&l->mu);
	l->dead = true;
	l->flush_done = UINT64_MAX;
	pthread_cond_broadcast(&l->cond);
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---------------------------------------------------------- open/close -- */

static bool component_ok(const char *c)
{
	size_t n = 0;
	for (; c[n]; n++)
		if (n >= 32 || !((c[n] >= 'a' && c[n] <= 'z') || (c[n] >= '0' && c[n] <= '9') || c[n] == '_' || c[n] == '-'))
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
				 "refusing to continue the chain", l->dir);
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
	if (slot_bytes < 512 || slot_bytes > 65536 || nslots > (1u << 20) || (o->rotate_bytes && o->rotate_bytes < 4096) ||
	    o->fsync > AUDIT_FSYNC_NONE) {
		audit_record_why(why, whylen, "audit_open: option out of range");
		return -EINVAL;
	}
	size_t stride = (sizeof(struct slot) + slot_bytes + 63) & ~(size_t)63;
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
		size_t hn = utf8_copy(tmp, sizeof tmp - 1, (const unsigned char *)l->host, strlen(l->host), &fl, NULL);
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
	if (!(l->mac = audit_record_mac_new(o->key)) || !(l->jesc = jstr("")))
		goto fail;
	{
		struct json_object *h = jstr(l->host);
		size_t hl;
		const char *hq = h ? json_object_to_json_string_length(h, JSON_FLAGS, &hl) : NULL;
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
	if ((r = -pthread_create(&l->io_thread, NULL, io_main, l)) < 0) {
		audit_record_why(why, whylen, "cannot start the I/O thread: %s", strerror(-r));
		goto fail;
	}
	l->io_started = true;

	/* Opening records, written synchronously: if they cannot be written
	 * the caller learns it now. */
	if (l->fd < 0) {
		if ((r = rotate(l, l->open_reason)) < 0) {
			audit_record_why(why, whylen, "cannot start a log file in %s: %s", l->dir, strerror(-r));
			goto fail;
		}
	} else {
		struct json_object *d = json_object_new_object();
		if (!d)
			goto fail;
		r = add(d, "file", jstr(l->cur_name));
		if (!r)
			r = add(d, "offset", json_object_new_int64((int64_t)l->cur_size));
		if (!r)
			r = add(d, "prev_closed", json_object_new_boolean(l->prev_closed == 1));
		if (!r)
			r = add(d, "writer_pid", json_object_new_int64(getpid()));
		if (!r)
			r = put_record(l, l->now(l->now_arg), "log.resume", d, REC_INTERNAL);
		else
			json_object_put(d);
		if (r < 0)
			goto fail;
		if ((r = retention(l)) < 0) {
			audit_record_why(why, whylen, "retention in %s failed: %s", l->dir, strerror(-r));
			goto fail;
		}
	}
	if (!(l->flags & AUDIT_OPT_NO_CLOCK_STATUS))
		put_clock(l, "open");
	if ((r = flush_out(l)) < 0 || (r = do_fsync(l)) < 0) {
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
		atomic_init(&slot_at(l, i)->turn, i);
	if ((r = -pthread_create(&l->thread, NULL, writer_main, l)) < 0) {
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
	wake_writer(l);
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
	wake_writer(l);
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
