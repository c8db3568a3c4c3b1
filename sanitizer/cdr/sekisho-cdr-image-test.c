/* sekisho-cdr-image-test: image CDR end to end, by hand and for the tests,
 * until the real sekisho-cdr CLI and the sandbox exist.
 *
 *   sekisho-cdr-image-test [--converter PATH] [--as MIB] IN OUT
 *
 * Runs the converter (default: sekisho-cdr-image beside this program) with
 * IN on stdin and an address-space limit of MIB (default 1024; 0 for none,
 * as AddressSanitizer builds need) standing in for the sandbox, reads its pixel stream (at most what the caps allow),
 * validates it with cdr_pixels_parse, and writes OUT as PNG or JPEG by the
 * output type rule (cdr_image.h).  Prints "OUT-TYPE WIDTHxHEIGHT" on
 * success.  Exit 0 written; 1 refused ("refused: KEY" on stderr, from the
 * converter or the reader); 2 usage, I/O, or the converter crashed. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_image.h"
#include "sanitizer/cdr/cdr_pixels.h"
#include "common/fdio.h"

/* the converter as a child: stdin from in_fd, stdout into a pipe */
static pid_t test_spawn(const char *conv, int in_fd, unsigned long as_mib, int *ret_fd)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		struct rlimit rl = {as_mib << 20, as_mib << 20};
		if (dup2(in_fd, STDIN_FILENO) < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
		    (as_mib && setrlimit(RLIMIT_AS, &rl) < 0))
			_exit(2);
		close(p[0]);
		close(p[1]);
		execl(conv, conv, (char *)NULL);
		_exit(2);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

static const char *test_default_converter(char *buf, size_t len)
{
	ssize_t n = readlink("/proc/self/exe", buf, len - 32);
	if (n <= 0)
		return "sekisho-cdr-image";
	buf[n] = 0;
	char *slash = strrchr(buf, '/');
	strcpy(slash ? slash + 1 : buf, "sekisho-cdr-image");
	return buf;
}

int main(int argc, char **argv)
{
	char self[PATH_MAX];
	const char *conv = NULL;
	unsigned long as_mib = 1024;
	int i = 1;
	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (strcmp(argv[i], "--converter") == 0)
			conv = argv[i + 1];
		else if (strcmp(argv[i], "--as") == 0)
			as_mib = strtoul(argv[i + 1], NULL, 10);
		else
			break;
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: sekisho-cdr-image-test [--converter PATH] [--as MIB] IN OUT\n");
		return 2;
	}
	const char *in_path = argv[i], *out_path = argv[i + 1];
	if (!conv)
		conv = test_default_converter(self, sizeof self);

	int in_fd = open(in_path, O_RDONLY | O_CLOEXEC);
	uint8_t head[16];
	if (in_fd < 0 || pread(in_fd, head, sizeof head, 0) < 0) {
		fprintf(stderr, "sekisho-cdr-image-test: %s: %s\n", in_path, strerror(errno));
		return 2;
	}
	enum cdr_image_kind kind = cdr_image_kind_of(head, sizeof head);

	struct cdr_pixels_caps caps;
	cdr_pixels_caps_default(&caps);
	caps.max_images = 1;
	caps.max_pixels_stream = caps.max_pixels_image;
	int out_fd;
	pid_t pid = test_spawn(conv, in_fd, as_mib, &out_fd);
	if (pid < 0) {
		fprintf(stderr, "sekisho-cdr-image-test: %s: %s\n", conv, strerror(errno));
		return 2;
	}
	close(in_fd);
	uint8_t *stream = NULL;
	size_t len = 0;
	int r = fdio_read_all(out_fd, CDR_PIXELS_HEADER_SIZE + caps.max_pixels_image * 3, &stream, &len);
	close(out_fd);
	if (r < 0)
		kill(pid, SIGKILL);
	int status = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(status) || (WIFEXITED(status) && WEXITSTATUS(status) == 2)) {
		fprintf(stderr, "sekisho-cdr-image-test: converter failed (%s %d)\n",
			WIFSIGNALED(status) ? "signal" : "exit", WIFSIGNALED(status) ? WTERMSIG(status) : 2);
		free(stream);
		return 2;
	}
	if (WEXITSTATUS(status) == 1) {
		free(stream);
		return 1; /* the converter said why on stderr */
	}
	if (r < 0) {
		fprintf(stderr, "refused: %s\n", r == -EFBIG ? "output-limit" : "out-of-memory");
		return 1;
	}

	struct cdr_pixels_image *imgs = NULL;
	size_t n = 0;
	char why[64] = "";
	r = cdr_pixels_parse(stream, len, &caps, &imgs, &n, why, sizeof why);
	if (r < 0) {
		fprintf(stderr, "refused: %s\n", r == -EBADMSG ? why : strerror(-r));
		free(stream);
		return 1;
	}
	enum cdr_image_out out = cdr_image_output_for(kind);
	FILE *f = fopen(out_path, "wbe");
	r = f ? cdr_image_encode(&imgs[0], out, f, why, sizeof why) : -errno;
	if (f && fclose(f) != 0 && r == 0)
		r = -EIO;
	if (r == 0)
		printf("%s %ux%u\n", out == CDR_IMAGE_OUT_JPEG ? "jpeg" : "png", imgs[0].width, imgs[0].height);
	else
		fprintf(stderr, "sekisho-cdr-image-test: %s: %s\n", out_path, why[0] ? why : strerror(-r));
	free(imgs);
	free(stream);
	return r == 0 ? 0 : 2;
}
