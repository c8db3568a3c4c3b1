/* policy_diag: collecting and rendering diagnostics (see policy_diag.h).
 *
 * Entries are recorded in the order they are reported; rendering prints
 * each as "file:line:col: severity: message", then the source line and a
 * caret line ("^" under the first character of the span, "~" under the
 * rest), then any further lines of the message as they are.
 *
 * The caret line must line up on a terminal, so it is built from the source
 * line itself: tabs are copied, East Asian wide and fullwidth characters
 * take two columns, every other character one.  Control characters other
 * than tab are shown as '?' so that a diagnostic never writes raw control
 * bytes to a terminal.
 *
 * Messages are translated when they are reported (i18n.h): the format
 * goes through the catalogue before it is expanded, so the call sites stay
 * plain printf calls, xgettext finds them by the macro names (po/meson.build),
 * and the arguments (names from the policy) are never looked up.  The
 * "file:line:col: error:" prefix stays English whatever the language: editors
 * and scripts parse it (as they do GCC's, which keeps it too).
 *
 * Past max_errors errors one final "too many errors" error is recorded and
 * everything after it is dropped (nerrors keeps counting, so callers can
 * still tell that errors happened).  Allocation failures abort (xalloc). */
#include "rules/policy_diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#define DIAG_DEFAULT_MAX_ERRORS 1000

void policy_diag_init(struct diag *d)
{
	memset(d, 0, sizeof *d);
}

void policy_diag_free(struct diag *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->v[i].message);
	free(d->v);
	for (size_t i = 0; i < d->nsrc; i++) {
		free(d->src[i].name);
		free(d->src[i].text);
	}
	free(d->src);
	memset(d, 0, sizeof *d);
}

const char *policy_diag_add_source(struct diag *d, const char *name, const char *text, size_t len)
{
	xgrow(&d->src, &d->srccap, d->nsrc + 1, sizeof *d->src);
	struct diag_source *s = &d->src[d->nsrc++];
	s->name = xstrdup(name);
	s->text = xmalloc(len + 1);
	if (len)
		memcpy(s->text, text, len);
	s->text[len] = '\0';
	s->len = len;
	return s->name;
}

static size_t diag_max_errors(const struct diag *d)
{
	return d->max_errors ? d->max_errors : DIAG_DEFAULT_MAX_ERRORS;
}

static void diag_append(struct diag *d, enum diag_severity sev, struct policy_loc loc, char *msg)
{
	xgrow(&d->v, &d->cap, d->n + 1, sizeof *d->v);
	d->v[d->n++] = (struct diag_entry){.severity = sev, .loc = loc, .message = msg};
}

void policy_diag_report(struct diag *d, enum diag_severity sev, struct policy_loc loc, const char *fmt, ...)
{
	size_t max = diag_max_errors(d);

	/* Once past the limit nothing more is recorded: later notes and
	 * warnings would belong to errors that are no longer shown. */
	if (d->nerrors > max) {
		if (sev == DIAG_ERROR)
			d->nerrors++;
		return;
	}
	if (sev == DIAG_ERROR && d->nerrors == max) {
		d->nerrors++;
		diag_append(d, DIAG_ERROR, (struct policy_loc){0},
			    xasprintf(_("too many errors (more than %zu); the rest are not shown"), max));
		return;
	}

	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(&sb, _(fmt), ap);
	va_end(ap);
	diag_append(d, sev, loc, strbuf_steal(&sb));
	if (sev == DIAG_ERROR)
		d->nerrors++;
	else if (sev == DIAG_WARNING)
		d->nwarnings++;
}

/* The source registered under file: the pointer itself first (locs normally
 * point at the stored name), else by name. */
static const struct diag_source *diag_find_source(const struct diag *d, const char *file)
{
	for (size_t i = d->nsrc; i-- > 0;)
		if (d->src[i].name == file)
			return &d->src[i];
	for (size_t i = d->nsrc; i-- > 0;)
		if (!strcmp(d->src[i].name, file))
			return &d->src[i];
	return NULL;
}

/* Length in bytes of the UTF-8 sequence at s (at most n bytes), and its code
 * point; invalid sequences count as one byte of their own. */
static size_t diag_utf8_char(const unsigned char *s, size_t n, uint32_t *ret_cp)
{
	size_t len = utf8_decode(s, n, ret_cp);
	if (len == 0) {
		*ret_cp = 0xfffd;
		return 1;
	}
	return len;
}

/* East Asian Wide (W) and Fullwidth (F) ranges of Unicode, as terminals
 * draw them: two columns each. */
static const struct {
	uint32_t lo, hi;
} diag_wide[] = {
	{0x1100, 0x115f},   {0x231a, 0x231b},   {0x2329, 0x232a},   {0x23e9, 0x23ec},   {0x23f0, 0x23f0},
	{0x23f3, 0x23f3},   {0x25fd, 0x25fe},   {0x2614, 0x2615},   {0x2648, 0x2653},   {0x267f, 0x267f},
	{0x2693, 0x2693},   {0x26a1, 0x26a1},   {0x26aa, 0x26ab},   {0x26bd, 0x26be},   {0x26c4, 0x26c5},
	{0x26ce, 0x26ce},   {0x26d4, 0x26d4},   {0x26ea, 0x26ea},   {0x26f2, 0x26f3},   {0x26f5, 0x26f5},
	{0x26fa, 0x26fa},   {0x26fd, 0x26fd},   {0x2705, 0x2705},   {0x270a, 0x270b},   {0x2728, 0x2728},
	{0x274c, 0x274c},   {0x274e, 0x274e},   {0x2753, 0x2755},   {0x2757, 0x2757},   {0x2795, 0x2797},
	{0x27b0, 0x27b0},   {0x27bf, 0x27bf},   {0x2b1b, 0x2b1c},   {0x2b50, 0x2b50},   {0x2b55, 0x2b55},
	{0x2e80, 0x303e},   {0x3041, 0x33ff},   {0x3400, 0x4dbf},   {0x4e00, 0x9fff},   {0xa000, 0xa4cf},
	{0xa960, 0xa97f},   {0xac00, 0xd7a3},   {0xf900, 0xfaff},   {0xfe10, 0xfe19},   {0xfe30, 0xfe6f},
	{0xff00, 0xff60},   {0xffe0, 0xffe6},   {0x16fe0, 0x16fe4}, {0x17000, 0x18cff}, {0x1b000, 0x1b2ff},
	{0x1f004, 0x1f004}, {0x1f0cf, 0x1f0cf}, {0x1f18e, 0x1f18e}, {0x1f191, 0x1f19a}, {0x1f200, 0x1f202},
	{0x1f210, 0x1f23b}, {0x1f240, 0x1f248}, {0x1f250, 0x1f251}, {0x1f260, 0x1f265}, {0x1f300, 0x1f64f},
	{0x1f680, 0x1f6ff}, {0x1f7e0, 0x1f7eb}, {0x1f90c, 0x1f9ff}, {0x1fa70, 0x1faff}, {0x20000, 0x2fffd},
	{0x30000, 0x3fffd},
};

static unsigned diag_cp_width(uint32_t cp)
{
	size_t lo = 0, hi = sizeof diag_wide / sizeof diag_wide[0];
	if (cp < 0x1100)
		return 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cp < diag_wide[mid].lo)
			hi = mid;
		else if (cp > diag_wide[mid].hi)
			lo = mid + 1;
		else
			return 2;
	}
	return 1;
}

/* Append n copies of c. */
static void diag_repeat(struct strbuf *out, char c, size_t n)
{
	while (n--)
		strbuf_putc(out, c);
}

/* Where the last source line was found: entries mostly come in line order,
 * so the next search starts there instead of at the top of the file. */
struct diag_cursor {
	const struct diag_source *src;
	uint32_t line;
	const char *p;
};

/* Print the source line of loc and the caret line under its span. */
static void diag_render_source(const struct diag_source *s, const struct policy_loc *loc, struct strbuf *out,
			       bool color, struct diag_cursor *cur)
{
	const char *p = s->text, *end = s->text + s->len;
	uint32_t line = 1;

	if (cur->src == s && cur->line <= loc->line) {
		p = cur->p;
		line = cur->line;
	}
	while (line < loc->line && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return;
		p = nl + 1;
		line++;
	}
	if (line != loc->line)
		return;
	*cur = (struct diag_cursor){s, line, p};
	const char *eol = memchr(p, '\n', (size_t)(end - p));
	size_t n = eol ? (size_t)(eol - p) : (size_t)(end - p);
	if (n && p[n - 1] == '\r')
		n--;

	size_t start = loc->col ? loc->col - 1 : 0;
	if (start > n)
		start = n;
	size_t stop = start + (loc->len ? loc->len : 1);
	if (stop > n)
		stop = n;

	struct strbuf caret = STRBUF_INIT;
	bool first = true;
	strbuf_puts(out, "  ");
	strbuf_puts(&caret, "  ");
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t clen = diag_utf8_char((const unsigned char *)p + i, n - i, &cp);
		unsigned w = 1;
		if (p[i] == '\t') {
			strbuf_putc(out, '\t');
		} else if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f || ((unsigned char)p[i] >= 0x80 && clen == 1)) {
			/* control bytes and broken UTF-8: show something harmless */
			strbuf_putc(out, '?');
		} else {
			strbuf_append(out, p + i, clen);
			w = diag_cp_width(cp);
		}
		if (i < start)
			diag_repeat(&caret, p[i] == '\t' ? '\t' : ' ', p[i] == '\t' ? 1 : w);
		else if (i < stop) {
			strbuf_putc(&caret, first ? '^' : '~');
			diag_repeat(&caret, '~', w - 1);
			first = false;
		}
		i += clen;
	}
	if (first) /* the span starts at the end of the line */
		strbuf_putc(&caret, '^');
	strbuf_putc(out, '\n');
	if (color)
		strbuf_puts(out, "\033[1;32m");
	strbuf_append(out, caret.buf, caret.len);
	if (color)
		strbuf_puts(out, "\033[0m");
	strbuf_putc(out, '\n');
	strbuf_free(&caret);
}

static void diag_render_entry(const struct diag *d, const struct diag_entry *e, struct strbuf *out, bool color,
			      struct diag_cursor *cur)
{
	static const char *const label[] = {[DIAG_NOTE] = "note", [DIAG_WARNING] = "warning", [DIAG_ERROR] = "error"};
	static const char *const colour[] = {
		[DIAG_NOTE] = "\033[1;36m", [DIAG_WARNING] = "\033[1;35m", [DIAG_ERROR] = "\033[1;31m"};
	const char *msg = e->message;
	const char *nl = strchr(msg, '\n');
	size_t first = nl ? (size_t)(nl - msg) : strlen(msg);

	if (color)
		strbuf_puts(out, "\033[1m");
	if (e->loc.file && e->loc.line)
		strbuf_printf(out, "%s:%u:%u: ", e->loc.file, e->loc.line, e->loc.col);
	else if (e->loc.file)
		strbuf_printf(out, "%s: ", e->loc.file);
	if (color)
		strbuf_printf(out, "\033[0m%s", colour[e->severity]);
	strbuf_printf(out, "%s:", label[e->severity]);
	if (color)
		strbuf_puts(out, "\033[0m\033[1m");
	strbuf_putc(out, ' ');
	strbuf_append(out, msg, first);
	if (color)
		strbuf_puts(out, "\033[0m");
	strbuf_putc(out, '\n');

	if (e->loc.file && e->loc.line) {
		const struct diag_source *s = diag_find_source(d, e->loc.file);
		if (s)
			diag_render_source(s, &e->loc, out, color, cur);
	}
	if (nl) {
		strbuf_puts(out, nl + 1);
		if (msg[strlen(msg) - 1] != '\n')
			strbuf_putc(out, '\n');
	}
}

static void diag_render_all(const struct diag *d, struct strbuf *out, bool color)
{
	struct diag_cursor cur = {0};
	for (size_t i = 0; i < d->n; i++)
		diag_render_entry(d, &d->v[i], out, color, &cur);
}

void policy_diag_render(const struct diag *d, struct strbuf *out)
{
	diag_render_all(d, out, false);
}

void policy_diag_print(const struct diag *d, FILE *out, bool color)
{
	struct strbuf sb = STRBUF_INIT;
	diag_render_all(d, &sb, color);
	if (sb.len)
		fwrite(sb.buf, 1, sb.len, out);
	strbuf_free(&sb);
	fflush(out);
}
