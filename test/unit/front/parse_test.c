/* parse_test: statements into the syntax tree, the syntax errors beside the
 * accepted forms, error recovery (one error per statement, broken
 * statements keep their names), places on nodes, include callbacks, and
 * the name and suggestion helpers. */
#include <stdio.h>
#include <string.h>

#include "common/strbuf.h"
#include "rules/policy_parse.h"
#include "test/check.h"

static const char *const kind_names[] = {
	"policy", "require", "include",       "zone", "host",    "network", "range",
	"group",  "service", "service-group", "rule", "default", "isolate", "sanitize",
};

static const struct {
	const char *in;
	const char *stmts; /* "kind:name" per statement, '!' after broken ones */
	const char *error; /* substring of the first error (with line:col), or NULL */
} cases[] = {
	/* accepted */
	{"policy \"p\" version \"1\"", "policy:p", NULL},
	{"require owner, description", "require:", NULL},
	{"zone lgwan tier lgwan interface eth2, eth2.10 network 198.18.20.0/24, any description \"d\"", "zone:lgwan",
	 NULL},
	{"zone z description \"d\" tier none network x interface e", "zone:z", NULL},
	{"host h 198.18.0.1, 2001:db8::1 description \"x\"", "host:h", NULL},
	{"host relay self", "host:relay", NULL},
	{"network n 198.18.0.0/16", "network:n", NULL},
	{"range r 198.18.0.1-198.18.0.9", "range:r", NULL},
	{"group g h, n, 10.0.0.0/8, any", "group:g", NULL},
	{"service s tcp/25, udp/53 sport 1024-65535, icmp/echo-request, proto/gre, any", "service:s", NULL},
	{"service-group sg s, tcp, icmpv6", "service-group:sg", NULL},
	{"rule \"r\" allow lgwan [h, 1.2.3.4] -> internet service s log owner \"o\" description \"d\" "
	 "ticket \"t\" expires 2027-01-01",
	 "rule:r", NULL},
	{"rule \"r\" deny any -> lgwan, mgmt [any]", "rule:r", NULL},
	{"rule \"r\" reject a -> b expires \"2027-01-01\" log service tcp/22", "rule:r", NULL},
	{"rule \"r\" allow a,\n  b -> c [h1,\n  h2] service s1,\n  s2", "rule:r", NULL},
	{"rule \"r\" allow a \\\n -> b", "rule:r", NULL},
	{"default lgwan -> any reject", "default:", NULL},
	{"default any -> any allow", "default:", NULL}, /* refused later, by eval */
	{"isolate mynumber, z1", "isolate:", NULL},
	{"sanitize lgwan <-> internet via relay, r2 service smtp", "sanitize:", NULL},
	{"sanitize lgwan -> internet", "sanitize:", NULL},
	{"include \"objects.policy\"", "include:objects.policy", NULL},
	{"zone a\n# comment\n\nzone b", "zone:a zone:b", NULL},
	/* refused, each with the statement kept when its name was read */
	{"zone", "zone!", "1:5: expected a name after 'zone', found end of line"},
	{"zone 2nd", "zone!", "1:6: invalid name '2nd'"},
	{"zone z tier dmz", "zone:z!", "1:13: expected a tier"},
	{"zone z tier lgwn", "zone:z!", "unknown tier 'lgwn'; did you mean 'lgwan'?"},
	{"zone z tier lgwan tier none", "zone:z!", "1:19: 'tier' given twice"},
	{"zone z interface", "zone:z!", "expected an interface name, found end of line"},
	{"zone z color red", "zone:z!",
	 "1:8: unknown option 'color' for zone (expected tier, interface, network or description)"},
	{"zone z descripton \"x\"", "zone:z!", "unknown option 'descripton' for zone; did you mean 'description'?"},
	{"host h", "host:h!", "expected an address or self, found end of line"},
	{"host h 1.2.3.4 5.6.7.8", "host:h!", "1:16: unknown option '5.6.7.8' for host"},
	{"host h 1.2.3.4,", "host:h!", "1:15: the file ends after ','"},
	{"group g a, b*c", "group:g!", "invalid name 'b*c'"},
	{"service s", "service:s!", "expected a service"},
	{"service s tcp/25 sport", "service:s!", "expected source ports after 'sport'"},
	{"service s tcp/25 description x", "service:s!",
	 "expected a string in double quotes after 'description', found 'x'"},
	{"rule r allow a -> b", "rule!", "1:6: expected the rule name in double quotes, found 'r'"},
	{"rule \"r\" permit a -> b", "rule:r!", "1:10: expected allow, deny or reject, found 'permit'"},
	{"rule \"r\" allow a b", "rule:r!", "1:18: expected '->' between source and destination, found 'b'"},
	{"rule \"r\" allow a [] -> b", "rule:r!", "1:19: empty address list"},
	{"rule \"r\" allow a [x -> b", "rule:r!", "expected ',' or ']', found '->'"},
	{"rule \"r\" allow a -> b log log", "rule:r!", "1:27: 'log' given twice"},
	{"rule \"r\" allow a -> b logging", "rule:r!", "unknown option 'logging' for rule"},
	{"rule \"r\" allow a -> b owner", "rule:r!", "expected a string in double quotes after 'owner'"},
	{"rule \"r\" allow a -> b expires", "rule:r!", "expected a date YYYY-MM-DD after 'expires'"},
	{"rule \"r\" allow -> b", "rule:r!", "expected a zone name or any, found '->'"},
	{"default a [x] -> b deny", "default!", "default takes zones, not addresses"},
	{"default a -> b", "default!", "expected allow, deny or reject, found end of line"},
	{"sanitize a => b", "sanitize!", "'=>' is not an arrow"}, /* lexical error only */
	{"sanitize a b", "sanitize!", "expected '<->' or '->', found 'b'"},
	{"sanitize a <-> b via", "sanitize!", "expected a host name after 'via'"},
	{"sanitize a <-> b through r", "sanitize!", "unknown option 'through' for sanitize"},
	{"isolate", "isolate!", "expected a zone name or tier, found end of line"},
	{"include objects.policy", "include!", "expected a string in double quotes after 'include'"},
	{"require owner, author", "require!", "expected owner or description, found 'author'"},
	{"require ownr", "require!", "did you mean 'owner'?"},
	{"rul \"x\"", "", "1:1: unknown statement 'rul'; did you mean 'rule'?"},
	{"firewall on", "", "unknown statement 'firewall'"},
	{"\"zone\" a", "", "expected a statement, found a string"},
	{", a", "", "expected a statement, found ','"},
	/* recovery: the next statement is parsed */
	{"zone a tier x\nzone b", "zone:a! zone:b", "expected a tier"},
	{"zone a x y z\nhost h 1.2.3.4\nzone", "zone:a! host:h zone!", "unknown option 'x'"},
	/* a syntax error right after a lexical one is not reported again */
	{"rule \"unterminated allow a -> b", "rule:unterminated allow a -> b!", "unterminated string"},
};

static void summary(const struct policy_ast *ast, struct strbuf *sb)
{
	for (size_t i = 0; i < ast->nstmts; i++) {
		const struct ast_stmt *st = ast->stmts[i];
		if (i)
			strbuf_putc(sb, ' ');
		strbuf_puts(sb, kind_names[st->kind]);
		if (st->name.s)
			strbuf_printf(sb, ":%s", st->name.s);
		else if (!st->broken)
			strbuf_putc(sb, ':');
		if (st->broken)
			strbuf_putc(sb, '!');
	}
}

static void parse_text(const char *in, struct policy_ast *ast, struct diag *d, policy_parse_include_fn inc, void *ctx)
{
	struct policy_lexer lx;
	const char *f = policy_diag_add_source(d, "t", in, strlen(in));
	policy_lex_init(&lx, f, in, strlen(in), d);
	policy_parse_file(ast, &lx, 0, inc, ctx);
	policy_lex_free(&lx);
}

static void test_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct diag d;
		struct policy_ast ast;
		struct strbuf got = STRBUF_INIT, err = STRBUF_INIT;
		policy_diag_init(&d);
		policy_ast_init(&ast);
		parse_text(cases[i].in, &ast, &d, NULL, NULL);
		summary(&ast, &got);
		if (strcmp(strbuf_str(&got), cases[i].stmts)) {
			fprintf(stderr, "case %zu (%s): statements '%s', want '%s'\n", i, cases[i].in, strbuf_str(&got),
				cases[i].stmts);
			check_failures++;
		}
		if (d.n)
			strbuf_printf(&err, "%u:%u: %s", d.v[0].loc.line, d.v[0].loc.col, d.v[0].message);
		if (cases[i].error ? !strstr(strbuf_str(&err), cases[i].error) : d.nerrors != 0) {
			fprintf(stderr, "case %zu (%s): error '%s', want '%s'\n", i, cases[i].in, strbuf_str(&err),
				cases[i].error ? cases[i].error : "(none)");
			check_failures++;
		}
		/* one error per statement at most */
		if (d.nerrors > ast.nstmts + 1) {
			fprintf(stderr, "case %zu: %zu errors for %zu statements\n", i, d.nerrors, ast.nstmts);
			check_failures++;
		}
		strbuf_free(&got);
		strbuf_free(&err);
		policy_ast_free(&ast);
		policy_diag_free(&d);
	}
}

/* The tree's contents for a full rule, with places. */
static void test_rule_tree(void)
{
	struct diag d;
	struct policy_ast ast;
	policy_diag_init(&d);
	policy_ast_init(&ast);
	parse_text("rule \"mail\" allow internet -> self [relay, 198.18.0.1] service smtp, "
		   "tcp/25 sport 1024-65535 log owner \"情報政策課\"\n",
		   &ast, &d, NULL, NULL);
	CHECK(d.nerrors == 0);
	CHECK(ast.nstmts == 1);
	if (ast.nstmts == 1) {
		const struct ast_stmt *st = ast.stmts[0];
		CHECK(st->kind == AST_RULE && !st->broken);
		CHECK(st->loc.line == 1 && st->loc.col == 1 && st->loc.len == 4);
		CHECK(!strcmp(st->name.s, "mail") && st->name.loc.col == 6 && st->name.loc.len == 6);
		CHECK(!strcmp(st->action.s, "allow"));
		CHECK(st->from.zones.n == 1 && !strcmp(st->from.zones.v[0].w.s, "internet"));
		CHECK(!st->from.has_addrs);
		CHECK(st->to.has_addrs && st->to.addrs.n == 2);
		CHECK(st->to.addrs.v[0].kind == AST_ITEM_NAME);
		CHECK(st->to.addrs.v[1].kind == AST_ITEM_LITERAL);
		CHECK(st->to.loc.col == 31 && st->to.loc.len == 24); /* "self [relay, 198.18.0.1]" */
		CHECK(st->has_svc && st->svc.n == 2);
		CHECK(st->svc.v[0].kind == AST_ITEM_NAME);
		CHECK(st->svc.v[1].kind == AST_ITEM_SPEC && !strcmp(st->svc.v[1].sport.s, "1024-65535"));
		CHECK(st->log && !strcmp(st->owner.s, "情報政策課"));
		CHECK(!st->description.s && !st->expires.s);
	}
	policy_ast_free(&ast);
	policy_diag_free(&d);
}

/* Include statements reach the callback at once, in order. */
struct inc_ctx {
	struct strbuf seen;
	size_t nstmts_at_call;
};

static void on_include(void *ctx, const struct ast_stmt *inc)
{
	struct inc_ctx *c = ctx;
	strbuf_printf(&c->seen, "[%s]", inc->name.s);
}

static void test_include_callback(void)
{
	struct diag d;
	struct policy_ast ast;
	struct inc_ctx c = {STRBUF_INIT, 0};
	policy_diag_init(&d);
	policy_ast_init(&ast);
	parse_text("zone a\ninclude \"x.policy\"\ninclude y\ninclude \"z.policy\"\n", &ast, &d, on_include, &c);
	CHECK(!strcmp(strbuf_str(&c.seen), "[x.policy][z.policy]")); /* broken one skipped */
	CHECK(d.nerrors == 1);
	strbuf_free(&c.seen);
	policy_ast_free(&ast);
	policy_diag_free(&d);
}

static void test_names(void)
{
	static const struct {
		const char *s;
		bool ok;
	} names[] = {
		{"lgwan", true},
		{"lg-mail", true},
		{"_x", true},
		{"a.b-c_d9", true},
		{"", false},
		{"9a", false},
		{"-a", false},
		{"a/b", false},
		{"a:b", false},
		{"a*", false},
		{"城北", false},
		{"a23456789012345678901234567890123456789012345678901234567890123", true},
		{"a234567890123456789012345678901234567890123456789012345678901234", false},
	};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (policy_parse_is_name(names[i].s, strlen(names[i].s)) != names[i].ok) {
			fprintf(stderr, "name '%s': want %d\n", names[i].s, names[i].ok);
			check_failures++;
		}
}

static void test_distance(void)
{
	static const struct {
		const char *a, *b;
		unsigned d;
	} dist[] = {
		{"smtp", "smtp", 0}, {"smtp", "smtq", 1}, {"smtp", "smpt", 2},         {"lgwn", "lgwan", 1},
		{"", "ab", 2},       {"abc", "xyz", 3},   {"mynumber", "internet", 3}, {"a", "abcdef", 3},
	};
	for (size_t i = 0; i < sizeof dist / sizeof dist[0]; i++) {
		unsigned got = policy_parse_distance(dist[i].a, strlen(dist[i].a), dist[i].b, strlen(dist[i].b), 2);
		if (got != dist[i].d) {
			fprintf(stderr, "distance %s %s: %u want %u\n", dist[i].a, dist[i].b, got, dist[i].d);
			check_failures++;
		}
	}
	const char *words[] = {"smtp", "smtps", "ssh"};
	CHECK(!strcmp(policy_parse_suggest("smtq", 4, words, 3), "smtp"));
	CHECK(!strcmp(policy_parse_suggest("sh", 2, words, 3), "ssh"));
	CHECK(policy_parse_suggest("dns", 3, words, 3) == NULL);
}

int main(void)
{
	test_cases();
	test_rule_tree();
	test_include_callback();
	test_names();
	test_distance();
	return check_done();
}
