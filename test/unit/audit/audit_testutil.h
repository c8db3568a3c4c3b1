/* Helpers shared by the audit unit tests: temporary directories, keys,
 * a controllable clock, file surgery for tampering, and checks. */
#pragma once
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/audit/audit.h"
#include "common/audit/audit_verify.h"
#include "test/check.h"

/* A fresh directory under $TMPDIR (removed by tu_rmrf); caller frees. */
char *tu_tmpdir(const char *tag);
void tu_rmrf(const char *path);
/* path = dir/name; caller frees. */
char *tu_path(const char *dir, const char *name);

/* Create and load a key file at dir/name (0600). */
void tu_key(const char *dir, const char *name, struct audit_key *ret_key);

/* A test clock: a settable wall-clock time (ns). */
struct tu_clock {
	_Atomic int64_t ns;
	_Atomic int64_t step; /* added at every read (ns), 0 = frozen */
};
int64_t tu_clock_now(void *arg);
/* ns of a local time (TZ applies). */
int64_t tu_local_ns(int year, int mon, int day, int hour, int min, int sec);

/* Options for a test log in dir with the given key: no clock.status, no
 * batch sleeps. */
struct audit_opts tu_opts(const char *dir, const struct audit_key *key);
struct audit_log *tu_open(const struct audit_opts *o);

/* Emit a realistic flow.decision record number i. */
int tu_emit_flow(struct audit_log *log, uint64_t i);

/* Verify a directory; caller frees. */
struct audit_verify_result *tu_verify_dir(const char *dir, const struct audit_key *key);
/* Print a result to stderr (for failing tests). */
void tu_dump(const struct audit_verify_result *r);
/* Number of breaks of a kind (unexplained only when unexplained_only). */
size_t tu_breaks(const struct audit_verify_result *r, enum audit_break_kind kind, bool unexplained_only);

/* The audit files of dir, sorted; caller frees with tu_free_names. */
char **tu_files(const char *dir, size_t *ret_n);
void tu_free_names(char **names, size_t n);

/* Whole-file read/write. */
char *tu_read(const char *path, size_t *ret_len);
void tu_write(const char *path, const char *buf, size_t len);
/* Byte offsets of the starts of the lines of buf (ret_n lines). */
size_t *tu_lines(const char *buf, size_t len, size_t *ret_n);
/* Count records with the given event in a directory (parsing every line). */
size_t tu_count_event(const char *dir, const char *event);

/* Copy the audit files (and nothing else) of src into a new dir dst. */
void tu_copy_dir(const char *src, const char *dst);

/* A file loaded as lines, edited in memory, saved back. */
struct tu_file {
	char *path;
	char *buf;
	size_t len;
	size_t *ls; /* line starts */
	size_t n;   /* lines */
};
void tu_file_load(struct tu_file *f, const char *path);
void tu_file_save(struct tu_file *f);
void tu_file_free(struct tu_file *f);
/* Line k (0-based) as a new string without "\n"; caller frees. */
char *tu_file_line(const struct tu_file *f, size_t k);
/* Edits (0-based line numbers); each reloads the line index. */
void tu_file_delete(struct tu_file *f, size_t k);
void tu_file_insert(struct tu_file *f, size_t k, const char *line); /* before line k; line without "\n" */
void tu_file_swap(struct tu_file *f, size_t a, size_t b);
void tu_file_truncate(struct tu_file *f, size_t len);
