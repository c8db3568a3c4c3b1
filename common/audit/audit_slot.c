/* audit_slot: an event's fields copied into its queue slot, and read back.
 *
 * Contract: the producer side of the writer.  audit_emit (audit.c) claims
 * a slot and audit_slot_fill copies the fields into it: names and strings
 * are repaired to valid UTF-8 (common/utf8's verdict; a bad byte becomes
 * U+FFFD), strings are cut at max_str on a character boundary, nesting,
 * field counts and slot room are capped, and every cut is flagged so that
 * the record says so.  No allocation, no lock, no I/O: this runs on the
 * callers' threads.  audit_slot_entry reads the encoding back for the
 * writer (audit_encode.c).  The slot layout is in audit_log.h. */
#include "common/audit/audit_log.h"

#include <stdint.h>
#include <string.h>

#include "common/utf8.h"

/* Copy UTF-8 with repair: invalid sequences become U+FFFD.  Stops before
 * the first character that does not fit in cap (flagging EF_TRUNC), so a
 * cut string always ends on a character boundary.  *esc is set when a
 * byte needs JSON escaping (control, '"', '\\'). */
size_t audit_slot_copy_utf8(unsigned char *dst, size_t cap, const unsigned char *s, size_t n, int *flags, bool *esc)
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
				uint64_t bad = (w & highs) | ((w - ones * 0x20) & ~w & highs) |
					((q - ones) & ~q & highs) | ((b - ones) & ~b & highs);
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
	size_t nw = audit_slot_copy_utf8(e->p + e->len, nl, (const unsigned char *)name, nl, &nflags, &esc);
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
		uint32_t w = (uint32_t)audit_slot_copy_utf8(e->p + e->len + 4, room, (const unsigned char *)f->u.str.p,
							    n, &flags, &esc);
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
				struct audit_field c = {.name = NULL,
							.type = AUDIT_T_STR,
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

void audit_slot_fill(struct audit_slot *s, size_t slot_bytes, size_t max_str, const struct audit_field *fields,
		     size_t n)
{
	struct enc e = {.p = s->data, .cap = slot_bytes, .len = 0, .max_str = max_str};
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
}

/* Read one encoded entry header (see struct audit_slot). */
bool audit_slot_entry(const unsigned char **pp, const unsigned char *end, int *ret_type, int *ret_flags,
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
