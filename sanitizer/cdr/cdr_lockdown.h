/* cdr_lockdown: what a single-process converter calls first, inside the
 * sandbox, before it reads a byte of its input: a second seccomp filter,
 * on top of the sandbox's, that refuses to start programs (execve,
 * execveat) and new processes (fork, vfork, clone without CLONE_THREAD).
 * Threads stay possible (libraries use them).  So a decoder taken over by
 * its input cannot run anything, not even what the sandbox's read-only
 * /usr holds; and a library that would shell out to a helper program
 * (libarchive does, for compression formats it lacks) fails instead.
 * LibreOffice starts processes of its own and does not call this.
 *
 * Filters only add: nothing can lift this one later.  Never logs. */
#pragma once

/* 0, or -errno (the converter then exits with an error: fail closed). */
int cdr_lockdown(void);
