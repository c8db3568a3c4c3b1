/* audit_record: the audit line format, shared by writer and verifier.
 *
 * Contract: pure helpers over bytes and file descriptors.  The MAC is
 * HMAC-SHA-256 over the record text without its mac member; lines are
 * checked on their bytes, never re-serialised.  Every size read from a file
 * is capped (AUDIT_LINE_MAX, the tail window).  Allocation failures are
 * -ENOMEM (this code also runs in long-lived daemons); nothing prints. */
#include "common/audit/audit_record.h"
#include "common/civil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

void audit_record_why(char *buf, size_t n, const char *fmt, ...)
{
	if (!buf || n == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, n, fmt, ap);
	va_end(ap);
}

/* ---- MAC ---- */

/* HMAC-SHA-256 from two precomputed SHA-256 states (key XOR ipad, key
 * XOR opad), copied per message: no key schedule and no algorithm fetch
 * per record (EVP_MAC re-initialisation costs more than the hashing of a
 * short record). */
struct audit_record_mac {
	EVP_MD_CTX *in, *out, *work;
};

struct audit_record_mac *audit_record_mac_new(const struct audit_key *key)
{
	if (!key || key->len < AUDIT_KEY_MIN || key->len > AUDIT_KEY_MAX)
		return NULL;
	struct audit_record_mac *m = calloc(1, sizeof *m);
	if (!m)
		return NULL;
	unsigned char k[64] = {0}, pad[64];
	unsigned int kl = 0;
	bool ok = (m->in = EVP_MD_CTX_new()) && (m->out = EVP_MD_CTX_new()) && (m->work = EVP_MD_CTX_new());
	if (ok && key->len > sizeof k)
		ok = EVP_Digest(key->bytes, key->len, k, &kl, EVP_sha256(), NULL) == 1;
	else if (ok)
		memcpy(k, key->bytes, key->len);
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x36;
	ok = ok && EVP_DigestInit_ex(m->in, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(m->in, pad, sizeof pad) == 1;
	for (size_t i = 0; i < sizeof pad; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && EVP_DigestInit_ex(m->out, EVP_sha256(), NULL) == 1 && EVP_DigestUpdate(m->out, pad, sizeof pad) == 1;
	OPENSSL_cleanse(k, sizeof k);
	OPENSSL_cleanse(pad, sizeof pad);
	if (!ok) {
		audit_record_mac_free(m);
		return NULL;
	}
	return m;
}

void audit_record_mac_free(struct audit_record_mac *m)
{
	if (!m)
		return;
	EVP_MD_CTX_free(m->in);
	EVP_MD_CTX_free(m->out);
	EVP_MD_CTX_free(m->work);
	free(m);
}

static const char hexdig[] = "0123456789abcdef";

int audit_record_mac_hex(struct audit_record_mac *m, const void *a, size_t alen, const void *b, size_t blen,
			 char hex[AUDIT_MAC_HEX + 1])
{
	unsigned char ih[32], out[32];
	unsigned int l1 = 0, l2 = 0;
	if (EVP_MD_CTX_copy_ex(m->work, m->in) != 1 || EVP_DigestUpdate(m->work, a, alen) != 1 ||
	    (blen && EVP_DigestUpdate(m->work, b, blen) != 1) || EVP_DigestFinal_ex(m->work, ih, &l1) != 1 ||
	    EVP_MD_CTX_copy_ex(m->work, m->out) != 1 || EVP_DigestUpdate(m->work, ih, sizeof ih) != 1 ||
	    EVP_DigestFinal_ex(m->work, out, &l2) != 1 || l1 != 32 || l2 != 32)
		return -EIO;
	for (size_t i = 0; i < sizeof out; i++) {
		hex[2 * i] = hexdig[out[i] >> 4];
		hex[2 * i + 1] = hexdig[out[i] & 15];
	}
	hex[AUDIT_MAC_HEX] = '\0';
	return 0;
}

bool audit_record_json_plain(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c == '"' || c == '\\')
			return false;
	}
	return true;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool audit_record_is_mac(const char *s)
{
	return s && strlen(s) == AUDIT_MAC_HEX && is_lower_hex(s, AUDIT_MAC_HEX);
}

int audit_record_check(struct audit_record_mac *m, const char *line, size_t len, char ret_mac[AUDIT_MAC_HEX + 1])
{
	if (ret_mac)
		ret_mac[0] = '\0';
	if (len < AUDIT_MAC_SUFFIX_LEN + 2 || len > AUDIT_LINE_MAX)
		return 0;
	const char *suf = line + len - AUDIT_MAC_SUFFIX_LEN;
	if (memcmp(suf, ",\"mac\":\"", 8) != 0 || !is_lower_hex(suf + 8, AUDIT_MAC_HEX) ||
	    suf[8 + AUDIT_MAC_HEX] != '"' || suf[9 + AUDIT_MAC_HEX] != '}')
		return 0;
	if (ret_mac) {
		memcpy(ret_mac, suf + 8, AUDIT_MAC_HEX);
		ret_mac[AUDIT_MAC_HEX] = '\0';
	}
	char hex[AUDIT_MAC_HEX + 1];
	if (audit_record_mac_hex(m, line, len - AUDIT_MAC_SUFFIX_LEN, "}", 1, hex) < 0)
		return 0;
	return CRYPTO_memcmp(hex, suf + 8, AUDIT_MAC_HEX) == 0;
}

struct json_object *audit_record_parse(const char *line, size_t len)
{
	if (len == 0 || len > AUDIT_LINE_MAX || line[0] != '{')
		return NULL;
	struct json_tokener *tok = json_tokener_new();
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	struct json_object *obj = json_tokener_parse_ex(tok, line, (int)len);
	if (obj &&
	    (json_tokener_get_error(tok) != json_tokener_success || json_tokener_get_parse_end(tok) != len ||
	     !json_object_is_type(obj, json_type_object))) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

bool audit_record_get_u64(struct json_object *obj, const char *key, uint64_t *ret)
{
	struct json_object *v;
	if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_int))
		return false;
	int64_t i = json_object_get_int64(v);
	if (i < 0)
		return false;
	*ret = (uint64_t)i;
	return true;
}

const char *audit_record_get_str(struct json_object *obj, const char *key)
{
	struct json_object *v;
	if (!obj || !json_object_object_get_ex(obj, key, &v) || !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static struct json_object *data_of(struct json_object *obj)
{
	struct json_object *d;
	if (!obj || !json_object_object_get_ex(obj, "data", &d) || !json_object_is_type(d, json_type_object))
		return NULL;
	return d;
}

bool audit_record_data_u64(struct json_object *obj, const char *key, uint64_t *ret)
{
	return audit_record_get_u64(data_of(obj), key, ret);
}

const char *audit_record_data_str(struct json_object *obj, const char *key)
{
	return audit_record_get_str(data_of(obj), key);
}

/* ---- timestamps ---- */

void audit_record_ts(struct audit_record_tscache *c, int64_t ns, char buf[AUDIT_TS_LEN], int *ret_day,
		     char ret_stamp[16])
{
	if (ns < 0)
		ns = 0;
	int64_t sec = ns / 1000000000;
	long usec = (long)((ns % 1000000000) / 1000);
	if (!c->valid || c->sec != sec) {
		struct tm tm;
		time_t t = (time_t)sec;
		if (!localtime_r(&t, &tm))
			gmtime_r(&t, &tm);
		strftime(c->prefix, sizeof c->prefix, "%Y-%m-%dT%H:%M:%S", &tm);
		strftime(c->stamp, sizeof c->stamp, "%Y%m%dT%H%M%S", &tm);
		long off = tm.tm_gmtoff / 60;
		char sign = off < 0 ? '-' : '+';
		if (off < 0)
			off = -off;
		snprintf(c->offset, sizeof c->offset, "%c%02ld:%02ld", sign, (off / 60) % 100, off % 60);
		c->day = (tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday;
		c->sec = sec;
		c->valid = true;
	}
	/* Per record: no printf, the second's text is cached. */
	memcpy(buf, c->prefix, 19);
	buf[19] = '.';
	for (int i = 25; i >= 20; i--, usec /= 10)
		buf[i] = (char)('0' + usec % 10);
	memcpy(buf + 26, c->offset, 6);
	buf[32] = '\0';
	if (ret_day)
		*ret_day = c->day;
	if (ret_stamp)
		memcpy(ret_stamp, c->stamp, 16);
}

static bool digits(const char *s, int n, int *ret)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

int audit_record_ts_parse(const char *s, int64_t *ret_ns)
{
	int Y, M, D, h, mi, se, us = 0, oh = 0, om = 0;
	if (!s || strlen(s) < 20 || !digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
	    !digits(s + 8, 2, &D) || s[10] != 'T' || !digits(s + 11, 2, &h) || s[13] != ':' ||
	    !digits(s + 14, 2, &mi) || s[16] != ':' || !digits(s + 17, 2, &se))
		return -EINVAL;
	const char *p = s + 19;
	if (*p == '.') {
		p++;
		int n = 0;
		while (p[n] >= '0' && p[n] <= '9' && n < 9)
			n++;
		if (n == 0 || !digits(p, n, &us))
			return -EINVAL;
		for (int i = n; i < 6; i++)
			us *= 10;
		for (int i = 6; i < n; i++)
			us /= 10;
		p += n;
	}
	int sign = 0;
	if (*p == 'Z' && p[1] == '\0') {
		sign = 0;
	} else if ((*p == '+' || *p == '-') && strlen(p) == 6 && digits(p + 1, 2, &oh) && p[3] == ':' &&
		   digits(p + 4, 2, &om)) {
		sign = *p == '-' ? -1 : 1;
	} else {
		return -EINVAL;
	}
	if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || se > 60)
		return -EINVAL;
	int64_t t = civil_days(Y, M, D) * 86400 + h * 3600 + mi * 60 + se;
	t -= (int64_t)sign * (oh * 3600 + om * 60);
	*ret_ns = t * 1000000000 + (int64_t)us * 1000;
	return 0;
}

/* ---- file names ---- */

bool audit_record_fname_parse(const char *name, struct audit_record_fname *ret)
{
	size_t n = strlen(name);
	/* audit- (6) stamp (15) - (1) counter (6..19) .jsonl (6) */
	if (n < 6 + 15 + 1 + 6 + 6 || n > 6 + 15 + 1 + 19 + 6 || memcmp(name, "audit-", 6) != 0 ||
	    strcmp(name + n - 6, ".jsonl") != 0 || name[21] != '-')
		return false;
	const char *st = name + 6;
	for (int i = 0; i < 15; i++)
		if (i == 8 ? st[i] != 'T' : (st[i] < '0' || st[i] > '9'))
			return false;
	uint64_t c = 0;
	for (const char *p = name + 22; p < name + n - 6; p++) {
		if (*p < '0' || *p > '9')
			return false;
		c = c * 10 + (uint64_t)(*p - '0');
	}
	if (ret) {
		memcpy(ret->stamp, st, 15);
		ret->stamp[15] = '\0';
		ret->counter = c;
	}
	return true;
}

void audit_record_fname_format(const struct audit_record_fname *f, char buf[AUDIT_NAME_LEN])
{
	snprintf(buf, AUDIT_NAME_LEN, "audit-%.15s-%06llu.jsonl", f->stamp, (unsigned long long)f->counter);
}

int audit_record_fname_cmp(const char *a, const char *b)
{
	struct audit_record_fname fa, fb;
	if (!audit_record_fname_parse(a, &fa) || !audit_record_fname_parse(b, &fb))
		return strcmp(a, b);
	int c = strcmp(fa.stamp, fb.stamp);
	if (c)
		return c;
	return fa.counter < fb.counter ? -1 : fa.counter > fb.counter;
}

static int cmp_names(const void *a, const void *b)
{
	return audit_record_fname_cmp(*(const char *const *)a, *(const char *const *)b);
}

void audit_record_list_free(char **names, size_t n)
{
	if (!names)
		return;
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

int audit_record_list(int dirfd, char ***ret_names, size_t *ret_n)
{
	int fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	DIR *d = fdopendir(fd);
	if (!d) {
		int e = -errno;
		close(fd);
		return e;
	}
	rewinddir(d);
	char **names = NULL;
	size_t n = 0, cap = 0;
	int r = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (!audit_record_fname_parse(de->d_name, NULL))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			char **nn = reallocarray(names, ncap, sizeof *nn);
			if (!nn) {
				r = -ENOMEM;
				break;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = strdup(de->d_name))) {
			r = -ENOMEM;
			break;
		}
		n++;
	}
	closedir(d);
	if (r < 0) {
		audit_record_list_free(names, n);
		return r;
	}
	if (n)
		qsort(names, n, sizeof *names, cmp_names);
	*ret_names = names;
	*ret_n = n;
	return 0;
}

/* ---- tail scan ---- */

static int tail_take(struct audit_record_tail *t, const char *line, size_t len)
{
	struct json_object *obj = audit_record_parse(line, len);
	uint64_t seq;
	const char *ts, *ev, *mac;
	if (!obj || !audit_record_get_u64(obj, "seq", &seq) || !(ts = audit_record_get_str(obj, "ts")) ||
	    !(ev = audit_record_get_str(obj, "event")) || !(mac = audit_record_get_str(obj, "mac")) ||
	    !audit_record_is_mac(mac)) {
		json_object_put(obj);
		return -EBADMSG;
	}
	t->found = true;
	t->last_seq = seq;
	snprintf(t->last_mac, sizeof t->last_mac, "%s", mac);
	snprintf(t->last_ts, sizeof t->last_ts, "%s", ts);
	snprintf(t->last_event, sizeof t->last_event, "%s", ev);
	json_object_put(obj);
	return 0;
}

int audit_record_tail(int fd, struct audit_record_mac *m, struct audit_record_tail *ret)
{
	memset(ret, 0, sizeof *ret);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	uint64_t size = (uint64_t)st.st_size;
	ret->size = size;
	if (size == 0)
		return 0;
	uint64_t win = 2ull * AUDIT_LINE_MAX;
	uint64_t wstart = size > win ? size - win : 0;
	size_t n = (size_t)(size - wstart);
	char *buf = malloc(n);
	if (!buf)
		return -ENOMEM;
	size_t got = 0;
	while (got < n) {
		ssize_t r = pread(fd, buf + got, n - got, (off_t)(wstart + got));
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = -errno;
			free(buf);
			return e;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	n = got;
	/* The window may start inside a line: lines start after the first
	 * "\n" then, or at 0 when the window is the whole file. */
	size_t first = 0;
	if (wstart > 0) {
		char *nl = memchr(buf, '\n', n);
		first = nl ? (size_t)(nl - buf) + 1 : n;
	}
	char *lastnl = n > first ? memrchr(buf + first, '\n', n - first) : NULL;
	size_t end = lastnl ? (size_t)(lastnl - buf) : first; /* end of the last complete line */
	while (lastnl && end >= first) {
		char *prevnl = end > first ? memrchr(buf + first, '\n', end - first) : NULL;
		size_t ls = prevnl ? (size_t)(prevnl - buf) + 1 : first;
		char mac[AUDIT_MAC_HEX + 1];
		if (audit_record_check(m, buf + ls, end - ls, mac) == 1 && tail_take(ret, buf + ls, end - ls) == 0) {
			ret->good_end = wstart + end + 1;
			break;
		}
		if (mac[0])
			ret->bad_lines++;
		if (!prevnl)
			break;
		end = ls - 1;
	}
	free(buf);
	ret->torn = size > ret->good_end;
	return 0;
}
