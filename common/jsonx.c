/* jsonx: whole-input JSON parsing and checked string members
 * (common/jsonx.h). */
#include "common/jsonx.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct json_object *jsonx_parse(const char *buf, size_t len, int depth)
{
	if (len > INT32_MAX)
		return NULL;
	struct json_tokener *tok = json_tokener_new_ex(depth);
	if (!tok)
		return NULL;
	struct json_object *o = json_tokener_parse_ex(tok, buf, (int)len);
	size_t end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	while (o && end < len && (buf[end] == '\n' || buf[end] == ' ' || buf[end] == '\r' || buf[end] == '\t'))
		end++;
	if (o && end != len) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

bool jsonx_opt_str(struct json_object *o, const char *k, char **ret)
{
	struct json_object *v;
	*ret = NULL;
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v, json_type_null))
		return true;
	if (!json_object_is_type(v, json_type_string))
		return false;
	const char *s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return false;
	return (*ret = strdup(s)) != NULL;
}
