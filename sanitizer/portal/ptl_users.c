/* ptl_users: accounts, login throttling and sessions of the portals
 * (contract in ptl_users.h).
 *
 * Passwords go through libxcrypt only: crypt_gensalt_rn("$y$") for a new
 * hash (its default cost, random bytes from the OS) and crypt_rn to check;
 * a result starting with '*' is libxcrypt's failure token and never
 * matches.  struct crypt_data is 32 KiB, so it lives on the heap.
 *
 * Failure behaviour: the account file is refused whole on any bad line
 * (a portal must not start with half its accounts); the rewrite leaves the
 * old file in place on any error.  Out of memory aborts (xalloc). */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fdio.h"
#include "common/strbuf.h"
#include "common/xalloc.h"
#include "sanitizer/portal/ptl_http.h"
#include "sanitizer/portal/ptl_store.h"
#include "sanitizer/portal/ptl_users.h"

static const char *const role_names[] = {"", "approver", "operator", "staff"};

const char *ptl_role_name(enum ptl_role r)
{
	return r > PTL_ROLE_NONE && r <= PTL_ROLE_STAFF ? role_names[r] : "none";
}

enum ptl_role ptl_role_parse(const char *s)
{
	for (int r = PTL_ROLE_APPROVER; r <= PTL_ROLE_STAFF; r++)
		if (strcmp(s, role_names[r]) == 0)
			return (enum ptl_role)r;
	return PTL_ROLE_NONE;
}

bool ptl_user_name_ok(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > PTL_USER_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

/* a stored hash: yescrypt's "$y$" and only crypt's base64 alphabet */
static bool hash_ok(const char *h)
{
	size_t n = strlen(h);
	if (n < 4 || n > PTL_HASH_MAX || strncmp(h, "$y$", 3) != 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = h[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
		      c == '/' || c == '$'))
			return false;
	}
	return true;
}

static int parse_line(char *line, struct ptl_user *u)
{
	char *f[4];
	size_t nf = 0;
	char *p = line;
	for (;;) {
		if (nf == 4)
			return -EINVAL;
		f[nf++] = p;
		char *c = strchr(p, ':');
		if (!c)
			break;
		*c = 0;
		p = c + 1;
	}
	if (nf != 4 || !ptl_user_name_ok(f[0]) || !hash_ok(f[2]))
		return -EINVAL;
	memset(u, 0, sizeof *u);
	strcpy(u->name, f[0]);
	u->role = ptl_role_parse(f[1]);
	if (u->role == PTL_ROLE_NONE)
		return -EINVAL;
	strcpy(u->hash, f[2]);
	if (strcmp(f[3], "-") != 0) {
		for (char *tok = strtok(f[3], ","); tok; tok = strtok(NULL, ","))
			if (strcmp(tok, "disabled") == 0)
				u->disabled = true;
			else
				return -EINVAL;
	}
	return 0;
}

int ptl_users_load(const char *path, struct ptl_users *ret, char *why, size_t whylen)
{
	memset(ret, 0, sizeof *ret);
	void *buf;
	size_t len;
	int r = fdio_read_file(path, PTL_USERS_FILE_MAX, &buf, &len);
	if (r == -ENOENT)
		return 0;
	if (r < 0) {
		snprintf(why, whylen, "%s: %s", path, strerror(-r));
		return r;
	}
	char *text = xmalloc(len + 1);
	memcpy(text, buf, len);
	text[len] = 0;
	free(buf);
	if (strlen(text) != len) {
		snprintf(why, whylen, "%s: a NUL byte", path);
		free(text);
		return -EINVAL;
	}
	unsigned lineno = 0;
	char *save = NULL;
	for (char *line = text; line; line = save) {
		char *nl = strchr(line, '\n');
		save = nl ? nl + 1 : NULL;
		if (nl)
			*nl = 0;
		lineno++;
		if (!*line || line[0] == '#') {
			if (!save)
				break;
			continue;
		}
		struct ptl_user u;
		r = ret->n >= PTL_USERS_MAX ? -EFBIG : parse_line(line, &u);
		if (!r && ptl_users_find(ret, u.name))
			r = -EINVAL;
		if (r < 0) {
			snprintf(why, whylen, "%s:%u: %s", path, lineno,
				 r == -EFBIG ? "too many accounts"
					     : "not name:role:hash:flags (or a name given twice)");
			ptl_users_free(ret);
			free(text);
			return r;
		}
		ret->v = xreallocarray(ret->v, ret->n + 1, sizeof *ret->v);
		ret->v[ret->n++] = u;
	}
	free(text);
	return 0;
}

int ptl_users_save(const char *path, const struct ptl_users *u)
{
	struct strbuf sb = STRBUF_INIT;
	strbuf_puts(&sb, "# sekisho portal accounts: name:role:hash:flags (sekisho-portal user ...)\n");
	for (size_t i = 0; i < u->n; i++)
		strbuf_printf(&sb, "%s:%s:%s:%s\n", u->v[i].name, ptl_role_name(u->v[i].role), u->v[i].hash,
			      u->v[i].disabled ? "disabled" : "-");
	char *d = xstrdup(path), *b = xstrdup(path);
	int r = ptl_store_write(dirname(d), basename(b), sb.buf, sb.len, 0600, true);
	free(d);
	free(b);
	strbuf_free(&sb);
	return r;
}

struct ptl_user *ptl_users_find(const struct ptl_users *u, const char *name)
{
	for (size_t i = 0; i < u->n; i++)
		if (strcmp(u->v[i].name, name) == 0)
			return &u->v[i];
	return NULL;
}

int ptl_users_add(struct ptl_users *u, const char *name, enum ptl_role role, const char *password)
{
	if (!ptl_user_name_ok(name) || role == PTL_ROLE_NONE)
		return -EINVAL;
	if (ptl_users_find(u, name))
		return -EEXIST;
	if (u->n >= PTL_USERS_MAX)
		return -ENOSPC;
	struct ptl_user nu = {.role = role};
	strcpy(nu.name, name);
	int r = ptl_password_hash(password, nu.hash);
	if (r < 0)
		return r;
	u->v = xreallocarray(u->v, u->n + 1, sizeof *u->v);
	u->v[u->n++] = nu;
	return 0;
}

int ptl_users_del(struct ptl_users *u, const char *name)
{
	struct ptl_user *p = ptl_users_find(u, name);
	if (!p)
		return -ENOENT;
	size_t i = (size_t)(p - u->v);
	memmove(&u->v[i], &u->v[i + 1], (u->n - i - 1) * sizeof *u->v);
	u->n--;
	return 0;
}

int ptl_users_passwd(struct ptl_users *u, const char *name, const char *password)
{
	struct ptl_user *p = ptl_users_find(u, name);
	if (!p)
		return -ENOENT;
	return ptl_password_hash(password, p->hash);
}

void ptl_users_free(struct ptl_users *u)
{
	if (!u)
		return;
	free(u->v);
	memset(u, 0, sizeof *u);
}

int ptl_password_hash(const char *password, char out[PTL_HASH_MAX + 1])
{
	size_t n = strnlen(password, PTL_PASSWORD_MAX + 1);
	if (n == 0 || n > PTL_PASSWORD_MAX || strpbrk(password, "\r\n"))
		return -EINVAL;
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	if (!crypt_gensalt_rn("$y$", 0, NULL, 0, salt, sizeof salt))
		return errno ? -errno : -EINVAL;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	int r = 0;
	const char *h = crypt_rn(password, salt, cd, sizeof *cd);
	if (!h || h[0] == '*' || strlen(h) > PTL_HASH_MAX || !hash_ok(h))
		r = -EINVAL;
	else
		strcpy(out, h);
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return r;
}

bool ptl_password_check(const char *password, const char *hash)
{
	if (!hash_ok(hash) || strnlen(password, PTL_PASSWORD_MAX + 1) > PTL_PASSWORD_MAX)
		return false;
	struct crypt_data *cd = xcalloc(1, sizeof *cd);
	const char *h = crypt_rn(password, hash, cd, sizeof *cd);
	size_t hl = strlen(hash);
	bool ok = h && h[0] != '*' && strlen(h) == hl && CRYPTO_memcmp(h, hash, hl) == 0;
	explicit_bzero(cd, sizeof *cd);
	free(cd);
	return ok;
}

/* A fixed yescrypt hash of no known password: an unknown name is checked
 * against it (made once from random bytes nobody kept), so a failed login costs the same with or without the name. */
static const char dummy_hash[] = "$y$j9T$Cb7H.ap/8QbfboiNdtXG./$B2c2ZkX6f573HXunlEru5MCiWGUODKEjjgtW0RKFH16";

int ptl_users_login(const struct ptl_users *u, const char *name, const char *password, enum ptl_role *ret_role)
{
	const struct ptl_user *p = ptl_user_name_ok(name) ? ptl_users_find(u, name) : NULL;
	bool ok = ptl_password_check(password, p ? p->hash : dummy_hash);
	if (!p || !ok || p->disabled)
		return -EACCES;
	*ret_role = p->role;
	return 0;
}

/* ------------------------------------------------------------- throttle -- */

void ptl_throttle_init(struct ptl_throttle *t, const struct ptl_throttle_opts *o)
{
	memset(t, 0, sizeof *t);
	if (o)
		t->o = *o;
	if (!t->o.max_user)
		t->o.max_user = 5;
	if (!t->o.max_peer)
		t->o.max_peer = 20;
	if (!t->o.window_s)
		t->o.window_s = 900;
	if (!t->o.lockout_s)
		t->o.lockout_s = 900;
	pthread_mutex_init(&t->mu, NULL);
}

/* the slot of key (NULL when absent and !create); caller holds mu */
static struct ptl_throttle_slot *slot_of(struct ptl_throttle *t, const char *key, int64_t now, bool create)
{
	struct ptl_throttle_slot *free_slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < PTL_THROTTLE_SLOTS; i++) {
		struct ptl_throttle_slot *s = &t->slot[i];
		bool stale = !s->key[0] || now - s->last > (int64_t)t->o.window_s + t->o.lockout_s;
		if (s->key[0] && strcmp(s->key, key) == 0) {
			if (stale)
				s->fails = 0, s->first = s->last = now;
			return s;
		}
		if (stale && !free_slot)
			free_slot = s;
		if (!oldest || s->last < oldest->last)
			oldest = s;
	}
	if (!create)
		return NULL;
	struct ptl_throttle_slot *s = free_slot ? free_slot : oldest;
	memset(s, 0, sizeof *s);
	snprintf(s->key, sizeof s->key, "%s", key);
	s->first = s->last = now;
	return s;
}

static int64_t slot_wait(struct ptl_throttle *t, struct ptl_throttle_slot *s, unsigned max, int64_t now)
{
	if (!s || s->fails < max)
		return 0;
	int64_t until = s->last + t->o.lockout_s;
	return until > now ? until - now : 0;
}

static void keys(const char *user, const char *peer, char ku[80], char kp[80])
{
	snprintf(ku, 80, "u:%.64s", user ? user : "");
	snprintf(kp, 80, "p:%.64s", peer ? peer : "");
}

int ptl_throttle_check(struct ptl_throttle *t, const char *user, const char *peer, int64_t now, int64_t *ret_wait)
{
	char ku[80], kp[80];
	keys(user, peer, ku, kp);
	pthread_mutex_lock(&t->mu);
	int64_t wu = slot_wait(t, slot_of(t, ku, now, false), t->o.max_user, now);
	int64_t wp = slot_wait(t, slot_of(t, kp, now, false), t->o.max_peer, now);
	pthread_mutex_unlock(&t->mu);
	int64_t w = wu > wp ? wu : wp;
	if (ret_wait)
		*ret_wait = w;
	return w > 0 ? -EAGAIN : 0;
}

static bool slot_fail(struct ptl_throttle *t, const char *key, unsigned max, int64_t now)
{
	struct ptl_throttle_slot *s = slot_of(t, key, now, true);
	if (now - s->first > (int64_t)t->o.window_s && s->fails < max)
		s->fails = 0, s->first = now;
	s->fails++;
	s->last = now;
	return s->fails == max;
}

bool ptl_throttle_fail(struct ptl_throttle *t, const char *user, const char *peer, int64_t now)
{
	char ku[80], kp[80];
	keys(user, peer, ku, kp);
	pthread_mutex_lock(&t->mu);
	bool a = slot_fail(t, ku, t->o.max_user, now);
	bool b = slot_fail(t, kp, t->o.max_peer, now);
	pthread_mutex_unlock(&t->mu);
	return a || b;
}

void ptl_throttle_ok(struct ptl_throttle *t, const char *user, int64_t now)
{
	char ku[80], kp[80];
	keys(user, NULL, ku, kp);
	pthread_mutex_lock(&t->mu);
	struct ptl_throttle_slot *s = slot_of(t, ku, now, false);
	if (s)
		memset(s, 0, sizeof *s);
	pthread_mutex_unlock(&t->mu);
}

/* ------------------------------------------------------------- sessions -- */

void ptl_sessions_init(struct ptl_sessions *ss, unsigned idle_s, unsigned absolute_s)
{
	memset(ss, 0, sizeof *ss);
	ss->idle_s = idle_s ? idle_s : 900;
	ss->absolute_s = absolute_s ? absolute_s : 28800;
	pthread_mutex_init(&ss->mu, NULL);
}

static bool session_live(const struct ptl_sessions *ss, const struct ptl_session *s, int64_t now)
{
	return s->id[0] && now - s->last <= (int64_t)ss->idle_s && now - s->created <= (int64_t)ss->absolute_s;
}

int ptl_session_new(struct ptl_sessions *ss, const char *user, enum ptl_role role, int64_t now, struct ptl_session *ret)
{
	struct ptl_session n = {.role = role, .created = now, .last = now};
	if (strlen(user) > PTL_USER_NAME_MAX)
		return -EINVAL;
	strcpy(n.user, user);
	int r = ptl_random_token(PTL_SID_BYTES, n.id, sizeof n.id);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ss->mu);
	struct ptl_session *slot = NULL, *oldest = NULL;
	for (size_t i = 0; i < PTL_SESSIONS_MAX && !slot; i++) {
		struct ptl_session *s = &ss->s[i];
		if (!session_live(ss, s, now))
			slot = s;
		else if (!oldest || s->last < oldest->last)
			oldest = s;
	}
	if (!slot)
		slot = oldest;
	*slot = n;
	pthread_mutex_unlock(&ss->mu);
	*ret = n;
	return 0;
}

int ptl_session_get(struct ptl_sessions *ss, const char *id, int64_t now, struct ptl_session *ret)
{
	if (!id || strlen(id) != PTL_SID_LEN)
		return -ENOENT;
	int r = -ENOENT;
	pthread_mutex_lock(&ss->mu);
	for (size_t i = 0; i < PTL_SESSIONS_MAX; i++) {
		struct ptl_session *s = &ss->s[i];
		if (!s->id[0] || CRYPTO_memcmp(s->id, id, PTL_SID_LEN) != 0)
			continue;
		if (!session_live(ss, s, now)) {
			memset(s, 0, sizeof *s);
			break;
		}
		s->last = now;
		*ret = *s;
		r = 0;
		break;
	}
	pthread_mutex_unlock(&ss->mu);
	return r;
}

void ptl_session_end(struct ptl_sessions *ss, const char *id)
{
	if (!id || strlen(id) != PTL_SID_LEN)
		return;
	pthread_mutex_lock(&ss->mu);
	for (size_t i = 0; i < PTL_SESSIONS_MAX; i++)
		if (ss->s[i].id[0] && CRYPTO_memcmp(ss->s[i].id, id, PTL_SID_LEN) == 0)
			memset(&ss->s[i], 0, sizeof ss->s[i]);
	pthread_mutex_unlock(&ss->mu);
}

void ptl_session_end_user(struct ptl_sessions *ss, const char *user)
{
	pthread_mutex_lock(&ss->mu);
	for (size_t i = 0; i < PTL_SESSIONS_MAX; i++)
		if (ss->s[i].id[0] && strcmp(ss->s[i].user, user) == 0)
			memset(&ss->s[i], 0, sizeof ss->s[i]);
	pthread_mutex_unlock(&ss->mu);
}
