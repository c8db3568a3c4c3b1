/* ptl_upload: one upload request, multipart body to parcel (see
 * ptl_upload.h).
 * Contract: memory is fixed per request (the parser's header buffers, the
 * field buffers here); file data goes straight to the inbox; the first
 * refusal is kept with its reason and status, and every file of the parcel
 * is removed then.  Nothing prints. */
#include "sanitizer/portal/ptl_upload.h"
#include "common/utf8.h"
#include "sanitizer/portal/ptl_multipart.h"
#include "sanitizer/portal/ptl_name.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum field { F_NONE, F_CSRF, F_RCPT, F_NOTE, F_FILE, F_SKIP };

struct ptl_upload {
	const struct ptl_upload_opts *o;
	struct ptl_mp *mp;
	struct ptl_parcel *parcel;
	enum field cur;
	bool seen_csrf, seen_rcpt, seen_note;
	/* the value of the plain field being read */
	char val[PTL_INBOX_MAX_NOTE + 1];
	size_t vlen;
	char rcpt[PTL_RCPT_MAX + 1];
	char note[PTL_INBOX_MAX_NOTE + 1];
	int err;
	const char *why;
	int status;
	bool published;
};

/* Refuse with reason why and status; the parcel's files go. */
static int refuse(struct ptl_upload *u, int err, const char *why, int status)
{
	if (!u->err) {
		u->err = err;
		u->why = why;
		u->status = status;
	}
	ptl_parcel_free(u->parcel);
	u->parcel = NULL;
	return u->err;
}

static int io_refusal(struct ptl_upload *u, int r)
{
	if (r == -EFBIG)
		return refuse(u, r, "file-too-big", 413);
	if (r == -EDQUOT)
		return refuse(u, r, "total-too-big", 413);
	if (r == -E2BIG)
		return refuse(u, r, "too-many-files", 413);
	return refuse(u, r, "io", 500);
}

static int on_begin(void *arg, const struct ptl_mp_part *p)
{
	struct ptl_upload *u = arg;
	u->vlen = 0;
	if (!strcmp(p->name, "file")) {
		if (!p->filename)
			return refuse(u, -EBADMSG, "field-unknown", 400);
		if (!u->seen_csrf)
			return refuse(u, -EACCES, "csrf", 403);
		if (!u->seen_rcpt)
			return refuse(u, -EBADMSG, "field-order", 400);
		if (p->filename_len == 0) {
			u->cur = F_SKIP; /* an input left empty */
			return 0;
		}
		char name[PTL_NAME_MAX + 1];
		ptl_name_clean(p->filename, p->filename_len, name);
		int r = 0;
		if (!u->parcel)
			r = ptl_parcel_new(u->o->inbox, &u->o->caps, &u->parcel);
		if (r == 0)
			r = ptl_parcel_file_begin(u->parcel, name);
		if (r < 0)
			return io_refusal(u, r);
		u->cur = F_FILE;
		return 0;
	}
	if (p->filename)
		return refuse(u, -EBADMSG, "field-unknown", 400);
	bool *seen = !strcmp(p->name, "csrf") ? &u->seen_csrf
		: !strcmp(p->name, "rcpt")    ? &u->seen_rcpt
		: !strcmp(p->name, "note")    ? &u->seen_note
					      : NULL;
	if (!seen)
		return refuse(u, -EBADMSG, "field-unknown", 400);
	if (*seen)
		return refuse(u, -EBADMSG, "field-twice", 400);
	if (u->parcel)
		return refuse(u, -EBADMSG, "field-order", 400); /* fields come before the files */
	*seen = true;
	u->cur = seen == &u->seen_csrf ? F_CSRF : seen == &u->seen_rcpt ? F_RCPT : F_NOTE;
	return 0;
}

static int on_data(void *arg, const void *buf, size_t len)
{
	struct ptl_upload *u = arg;
	switch (u->cur) {
	case F_FILE: {
		int r = ptl_parcel_file_write(u->parcel, buf, len);
		return r < 0 ? io_refusal(u, r) : 0;
	}
	case F_SKIP:
		return refuse(u, -EBADMSG, "mp-syntax", 400); /* data without a file name */
	case F_CSRF:
	case F_RCPT:
	case F_NOTE: {
		size_t cap = u->cur == F_CSRF ? PTL_UPLOAD_CSRF_MAX
			: u->cur == F_RCPT    ? PTL_RCPT_MAX
					      : PTL_INBOX_MAX_NOTE;
		if (len > cap - u->vlen)
			return refuse(u, -EBADMSG,
				      u->cur == F_NOTE           ? "note-too-long"
					      : u->cur == F_RCPT ? "rcpt-too-long"
								 : "csrf",
				      u->cur == F_CSRF ? 403 : 400);
		memcpy(u->val + u->vlen, buf, len);
		u->vlen += len;
		return 0;
	}
	case F_NONE:
		break;
	}
	return refuse(u, -EBADMSG, "mp-syntax", 400);
}

static int on_end(void *arg)
{
	struct ptl_upload *u = arg;
	enum field f = u->cur;
	u->cur = F_NONE;
	u->val[u->vlen] = 0;
	if (memchr(u->val, 0, u->vlen) && f != F_FILE && f != F_SKIP)
		return refuse(u, -EBADMSG,
			      f == F_CSRF           ? "csrf"
				      : f == F_RCPT ? "rcpt-syntax"
						    : "note-invalid",
			      f == F_CSRF ? 403 : 400);
	switch (f) {
	case F_CSRF:
		if (!u->o->csrf_check || u->o->csrf_check(u->o->csrf_arg, u->val) != 0)
			return refuse(u, -EACCES, "csrf", 403);
		return 0;
	case F_RCPT: {
		const char *why;
		if (ptl_rcpt_check(u->val, u->o->domains, u->o->ndomains, u->rcpt, &why) < 0)
			return refuse(u, -EINVAL, why, 400);
		return 0;
	}
	case F_NOTE:
		if (!utf8_valid(u->val, u->vlen))
			return refuse(u, -EBADMSG, "note-invalid", 400);
		memcpy(u->note, u->val, u->vlen + 1);
		return 0;
	case F_FILE: {
		int r = ptl_parcel_file_end(u->parcel);
		return r < 0 ? io_refusal(u, r) : 0;
	}
	case F_SKIP:
	case F_NONE:
		break;
	}
	return 0;
}

int ptl_upload_new(const struct ptl_upload_opts *o, const char *content_type, struct ptl_upload **ret)
{
	struct ptl_upload *u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->o = o;
	u->why = "";
	u->status = 200;
	*ret = u;
	char boundary[PTL_MP_BOUNDARY_MAX + 1];
	if (ptl_mp_boundary(content_type, boundary) < 0)
		return refuse(u, -EBADMSG, "mp-content-type", 400);
	static const struct ptl_mp_ops ops = {on_begin, on_data, on_end};
	/* one part per file plus the three fields, and one more so that the
	 * file count cap, not the parser's, names the refusal */
	unsigned files = o->caps.max_files ? o->caps.max_files : 10;
	struct ptl_mp_caps caps = {.max_header = 4096, .max_parts = files + 4, .max_lines = 8};
	int r = ptl_mp_new(boundary, &caps, &ops, u, &u->mp);
	if (r < 0)
		return refuse(u, r, "io", 500);
	return 0;
}

/* a parser refusal as the portal names it */
static int mp_refusal(struct ptl_upload *u, int r)
{
	if (u->err)
		return u->err; /* a callback refused first */
	const char *why = ptl_mp_why(u->mp);
	if (!strcmp(why, "mp-too-many-parts"))
		return refuse(u, r, "too-many-files", 413);
	return refuse(u, r, why[0] ? why : "mp-syntax", 400);
}

int ptl_upload_feed(struct ptl_upload *u, const void *buf, size_t len)
{
	if (u->err)
		return u->err;
	int r = ptl_mp_feed(u->mp, buf, len);
	return r < 0 ? mp_refusal(u, r) : 0;
}

int ptl_upload_finish(struct ptl_upload *u)
{
	if (u->err)
		return u->err;
	int r = ptl_mp_finish(u->mp);
	if (r < 0)
		return mp_refusal(u, r);
	if (!u->seen_csrf)
		return refuse(u, -EACCES, "csrf", 403);
	if (!u->seen_rcpt)
		return refuse(u, -EINVAL, "rcpt-empty", 400);
	if (!u->parcel)
		return refuse(u, -EINVAL, "no-file", 400);
	struct ptl_parcel_meta m = {
		.uploader = u->o->uploader,
		.peer = u->o->peer,
		.rcpt = u->rcpt,
		.note = u->seen_note && u->note[0] ? u->note : NULL,
		.approval = u->o->approval,
	};
	r = ptl_parcel_publish(u->parcel, &m);
	/* a parcel whose .json exists stands, even if the last sync failed:
	 * the worker may already have it */
	if (r < 0 && !ptl_parcel_published(u->parcel))
		return refuse(u, r, r == -EINVAL ? "note-invalid" : "io", r == -EINVAL ? 400 : 500);
	u->published = true;
	return 0;
}

const char *ptl_upload_why(const struct ptl_upload *u)
{
	return u->why;
}

int ptl_upload_status(const struct ptl_upload *u)
{
	return u->status;
}

const struct ptl_parcel *ptl_upload_parcel(const struct ptl_upload *u)
{
	return u->published ? u->parcel : NULL;
}

const char *ptl_upload_rcpt(const struct ptl_upload *u)
{
	return u->rcpt;
}

const char *ptl_upload_note(const struct ptl_upload *u)
{
	return u->note;
}

void ptl_upload_free(struct ptl_upload *u)
{
	if (!u)
		return;
	ptl_mp_free(u->mp);
	ptl_parcel_free(u->parcel);
	free(u);
}
