/* strbuf: a growable NUL-terminated byte string (control plane only).
 *
 * Ownership: the strbuf owns buf; strbuf_free releases it, strbuf_steal
 * hands it to the caller (who then frees it with free()).  Allocation
 * failures abort (xalloc). */
#pragma once
#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf; /* always NUL-terminated once anything was appended */
	size_t len;
	size_t cap;
};

#define STRBUF_INIT \
	{           \
		0   \
	}

void strbuf_append(struct strbuf *sb, const char *s, size_t n);
void strbuf_puts(struct strbuf *sb, const char *s);
void strbuf_putc(struct strbuf *sb, char c);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vprintf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
void strbuf_reset(struct strbuf *sb);
/* Returns the buffer ("" if empty) and leaves sb empty; caller frees. */
char *strbuf_steal(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);
/* Current contents, never NULL. */
const char *strbuf_str(const struct strbuf *sb);
