/* ptl_upload: one upload request of sekisho-upload, from the multipart body
 * to a published parcel (docs/portal.md, "Internet-side upload portal").
 *
 * The body streams through ptl_multipart; its fields go:
 *   csrf   checked by the caller's csrf_check as soon as the part ends;
 *          it must come before any file (the form puts it first), so no
 *          byte of a forged request reaches the disk;
 *   rcpt   checked by ptl_rcpt (the site's --rcpt-domain list) before any
 *          file too;
 *   note   optional, valid UTF-8, at most PTL_INBOX_MAX_NOTE bytes;
 *   file   (repeatable) each a file of the parcel: name through ptl_name,
 *          data straight into the inbox with the caps of opts->caps; a
 *          part with an empty file name (no file chosen) is skipped.
 * Any other field, a field twice, a file before csrf or rcpt, no file at
 * all: refused.  On any refusal every file written so far is removed
 * (ptl_parcel_free).  ptl_upload_finish publishes the parcel.
 *
 * Refusals carry a reason key (ptl_upload_why) and the HTTP status the
 * portal answers with (ptl_upload_status): 413 for the caps ("file-too-big",
 * "total-too-big", "too-many-files"), 403 "csrf", 400 for the rest
 * ("rcpt-*", "note-too-long", "note-invalid", "field-unknown",
 * "field-twice", "field-order", "no-file", "mp-*"), 500 "io" for a write
 * failure.
 *
 * Ownership: struct ptl_upload belongs to its creator (_free); opts and its
 * strings must outlive it (not copied).  Never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "sanitizer/portal/ptl_inbox.h"
#include "sanitizer/portal/ptl_rcpt.h"

#define PTL_UPLOAD_CSRF_MAX 128

struct ptl_upload_opts {
	struct ptl_inbox *inbox;
	struct ptl_parcel_caps caps;
	const char *const *domains; /* allowed recipient domains */
	size_t ndomains;
	bool approval;
	const char *uploader;
	const char *peer;
	/* 0 when token is the session's CSRF token */
	int (*csrf_check)(void *arg, const char *token);
	void *csrf_arg;
};

struct ptl_upload;

/* A handler for one request body of content_type.  0, -EBADMSG (not
 * multipart/form-data with a boundary: *ret is still made, with its
 * reason), -ENOMEM. */
int ptl_upload_new(const struct ptl_upload_opts *o, const char *content_type, struct ptl_upload **ret);
/* Feed body bytes.  0 or -errno (the upload is refused from then on). */
int ptl_upload_feed(struct ptl_upload *u, const void *buf, size_t len);
/* The body ended: check, then publish the parcel.  0 or -errno. */
int ptl_upload_finish(struct ptl_upload *u);

/* The reason key of a refusal ("" when none), its HTTP status (200 when
 * none). */
const char *ptl_upload_why(const struct ptl_upload *u);
int ptl_upload_status(const struct ptl_upload *u);
/* After a successful finish: the parcel (id, files), the recipient and the
 * note as published. */
const struct ptl_parcel *ptl_upload_parcel(const struct ptl_upload *u);
const char *ptl_upload_rcpt(const struct ptl_upload *u);
const char *ptl_upload_note(const struct ptl_upload *u);
void ptl_upload_free(struct ptl_upload *u);
