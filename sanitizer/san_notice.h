/* san_notice: the operator-editable notice templates (Japanese / English).
 *
 * A template file is UTF-8 text of "key = value" lines; '#' starts a comment
 * line; "\n" in a value is a line break; "{name}" placeholders are filled in
 * by san_notice_render (unknown placeholders stay as written).  Keys missing
 * from the file keep the built-in text of the chosen language; an unknown
 * key, a line without '=', or invalid UTF-8 refuses the whole file.
 * `sekisho-sanitize --dump-template ja|en` writes the built-in text.
 *
 * Ownership: a san_notice owns its strings; san_notice_free(NULL) is a no-op. */
#pragma once
#include <stddef.h>
#include <stdio.h>

#include "common/strbuf.h"

struct san_notice;

/* Built-in templates for lang "ja" or "en" (-EINVAL otherwise). */
int san_notice_new(const char *lang, struct san_notice **ret);
/* Built-in of lang overlaid with the file at path.  On a bad file returns
 * -EINVAL and explains (file:line: why) in why. */
int san_notice_load(const char *lang, const char *path, struct san_notice **ret, char *why, size_t whylen);
void san_notice_free(struct san_notice *n);
/* The raw template of key ("" when unknown). */
const char *san_notice_get(const struct san_notice *n, const char *key);
/* Append the template of key with placeholders from kv (name, value pairs,
 * NULL-terminated) to out. */
void san_notice_render(const struct san_notice *n, const char *key, const char *const *kv, struct strbuf *out);
/* Write the built-in template file of lang to f.  0 or -EINVAL. */
int san_notice_dump(const char *lang, FILE *f);
