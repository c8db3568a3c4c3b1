/* audit_encode: record encoding, the JSON line and its place in the chain.
 *
 * Contract: runs on the writer thread only.  Each record is laid out in the
 * output buffer (l->out, which only grows, so offsets stay valid): the
 * envelope (ts, host, component, event, seq), the data object, prev, then
 * the HMAC over the text and the mac member (docs/audit.md, "The chain and
 * the MAC").  Every string goes through json-c's escaping, or is copied
 * between quotes when it holds nothing json-c would change.  The writer's
 * own records (log.open, audit.lost, clock.status) are built here too.  A
 * record that cannot be encoded is removed from the buffer whole; errors
 * are -ENOMEM, -EBADMSG (a malformed slot) or -EIO (libcrypto). */
#include "common/audit/audit_log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/inaddr.h"

static char hexdig_lower(unsigned v)
{
	return "0123456789abcdef"[v & 15];
}

int audit_encode_add(struct json_object *o, const char *key, struct json_object *v)
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
int audit_encode_add_null(struct json_object *o, const char *key)
{
	return json_object_object_add_ex(o, key, NULL, JSON_C_OBJECT_ADD_KEY_IS_NEW | JSON_C_OBJECT_ADD_CONSTANT_KEY) <
			0
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

/* A JSON string.  The escaping is json-c's (AUDIT_JSON_FLAGS); when the bytes
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
	const char *q = json_object_to_json_string_length(l->jesc, AUDIT_JSON_FLAGS, &len);
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
static int rec_begin(struct audit_log *l, int64_t ts_ns, const char *event, enum audit_rec_kind kind, size_t *ret_start)
{
	char ts[AUDIT_TS_LEN];
	int day;
	int r = 0;
	audit_record_ts(&l->tsc, ts_ns, ts, &day, NULL);
	if (kind != AUDIT_REC_OPEN) {
		if (l->fd < 0)
			r = audit_rotate(l, "error");
		else if (!(l->flags & AUDIT_OPT_NO_DAILY_ROTATION) && day > l->cur_day)
			r = audit_rotate(l, "day");
		else if (l->cur_size + l->out_len >= l->rotate_bytes)
			r = audit_rotate(l, "size");
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
static int rec_end(struct audit_log *l, size_t start, enum audit_rec_kind kind)
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
	if (kind == AUDIT_REC_USER)
		l->buf_user++;
	else
		atomic_fetch_add_explicit(&l->st_internal, 1, memory_order_relaxed);
	if (kind == AUDIT_REC_OPEN)
		l->open_buffered = true;
	return 0;
}

/* A writer record whose data is a json-c object (consumed), serialised by
 * json-c. */
int audit_encode_record(struct audit_log *l, int64_t ts_ns, const char *event, struct json_object *data,
			enum audit_rec_kind kind)
{
	size_t start, dlen = 0;
	int r = rec_begin(l, ts_ns, event, kind, &start);
	const char *ds = r ? NULL : json_object_to_json_string_length(data, AUDIT_JSON_FLAGS, &dlen);
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
			if (!audit_slot_entry(&p, end, &t, &cfl, &name, &nl))
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
static int emit_marks(struct audit_log *l, struct audit_slot *s, int flag, const char *key)
{
	const unsigned char *p = s->data, *end = s->data + s->used;
	bool any = false;
	int r = 0;
	for (uint16_t i = 0; !r && i < s->nfields; i++) {
		int t, fl;
		const char *name;
		size_t nl;
		if (!audit_slot_entry(&p, end, &t, &fl, &name, &nl))
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
int audit_encode_slot(struct audit_log *l, struct audit_slot *s)
{
	size_t start;
	int r = rec_begin(l, s->ts_ns, s->event, AUDIT_REC_USER, &start);
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
		if (!audit_slot_entry(&p, end, &t, &fl, &name, &nl)) {
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
	return rec_end(l, start, AUDIT_REC_USER);
}

int audit_encode_open(struct audit_log *l)
{
	struct json_object *d = json_object_new_object();
	if (!d)
		return -ENOMEM;
	int r = audit_encode_add(d, "file", jstr(l->cur_name));
	if (!r)
		r = l->prev_name[0] ? audit_encode_add(d, "prev_file", jstr(l->prev_name))
				    : audit_encode_add_null(d, "prev_file");
	if (!r && l->prev_name[0])
		r = audit_encode_add(d, "prev_end", jstr(l->prev_torn ? "torn" : "clean"));
	if (!r && l->prev_torn)
		r = audit_encode_add(d, "prev_torn_at", json_object_new_int64((int64_t)l->prev_torn_at));
	if (!r && l->prev_closed >= 0)
		r = audit_encode_add(d, "prev_closed", json_object_new_boolean(l->prev_closed));
	if (!r)
		r = audit_encode_add(d, "reason", jstr(l->open_reason));
	if (!r)
		r = audit_encode_add(d, "writer_pid", json_object_new_int64(getpid()));
	if (r) {
		json_object_put(d);
		return r;
	}
	return audit_encode_record(l, l->now(l->now_arg), "log.open", d, AUDIT_REC_OPEN);
}

/* audit.lost, before the next records, when events were dropped (queue
 * full) or lost (write errors) since the last report. */
void audit_encode_lost(struct audit_log *l)
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
	int r = audit_encode_add(dd, "message", jstr(msg));
	if (!r)
		r = audit_encode_add(dd, "count", json_object_new_int64((int64_t)(qf + io)));
	if (!r)
		r = audit_encode_add(dd, "queue_full", json_object_new_int64((int64_t)qf));
	if (!r)
		r = audit_encode_add(dd, "io_error", json_object_new_int64((int64_t)io));
	if (!r)
		r = audit_encode_add(dd, "first_ts", jts(l, first));
	if (!r)
		r = audit_encode_add(dd, "last_ts", jts(l, last));
	if (!r)
		r = audit_encode_add(dd, "total_lost", json_object_new_int64((int64_t)(d + l->io_lost)));
	if (r) {
		json_object_put(dd);
		return;
	}
	uint64_t save_d = l->drop_reported_pend, save_io = l->io_reported_pend;
	l->drop_reported_pend = d;
	l->io_reported_pend = l->io_lost;
	if (audit_encode_record(l, l->now(l->now_arg), "audit.lost", dd, AUDIT_REC_INTERNAL) < 0) {
		l->drop_reported_pend = save_d;
		l->io_reported_pend = save_io;
	}
}

void audit_encode_clock(struct audit_log *l, const char *reason)
{
	struct audit_clock_status cs;
	struct json_object *d = json_object_new_object();
	if (!d)
		return;
	int r;
	if (audit_clock_probe(&cs) < 0) {
		r = audit_encode_add(d, "synchronized", json_object_new_boolean(0));
		if (!r)
			r = audit_encode_add(d, "error", jstr("adjtimex failed"));
	} else {
		r = audit_encode_add(d, "synchronized", json_object_new_boolean(cs.synced));
		if (!r)
			r = audit_encode_add(d, "sta_unsync", json_object_new_boolean(cs.sta_unsync));
		if (!r)
			r = audit_encode_add(d, "state", json_object_new_int(cs.state));
		if (!r)
			r = audit_encode_add(d, "maxerror_us", json_object_new_int64(cs.maxerror_us));
		if (!r)
			r = audit_encode_add(d, "esterror_us", json_object_new_int64(cs.esterror_us));
		if (!r)
			r = audit_encode_add(d, "offset_us", json_object_new_int64(cs.offset_us));
		if (!r)
			r = audit_encode_add(d, "source", jstr(cs.source));
	}
	if (!r)
		r = audit_encode_add(d, "reason", jstr(reason));
	if (r) {
		json_object_put(d);
		return;
	}
	int64_t now = l->now(l->now_arg);
	l->last_clock_ns = now;
	l->have_clock = true;
	audit_encode_record(l, now, "clock.status", d, AUDIT_REC_INTERNAL);
}
