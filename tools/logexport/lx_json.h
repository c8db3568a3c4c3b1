/* lx_json: small read helpers over parsed audit records (json-c).
 *
 * Records are hostile input: every helper checks types and returns NULL /
 * false instead of guessing.  Returned strings point into the object. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

struct json_object;

/* Member of obj (NULL if obj is not an object or has no such member). */
struct json_object *lx_json_get(struct json_object *obj, const char *key);
/* The record's "data" object, or NULL. */
struct json_object *lx_json_data(struct json_object *rec);
/* String member (NULL if missing or not a string). */
const char *lx_json_str(struct json_object *obj, const char *key);
/* Member of "data" as a string (NULL if missing or not a string). */
const char *lx_json_data_str(struct json_object *rec, const char *key);
/* Unsigned integer member. */
bool lx_json_u64(struct json_object *obj, const char *key, uint64_t *ret);
/* Boolean member (also accepts the strings "true"/"false"). */
bool lx_json_bool(struct json_object *obj, const char *key, bool *ret);

/* Text of a value for a cell: strings as they are (NUL bytes become
 * U+FFFD), numbers and booleans in JSON form, null as "", arrays and
 * objects as compact JSON.  Appends to sb. */
void lx_json_text(struct json_object *v, struct strbuf *sb);

/* Append bytes as valid UTF-8: invalid sequences become U+FFFD. */
void lx_json_utf8_repair(struct strbuf *sb, const char *s, size_t n);

/* Cut sb to at most max bytes on a UTF-8 character boundary; returns true
 * if it was cut. */
bool lx_json_utf8_cut(struct strbuf *sb, size_t max);
