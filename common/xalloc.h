/* xalloc: allocation wrappers for control-plane code.
 *
 * Control-plane programs (the compiler, tools) may abort on out-of-memory;
 * these wrappers do so with a message.  The packet path never calls them.
 * Every multiplication is overflow-checked.  xfree(NULL) does nothing. */
#pragma once
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
/* printf into a freshly allocated string; the caller frees it. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Grow *p (holding *cap elements of size) so that it holds at least need. */
void xgrow(void *pp, size_t *cap, size_t need, size_t size);
