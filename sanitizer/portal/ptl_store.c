/* ptl_store: atomic small-file writes and the portal-queue put (contract in
 * ptl_store.h).
 *
 * A reader never sees half a file: the bytes go to a dot-name in the same
 * directory first, and the rename is the only moment the name appears.
 * Failure behaviour: the temporary file is removed on any error; the
 * target is untouched. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fdio.h"
#include "sanitizer/portal/ptl_store.h"

/* write text into d/tmp, then rename to d2/name */
static int write_rename(int d, const char *tmp, int d2, const char *name, const char *text, size_t len, unsigned mode,
			bool replace)
{
	int fd = openat(d, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0)
		return -errno;
	int r = 0;
	if (fchmod(fd, mode) < 0) /* the umask may have taken bits the format needs */
		r = -errno;
	if (!r)
		r = fdio_write_all(fd, text, len);
	if (!r && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && !r)
		r = -errno;
	if (!r && (replace ? renameat(d, tmp, d2, name) : renameat2(d, tmp, d2, name, RENAME_NOREPLACE)) < 0)
		r = -errno;
	if (r)
		unlinkat(d, tmp, 0);
	else if (fsync(d2) < 0)
		r = -errno;
	return r;
}

int ptl_store_write(const char *dir, const char *name, const char *text, size_t len, unsigned mode, bool replace)
{
	char tmp[300];
	if (!*name || strchr(name, '/') || name[0] == '.' ||
	    (size_t)snprintf(tmp, sizeof tmp, ".%s.tmp", name) >= sizeof tmp)
		return -EINVAL;
	int d = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d < 0)
		return -errno;
	unlinkat(d, tmp, 0); /* a writer that died before its rename */
	int r = write_rename(d, tmp, d, name, text, len, mode, replace);
	close(d);
	return r;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[b[i] >> 4];
		out[2 * i + 1] = h[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* "<16 hex ns>-<random hex of nrand bytes>" */
static int time_id(char *out, size_t nrand)
{
	struct timespec ts;
	uint8_t rnd[8];
	clock_gettime(CLOCK_REALTIME, &ts);
	if (getrandom(rnd, nrand, 0) != (ssize_t)nrand)
		return -EIO;
	uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	snprintf(out, 18, "%016llx-", (unsigned long long)ns);
	hex(rnd, nrand, out + 17);
	return 0;
}

int ptl_queue_put(const char *qdir, const char *text, char id[PTL_QUEUE_ID_LEN + 1])
{
	int r = time_id(id, 4);
	if (r < 0)
		return r;
	char p[4096];
	snprintf(p, sizeof p, "%s/tmp", qdir);
	int dt = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dt < 0)
		return -errno;
	snprintf(p, sizeof p, "%s/new", qdir);
	int dn = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dn < 0) {
		r = -errno;
		close(dt);
		return r;
	}
	r = write_rename(dt, id, dn, id, text, strlen(text), 0660, false);
	close(dt);
	close(dn);
	return r;
}

int ptl_id_new(char id[PTL_ID_LEN + 1])
{
	return time_id(id, 8);
}

bool ptl_id_valid(const char *s)
{
	if (strlen(s) != PTL_ID_LEN || s[16] != '-')
		return false;
	for (size_t i = 0; i < PTL_ID_LEN; i++)
		if (i != 16 && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool ptl_id_of_name(const char *name, const char *suffix, char id[PTL_ID_LEN + 1])
{
	if (strlen(name) != PTL_ID_LEN + strlen(suffix) || strcmp(name + PTL_ID_LEN, suffix) != 0)
		return false;
	memcpy(id, name, PTL_ID_LEN);
	id[PTL_ID_LEN] = 0;
	return ptl_id_valid(id);
}
