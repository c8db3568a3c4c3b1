/* ptl_inbox: the upload inbox writer (see ptl_inbox.h for the protocol).
 * Contract: a <id>.json exists only after every file it names was written,
 * fsynced and renamed to its .data name; any failure removes every file
 * this parcel created (the caller's process dying leaves .part files only,
 * until the rename phase of publish).  The directory is never read or
 * listed.  Nothing prints. */
#include "sanitizer/portal/ptl_inbox.h"
#include "common/fdio.h"
#include "common/sha256.h"
#include "common/utf8.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define DEFAULT_MAX_BYTES ((uint64_t)100 << 20)
#define DEFAULT_MAX_FILES 10

struct ptl_inbox {
	int dfd; /* O_PATH */
};

enum parcel_state { P_OPEN, P_PUBLISHED, P_FAILED };

struct ptl_parcel {
	struct ptl_inbox *ib;
	char id[PTL_INBOX_ID_LEN + 1];
	struct ptl_parcel_caps caps;
	enum parcel_state state;
	/* the open file: fd >= 0 */
	int fd;
	struct sha256_run md; /* of the open file */
	uint64_t cur_bytes, total;
	struct ptl_inbox_file files[PTL_INBOX_MAX_FILES];
	size_t nfiles;   /* finished files */
	size_t nmade;    /* files created (finished + the open one) */
	size_t nrenamed; /* files renamed to .data by publish */
	bool meta_made;  /* .<id>.part exists */
};

int ptl_inbox_open(const char *dir, struct ptl_inbox **ret)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct ptl_inbox *ib = calloc(1, sizeof(*ib));
	if (!ib) {
		close(fd);
		return -ENOMEM;
	}
	ib->dfd = fd;
	*ret = ib;
	return 0;
}

void ptl_inbox_close(struct ptl_inbox *ib)
{
	if (!ib)
		return;
	close(ib->dfd);
	free(ib);
}

bool ptl_inbox_id_valid(const char *s)
{
	if (!s || strlen(s) != PTL_INBOX_ID_LEN || s[16] != '-')
		return false;
	for (int i = 0; i < PTL_INBOX_ID_LEN; i++)
		if (i != 16 && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

int ptl_parcel_new(struct ptl_inbox *ib, const struct ptl_parcel_caps *caps, struct ptl_parcel **ret)
{
	uint64_t rnd;
	if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd))
		return -EIO;
	struct ptl_parcel *p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
	snprintf(p->id, sizeof(p->id), "%016llx-%016llx", (unsigned long long)ns, (unsigned long long)rnd);
	p->ib = ib;
	p->fd = -1;
	if (caps)
		p->caps = *caps;
	if (!p->caps.max_bytes)
		p->caps.max_bytes = DEFAULT_MAX_BYTES;
	if (!p->caps.max_files)
		p->caps.max_files = DEFAULT_MAX_FILES;
	if (p->caps.max_files > PTL_INBOX_MAX_FILES)
		p->caps.max_files = PTL_INBOX_MAX_FILES;
	if (!p->caps.max_total)
		p->caps.max_total = p->caps.max_bytes * p->caps.max_files;
	*ret = p;
	return 0;
}

const char *ptl_parcel_id(const struct ptl_parcel *p)
{
	return p->id;
}

/* the names of file n: ".<id>.<n>.part" and "<id>.<n>.data" */
static void part_name(const struct ptl_parcel *p, size_t n, char *buf, size_t len)
{
	snprintf(buf, len, ".%s.%zu.part", p->id, n);
}

static void data_name(const struct ptl_parcel *p, size_t n, char *buf, size_t len)
{
	snprintf(buf, len, "%s.%zu.data", p->id, n);
}

/* A string the metadata may carry: valid UTF-8, no NUL or control
 * characters (C0, DEL, C1, line and paragraph separators, bidi controls);
 * multiline allows LF, CR and HT (the note). */
static bool clean_str(const char *s, size_t max, bool multiline)
{
	size_t len = strlen(s);
	if (len > max)
		return false;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t n = utf8_decode(s + i, len - i, &cp);
		if (n == 0)
			return false;
		bool ws = cp == '\n' || cp == '\r' || cp == '\t';
		if ((cp < 0x20 && !(multiline && ws)) || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
		    (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069))
			return false;
		i += n;
	}
	return true;
}

int ptl_parcel_file_begin(struct ptl_parcel *p, const char *name)
{
	if (p->state != P_OPEN || p->fd >= 0 || !name || !clean_str(name, PTL_INBOX_MAX_NAME, false))
		return -EINVAL;
	if (p->nfiles >= p->caps.max_files)
		return -E2BIG;
	char pn[64];
	part_name(p, p->nfiles, pn, sizeof(pn));
	/* 0644: the worker reads it through "other" only if the mode says so;
	 * its group is the directory's (setgid), the worker owns the directory */
	int fd = openat(p->ib->dfd, pn, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return -errno;
	int r = sha256_run_init(&p->md);
	if (r < 0) {
		close(fd);
		unlinkat(p->ib->dfd, pn, 0);
		return r;
	}
	/* whatever the umask: the worker (owner of the directory, not of the
	 * file) must read it */
	if (fchmod(fd, 0644) < 0) {
		r = -errno;
		sha256_run_abandon(&p->md);
		close(fd);
		unlinkat(p->ib->dfd, pn, 0);
		return r;
	}
	p->fd = fd;
	p->nmade = p->nfiles + 1;
	p->cur_bytes = 0;
	struct ptl_inbox_file *f = &p->files[p->nfiles];
	memset(f, 0, sizeof(*f));
	f->n = (unsigned)p->nfiles;
	snprintf(f->name, sizeof(f->name), "%s", name);
	return 0;
}

/* Remove every file this parcel made; the parcel is failed from then on. */
static void parcel_fail(struct ptl_parcel *p)
{
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
		sha256_run_abandon(&p->md);
	}
	char nm[64];
	for (size_t i = 0; i < p->nmade; i++) {
		if (i < p->nrenamed)
			data_name(p, i, nm, sizeof(nm));
		else
			part_name(p, i, nm, sizeof(nm));
		unlinkat(p->ib->dfd, nm, 0);
	}
	if (p->meta_made) {
		snprintf(nm, sizeof(nm), ".%s.part", p->id);
		unlinkat(p->ib->dfd, nm, 0);
	}
	p->nmade = p->nrenamed = 0;
	p->meta_made = false;
	p->state = P_FAILED;
}

int ptl_parcel_file_write(struct ptl_parcel *p, const void *buf, size_t len)
{
	if (p->state != P_OPEN || p->fd < 0)
		return -EINVAL;
	if (len > p->caps.max_bytes - p->cur_bytes || len > p->caps.max_total - p->total) {
		int r = len > p->caps.max_bytes - p->cur_bytes ? -EFBIG : -EDQUOT;
		parcel_fail(p);
		return r;
	}
	int r = fdio_write_all(p->fd, buf, len);
	if (r == 0)
		r = sha256_run_update(&p->md, buf, len);
	if (r < 0) {
		parcel_fail(p);
		return r;
	}
	p->cur_bytes += len;
	p->total += len;
	return 0;
}

int ptl_parcel_file_end(struct ptl_parcel *p)
{
	if (p->state != P_OPEN || p->fd < 0)
		return -EINVAL;
	int r = fsync(p->fd) < 0 ? -errno : 0;
	if (close(p->fd) < 0 && r == 0)
		r = -errno;
	p->fd = -1;
	struct ptl_inbox_file *f = &p->files[p->nfiles];
	if (r == 0)
		r = sha256_run_hex(&p->md, f->sha256);
	else
		sha256_run_abandon(&p->md);
	if (r < 0) {
		parcel_fail(p);
		return r;
	}
	f->bytes = p->cur_bytes;
	p->nfiles++;
	return 0;
}

char *ptl_parcel_meta_text(const char *id, const struct ptl_parcel_meta *m, const struct ptl_inbox_file *files,
			   size_t nfiles)
{
	if (!ptl_inbox_id_valid(id) || !m || !m->uploader || !m->peer || !m->rcpt || nfiles == 0 ||
	    nfiles > PTL_INBOX_MAX_FILES || !clean_str(m->uploader, PTL_INBOX_MAX_STR, false) ||
	    !clean_str(m->peer, PTL_INBOX_MAX_STR, false) || !clean_str(m->rcpt, PTL_INBOX_MAX_STR, false) ||
	    (m->note && !clean_str(m->note, PTL_INBOX_MAX_NOTE, true))) {
		errno = EINVAL;
		return NULL;
	}
	for (size_t i = 0; i < nfiles; i++)
		if (!clean_str(files[i].name, PTL_INBOX_MAX_NAME, false) || strlen(files[i].sha256) != 64) {
			errno = EINVAL;
			return NULL;
		}
	struct json_object *o = json_object_new_object(), *a = json_object_new_array();
	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		errno = ENOMEM;
		return NULL;
	}
	json_object_object_add(o, "v", json_object_new_int(1));
	json_object_object_add(o, "id", json_object_new_string(id));
	json_object_object_add(o, "received", json_object_new_int64(m->received ? m->received : (int64_t)time(NULL)));
	json_object_object_add(o, "uploader", json_object_new_string(m->uploader));
	json_object_object_add(o, "peer", json_object_new_string(m->peer));
	json_object_object_add(o, "rcpt", json_object_new_string(m->rcpt));
	json_object_object_add(o, "note", m->note ? json_object_new_string(m->note) : NULL);
	json_object_object_add(o, "approval", json_object_new_boolean(m->approval));
	for (size_t i = 0; i < nfiles; i++) {
		struct json_object *f = json_object_new_object();
		if (!f)
			break;
		json_object_object_add(f, "n", json_object_new_int((int)files[i].n));
		json_object_object_add(f, "name", json_object_new_string(files[i].name));
		json_object_object_add(f, "bytes", json_object_new_int64((int64_t)files[i].bytes));
		json_object_object_add(f, "sha256", json_object_new_string(files[i].sha256));
		json_object_array_add(a, f);
	}
	json_object_object_add(o, "files", a);
	const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *t = s && json_object_array_length(a) == nfiles ? strdup(s) : NULL;
	json_object_put(o);
	if (!t)
		errno = ENOMEM;
	return t;
}

int ptl_parcel_publish(struct ptl_parcel *p, const struct ptl_parcel_meta *m)
{
	if (p->state != P_OPEN || p->fd >= 0 || p->nfiles == 0)
		return -EINVAL;
	char *text = ptl_parcel_meta_text(p->id, m, p->files, p->nfiles);
	if (!text) {
		int r = -errno;
		parcel_fail(p);
		return r;
	}
	int r = strlen(text) > PTL_INBOX_MAX_META ? -EFBIG : 0;
	char from[64], to[64];
	for (size_t i = 0; r == 0 && i < p->nfiles; i++) {
		part_name(p, i, from, sizeof(from));
		data_name(p, i, to, sizeof(to));
		if (renameat(p->ib->dfd, from, p->ib->dfd, to) < 0)
			r = -errno;
		else
			p->nrenamed = i + 1;
	}
	/* the metadata file, synced with the renames before it: the writer
	 * cannot open the directory (no read permission) to fsync it, so
	 * syncfs through the metadata's descriptor makes the renames durable
	 * before the .json name can exist */
	int fd = -1;
	snprintf(from, sizeof(from), ".%s.part", p->id);
	snprintf(to, sizeof(to), "%s.json", p->id);
	if (r == 0) {
		fd = openat(p->ib->dfd, from, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
		if (fd < 0)
			r = -errno;
		else
			p->meta_made = true;
	}
	if (r == 0 && fchmod(fd, 0644) < 0)
		r = -errno;
	if (r == 0)
		r = fdio_write_all(fd, text, strlen(text));
	if (r == 0 && (fsync(fd) < 0 || syncfs(fd) < 0))
		r = -errno;
	if (r == 0 && renameat(p->ib->dfd, from, p->ib->dfd, to) < 0)
		r = -errno;
	free(text);
	if (r == 0) {
		p->meta_made = false;
		p->state = P_PUBLISHED;
		/* durable: the parcel now exists for the worker; a failing
		 * sync here is reported but the parcel stays (its name is
		 * already visible, removing it would race the worker) */
		if (syncfs(fd) < 0)
			r = -errno;
	}
	if (fd >= 0)
		close(fd);
	if (r < 0 && p->state != P_PUBLISHED)
		parcel_fail(p);
	return r;
}

bool ptl_parcel_published(const struct ptl_parcel *p)
{
	return p->state == P_PUBLISHED;
}

const struct ptl_inbox_file *ptl_parcel_files(const struct ptl_parcel *p, size_t *ret_n)
{
	*ret_n = p->nfiles;
	return p->files;
}

uint64_t ptl_parcel_total(const struct ptl_parcel *p)
{
	return p->total;
}

void ptl_parcel_free(struct ptl_parcel *p)
{
	if (!p)
		return;
	if (p->state == P_OPEN)
		parcel_fail(p);
	free(p);
}
