/* jsonx: the checked reading of small JSON files that other processes
 * wrote (queue jobs, link manifests, reports, portal requests), on top of
 * json-c.  One place for the rules every such reader follows: the whole
 * input is one value (only white space after it), nesting is capped, and
 * a string member is taken only when it is a string without an embedded
 * NUL (json-c accepts "\u0000").
 *
 * Ownership: jsonx_parse returns a new reference (json_object_put);
 * jsonx_opt_str's *ret is malloc'd for the caller.  Never prints. */
#pragma once
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

/* Parse buf[0..len) as one JSON value nested at most depth levels, with
 * nothing but white space after it.  NULL when it is not (or len exceeds
 * INT32_MAX, or memory runs out). */
struct json_object *jsonx_parse(const char *buf, size_t len, int depth);

/* An optional string member k of o: absent or null gives *ret = NULL and
 * true; a string without an embedded NUL is copied to *ret (true); any
 * other type, an embedded NUL, or no memory gives false (*ret NULL). */
bool jsonx_opt_str(struct json_object *o, const char *k, char **ret);
