/* policy_ast: the arena that holds a syntax tree (see policy_ast.h).
 *
 * Nodes and strings are carved from 256 KiB chunks (a larger request gets
 * a chunk of its own) and zeroed; nothing is freed one by one, the whole
 * tree goes at once with policy_ast_free.  Allocation failures abort
 * (xalloc: the compiler is control plane). */
#include "rules/policy_ast.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

struct ast_chunk {
	struct ast_chunk *next;
	size_t used, size;
	max_align_t data[];
};

#define AST_CHUNK_BYTES (256u << 10)

void policy_ast_init(struct policy_ast *a)
{
	memset(a, 0, sizeof *a);
}

void policy_ast_free(struct policy_ast *a)
{
	if (!a)
		return;
	for (struct ast_chunk *c = a->arena, *next; c; c = next) {
		next = c->next;
		free(c);
	}
	free(a->stmts);
	memset(a, 0, sizeof *a);
}

void *policy_ast_alloc(struct policy_ast *a, size_t n)
{
	const size_t align = sizeof(max_align_t);
	if (n > SIZE_MAX - align)
		abort();
	n = (n + align - 1) / align * align;
	struct ast_chunk *c = a->arena;
	if (!c || c->size - c->used < n) {
		size_t size = n > AST_CHUNK_BYTES ? n : AST_CHUNK_BYTES;
		c = xmalloc(sizeof *c + size);
		c->size = size;
		c->used = 0;
		/* a big one-off block goes behind the current chunk so that the
		 * current chunk's free space is not lost */
		if (a->arena && n > AST_CHUNK_BYTES) {
			c->next = a->arena->next;
			a->arena->next = c;
		} else {
			c->next = a->arena;
			a->arena = c;
		}
	}
	void *p = (char *)c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

char *policy_ast_strndup(struct policy_ast *a, const char *s, size_t n)
{
	char *p = policy_ast_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}
