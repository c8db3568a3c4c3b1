/* ptl_users: the portals' local accounts, login throttling and sessions
 * (docs/portal.md, "LGWAN portal").
 *
 * The account file (one per portal, 0600, owned by the portal's user) holds
 * one account a line, "name:role:hash:flags": name [a-z0-9._-]{1,32}, role
 * approver | operator | staff, hash a crypt(3) yescrypt string ("$y$..."),
 * flags "-" or a comma list ("disabled").  Blank lines and lines starting
 * with '#' are kept out of the model (and dropped on rewrite).  The file is
 * rewritten whole and atomically (tmp + fsync + rename + directory fsync).
 * Caps: PTL_USERS_MAX accounts, PTL_USERS_FILE_MAX bytes.
 *
 * Throttle: failed logins are counted per user name and per peer address
 * in a fixed table; past the limit within the window the key is locked out
 * for lockout_s seconds (counted from the last failure).  A table full of
 * live entries reuses the oldest one.
 *
 * Sessions: ids of PTL_SID_BYTES random bytes (base64url), in memory only,
 * with idle and absolute expiry; a login always makes a new id (no
 * fixation).  A fixed table: when full, the oldest session ends.
 *
 * Threads: a throttle and a session table each carry their own mutex; the
 * account list is read-only once loaded.
 *
 * Ownership: struct ptl_users owns its entries (ptl_users_free).  Functions
 * return 0 or -errno; nothing here prints. */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PTL_USERS_MAX 1000
#define PTL_USERS_FILE_MAX ((size_t)1 << 20)
#define PTL_USER_NAME_MAX 32
#define PTL_HASH_MAX 160
#define PTL_PASSWORD_MAX 1024

enum ptl_role { PTL_ROLE_NONE = 0, PTL_ROLE_APPROVER, PTL_ROLE_OPERATOR, PTL_ROLE_STAFF };

struct ptl_user {
	char name[PTL_USER_NAME_MAX + 1];
	enum ptl_role role;
	char hash[PTL_HASH_MAX + 1];
	bool disabled;
};

struct ptl_users {
	struct ptl_user *v;
	size_t n;
};

const char *ptl_role_name(enum ptl_role r);
/* PTL_ROLE_NONE for an unknown name */
enum ptl_role ptl_role_parse(const char *s);
/* true for [a-z0-9._-]{1,32} not starting with '.' or '-' */
bool ptl_user_name_ok(const char *name);

/* Read the account file (a missing file is an empty list): 0, -EINVAL with
 * the line in why, -EFBIG, -errno. */
int ptl_users_load(const char *path, struct ptl_users *ret, char *why, size_t whylen);
/* Write it whole, atomically, mode 0600: 0 or -errno. */
int ptl_users_save(const char *path, const struct ptl_users *u);
struct ptl_user *ptl_users_find(const struct ptl_users *u, const char *name);
/* add (-EEXIST, -ENOSPC, -EINVAL) / delete (-ENOENT) / set a new password
 * (-ENOENT); the password is hashed here */
int ptl_users_add(struct ptl_users *u, const char *name, enum ptl_role role, const char *password);
int ptl_users_del(struct ptl_users *u, const char *name);
int ptl_users_passwd(struct ptl_users *u, const char *name, const char *password);
void ptl_users_free(struct ptl_users *u);

/* A new yescrypt hash of password (crypt_gensalt_rn "$y$", OS randomness):
 * 0, -EINVAL (empty, too long, or holding NUL/CR/LF), -errno. */
int ptl_password_hash(const char *password, char out[PTL_HASH_MAX + 1]);
/* true when password matches hash (constant-time compare of the result) */
bool ptl_password_check(const char *password, const char *hash);

/* Check a login: the account's role into *ret_role when name exists, is not
 * disabled and password matches.  An unknown name costs a hash too, so the
 * time does not tell which names exist.  0 or -EACCES. */
int ptl_users_login(const struct ptl_users *u, const char *name, const char *password, enum ptl_role *ret_role);

/* ------------------------------------------------------------- throttle -- */

#define PTL_THROTTLE_SLOTS 4096

struct ptl_throttle_opts {
	unsigned max_user;  /* failures per user name before lockout, 0 = 5 */
	unsigned max_peer;  /* failures per peer address, 0 = 20 */
	unsigned window_s;  /* failures older than this are forgotten, 0 = 900 */
	unsigned lockout_s; /* 0 = 900 */
};

struct ptl_throttle_slot {
	char key[80]; /* "u:<name>" or "p:<address>" */
	unsigned fails;
	int64_t first, last;
};

struct ptl_throttle {
	struct ptl_throttle_opts o;
	pthread_mutex_t mu;
	struct ptl_throttle_slot slot[PTL_THROTTLE_SLOTS];
};

void ptl_throttle_init(struct ptl_throttle *t, const struct ptl_throttle_opts *o);
/* 0 when a login of user from peer may be tried now, or -EAGAIN (locked
 * out) with the seconds left in *ret_wait (may be NULL) */
int ptl_throttle_check(struct ptl_throttle *t, const char *user, const char *peer, int64_t now, int64_t *ret_wait);
/* Count a failure; returns true when this failure starts a lockout. */
bool ptl_throttle_fail(struct ptl_throttle *t, const char *user, const char *peer, int64_t now);
/* A successful login forgets the user's failures (the peer's stay). */
void ptl_throttle_ok(struct ptl_throttle *t, const char *user, int64_t now);

/* ------------------------------------------------------------- sessions -- */

#define PTL_SID_BYTES 32
#define PTL_SID_LEN 43
#define PTL_SESSIONS_MAX 1024

struct ptl_session {
	char id[PTL_SID_LEN + 1];
	char user[PTL_USER_NAME_MAX + 1];
	enum ptl_role role;
	int64_t created, last;
};

struct ptl_sessions {
	unsigned idle_s;     /* 0 = 900 */
	unsigned absolute_s; /* 0 = 28800 */
	pthread_mutex_t mu;
	struct ptl_session s[PTL_SESSIONS_MAX];
};

void ptl_sessions_init(struct ptl_sessions *ss, unsigned idle_s, unsigned absolute_s);
/* A new session for user (a fresh id, whatever the client sent): 0 or -errno. */
int ptl_session_new(struct ptl_sessions *ss, const char *user, enum ptl_role role, int64_t now,
		    struct ptl_session *ret);
/* The live session of id (copied, last use set to now): 0, -ENOENT (unknown,
 * malformed or expired: an expired one is ended). */
int ptl_session_get(struct ptl_sessions *ss, const char *id, int64_t now, struct ptl_session *ret);
/* End the session of id (unknown ids are ignored). */
void ptl_session_end(struct ptl_sessions *ss, const char *id);
/* End every session of user (deleted or disabled accounts). */
void ptl_session_end_user(struct ptl_sessions *ss, const char *user);
