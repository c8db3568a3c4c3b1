/* cdr_lockdown: see the header.  Linked into the converters (and into the
 * sandbox test's hostile converter as a source), never into the trusted
 * side. */
#include "sanitizer/cdr/cdr_lockdown.h"
#include "sanitizer/cdr/cdr_asan.h"

#include <errno.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/prctl.h>

/* LeakSanitizer's exit check runs in a task made with clone (not a
 * thread), so the test builds keep clone open; fork, vfork and exec stay
 * refused there too, and the plain builds refuse all of it */

int cdr_lockdown(void)
{
	/* the sandbox set it already; a converter run by hand needs it too */
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -errno;
	scmp_filter_ctx f = seccomp_init(SCMP_ACT_ALLOW);
	if (!f)
		return -ENOMEM;
	int r = 0;
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execve), 0);
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(execveat), 0);
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(fork), 0);
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(vfork), 0);
#if !CDR_ASAN
	/* clone for a new process has no CLONE_THREAD; a thread has it */
	r = r ? r
	      : seccomp_rule_add(f, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(clone), 1,
				 SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, 0));
#endif
	/* clone3 hides its flags behind a pointer: refused, glibc falls back to clone */
	r = r ? r : seccomp_rule_add(f, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
	r = r ? r : seccomp_load(f);
	seccomp_release(f);
	return r;
}
