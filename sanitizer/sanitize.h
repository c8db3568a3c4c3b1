/* sanitize: one RFC 5322 message in, one text-only message out (issue 5).
 *
 * The output has the allow-listed headers (decoded, then re-encoded by
 * gmime), an X-Sekisho-Sanitized marker, and one text/plain body (UTF-8,
 * base64; or ISO-2022-JP, 7bit) that starts with a notice listing every
 * removed item.  Nothing of the original's non-text content passes through.
 *
 * Fail closed: a limit hit, a parse failure or an internal error yields a
 * result with status SANITIZE_FAILED whose output is the notice alone plus
 * the text already sanitised; the original goes to quarantine when one is
 * configured.  When an item cannot be kept (quarantine full or failing) the
 * call returns a negative errno and no output: the caller must not deliver
 * (tempfail), or the item would be lost.
 *
 * Ownership: the ctx borrows config strings and the quarantine (they must
 * outlive it); results own their strings (sanitize_result_free).  gmime is
 * initialised by sanitize_ctx_new (once per process).  Nothing prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"
#include "sanitizer/san_html.h"
#include "sanitizer/san_notice.h"
#include "sanitizer/san_quarantine.h"
#include "sanitizer/san_spool.h"

struct sanitize_limits {
	size_t max_message;     /* bytes of the raw message, default 50 MiB */
	unsigned max_depth;     /* multipart / message nesting, default 16 */
	unsigned max_parts;     /* MIME entities, default 512 */
	unsigned max_headers;   /* header fields per entity, default 500 */
	size_t max_header_line; /* bytes of one (unfolded) header field, default 16 KiB */
	size_t max_line;        /* bytes of any raw line, default 256 KiB */
	size_t max_decoded;     /* decoded bytes of all parts together, default 100 MiB */
	unsigned max_seconds;   /* wall time per message, default 30 */
};

struct sanitize_config {
	struct sanitize_limits lim;
	enum san_links links;             /* default SAN_LINKS_DEFANG */
	bool iso2022jp;                   /* body and headers in ISO-2022-JP */
	const char *lang;                 /* "ja" (default) or "en" */
	const struct san_notice *notice;  /* NULL: the built-in template of lang */
	const char *const *extra_headers; /* more header names to keep */
	size_t n_extra;
	struct san_quarantine *quarantine; /* NULL: nothing is kept (ids show "not kept") */
};

void sanitize_config_defaults(struct sanitize_config *c);

enum sanitize_status { SANITIZE_OK = 0, SANITIZE_MALFORMED = 1, SANITIZE_FAILED = 2 };

#define SANITIZE_F_BIDI 0x1u
#define SANITIZE_F_DOUBLEEXT 0x2u
#define SANITIZE_F_EXEC 0x4u
#define SANITIZE_F_ENCRYPTED 0x8u
#define SANITIZE_F_MISMATCH 0x10u
#define SANITIZE_F_TNEF 0x20u

struct sanitize_item {
	char *name;     /* neutralised, UTF-8 ("" when none) */
	char *declared; /* declared content type */
	char *detected; /* libmagic */
	char *reason;   /* "attachment", "non-text", "uuencode", "utf7", "encrypted-multipart", ... */
	char *contents; /* TNEF: names inside, "\n"-separated (neutralised); else NULL */
	size_t size;
	char sha256[65];
	char qid[SAN_QID_LEN + 1]; /* "" when not kept */
	unsigned flags;            /* SANITIZE_F_* */
	/* set by the link hook (sanitize_ctx_set_link), else NULL: the
	 * item's CDR state in its link manifest ("pending", "ready",
	 * "none:<reason key>") and, for "none", the reason's text in the
	 * notice's language */
	char *cdr;
	char *cdr_reason;
};

/* The portal link of one message (docs/portal.md, "The notice and its
 * link"), filled by the link hook.  The notice shows it after the text
 * was defanged: it is the appliance's own link, not the sender's. */
struct sanitize_link {
	char *url;        /* https://HOST/m/<token>, or NULL when no link */
	int64_t expires;  /* seconds since the epoch */
	char hash[65];    /* the manifest's name (never the token), "" when none */
	bool failed;      /* the hook tried and no link could be made */
	char *error;      /* why (a reason key for the audit record), or NULL */
	bool originals;   /* originals may be requested from the portal */
	bool copies_mail; /* the copies follow in a separate mail */
};

struct sanitize_result {
	enum sanitize_status status;
	char *reason; /* malformed/failed reason codes, comma-separated, or NULL */
	struct sanitize_item *items;
	size_t n_items;
	char **actions; /* action names (docs/audit.md), NULL-terminated */
	size_t n_actions;
	char *repairs;    /* charset repairs, comma-separated, or NULL */
	char *message_id; /* of the original, or NULL */
	char *subject;    /* decoded and cleaned, or NULL */
	struct sanitize_link link;
	size_t size;
	char original_sha256[65], output_sha256[65];
	char original_qid[SAN_QID_LEN + 1]; /* "" when not kept */
};

void sanitize_result_free(struct sanitize_result *r);

struct sanitize_ctx;

/* Copies *cfg (not the strings it points to).  0 or -errno (libmagic). */
int sanitize_ctx_new(const struct sanitize_config *cfg, struct sanitize_ctx **ret);
void sanitize_ctx_free(struct sanitize_ctx *ctx);

/* The link hook: called once per message, after the quarantine kept its
 * items and before the notice is written, when at least one item was
 * kept.  It may set each item's cdr / cdr_reason and res->link (strings
 * malloc'd: the result frees them).  Its return value is ignored: a hook
 * that fails sets link.failed (the mail is never held back for a link).
 * Set per message by the thread that owns ctx (the milter sets its
 * envelope in arg); NULL fn: no hook. */
typedef void (*sanitize_link_fn)(void *arg, struct sanitize_result *res);
void sanitize_ctx_set_link(struct sanitize_ctx *ctx, sanitize_link_fn fn, void *arg);

/* Sanitise the message in[0..len) and append the new message to out.
 * Returns 0 (see ret->status), or a negative errno when no output may be
 * delivered (-ENOSPC/-EIO...: quarantine could not keep an item). */
int sanitize_buffer(struct sanitize_ctx *ctx, const void *in, size_t len, struct strbuf *out,
		    struct sanitize_result *ret);

/* Bytes of a piped message kept in memory before it is spooled to a file. */
#define SANITIZE_SPOOL_MEM ((size_t)8 << 20)

/* Sanitise the message held by a spool (sanitize_buffer when it is in
 * memory; a spooled file is parsed in place: part contents stay references
 * into the file, the original is hashed and quarantined by copying the
 * file through a small buffer).  The spool is only read. */
int sanitize_spool(struct sanitize_ctx *ctx, const struct san_spool *sp, struct strbuf *out,
		   struct sanitize_result *ret);

/* Sanitise the message read from fd: a regular file is parsed in place from
 * its current offset; anything else (a pipe) is spooled (memory up to
 * SANITIZE_SPOOL_MEM, then an unlinked file in spool_dir, NULL = /tmp).  At
 * most lim.max_message + 1 bytes are looked at: a longer message fails
 * closed with reason "message-size" and what was read is quarantined. */
int sanitize_fd(struct sanitize_ctx *ctx, int fd, const char *spool_dir, struct strbuf *out,
		struct sanitize_result *ret);
