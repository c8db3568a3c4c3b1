/* lx_cli: shared edge helpers of sekisho-logexport (see lx_cli.h).
 *
 * Contract: the only module besides the cmd_* files that prints, and only
 * to stderr. */
#include "tools/logexport/lx_cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"

void lx_cli_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs(LX_PROG ": ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

bool lx_cli_load_key(const char *path, struct audit_key *ret_key)
{
	char why[256] = "";
	const char *p = path ? path : LX_DEFAULT_KEY;
	int r = audit_key_load(p, ret_key, why, sizeof why);
	if (r < 0) {
		lx_cli_err(_("cannot load the audit key %s: %s"), p, why[0] ? why : strerror(-r));
		return false;
	}
	return true;
}

const char *lx_cli_file_name(const struct audit_verify_result *res, size_t file)
{
	if (!res || file >= res->nfiles || !res->files[file].name)
		return "?";
	return res->files[file].name;
}

static const char *kind_ja(enum audit_break_kind k)
{
	switch (k) {
	case AUDIT_BREAK_EDITED:
		return "改ざん";
	case AUDIT_BREAK_MISSING:
		return "欠落";
	case AUDIT_BREAK_INSERTED:
		return "挿入";
	case AUDIT_BREAK_REORDERED:
		return "順序入れ替え";
	case AUDIT_BREAK_TRUNCATED:
		return "途切れ";
	case AUDIT_BREAK_FILE_MISSING:
		return "ファイル欠落";
	case AUDIT_BREAK_BAD_KEY:
		return "鍵不一致";
	case AUDIT_BREAK_UNREADABLE:
		return "読み取り不能";
	}
	return "?";
}

void lx_cli_break_text(struct strbuf *sb, const struct audit_verify_result *res, const struct audit_break *b, bool ja)
{
	const char *name = lx_cli_file_name(res, b->file);
	strbuf_puts(sb, ja ? kind_ja(b->kind) : audit_verify_break_kind_name(b->kind));
	if (ja)
		strbuf_printf(sb, " (%s)", audit_verify_break_kind_name(b->kind));
	if (b->line)
		strbuf_printf(sb, " at %s:%" PRIu64, name, b->line);
	else
		strbuf_printf(sb, " at %s", name);
	strbuf_printf(sb, " (offset %" PRIu64 ", seq %" PRIu64, b->offset, b->seq);
	if (b->count > 1)
		strbuf_printf(sb, ", count %" PRIu64, b->count);
	strbuf_putc(sb, ')');
	if (b->detail[0])
		strbuf_printf(sb, ": %.*s", (int)strnlen(b->detail, sizeof b->detail), b->detail);
	if (b->explained)
		strbuf_puts(sb, ja ? " [クラッシュによる途切れとして説明済み]" : " [explained: torn by a crash]");
}

bool lx_cli_uint(const char *opt, const char *arg, uint64_t min, uint64_t max, uint64_t *ret)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || arg[0] == '-' || v < min || v > max) {
		lx_cli_err(_("%s: '%s' is not a number in %" PRIu64 "..%" PRIu64), opt, arg, min, max);
		return false;
	}
	*ret = v;
	return true;
}
