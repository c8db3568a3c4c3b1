/* lx_json: typed accessors and text forms for audit records (lx_json.h).
 *
 * Contract: read-only over json-c objects owned by the caller; text goes
 * into caller strbufs (abort on OOM).  Never prints. */
#include "tools/logexport/lx_json.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/utf8.h"

struct json_object *lx_json_get(struct json_object *obj, const char *key)
{
	struct json_object *v = NULL;
	if (!obj || !json_object_is_type(obj, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(obj, key, &v))
		return NULL;
	return v;
}

struct json_object *lx_json_data(struct json_object *rec)
{
	struct json_object *d = lx_json_get(rec, "data");
	return d && json_object_is_type(d, json_type_object) ? d : NULL;
}

const char *lx_json_str(struct json_object *obj, const char *key)
{
	struct json_object *v = lx_json_get(obj, key);
	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

const char *lx_json_data_str(struct json_object *rec, const char *key)
{
	return lx_json_str(lx_json_data(rec), key);
}

bool lx_json_u64(struct json_object *obj, const char *key, uint64_t *ret)
{
	struct json_object *v = lx_json_get(obj, key);
	if (!v || !json_object_is_type(v, json_type_int))
		return false;
	/* json-c keeps values above INT64_MAX as uint64; get_uint64 reads
	 * both forms and clamps negative ones to 0 */
	if (json_object_get_int64(v) < 0)
		return false;
	*ret = json_object_get_uint64(v);
	return true;
}

bool lx_json_bool(struct json_object *obj, const char *key, bool *ret)
{
	struct json_object *v = lx_json_get(obj, key);
	if (!v)
		return false;
	if (json_object_is_type(v, json_type_boolean)) {
		*ret = json_object_get_boolean(v);
		return true;
	}
	if (json_object_is_type(v, json_type_string)) {
		const char *s = json_object_get_string(v);
		if (strcmp(s, "true") == 0 || strcmp(s, "false") == 0) {
			*ret = s[0] == 't';
			return true;
		}
	}
	return false;
}

void lx_json_utf8_repair(struct strbuf *sb, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, from = 0;
	while (i < n) {
		uint32_t cp;
		size_t len = p[i] != 0 ? utf8_decode(p + i, n - i, &cp) : 0;
		if (len) {
			i += len;
			continue;
		}
		/* NUL or a bad sequence: flush the good run, write U+FFFD */
		strbuf_append(sb, s + from, i - from);
		strbuf_append(sb, "\xef\xbf\xbd", 3);
		i++;
		from = i;
	}
	strbuf_append(sb, s + from, n - from);
}

bool lx_json_utf8_cut(struct strbuf *sb, size_t max)
{
	if (sb->len <= max)
		return false;
	size_t n = max;
	while (n > 0 && ((unsigned char)sb->buf[n] & 0xc0) == 0x80)
		n--;
	sb->len = n;
	sb->buf[n] = '\0';
	return true;
}

void lx_json_text(struct json_object *v, struct strbuf *sb)
{
	if (!v)
		return;
	switch (json_object_get_type(v)) {
	case json_type_null:
		return;
	case json_type_string:
		lx_json_utf8_repair(sb, json_object_get_string(v), (size_t)json_object_get_string_len(v));
		return;
	case json_type_boolean:
		strbuf_puts(sb, json_object_get_boolean(v) ? "true" : "false");
		return;
	case json_type_int: {
		int64_t i = json_object_get_int64(v);
		if (i < 0)
			strbuf_printf(sb, "%" PRId64, i);
		else
			strbuf_printf(sb, "%" PRIu64, json_object_get_uint64(v));
		return;
	}
	default: {
		const char *s =
			json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
		lx_json_utf8_repair(sb, s, strlen(s));
		return;
	}
	}
}
