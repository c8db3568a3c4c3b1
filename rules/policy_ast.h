/* policy_ast: the syntax tree of policy files, as the parser produces it
 * and the evaluator consumes it.
 *
 * Every node carries its place (file index, line, column, length in bytes).
 * File indexes are the loader's (struct policy_source.files, policy_load.h):
 * the order in which files were read.
 *
 * Ownership: everything (nodes, strings, arrays) lives in the arena of the
 * struct policy_ast and is released at once by policy_ast_free (the
 * arena: policy_ast.c). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ast_loc {
	uint32_t file; /* index into the loader's file list */
	uint32_t line, col, len;
};

/* A word or a decoded string; s == NULL: absent.  s is NUL-terminated;
 * strings cannot contain NUL (the lexer refuses it). */
struct ast_word {
	const char *s;
	uint32_t len;
	struct ast_loc loc;
};

enum ast_item_kind {
	AST_ITEM_NAME,    /* an object name */
	AST_ITEM_ANY,     /* the word any */
	AST_ITEM_SELF,    /* the word self (only meaningful in host) */
	AST_ITEM_LITERAL, /* an address, prefix or range literal */
	AST_ITEM_SPEC,    /* a service specification: tcp/25, icmp/echo-request, any */
	AST_ITEM_WORD,    /* a plain word: zone names, interfaces, tiers, require */
};

struct ast_item {
	enum ast_item_kind kind;
	struct ast_word w;
	struct ast_word sport; /* SPEC only: "sport PORTS" when given */
};

struct ast_list {
	uint32_t n;
	struct ast_item *v;
};

struct ast_endpoint {
	struct ast_list zones; /* AST_ITEM_WORD / AST_ITEM_ANY */
	bool has_addrs;        /* "[...]" was written */
	struct ast_list addrs;
	struct ast_loc loc; /* the whole endpoint */
};

enum ast_stmt_kind {
	AST_POLICY,
	AST_REQUIRE,
	AST_INCLUDE,
	AST_ZONE,
	AST_HOST,
	AST_NETWORK,
	AST_RANGE,
	AST_GROUP,
	AST_SERVICE,
	AST_SERVICE_GROUP,
	AST_RULE,
	AST_DEFAULT,
	AST_ISOLATE,
	AST_SANITIZE,
};

struct ast_stmt {
	enum ast_stmt_kind kind;
	bool broken;        /* had a syntax error: only its name is usable */
	struct ast_loc loc; /* the keyword */
	/* policy, rule: the quoted name; include: the path; definitions: NAME */
	struct ast_word name;
	struct ast_word version; /* policy */
	struct ast_word tier;    /* zone */
	struct ast_word action;  /* rule, default */
	struct ast_word description, owner, ticket, expires;
	bool log;       /* rule */
	bool both_ways; /* sanitize: <-> */
	bool has_network, has_svc, has_via;
	/* require: words; host/network/range/group/service/service-group:
	 * members; zone: networks; isolate: zone references */
	struct ast_list items;
	struct ast_list ifaces; /* zone */
	struct ast_list via;    /* sanitize */
	struct ast_list svc;    /* rule, sanitize */
	struct ast_word svc_kw; /* the word "service" */
	/* rule, default: the endpoints; sanitize: one zone reference each */
	struct ast_endpoint from, to;
};

struct ast_chunk;

struct policy_ast {
	struct ast_chunk *arena;
	struct ast_stmt **stmts; /* in source order across includes */
	size_t nstmts, stmtcap;
};

void policy_ast_init(struct policy_ast *a);
void policy_ast_free(struct policy_ast *a);
/* Zeroed memory from the arena (aborts on out-of-memory). */
void *policy_ast_alloc(struct policy_ast *a, size_t n);
char *policy_ast_strndup(struct policy_ast *a, const char *s, size_t n);
