/* cdr_members: the member stream out of the archive converter (see
 * cdr_members.h for the format), its writer, its validating reader, the one
 * definition of a safe member name, and the set of names that finds what
 * would clash on Windows.
 *
 * The reader trusts nothing: every header field, name, reason, size and
 * count is checked against the caps, and the records must tile the buffer
 * exactly.  It allocates only the record array (and a name set while it
 * checks for clashes).  Never logs.  Allocation failure in cdr_names aborts
 * (control plane); the reader returns -ENOMEM for its own array. */
#include "sanitizer/cdr/cdr_members.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"
#include "common/xalloc.h"

#define MIB ((uint64_t)1 << 20)

void cdr_members_caps_default(struct cdr_members_caps *ret_caps)
{
	*ret_caps = (struct cdr_members_caps){
		.max_entries = 4096,
		.max_member_bytes = 64 * MIB,
		.max_total_bytes = 192 * MIB,
		.max_ratio = 200,
		.max_name_bytes = 512,
		.max_segments = 32,
	};
}

void cdr_members_caps_nested(struct cdr_members_caps *caps)
{
	if (caps->max_total_bytes > caps->max_member_bytes)
		caps->max_total_bytes = caps->max_member_bytes;
}

uint64_t cdr_members_stream_max(const struct cdr_members_caps *caps)
{
	uint64_t per = CDR_MEMBERS_RECORD_SIZE + (uint64_t)caps->max_name_bytes + CDR_MEMBERS_REASON_MAX;
	return CDR_MEMBERS_HEADER_SIZE + caps->max_total_bytes + (uint64_t)caps->max_entries * per +
		CDR_MEMBERS_RECORD_SIZE + CDR_MEMBERS_REASON_MAX;
}

static void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put_be64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static uint64_t get_be64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

bool cdr_members_reason_ok(const char *reason, size_t len)
{
	if (len == 0 || len > CDR_MEMBERS_REASON_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = reason[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return false;
	}
	return true;
}

/* CON, PRN, AUX, NUL, COM1-9, LPT1-9, alone or before a dot: Windows opens
 * the device instead of a file of that name */
bool cdr_members_device_name(const char *s, size_t len)
{
	static const char *const dev3[] = {"con", "prn", "aux", "nul"};
	size_t stem = 0;
	while (stem < len && s[stem] != '.')
		stem++;
	char low[5];
	if (stem != 3 && stem != 4)
		return false;
	for (size_t i = 0; i < stem; i++)
		low[i] = (char)((s[i] >= 'A' && s[i] <= 'Z') ? s[i] + 32 : s[i]);
	low[stem] = 0;
	if (stem == 3) {
		for (size_t i = 0; i < sizeof dev3 / sizeof dev3[0]; i++)
			if (!strcmp(low, dev3[i]))
				return true;
		return false;
	}
	return (!strncmp(low, "com", 3) || !strncmp(low, "lpt", 3)) && low[3] >= '1' && low[3] <= '9';
}

/* code points a name must not hold: controls (C0, DEL, C1), the bidi
 * controls that make "exe" read as "txt" (U+200E/F, U+202A-202E,
 * U+2066-2069), the BOM and noncharacters at the end of the BMP */
bool cdr_members_bad_code_point(uint32_t cp)
{
	return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x200e || cp == 0x200f ||
		(cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069) || cp == 0xfeff || cp == 0xfffe ||
		cp == 0xffff;
}

bool cdr_members_name_ok(const char *name, size_t len, const struct cdr_members_caps *caps)
{
	size_t seg_start = 0, segments = 0;

	if (len == 0 || len > caps->max_name_bytes)
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(name + i, len - i, &cp);
		if (n == 0 || cdr_members_bad_code_point(cp) || (cp < 0x80 && strchr("\\:<>\"|?*", (int)cp) != NULL))
			return false;
		if (cp == '/' || i + n == len) {
			size_t end = cp == '/' ? i : i + n;
			size_t sl = end - seg_start;
			const char *seg = name + seg_start;
			if (sl == 0 || sl > CDR_MEMBERS_SEGMENT_MAX || (sl == 1 && seg[0] == '.') ||
			    (sl == 2 && seg[0] == '.' && seg[1] == '.'))
				return false;
			if (seg[sl - 1] == '.' || seg[sl - 1] == ' ' || cdr_members_device_name(seg, sl))
				return false;
			if (++segments > caps->max_segments)
				return false;
			seg_start = i + n;
			if (cp == '/' && i + n == len)
				return false; /* a trailing '/' is a folder, not a member */
		}
		i += n;
	}
	return true;
}

/* --- writer ------------------------------------------------------------ */

static int put(FILE *f, const void *p, size_t n)
{
	return n == 0 || fwrite(p, 1, n, f) == n ? 0 : -EIO;
}

static int record(FILE *f, char type, const char *name, size_t name_len, uint64_t value)
{
	uint8_t h[CDR_MEMBERS_RECORD_SIZE] = {(uint8_t)type, 0};
	if (name_len > UINT16_MAX)
		return -EINVAL;
	put_be16(h + 2, (uint16_t)name_len);
	put_be64(h + 4, value);
	int r = put(f, h, sizeof h);
	return r ? r : put(f, name, name_len);
}

int cdr_members_write_header(FILE *f, unsigned flags)
{
	uint8_t h[CDR_MEMBERS_HEADER_SIZE] = {'S', 'K', 'A', 'R', CDR_MEMBERS_VERSION, (uint8_t)flags, 0, 0};
	if (flags & ~(unsigned)CDR_MEMBERS_FLAG_SINGLE)
		return -EINVAL;
	return put(f, h, sizeof h);
}

int cdr_members_write_member_header(FILE *f, const char *name, uint64_t len)
{
	if (!name[0])
		return -EINVAL;
	return record(f, CDR_MEMBERS_MEMBER, name, strlen(name), len);
}

int cdr_members_write_member(FILE *f, const char *name, const void *data, uint64_t len)
{
	int r = cdr_members_write_member_header(f, name, len);
	if (r)
		return r;
	if (len > SIZE_MAX)
		return -EINVAL;
	return put(f, data, (size_t)len);
}

int cdr_members_write_skipped(FILE *f, const char *name, const char *reason)
{
	size_t rl = strlen(reason);
	if (!name[0] || !cdr_members_reason_ok(reason, rl))
		return -EINVAL;
	int r = record(f, CDR_MEMBERS_SKIPPED, name, strlen(name), rl);
	return r ? r : put(f, reason, rl);
}

int cdr_members_write_end(FILE *f, uint64_t nrecords)
{
	return record(f, CDR_MEMBERS_END, NULL, 0, nrecords);
}

int cdr_members_write_refused(FILE *f, const char *reason)
{
	size_t rl = strlen(reason);
	if (!cdr_members_reason_ok(reason, rl))
		return -EINVAL;
	int r = record(f, CDR_MEMBERS_REFUSED, NULL, 0, rl);
	return r ? r : put(f, reason, rl);
}

/* --- reader ------------------------------------------------------------ */

static int bad(char *why, size_t whylen, const char *key)
{
	snprintf(why, whylen, "%s", key);
	return -EBADMSG;
}

int cdr_members_parse(const uint8_t *buf, size_t len, const struct cdr_members_caps *caps,
		      struct cdr_members_stream *ret, char *why, size_t whylen)
{
	struct cdr_members_stream s = {0};
	struct cdr_names *names = NULL;
	size_t cap = 0, off = CDR_MEMBERS_HEADER_SIZE;
	int rc = 0;
	bool ended = false;

	*ret = s;
	if (!caps->max_entries || !caps->max_member_bytes || !caps->max_total_bytes || !caps->max_name_bytes ||
	    !caps->max_segments || !caps->max_ratio)
		return -EINVAL;
	if (len < CDR_MEMBERS_HEADER_SIZE)
		return bad(why, whylen, "short-header");
	if (memcmp(buf, CDR_MEMBERS_MAGIC, 4))
		return bad(why, whylen, "bad-magic");
	if (buf[4] != CDR_MEMBERS_VERSION)
		return bad(why, whylen, "bad-version");
	if ((buf[5] & ~CDR_MEMBERS_FLAG_SINGLE) || buf[6] || buf[7])
		return bad(why, whylen, "bad-flags");
	s.flags = buf[5];
	names = cdr_names_new();

	while (off < len) {
		const uint8_t *h = buf + off;
		if (len - off < CDR_MEMBERS_RECORD_SIZE) {
			rc = bad(why, whylen, "truncated");
			goto out;
		}
		uint8_t type = h[0];
		size_t nl = (size_t)h[2] << 8 | h[3];
		uint64_t value = get_be64(h + 4);
		off += CDR_MEMBERS_RECORD_SIZE;
		if (h[1] != 0) {
			rc = bad(why, whylen, "bad-record");
			goto out;
		}
		if (type == CDR_MEMBERS_END || type == CDR_MEMBERS_REFUSED) {
			if (nl != 0) {
				rc = bad(why, whylen, "bad-record");
				goto out;
			}
			if (type == CDR_MEMBERS_END) {
				if (value != s.nrec) {
					rc = bad(why, whylen, "bad-count");
					goto out;
				}
			} else {
				if (value > len - off) {
					rc = bad(why, whylen, "truncated");
					goto out;
				}
				if (!cdr_members_reason_ok((const char *)buf + off, (size_t)value)) {
					rc = bad(why, whylen, "bad-reason");
					goto out;
				}
				memcpy(s.refused, buf + off, (size_t)value);
				s.refused[value] = 0;
				off += (size_t)value;
			}
			ended = true;
			break;
		}
		if ((type != CDR_MEMBERS_MEMBER && type != CDR_MEMBERS_SKIPPED) || nl == 0) {
			rc = bad(why, whylen, "bad-record");
			goto out;
		}
		if (s.nrec >= caps->max_entries) {
			rc = bad(why, whylen, "member-limit");
			goto out;
		}
		if (nl > len - off) {
			rc = bad(why, whylen, "truncated");
			goto out;
		}
		const char *name = (const char *)buf + off;
		if (!cdr_members_name_ok(name, nl, caps)) {
			rc = bad(why, whylen, "bad-name");
			goto out;
		}
		off += nl;
		if (type == CDR_MEMBERS_MEMBER) {
			if (value > caps->max_member_bytes) {
				rc = bad(why, whylen, "entry-size-limit");
				goto out;
			}
			if (value > caps->max_total_bytes - s.member_bytes) {
				rc = bad(why, whylen, "total-size-limit");
				goto out;
			}
			/* only members become files: a skipped name may repeat (a
			 * duplicate is itself a reason to skip) */
			if (cdr_names_add(names, name, nl)) {
				rc = bad(why, whylen, "duplicate-name");
				goto out;
			}
		} else if (value > len - off || !cdr_members_reason_ok((const char *)buf + off, (size_t)value)) {
			rc = bad(why, whylen, value > len - off ? "truncated" : "bad-reason");
			goto out;
		}
		if (value > len - off) {
			rc = bad(why, whylen, "truncated");
			goto out;
		}
		if (s.nrec == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			struct cdr_members_rec *n = realloc(s.rec, ncap * sizeof *n);
			if (!n) {
				rc = -ENOMEM;
				goto out;
			}
			s.rec = n;
			cap = ncap;
		}
		s.rec[s.nrec++] = (struct cdr_members_rec){
			.type = (enum cdr_members_type)type,
			.name = name,
			.name_len = nl,
			.data = buf + off,
			.len = (size_t)value,
		};
		if (type == CDR_MEMBERS_MEMBER) {
			s.nmembers++;
			s.member_bytes += value;
		}
		off += (size_t)value;
	}
	if (!ended)
		rc = bad(why, whylen, "no-end");
	else if (off != len)
		rc = bad(why, whylen, "trailing-data");
	else if ((s.flags & CDR_MEMBERS_FLAG_SINGLE) && !s.refused[0] && s.nrec != 1)
		rc = bad(why, whylen, "bad-count");
out:
	cdr_names_free(names);
	if (rc) {
		free(s.rec);
		return rc;
	}
	*ret = s;
	return 0;
}

/* --- name set ---------------------------------------------------------- */

/* Open addressing over ASCII-folded names; a slot holds a copy of the
 * folded name and whether it is a folder (a prefix of some name). */
struct slot {
	char *key; /* NULL: empty */
	size_t len;
	bool dir;
};

struct cdr_names {
	struct slot *slots;
	size_t cap, used; /* cap a power of two, used <= cap / 2 */
};

static char fold(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

static bool same(const char *a, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (a[i] != fold(b[i]))
			return false;
	return true;
}

/* the slot of name (folded), or the empty slot where it would go */
static struct slot *find(const struct cdr_names *set, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull; /* FNV-1a of the folded bytes */
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)fold(name[i]);
		h *= 1099511628211ull;
	}
	size_t i = (size_t)h & (set->cap - 1);
	for (;;) {
		struct slot *sl = &set->slots[i];
		if (!sl->key || (sl->len == len && same(sl->key, name, len)))
			return sl;
		i = (i + 1) & (set->cap - 1);
	}
}

struct cdr_names *cdr_names_new(void)
{
	struct cdr_names *set = xcalloc(1, sizeof *set);
	set->cap = 64;
	set->slots = xcalloc(set->cap, sizeof *set->slots);
	return set;
}

void cdr_names_free(struct cdr_names *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i].key);
	free(set->slots);
	free(set);
}

static void grow(struct cdr_names *set)
{
	struct cdr_names n = {.cap = set->cap * 2};
	n.slots = xcalloc(n.cap, sizeof *n.slots);
	for (size_t i = 0; i < set->cap; i++) {
		struct slot *o = &set->slots[i];
		if (o->key)
			*find(&n, o->key, o->len) = *o;
	}
	free(set->slots);
	*set = n;
}

static void insert(struct cdr_names *set, const char *name, size_t len, bool dir)
{
	if ((set->used + 1) * 2 > set->cap)
		grow(set);
	struct slot *sl = find(set, name, len);
	if (sl->key)
		return; /* a folder already there */
	sl->key = xmalloc(len + 1);
	for (size_t i = 0; i < len; i++)
		sl->key[i] = fold(name[i]);
	sl->key[len] = 0;
	sl->len = len;
	sl->dir = dir;
	set->used++;
}

bool cdr_names_has(const struct cdr_names *set, const char *name, size_t len)
{
	return find(set, name, len)->key != NULL;
}

int cdr_names_add(struct cdr_names *set, const char *name, size_t len)
{
	/* the name itself must be new (neither a file nor a folder), and no
	 * folder on its path may be a file */
	if (cdr_names_has(set, name, len))
		return -EEXIST;
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/') {
			struct slot *sl = find(set, name, i);
			if (sl->key && !sl->dir)
				return -EEXIST;
		}
	for (size_t i = 0; i < len; i++)
		if (name[i] == '/')
			insert(set, name, i, true);
	insert(set, name, len, false);
	return 0;
}
