/* sekisho-cdr-office: LibreOffice as a filter, to run inside the CDR
 * sandbox.  A legacy office file (doc, xls, ppt, RTF, odt, ods, odp) on
 * stdin; on stdout the same document converted to its OOXML form (argument
 * "ooxml": doc/rtf/odt -> docx, xls/ods -> xlsx, ppt/odp -> pptx) or to PDF
 * (argument "pdf"); the report on stderr.
 *
 * stderr: "type T" (what the input is), "removed macros" when the input
 * carries VBA or Basic macros (LibreOffice never runs them, and the OOXML
 * form it writes has no place for them), "ext E", then "ok"; on refusal
 * "refused KEY" last (encrypted, unsupported-format, input-size-limit,
 * conversion-failed, output-size-limit).  Exit 0 with a copy, 1 refused
 * (nothing on stdout), 2 usage or I/O error.
 *
 * LibreOffice runs as soffice.bin itself (not the soffice shell script),
 * headless, with a fresh private profile under /tmp that turns macro
 * execution and Java off, no stdin and its output thrown away.  The
 * sandbox gives it no network, a read-only /usr and a size-capped /tmp;
 * the wall clock and memory limits are the caller's (cdr_office.c). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/version.h"
#include "common/fdio.h"
#include "sanitizer/cdr/cdr_filter.h"
#include "sanitizer/cdr/cdr_legacy.h"

#define MAX_INPUT (64u << 20)
#define MAX_OUTPUT (128u << 20)
#define SOFFICE "/usr/lib/libreoffice/program/soffice.bin"
#define WORK "/tmp/lo"

/* the profile LibreOffice starts with: no macro runs, whatever the
 * document asks (DisableMacrosExecution; level 3 "very high" as well), no
 * Java VM, no OpenCL driver probing */
static const char profile[] =
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
	"<oor:items xmlns:oor=\"http://openoffice.org/2001/registry\" "
	"xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n"
	"<item oor:path=\"/org.openoffice.Office.Common/Security/Scripting\">"
	"<prop oor:name=\"DisableMacrosExecution\" oor:op=\"fuse\"><value>true</value></prop></item>\n"
	"<item oor:path=\"/org.openoffice.Office.Common/Security/Scripting\">"
	"<prop oor:name=\"MacroSecurityLevel\" oor:op=\"fuse\"><value>3</value></prop></item>\n"
	"<item oor:path=\"/org.openoffice.Office.Java/VirtualMachine\">"
	"<prop oor:name=\"Enable\" oor:op=\"fuse\"><value>false</value></prop></item>\n"
	"<item oor:path=\"/org.openoffice.Office.Common/Misc\">"
	"<prop oor:name=\"UseOpenCL\" oor:op=\"fuse\"><value>false</value></prop></item>\n"
	"</oor:items>\n";

static int refuse(const char *key)
{
	fprintf(stderr, "refused %s\n", key);
	return 1;
}

static int write_file(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600), r;

	if (fd < 0)
		return -errno;
	r = fdio_write_all(fd, buf, len);
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/* soffice.bin --convert-to; its exit status says little (0 also when the
 * file could not be loaded), so the caller looks for the output file */
static int run_soffice(const char *filter, const char *in)
{
	char *const env[] = {"HOME=" WORK,          "PATH=/usr/bin:/bin",
			     "LANG=C.UTF-8",        "SAL_USE_VCLPLUGIN=svp",
			     "TMPDIR=" WORK "/tmp", NULL};
	const char *argv[] = {SOFFICE,
			      "--headless",
			      "--invisible",
			      "--norestore",
			      "--nolockcheck",
			      "--nodefault",
			      "--nologo",
			      "--nofirststartwizard",
			      "-env:UserInstallation=file://" WORK "/profile",
			      "--convert-to",
			      filter,
			      "--outdir",
			      WORK "/out",
			      in,
			      NULL};
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
			_exit(127);
		char *const *v;
		memcpy(&v, (const char *const *[]){argv}, sizeof(v)); /* execve's argv type predates const */
		execve(SOFFICE, v, env);
		_exit(127);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int main(int argc, char **argv)
{
	struct cdr_legacy_info info;
	uint8_t *in = NULL;
	void *out = NULL;
	size_t inlen = 0, outlen = 0;
	char path[256], filter[64];
	const char *ext;
	int rc;

	static const char usage[] = "usage: sekisho-cdr-office ooxml|pdf < IN > OUT\n";
	if ((rc = version_cli(argc, argv, "sekisho-cdr-office", usage)) >= 0)
		return rc;
	if (argc != 2 || (strcmp(argv[1], "ooxml") != 0 && strcmp(argv[1], "pdf") != 0)) {
		fputs(usage, stderr);
		return 2;
	}
	rc = cdr_filter_read_input("sekisho-cdr-office", MAX_INPUT, &in, &inlen);
	if (rc)
		return rc;
	cdr_legacy_sniff(in, inlen, &info);
	if (info.type[0])
		fprintf(stderr, "type %s\n", info.type);
	if (info.encrypted) {
		free(in);
		return refuse("encrypted");
	}
	if (!info.ext[0]) {
		free(in);
		return refuse("unsupported-format");
	}
	if (info.macros)
		fprintf(stderr, "removed macros\n");
	ext = strcmp(argv[1], "pdf") == 0 ? "pdf" : info.ext;
	/* the filter by name, so that LibreOffice never picks a macro-enabled
	 * variant (docm, xlsm) of the target */
	if (strcmp(ext, "docx") == 0)
		snprintf(filter, sizeof(filter), "docx:MS Word 2007 XML");
	else if (strcmp(ext, "xlsx") == 0)
		snprintf(filter, sizeof(filter), "xlsx:Calc MS Excel 2007 XML");
	else if (strcmp(ext, "pptx") == 0)
		snprintf(filter, sizeof(filter), "pptx:Impress MS PowerPoint 2007 XML");
	else
		snprintf(filter, sizeof(filter), "pdf");
	snprintf(path, sizeof(path), WORK "/in.%s", info.type);
	if (mkdir(WORK, 0700) < 0 || mkdir(WORK "/tmp", 0700) < 0 || mkdir(WORK "/out", 0700) < 0 ||
	    mkdir(WORK "/profile", 0700) < 0 || mkdir(WORK "/profile/user", 0700) < 0 ||
	    (rc = write_file(WORK "/profile/user/registrymodifications.xcu", profile, sizeof(profile) - 1)) < 0 ||
	    (rc = write_file(path, in, inlen)) < 0) {
		fprintf(stderr, "sekisho-cdr-office: work files: %s\n", strerror(rc < 0 ? -rc : errno));
		free(in);
		return 2;
	}
	free(in);
	/* 81: soffice.bin asks to be started again after it set up the new
	 * profile (the soffice script loops on it) */
	for (int i = 0; i < 3 && (i == 0 || rc == 81); i++)
		rc = run_soffice(filter, path);
	if (rc < 0) {
		fprintf(stderr, "sekisho-cdr-office: soffice: %s\n", strerror(-rc));
		return 2;
	}
	snprintf(path, sizeof(path), WORK "/out/in.%s", ext);
	rc = fdio_read_file(path, MAX_OUTPUT, &out, &outlen);
	if (rc == -EFBIG)
		return refuse("output-size-limit");
	if (rc || outlen == 0) {
		free(out);
		return refuse("conversion-failed");
	}
	fprintf(stderr, "ext %s\n", ext);
	rc = cdr_filter_write_product("sekisho-cdr-office", out, outlen);
	free(out);
	return rc;
}
