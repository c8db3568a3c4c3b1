/* policy_parse: recursive descent over the tokens of one policy file (see
 * policy_parse.h) into the syntax tree (policy_ast.h).
 *
 * Each statement is parsed by its own function with one token of look
 * ahead.  The parser checks syntax only: which words may appear where,
 * names well formed, lists well formed.  Everything that needs to know
 * other statements (names, kinds, values of literals) is the evaluator's.
 *
 * On a syntax error the statement is marked broken and the rest of it is
 * skipped; parsing resumes at the next statement.  Allocation failures
 * abort (xalloc). */
#include "rules/policy_parse.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/i18n.h"
#include "common/strbuf.h"
#include "common/xalloc.h"

/* ---- names and suggestions ---- */

bool policy_parse_is_name(const char *s, size_t n)
{
	if (n == 0 || n > POLICY_MAX_NAME)
		return false;
	if (!((s[0] >= 'a' && s[0] <= 'z') || (s[0] >= 'A' && s[0] <= 'Z') || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
		      c == '.' || c == '-'))
			return false;
	}
	return true;
}

unsigned policy_parse_distance(const char *a, size_t an, const char *b, size_t bn, unsigned max)
{
	/* names are short (<= 63 bytes); longer input is never "close" */
	enum { N = 80 };
	unsigned prev[N + 1], cur[N + 1];
	if (an > N || bn > N)
		return max + 1;
	if ((an > bn ? an - bn : bn - an) > max)
		return max + 1;
	for (size_t j = 0; j <= bn; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= an; i++) {
		unsigned best = max + 1;
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= bn; j++) {
			unsigned v = prev[j - 1] + (a[i - 1] != b[j - 1]);
			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			cur[j] = v;
			if (v < best)
				best = v;
		}
		if (best > max)
			return max + 1;
		memcpy(prev, cur, (bn + 1) * sizeof prev[0]);
	}
	return prev[bn] > max ? max + 1 : prev[bn];
}

const char *policy_parse_suggest(const char *s, size_t len, const char *const *words, size_t n)
{
	const char *best = NULL;
	unsigned bestd = 3;
	for (size_t i = 0; i < n; i++) {
		unsigned dist = policy_parse_distance(s, len, words[i], strlen(words[i]), 2);
		if (dist < bestd) {
			bestd = dist;
			best = words[i];
		}
	}
	return best;
}

/* ---- parser ---- */

struct parser {
	struct policy_ast *ast;
	struct policy_lexer *lx;
	uint32_t file;
	struct policy_token tok;
	size_t lex_mark; /* lexer errors before this statement */
	bool failed;     /* a syntax error in this statement */
	policy_parse_include_fn include;
	void *ctx;
	struct ast_item *tmp; /* list being built */
	size_t ntmp, tmpcap;
};

static void next(struct parser *p)
{
	policy_lex_next(p->lx, &p->tok);
}

static struct ast_loc tok_loc(const struct parser *p)
{
	return (struct ast_loc){p->file, p->tok.loc.line, p->tok.loc.col, p->tok.loc.len};
}

static struct ast_word tok_word(struct parser *p)
{
	return (struct ast_word){
		.s = policy_ast_strndup(p->ast, p->tok.text, p->tok.len),
		.len = (uint32_t)p->tok.len,
		.loc = tok_loc(p),
	};
}

static bool is_word(const struct parser *p, const char *w)
{
	size_t n = strlen(w);
	return p->tok.kind == TOK_WORD && p->tok.len == n && !memcmp(p->tok.text, w, n);
}

/* The current token for a message: 'word', a string, end of line, ... */
static const char *tok_desc(const struct parser *p, char *buf, size_t n)
{
	if (p->tok.kind == TOK_WORD) {
		if (p->tok.len > 40)
			snprintf(buf, n, "'%.40s...'", p->tok.text);
		else
			snprintf(buf, n, "'%.*s'", (int)p->tok.len, p->tok.text);
		return buf;
	}
	return policy_lex_kind_name(p->tok.kind);
}

/* Report a syntax error at the current token (once per statement, and not
 * right after a lexical error in the same statement). */
__attribute__((format(printf, 2, 3))) static void syntax_error(struct parser *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	if (p->lx->nerrors != p->lex_mark)
		return;
	struct strbuf sb = STRBUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(&sb, _(fmt), ap);
	va_end(ap);
	struct policy_loc loc = p->tok.loc;
	if (p->tok.kind == TOK_NEWLINE || p->tok.kind == TOK_EOF)
		loc.len = 0;
	policy_diag_error(p->lx->d, loc, "%s", strbuf_str(&sb));
	strbuf_free(&sb);
}

/* "expected X, found Y" at the current token; what is a message of its own
 * (a keyword of xgettext, translated here) or already translated. */
static void expected(struct parser *p, const char *what)
{
	char buf[64];
	syntax_error(p, "expected %s, found %s", _(what), tok_desc(p, buf, sizeof buf));
}

static bool expect_string(struct parser *p, struct ast_word *out, const char *after)
{
	if (p->tok.kind != TOK_STRING) {
		char what[96];
		snprintf(what, sizeof what, _("a string in double quotes after '%s'"), after);
		expected(p, what);
		return false;
	}
	*out = tok_word(p);
	next(p);
	return true;
}

/* A NAME at the current token. */
static bool expect_name(struct parser *p, struct ast_word *out, const char *after)
{
	if (p->tok.kind != TOK_WORD) {
		char what[96];
		snprintf(what, sizeof what, _("a name after '%s'"), after);
		expected(p, what);
		return false;
	}
	if (!policy_parse_is_name(p->tok.text, p->tok.len)) {
		if (p->tok.len > POLICY_MAX_NAME)
			syntax_error(p, "name is longer than %d bytes", POLICY_MAX_NAME);
		else
			syntax_error(p,
				     "invalid name '%.*s': a name starts with a letter or '_' "
				     "and has only letters, digits, '_', '.' and '-'",
				     (int)p->tok.len, p->tok.text);
		return false;
	}
	*out = tok_word(p);
	next(p);
	return true;
}

static void tmp_push(struct parser *p, const struct ast_item *it)
{
	xgrow(&p->tmp, &p->tmpcap, p->ntmp + 1, sizeof *p->tmp);
	p->tmp[p->ntmp++] = *it;
}

/* Move the items collected since mark into list (arena). */
static void tmp_take(struct parser *p, size_t mark, struct ast_list *list)
{
	size_t n = p->ntmp - mark;
	list->n = (uint32_t)n;
	list->v = policy_ast_alloc(p->ast, n * sizeof *list->v);
	if (n)
		memcpy(list->v, p->tmp + mark, n * sizeof *list->v);
	p->ntmp = mark;
}

enum list_kind {
	LIST_ADDR, /* address items */
	LIST_SVC,  /* service items */
	LIST_NAME, /* names (zones, via hosts, isolate) */
	LIST_WORD, /* any word (interfaces) */
};

static bool is_port_proto(const char *s, size_t n)
{
	static const char *const w[] = {"tcp", "udp", "sctp", "udplite", "dccp", "icmp", "icmpv6"};
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
		if (strlen(w[i]) == n && !memcmp(w[i], s, n))
			return true;
	return false;
}

/* One item of a list of the given kind at the current token. */
static bool parse_item(struct parser *p, enum list_kind kind, const char *what)
{
	struct ast_item it = {0};
	if (p->tok.kind != TOK_WORD) {
		expected(p, what);
		return false;
	}
	const char *s = p->tok.text;
	size_t n = p->tok.len;
	bool any = n == 3 && !memcmp(s, "any", 3);

	switch (kind) {
	case LIST_ADDR:
		if (any)
			it.kind = AST_ITEM_ANY;
		else if (n == 4 && !memcmp(s, "self", 4))
			it.kind = AST_ITEM_SELF;
		else if ((s[0] >= '0' && s[0] <= '9') || memchr(s, ':', n))
			it.kind = AST_ITEM_LITERAL;
		else
			it.kind = AST_ITEM_NAME;
		break;
	case LIST_SVC:
		if (any || memchr(s, '/', n) || is_port_proto(s, n))
			it.kind = AST_ITEM_SPEC;
		else
			it.kind = AST_ITEM_NAME;
		break;
	case LIST_NAME:
		it.kind = any ? AST_ITEM_ANY : AST_ITEM_WORD;
		if (!any && !policy_parse_is_name(s, n)) {
			struct ast_word dummy;
			return expect_name(p, &dummy, what);
		}
		break;
	case LIST_WORD:
		it.kind = AST_ITEM_WORD;
		break;
	}
	if (it.kind == AST_ITEM_NAME && !policy_parse_is_name(s, n)) {
		if (n > POLICY_MAX_NAME)
			syntax_error(p, "name is longer than %d bytes", POLICY_MAX_NAME);
		else
			syntax_error(p,
				     "invalid name '%.*s': a name starts with a letter or '_' "
				     "and has only letters, digits, '_', '.' and '-'",
				     (int)n, s);
		return false;
	}
	it.w = tok_word(p);
	next(p);
	if (it.kind == AST_ITEM_SPEC && is_word(p, "sport")) {
		next(p);
		if (p->tok.kind != TOK_WORD) {
			expected(p, "source ports after 'sport'");
			return false;
		}
		it.sport = tok_word(p);
		next(p);
	}
	tmp_push(p, &it);
	return true;
}

/* ITEM {, ITEM} */
static bool parse_list(struct parser *p, enum list_kind kind, const char *what, struct ast_list *out)
{
	size_t mark = p->ntmp;
	for (;;) {
		if (p->ntmp - mark >= POLICY_MAX_LIST) {
			syntax_error(p, "list longer than %d items", POLICY_MAX_LIST);
			p->ntmp = mark;
			return false;
		}
		if (!parse_item(p, kind, what)) {
			p->ntmp = mark;
			return false;
		}
		if (p->tok.kind != TOK_COMMA)
			break;
		next(p);
	}
	tmp_take(p, mark, out);
	return true;
}

static struct ast_stmt *new_stmt(struct parser *p, enum ast_stmt_kind kind)
{
	struct ast_stmt *st = policy_ast_alloc(p->ast, sizeof *st);
	st->kind = kind;
	st->loc = tok_loc(p);
	next(p); /* the keyword */
	return st;
}

/* A word option given twice: say so. */
static bool once(struct parser *p, bool seen)
{
	if (seen) {
		char buf[64];
		syntax_error(p, "%s given twice", tok_desc(p, buf, sizeof buf));
		return false;
	}
	return true;
}

/* Unknown option at the current token: a message naming the valid ones. */
static void bad_option(struct parser *p, const char *stmt, const char *const *opts, size_t n)
{
	char buf[64];
	struct strbuf sb = STRBUF_INIT;
	for (size_t i = 0; i < n; i++)
		strbuf_printf(&sb, "%s%s", i == 0 ? "" : i + 1 == n ? _(" or ") : _(", "), opts[i]);
	if (p->tok.kind == TOK_WORD) {
		const char *s = policy_parse_suggest(p->tok.text, p->tok.len, opts, n);
		if (s)
			syntax_error(p, "unknown option %s for %s; did you mean '%s'?", tok_desc(p, buf, sizeof buf),
				     stmt, s);
		else
			syntax_error(p, "unknown option %s for %s (expected %s)", tok_desc(p, buf, sizeof buf), stmt,
				     strbuf_str(&sb));
	} else {
		syntax_error(p, "unexpected %s in %s (expected %s or end of line)", tok_desc(p, buf, sizeof buf), stmt,
			     strbuf_str(&sb));
	}
	strbuf_free(&sb);
}

#define NOPTS(a) (sizeof(a) / sizeof((a)[0]))

/* policy STRING [version STRING] */
static struct ast_stmt *parse_policy(struct parser *p)
{
	static const char *const opts[] = {"version"};
	struct ast_stmt *st = new_stmt(p, AST_POLICY);
	if (!expect_string(p, &st->name, "policy"))
		return st;
	while (p->tok.kind != TOK_NEWLINE) {
		if (is_word(p, "version")) {
			if (!once(p, st->version.s))
				return st;
			next(p);
			if (!expect_string(p, &st->version, "version"))
				return st;
		} else {
			bad_option(p, "policy", opts, NOPTS(opts));
			return st;
		}
	}
	return st;
}

/* require owner|description {, owner|description} */
static struct ast_stmt *parse_require(struct parser *p)
{
	struct ast_stmt *st = new_stmt(p, AST_REQUIRE);
	size_t mark = p->ntmp;
	for (;;) {
		if (!is_word(p, "owner") && !is_word(p, "description")) {
			static const char *const words[] = {"owner", "description"};
			const char *s = p->tok.kind == TOK_WORD
				? policy_parse_suggest(p->tok.text, p->tok.len, words, 2)
				: NULL;
			char buf[64];
			if (s)
				syntax_error(p,
					     "require takes owner or description, not %s; did you "
					     "mean '%s'?",
					     tok_desc(p, buf, sizeof buf), s);
			else
				expected(p, "owner or description");
			p->ntmp = mark;
			return st;
		}
		struct ast_item it = {.kind = AST_ITEM_WORD, .w = tok_word(p)};
		tmp_push(p, &it);
		next(p);
		if (p->tok.kind != TOK_COMMA)
			break;
		next(p);
	}
	tmp_take(p, mark, &st->items);
	return st;
}

/* include STRING */
static struct ast_stmt *parse_include(struct parser *p)
{
	struct ast_stmt *st = new_stmt(p, AST_INCLUDE);
	expect_string(p, &st->name, "include");
	return st;
}

/* zone NAME [tier T] [interface IF {, IF}] [network ADDR {, ADDR}] [description S] */
static struct ast_stmt *parse_zone(struct parser *p)
{
	static const char *const opts[] = {"tier", "interface", "network", "description"};
	static const char *const tiers[] = {"mynumber", "lgwan", "internet", "none"};
	struct ast_stmt *st = new_stmt(p, AST_ZONE);
	bool has_if = false;

	if (!expect_name(p, &st->name, "zone"))
		return st;
	while (p->tok.kind != TOK_NEWLINE) {
		if (is_word(p, "tier")) {
			if (!once(p, st->tier.s))
				return st;
			next(p);
			bool ok = false;
			for (size_t i = 0; i < NOPTS(tiers); i++)
				ok |= is_word(p, tiers[i]);
			if (!ok) {
				const char *s = p->tok.kind == TOK_WORD
					? policy_parse_suggest(p->tok.text, p->tok.len, tiers, NOPTS(tiers))
					: NULL;
				char buf[64];
				if (s)
					syntax_error(p, "unknown tier %s; did you mean '%s'?",
						     tok_desc(p, buf, sizeof buf), s);
				else
					expected(p, "a tier (mynumber, lgwan, internet or none)");
				return st;
			}
			st->tier = tok_word(p);
			next(p);
		} else if (is_word(p, "interface")) {
			if (!once(p, has_if))
				return st;
			has_if = true;
			next(p);
			if (!parse_list(p, LIST_WORD, "an interface name", &st->ifaces))
				return st;
		} else if (is_word(p, "network")) {
			if (!once(p, st->has_network))
				return st;
			st->has_network = true;
			next(p);
			if (!parse_list(p, LIST_ADDR, "an address, prefix, object name or any", &st->items))
				return st;
		} else if (is_word(p, "description")) {
			if (!once(p, st->description.s))
				return st;
			next(p);
			if (!expect_string(p, &st->description, "description"))
				return st;
		} else {
			bad_option(p, "zone", opts, NOPTS(opts));
			return st;
		}
	}
	return st;
}

/* Trailing [description STRING] of object definitions. */
static void parse_description_only(struct parser *p, struct ast_stmt *st, const char *stmt)
{
	static const char *const opts[] = {"description"};
	while (p->tok.kind != TOK_NEWLINE) {
		if (is_word(p, "description")) {
			if (!once(p, st->description.s))
				return;
			next(p);
			if (!expect_string(p, &st->description, "description"))
				return;
		} else if (p->tok.kind == TOK_WORD || p->tok.kind == TOK_STRING) {
			bad_option(p, stmt, opts, NOPTS(opts));
			return;
		} else {
			char buf[64];
			syntax_error(p, "unexpected %s; items of a list are separated by ','",
				     tok_desc(p, buf, sizeof buf));
			return;
		}
	}
}

/* host/network/range/group NAME ITEM {, ITEM} [description S] */
static struct ast_stmt *parse_addr_object(struct parser *p, enum ast_stmt_kind kind, const char *kw)
{
	struct ast_stmt *st = new_stmt(p, kind);
	if (!expect_name(p, &st->name, kw))
		return st;
	const char *what = kind == AST_HOST ? "an address or self"
		: kind == AST_NETWORK       ? "a prefix"
		: kind == AST_RANGE         ? "an address range A-B"
					    : "an address, prefix, range, object name or any";
	if (!parse_list(p, LIST_ADDR, what, &st->items))
		return st;
	parse_description_only(p, st, kw);
	return st;
}

/* service/service-group NAME SVCITEM {, SVCITEM} [description S] */
static struct ast_stmt *parse_svc_object(struct parser *p, enum ast_stmt_kind kind, const char *kw)
{
	struct ast_stmt *st = new_stmt(p, kind);
	if (!expect_name(p, &st->name, kw))
		return st;
	if (!parse_list(p, LIST_SVC, "a service (tcp/PORT, udp/PORT, icmp/TYPE, proto/P, any or a name)", &st->items))
		return st;
	parse_description_only(p, st, kw);
	return st;
}

/* ZONES [ "[" ADDRITEM {, ADDRITEM} "]" ] */
static bool parse_endpoint(struct parser *p, struct ast_endpoint *ep)
{
	struct ast_loc start = tok_loc(p);
	if (!parse_list(p, LIST_NAME, "a zone name or any", &ep->zones))
		return false;
	ep->loc = start;
	if (p->tok.kind == TOK_LBRACKET) {
		ep->has_addrs = true;
		next(p);
		if (p->tok.kind == TOK_RBRACKET) {
			syntax_error(p, "empty address list (leave out the brackets to mean any address)");
			return false;
		}
		if (!parse_list(p, LIST_ADDR, "an address, prefix, range, object name or any", &ep->addrs))
			return false;
		if (p->tok.kind != TOK_RBRACKET) {
			expected(p, "',' or ']'");
			return false;
		}
		if (p->tok.loc.line == start.line)
			ep->loc.len = p->tok.loc.col + 1 - start.col;
		next(p);
	} else {
		/* span the zone list when it is on one line */
		const struct ast_item *last = &ep->zones.v[ep->zones.n - 1];
		if (last->w.loc.line == start.line)
			ep->loc.len = last->w.loc.col + last->w.loc.len - start.col;
	}
	return true;
}

static bool parse_action(struct parser *p, struct ast_word *out)
{
	if (!is_word(p, "allow") && !is_word(p, "deny") && !is_word(p, "reject")) {
		expected(p, "allow, deny or reject");
		return false;
	}
	*out = tok_word(p);
	next(p);
	return true;
}

static bool parse_service_opt(struct parser *p, struct ast_stmt *st)
{
	if (!once(p, st->has_svc))
		return false;
	st->has_svc = true;
	st->svc_kw = tok_word(p);
	next(p);
	return parse_list(p, LIST_SVC, "a service (tcp/PORT, udp/PORT, icmp/TYPE, proto/P, any or a name)", &st->svc);
}

/* rule STRING ACTION ENDPOINT -> ENDPOINT [service ...] {OPTION} */
static struct ast_stmt *parse_rule(struct parser *p)
{
	static const char *const opts[] = {"service", "log", "description", "owner", "ticket", "expires"};
	struct ast_stmt *st = new_stmt(p, AST_RULE);

	if (p->tok.kind == TOK_WORD) {
		syntax_error(p,
			     "expected the rule name in double quotes, found '%.*s' "
			     "(write: rule \"name\" allow ...)",
			     (int)(p->tok.len > 40 ? 40 : p->tok.len), p->tok.text);
		return st;
	}
	if (!expect_string(p, &st->name, "rule"))
		return st;
	if (!parse_action(p, &st->action))
		return st;
	if (!parse_endpoint(p, &st->from))
		return st;
	if (p->tok.kind != TOK_ARROW) {
		expected(p, "'->' between source and destination");
		return st;
	}
	next(p);
	if (!parse_endpoint(p, &st->to))
		return st;
	while (p->tok.kind != TOK_NEWLINE) {
		if (is_word(p, "service")) {
			if (!parse_service_opt(p, st))
				return st;
		} else if (is_word(p, "log")) {
			if (!once(p, st->log))
				return st;
			st->log = true;
			next(p);
		} else if (is_word(p, "description") || is_word(p, "owner") || is_word(p, "ticket")) {
			struct ast_word *w = is_word(p, "owner") ? &st->owner
				: is_word(p, "ticket")           ? &st->ticket
								 : &st->description;
			if (!once(p, w->s))
				return st;
			char kw[16];
			snprintf(kw, sizeof kw, "%.*s", (int)p->tok.len, p->tok.text);
			next(p);
			if (!expect_string(p, w, kw))
				return st;
		} else if (is_word(p, "expires")) {
			if (!once(p, st->expires.s))
				return st;
			next(p);
			if (p->tok.kind != TOK_WORD && p->tok.kind != TOK_STRING) {
				expected(p, "a date YYYY-MM-DD after 'expires'");
				return st;
			}
			st->expires = tok_word(p);
			next(p);
		} else {
			bad_option(p, "rule", opts, NOPTS(opts));
			return st;
		}
	}
	return st;
}

/* default ZONES -> ZONES ACTION */
static struct ast_stmt *parse_default(struct parser *p)
{
	struct ast_stmt *st = new_stmt(p, AST_DEFAULT);
	if (!parse_endpoint(p, &st->from))
		return st;
	if (st->from.has_addrs) {
		syntax_error(p, "default takes zones, not addresses");
		return st;
	}
	if (p->tok.kind != TOK_ARROW) {
		expected(p, "'->' between the zones");
		return st;
	}
	next(p);
	if (!parse_endpoint(p, &st->to))
		return st;
	if (st->to.has_addrs) {
		syntax_error(p, "default takes zones, not addresses");
		return st;
	}
	parse_action(p, &st->action);
	return st;
}

/* isolate ZONEREF {, ZONEREF} */
static struct ast_stmt *parse_isolate(struct parser *p)
{
	struct ast_stmt *st = new_stmt(p, AST_ISOLATE);
	parse_list(p, LIST_NAME, "a zone name or tier", &st->items);
	return st;
}

/* One zone reference of sanitize into a one-item endpoint. */
static bool parse_zoneref(struct parser *p, struct ast_endpoint *ep)
{
	struct ast_word w;
	if (!expect_name(p, &w, "a zone name or tier"))
		return false;
	ep->zones.n = 1;
	ep->zones.v = policy_ast_alloc(p->ast, sizeof *ep->zones.v);
	ep->zones.v[0] = (struct ast_item){.kind = AST_ITEM_WORD, .w = w};
	ep->loc = w.loc;
	return true;
}

/* sanitize ZONEREF (<->|->) ZONEREF [via HOST {, HOST}] [service ...] */
static struct ast_stmt *parse_sanitize(struct parser *p)
{
	static const char *const opts[] = {"via", "service"};
	struct ast_stmt *st = new_stmt(p, AST_SANITIZE);
	if (p->tok.kind != TOK_WORD) {
		expected(p, "a zone name or tier after 'sanitize'");
		return st;
	}
	if (!parse_zoneref(p, &st->from))
		return st;
	if (p->tok.kind == TOK_BIARROW)
		st->both_ways = true;
	else if (p->tok.kind != TOK_ARROW) {
		expected(p, "'<->' or '->'");
		return st;
	}
	next(p);
	if (p->tok.kind != TOK_WORD) {
		expected(p, "a zone name or tier");
		return st;
	}
	if (!parse_zoneref(p, &st->to))
		return st;
	while (p->tok.kind != TOK_NEWLINE) {
		if (is_word(p, "via")) {
			if (!once(p, st->has_via))
				return st;
			st->has_via = true;
			next(p);
			if (!parse_list(p, LIST_NAME, "a host name after 'via'", &st->via))
				return st;
		} else if (is_word(p, "service")) {
			if (!parse_service_opt(p, st))
				return st;
		} else {
			bad_option(p, "sanitize", opts, NOPTS(opts));
			return st;
		}
	}
	return st;
}

static const char *const keywords[] = {
	"policy", "require", "include",       "zone", "host",    "network", "range",
	"group",  "service", "service-group", "rule", "default", "isolate", "sanitize",
};

static struct ast_stmt *parse_statement(struct parser *p)
{
	char buf[64];
	if (p->tok.kind != TOK_WORD) {
		syntax_error(p, "expected a statement, found %s", tok_desc(p, buf, sizeof buf));
		return NULL;
	}
	if (is_word(p, "policy"))
		return parse_policy(p);
	if (is_word(p, "require"))
		return parse_require(p);
	if (is_word(p, "include"))
		return parse_include(p);
	if (is_word(p, "zone"))
		return parse_zone(p);
	if (is_word(p, "host"))
		return parse_addr_object(p, AST_HOST, "host");
	if (is_word(p, "network"))
		return parse_addr_object(p, AST_NETWORK, "network");
	if (is_word(p, "range"))
		return parse_addr_object(p, AST_RANGE, "range");
	if (is_word(p, "group"))
		return parse_addr_object(p, AST_GROUP, "group");
	if (is_word(p, "service"))
		return parse_svc_object(p, AST_SERVICE, "service");
	if (is_word(p, "service-group"))
		return parse_svc_object(p, AST_SERVICE_GROUP, "service-group");
	if (is_word(p, "rule"))
		return parse_rule(p);
	if (is_word(p, "default"))
		return parse_default(p);
	if (is_word(p, "isolate"))
		return parse_isolate(p);
	if (is_word(p, "sanitize"))
		return parse_sanitize(p);
	const char *s = policy_parse_suggest(p->tok.text, p->tok.len, keywords, NOPTS(keywords));
	if (s)
		syntax_error(p, "unknown statement %s; did you mean '%s'?", tok_desc(p, buf, sizeof buf), s);
	else
		syntax_error(p, "unknown statement %s", tok_desc(p, buf, sizeof buf));
	return NULL;
}

void policy_parse_file(struct policy_ast *ast, struct policy_lexer *lx, uint32_t file, policy_parse_include_fn include,
		       void *ctx)
{
	struct parser p = {.ast = ast, .lx = lx, .file = file, .include = include, .ctx = ctx};

	p.lex_mark = lx->nerrors;
	next(&p);
	while (p.tok.kind != TOK_EOF) {
		if (p.tok.kind == TOK_NEWLINE) {
			p.lex_mark = lx->nerrors;
			next(&p);
			continue;
		}
		p.failed = false;
		struct ast_stmt *st = parse_statement(&p);
		if (!p.failed && p.tok.kind != TOK_NEWLINE) {
			char buf[64];
			syntax_error(&p, "unexpected %s at the end of the statement", tok_desc(&p, buf, sizeof buf));
		}
		if (st) {
			st->broken = p.failed;
			xgrow(&ast->stmts, &ast->stmtcap, ast->nstmts + 1, sizeof *ast->stmts);
			ast->stmts[ast->nstmts++] = st;
		}
		while (p.tok.kind != TOK_NEWLINE && p.tok.kind != TOK_EOF)
			next(&p);
		/* at the end of the include statement: the included file's
		 * statements (and tokens, for the hash) come right here */
		if (st && st->kind == AST_INCLUDE && !st->broken && include)
			include(ctx, st);
	}
	free(p.tmp);
}
