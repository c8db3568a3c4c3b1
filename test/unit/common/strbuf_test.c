/* strbuf_test: appending, formatting, stealing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/strbuf.h"
#include "test/check.h"

int main(void)
{
	struct strbuf sb = STRBUF_INIT;
	CHECK(strcmp(strbuf_str(&sb), "") == 0);
	strbuf_puts(&sb, "関所");
	strbuf_printf(&sb, " %d:%s", 42, "x");
	CHECK(strcmp(strbuf_str(&sb), "関所 42:x") == 0);
	for (int i = 0; i < 10000; i++)
		strbuf_putc(&sb, 'a');
	CHECK(sb.len == strlen("関所 42:x") + 10000);
	strbuf_reset(&sb);
	CHECK(sb.len == 0 && strcmp(strbuf_str(&sb), "") == 0);
	strbuf_puts(&sb, "keep");
	char *s = strbuf_steal(&sb);
	CHECK(strcmp(s, "keep") == 0 && sb.buf == NULL);
	free(s);
	strbuf_free(&sb);
	return check_done();
}
