/* san_html: HTML to text (see san_html.h).
 *
 * Contract: parses with htmlReadMemory (no network, no entity loading,
 * recover mode, errors silenced) and walks the tree once, recursively to a
 * fixed depth (SAN_HTML_DEPTH; deeper subtrees are dropped and counted as
 * hidden).  Before the walk, one iterative pass reads the <style> elements
 * into a small table of hiding selectors (css_*, capped); after it, the
 * whole text goes through san_url_rewrite (links written as text, split
 * across elements or not).  Output is capped (max_out) and checked against
 * the deadline.  Nothing prints; libxml2's global error handler is not
 * touched (errors are suppressed per parse with HTML_PARSE_NOERROR).
 * Allocation failures abort (strbuf/xalloc), as elsewhere in the library. */
#include "sanitizer/san_html.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libxml/HTMLparser.h>
#include <libxml/tree.h>

#include "common/monotime.h"
#include "common/strbuf.h"
#include "common/utf8.h"
#include "common/xalloc.h"

#define SAN_HTML_DEPTH 200

/* CSS subset (css_*): caps on what a message controls. */
#define CSS_MAX_SEL 1024    /* hiding selectors kept; later ones are ignored */
#define CSS_MAX_NAME 128    /* bytes of one tag, class or id name */
#define CSS_MAX_CLASSES 4   /* classes in one compound selector */
#define CSS_ELEM_CLASSES 32 /* classes of one element looked at */
#define CSS_MAX_NEST 4      /* @media inside @media */
#define CSS_SCREEN_PX 1024  /* media queries are judged for a screen this wide */
#define CSS_FAR_PX (-999)   /* left/top/text-indent at or beyond this: off screen */

struct css_sel {
	uint64_t mask;                        /* one bit per name it needs: quick reject */
	size_t tag, id, cls[CSS_MAX_CLASSES]; /* offsets into css.names; 0 = none */
	unsigned ncls;
};

struct css {
	struct css_sel *sel;
	size_t n, cap;
	struct strbuf names; /* NUL-terminated names; offset 0 is "" */
};

struct walk {
	const struct san_html_opts *o;
	struct san_html_stats *st;
	struct strbuf out;
	int nl;     /* trailing newlines in out (2 = blank line) */
	bool space; /* a collapsed space is pending */
	int pre;
	int err;
	size_t nodes;
	int list_depth;
	int list_num[32]; /* -1 = unordered, else next number */
	bool cell_first;
	struct css css;
};

static void raw(struct walk *w, const char *s, size_t n)
{
	if (w->err)
		return;
	size_t cap = w->o->max_out ? w->o->max_out : (size_t)16 << 20;
	if (w->out.len + n > cap) {
		w->err = -EFBIG;
		return;
	}
	strbuf_append(&w->out, s, n);
}

static void newline(struct walk *w, int want)
{
	if (w->out.len == 0) {
		w->space = false;
		return;
	}
	while (w->nl < want) {
		raw(w, "\n", 1);
		w->nl++;
	}
	w->space = false;
}

/* Append visible text, collapsing white space outside <pre>.  Links in it
 * are rewritten once the whole text is there (san_html_to_text). */
static void text(struct walk *w, const char *s)
{
	for (const char *p = s; *p && !w->err; p++) {
		unsigned char c = (unsigned char)*p;
		if (!w->pre && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f')) {
			if (w->nl == 0 && w->out.len > 0)
				w->space = true;
			continue;
		}
		if (w->pre && c == '\r')
			continue;
		if (w->space) {
			raw(w, " ", 1);
			w->space = false;
		}
		raw(w, p, 1);
		w->nl = (c == '\n') ? w->nl + 1 : 0;
	}
}

static const char *attr(xmlNode *n, const char *name, xmlChar **hold)
{
	*hold = xmlGetProp(n, (const xmlChar *)name);
	return (const char *)*hold;
}

static bool is(const xmlNode *n, const char *name)
{
	return strcasecmp((const char *)n->name, name) == 0;
}

static bool any(const xmlNode *n, const char *const *names)
{
	for (; *names; names++)
		if (is(n, *names))
			return true;
	return false;
}

static const char *const DROP[] = {"script", "style",  "title", "noscript", "template", "object", "embed",
				   "applet", "iframe", "frame", "frameset", "svg",      "math",   "meta",
				   "link",   "base",   "input", "select",   "textarea", "audio",  "video",
				   "canvas", "map",    "param", "source",   "track",    NULL};
static const char *const BLOCK[] = {"div",        "section", "article",  "header",  "footer", "nav",   "aside",
				    "main",       "form",    "fieldset", "address", "center", "table", "tbody",
				    "thead",      "tfoot",   "caption",  "dl",      "dt",     "dd",    "figure",
				    "figcaption", "details", "summary",  "body",    "html",   NULL};
static const char *const PARA[] = {"p",          "h1",  "h2", "h3", "h4", "h5", "h6",
				   "blockquote", "pre", "ul", "ol", "hr", NULL};

/* The node after n in document order, within root; children are skipped
 * when descend is false.  Iterative: no depth limit is needed. */
static xmlNode *next_node(xmlNode *n, xmlNode *root, bool descend)
{
	if (descend && n->children && n->type != XML_ENTITY_REF_NODE)
		return n->children;
	while (n && n != root && !n->next)
		n = n->parent;
	return n && n != root ? n->next : NULL;
}

/* Bytes of non-blank text under root (what hiding it drops), not counting
 * dropped elements such as script and style. */
static size_t text_bytes(xmlNode *root)
{
	size_t k = 0;
	for (xmlNode *n = root; n; n = next_node(n, root, n->type != XML_ELEMENT_NODE || !any(n, DROP)))
		if ((n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) && n->content)
			for (const xmlChar *p = n->content; *p; p++)
				if (!isspace(*p))
					k++;
	return k;
}

/* ---- CSS: the subset that decides what a stylesheet hides ----
 *
 * Rules at top level and inside @media blocks whose query holds for a
 * screen CSS_SCREEN_PX wide (media type all/screen or none, min-/max-width
 * and -device-width; any other feature makes that query false, so print
 * and mobile-only rules do not apply).  Other at-rules are skipped.  A
 * selector (in a comma list) is judged by its last compound: tag or *,
 * then .class (up to CSS_MAX_CLASSES) and #id; the ancestors after a
 * combinator are ignored (more is hidden, never less); a compound with a
 * pseudo-class, attribute selector or namespace is skipped.  Later rules
 * that show an element again are not looked at: any hiding rule hides.
 * Class and id match without regard to ASCII case (quirks mode).  Names
 * may use CSS escapes.  css_hides decides which declarations hide. */

static uint64_t css_bit(char kind, const char *s, size_t n)
{
	uint32_t h = 2166136261u;
	h = (h ^ (unsigned char)kind) * 16777619u;
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)tolower((unsigned char)s[i])) * 16777619u;
	return (uint64_t)1 << (h & 63);
}

static bool css_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static size_t css_skip_space(const char *s, size_t i, size_t n)
{
	while (i < n && css_space(s[i]))
		i++;
	return i;
}

/* After the string that starts at s[i] (a quote). */
static size_t css_skip_string(const char *s, size_t i, size_t n)
{
	char q = s[i++];
	while (i < n && s[i] != q)
		i += (s[i] == '\\' && i + 1 < n) ? 2 : 1;
	return i < n ? i + 1 : n;
}

/* The first of stops at bracket depth 0 from i (strings skipped), or n. */
static size_t css_find(const char *s, size_t i, size_t n, const char *stops)
{
	size_t depth = 0;
	while (i < n) {
		char c = s[i];
		if (depth == 0 && c && strchr(stops, c))
			return i;
		if (c == '"' || c == '\'') {
			i = css_skip_string(s, i, n);
			continue;
		}
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '(' || c == '[')
			depth++;
		else if ((c == ')' || c == ']') && depth)
			depth--;
		i++;
	}
	return n;
}

/* i just after a '{': after its matching '}' (or n). */
static size_t css_skip_block(const char *s, size_t i, size_t n)
{
	size_t depth = 1;
	while (i < n) {
		char c = s[i];
		if (c == '"' || c == '\'') {
			i = css_skip_string(s, i, n);
			continue;
		}
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '{')
			depth++;
		if (c == '}' && --depth == 0)
			return i + 1;
		i++;
	}
	return n;
}

static void css_put_cp(char *dst, size_t *k, size_t cap, unsigned long cp)
{
	char u[UTF8_MAX];
	size_t l;
	if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		cp = 0xFFFD;
	if (cp < 0x80) {
		u[0] = (char)tolower((int)cp);
		l = 1;
	} else
		l = utf8_encode((uint32_t)cp, u);
	if (*k + l < cap)
		memcpy(dst + *k, u, l);
	*k += l;
}

/* s[*i] after a backslash: the escaped code point (1-6 hex digits and one
 * optional white space, or the character itself); *i moves past it. */
static unsigned long css_escape(const char *s, size_t *i, size_t n)
{
	unsigned long cp = 0;
	size_t d = 0;
	while (*i < n && d < 6 && isxdigit((unsigned char)s[*i])) {
		char c = s[(*i)++];
		cp = cp * 16 +
			(unsigned long)(isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10);
		d++;
	}
	if (d) {
		if (*i < n && css_space(s[*i]))
			(*i)++;
		return cp;
	}
	return *i < n ? (unsigned char)s[(*i)++] : 0xFFFD;
}

/* s[a..b) lower-cased, escapes decoded, white space collapsed and trimmed,
 * into dst (cap bytes with the NUL).  False when it does not fit. */
static bool css_copy(char *dst, size_t cap, const char *s, size_t a, size_t b)
{
	size_t k = 0;
	bool sp = false;
	for (size_t i = a; i < b;) {
		char c = s[i];
		if (css_space(c)) {
			sp = k > 0;
			i++;
			continue;
		}
		if (sp) {
			if (k + 1 < cap)
				dst[k] = ' ';
			k++;
			sp = false;
		}
		i++;
		if (c == '\\' && i < b)
			css_put_cp(dst, &k, cap, css_escape(s, &i, b));
		else {
			if (k + 1 < cap)
				dst[k] = (char)tolower((unsigned char)c);
			k++;
		}
	}
	if (k >= cap)
		return false;
	dst[k] = '\0';
	return true;
}

/* A CSS length or number in v, in px (*ret_px; 100% and 100vw count as
 * CSS_SCREEN_PX); false when v is not one. */
static bool css_len(const char *v, double *ret_px)
{
	static const struct {
		const char *unit;
		double px;
	} U[] = {
		{"", 1},
		{"px", 1},
		{"pt", 4.0 / 3},
		{"pc", 16},
		{"em", 16},
		{"rem", 16},
		{"ex", 8},
		{"ch", 8},
		{"cm", 37.8},
		{"mm", 3.78},
		{"q", 0.945},
		{"in", 96},
		{"%", CSS_SCREEN_PX / 100.0},
		{"vw", CSS_SCREEN_PX / 100.0},
		{"vh", 7.68},
		{"vmin", 7.68},
		{"vmax", CSS_SCREEN_PX / 100.0},
	};
	double x = 0, sign = 1, f = 0.1;
	bool digits = false;
	if (*v == '+' || *v == '-')
		sign = *v++ == '-' ? -1 : 1;
	for (; isdigit((unsigned char)*v); v++, digits = true)
		x = x * 10 + (*v - '0');
	if (*v == '.')
		for (v++; isdigit((unsigned char)*v); v++, f /= 10, digits = true)
			x += (*v - '0') * f;
	if (!digits)
		return false;
	for (size_t i = 0; i < sizeof(U) / sizeof(U[0]); i++)
		if (strcmp(v, U[i].unit) == 0) {
			*ret_px = sign * x * U[i].px;
			return true;
		}
	return false;
}

static bool css_zero(const char *v)
{
	double px;
	return css_len(v, &px) && px == 0;
}

static bool css_far(const char *v)
{
	double px;
	return css_len(v, &px) && px <= CSS_FAR_PX;
}

/* Whether a declaration list (style attribute or rule body) hides its
 * element: display:none; visibility:hidden|collapse; font-size:0,
 * opacity:0, max-height:0 (any unit); height:0 or width:0 with overflow
 * (-x, -y) hidden|clip; position:absolute|fixed with left or top at
 * CSS_FAR_PX or beyond; text-indent that far; color:transparent; color
 * equal to background(-color) written the same way in the same list.  The
 * last declaration of a property counts; !important is ignored. */
static bool css_hides(const char *s, size_t n)
{
	bool none = false, vis = false, font0 = false, op0 = false, maxh0 = false, h0 = false, w0 = false;
	bool ovh = false, pos = false, left = false, top = false, indent = false;
	char color[64] = "", bg[64] = "";
	for (size_t i = 0; i < n;) {
		size_t e = css_find(s, i, n, ";"), c = css_find(s, i, e, ":");
		char name[32], v[64];
		if (c < e && css_copy(name, sizeof(name), s, i, c) && css_copy(v, sizeof(v), s, c + 1, e)) {
			char *imp = strstr(v, "!");
			if (imp) { /* "! important" */
				while (imp > v && imp[-1] == ' ')
					imp--;
				*imp = '\0';
			}
			if (!strcmp(name, "display"))
				none = !strcmp(v, "none");
			else if (!strcmp(name, "visibility"))
				vis = !strcmp(v, "hidden") || !strcmp(v, "collapse");
			else if (!strcmp(name, "font-size"))
				font0 = css_zero(v);
			else if (!strcmp(name, "opacity")) {
				double x;
				op0 = css_len(v, &x) && x <= 0;
			} else if (!strcmp(name, "max-height"))
				maxh0 = css_zero(v);
			else if (!strcmp(name, "height"))
				h0 = css_zero(v);
			else if (!strcmp(name, "width"))
				w0 = css_zero(v);
			else if (!strcmp(name, "overflow") || !strcmp(name, "overflow-x") ||
				 !strcmp(name, "overflow-y"))
				ovh = !strncmp(v, "hidden", 6) || !strncmp(v, "clip", 4);
			else if (!strcmp(name, "position"))
				pos = !strcmp(v, "absolute") || !strcmp(v, "fixed");
			else if (!strcmp(name, "left"))
				left = css_far(v);
			else if (!strcmp(name, "top"))
				top = css_far(v);
			else if (!strcmp(name, "text-indent"))
				indent = css_far(v);
			else if (!strcmp(name, "color"))
				snprintf(color, sizeof(color), "%s", v);
			else if (!strcmp(name, "background-color") || (!strcmp(name, "background") && !strchr(v, ' ')))
				snprintf(bg, sizeof(bg), "%s", v);
		}
		i = e + 1;
	}
	return none || vis || font0 || op0 || maxh0 || ((h0 || w0) && ovh) || (pos && (left || top)) || indent ||
		!strcmp(color, "transparent") || (*color && !strcmp(color, bg));
}

/* Whether one media query (no commas) holds for the screen we assume. */
static bool css_media_query(const char *q)
{
	bool not = false;
	while (*q) {
		while (*q == ' ')
			q++;
		if (!*q)
			break;
		if (*q == '(') { /* (feature: value) */
			const char *e = strchr(q, ')');
			if (!e)
				return false;
			char f[64], *colon;
			size_t l = (size_t)(e - q - 1);
			if (l >= sizeof(f))
				return false;
			memcpy(f, q + 1, l);
			f[l] = '\0';
			if (!(colon = strchr(f, ':')))
				return false;
			*colon = '\0';
			char *name = f, *val = colon + 1;
			while (*name == ' ')
				name++;
			for (char *t = colon; t > name && t[-1] == ' ';)
				*--t = '\0';
			while (*val == ' ')
				val++;
			for (char *t = val + strlen(val); t > val && t[-1] == ' ';)
				*--t = '\0';
			double px;
			if (!css_len(val, &px))
				return false;
			bool ok;
			if (!strcmp(name, "min-width") || !strcmp(name, "min-device-width"))
				ok = px <= CSS_SCREEN_PX;
			else if (!strcmp(name, "max-width") || !strcmp(name, "max-device-width"))
				ok = px >= CSS_SCREEN_PX;
			else
				return false;
			if (!ok)
				return not ;
			q = e + 1;
			continue;
		}
		const char *e = q;
		while (*e && *e != ' ' && *e != '(')
			e++;
		size_t l = (size_t)(e - q);
		if (l == 3 && !strncmp(q, "not", 3))
			not = true;
		else if ((l == 4 && !strncmp(q, "only", 4)) || (l == 3 && !strncmp(q, "and", 3))) {
		} else if ((l == 3 && !strncmp(q, "all", 3)) || (l == 6 && !strncmp(q, "screen", 6))) {
		} else
			return not ; /* print, speech, unknown */
		q = e;
	}
	return !not ;
}

static bool css_media(const char *s, size_t a, size_t b)
{
	char q[512];
	if (!css_copy(q, sizeof(q), s, a, b))
		return false;
	for (char *p = q, *c;; p = c + 1) {
		if ((c = strchr(p, ',')))
			*c = '\0';
		if (css_media_query(p))
			return true;
		if (!c)
			return false;
	}
}

static size_t css_name(struct css *c, const char *name)
{
	size_t off = c->names.len;
	strbuf_append(&c->names, name, strlen(name) + 1);
	return off;
}

/* A CSS identifier at s[*i] into dst (decoded, lower-cased); false when
 * there is none or it is longer than CSS_MAX_NAME. */
static bool css_ident(const char *s, size_t *i, size_t n, char *dst)
{
	size_t k = 0;
	while (*i < n) {
		unsigned char ch = (unsigned char)s[*i];
		if (ch == '\\' && *i + 1 < n) {
			(*i)++;
			css_put_cp(dst, &k, CSS_MAX_NAME + 1, css_escape(s, i, n));
		} else if (isalnum(ch) || ch == '-' || ch == '_' || ch >= 0x80) {
			if (k < CSS_MAX_NAME)
				dst[k] = (char)tolower(ch);
			k++;
			(*i)++;
		} else {
			break;
		}
	}
	if (k == 0 || k > CSS_MAX_NAME)
		return false;
	dst[k] = '\0';
	return true;
}

/* One selector s[a..b): its last compound, added as hiding. */
static void css_selector(struct css *c, const char *s, size_t a, size_t b)
{
	while (b > a && css_space(s[b - 1]))
		b--;
	size_t k = a;
	for (size_t i = a; i < b;) { /* k: where the last compound starts */
		if (s[i] == '\\') {
			i++;
			css_escape(s, &i, b);
		} else if (s[i] == '"' || s[i] == '\'')
			i = css_skip_string(s, i, b);
		else if (css_space(s[i]) || (s[i] && strchr(">+~", s[i])))
			k = ++i;
		else
			i++;
	}
	if (k >= b)
		return;
	struct css_sel sel = {0};
	char name[CSS_MAX_NAME + 1];
	if (s[k] == '*')
		k++;
	else if (s[k] != '.' && s[k] != '#') {
		if (!css_ident(s, &k, b, name))
			return;
		sel.tag = css_name(c, name);
		sel.mask |= css_bit('t', name, strlen(name));
	}
	while (k < b) {
		char t = s[k++];
		if ((t != '.' && t != '#') || !css_ident(s, &k, b, name))
			return; /* :hover, [attr], ns| */
		if (t == '#') {
			if (sel.id)
				return;
			sel.id = css_name(c, name);
		} else {
			if (sel.ncls == CSS_MAX_CLASSES)
				return;
			sel.cls[sel.ncls++] = css_name(c, name);
		}
		sel.mask |= css_bit(t, name, strlen(name));
	}
	if (c->n == CSS_MAX_SEL)
		return;
	xgrow(&c->sel, &c->cap, c->n + 1, sizeof(*c->sel));
	c->sel[c->n++] = sel;
}

/* Rules in s[i..n) up to an unmatched '}'; returns the index after it. */
static size_t css_rules(struct css *c, const char *s, size_t i, size_t n, int nest)
{
	while (i < n) {
		i = css_skip_space(s, i, n);
		if (i >= n)
			break;
		if (s[i] == '}')
			return i + 1;
		if (n - i >= 4 && !memcmp(s + i, "<!--", 4)) {
			i += 4;
			continue;
		}
		if (n - i >= 3 && !memcmp(s + i, "-->", 3)) {
			i += 3;
			continue;
		}
		if (s[i] == ';') {
			i++;
			continue;
		}
		if (s[i] == '@') {
			size_t k = i + 1;
			while (k < n && (isalnum((unsigned char)s[k]) || s[k] == '-'))
				k++;
			bool media = k - i - 1 == 5 && !strncasecmp(s + i + 1, "media", 5);
			size_t p = css_find(s, k, n, "{;}");
			if (p >= n)
				return n;
			if (s[p] == ';') {
				i = p + 1;
				continue;
			}
			if (s[p] == '}')
				return p + 1;
			if (media && nest < CSS_MAX_NEST && css_media(s, k, p))
				i = css_rules(c, s, p + 1, n, nest + 1);
			else
				i = css_skip_block(s, p + 1, n);
			continue;
		}
		size_t p = css_find(s, i, n, "{}");
		if (p >= n)
			return n;
		if (s[p] == '}')
			return p + 1; /* a stray '}' ends the block, as a browser's recovery does */
		size_t e = css_skip_block(s, p + 1, n);
		size_t body_end = (e > p + 1 && s[e - 1] == '}') ? e - 1 : e;
		if (css_hides(s + p + 1, body_end - p - 1))
			for (size_t a = i, z; a < p; a = z + 1) {
				z = css_find(s, a, p, ",");
				css_selector(c, s, a, z);
			}
		i = e;
	}
	return n;
}

/* One <style> element's text: comments removed, then parsed. */
static void css_sheet(struct css *c, const char *s, struct strbuf *tmp)
{
	strbuf_reset(tmp);
	for (const char *p = s, *q; *p;) {
		if (*p == '"' || *p == '\'') {
			size_t e = css_skip_string(p, 0, strlen(p));
			strbuf_append(tmp, p, e);
			p += e;
		} else if (p[0] == '/' && p[1] == '*') {
			q = strstr(p + 2, "*/");
			p = q ? q + 2 : p + strlen(p);
		} else {
			q = p + strcspn(p, "\"'/");
			if (q == p)
				q++;
			strbuf_append(tmp, p, (size_t)(q - p));
			p = q;
		}
	}
	css_rules(c, tmp->buf ? tmp->buf : "", 0, tmp->len, 0);
}

/* Every <style> element of the document (whose media attribute, if any,
 * holds for the screen we assume) into w->css. */
static void css_collect(struct walk *w, xmlNode *doc)
{
	struct strbuf sheet = STRBUF_INIT, tmp = STRBUF_INIT;
	size_t nodes = 0;
	for (xmlNode *n = doc; n && !w->err; n = next_node(n, doc, true)) {
		if (++nodes % 256 == 0 && w->o->deadline_ns && monotime_ns() > w->o->deadline_ns)
			w->err = -ETIMEDOUT;
		if (n->type != XML_ELEMENT_NODE || !is(n, "style"))
			continue;
		xmlChar *media = xmlGetProp(n, (const xmlChar *)"media");
		bool applies = !media || css_media((const char *)media, 0, strlen((const char *)media));
		xmlFree(media);
		if (!applies)
			continue; /* <style media="print"> */
		strbuf_reset(&sheet);
		for (xmlNode *t = n->children; t; t = t->next)
			if ((t->type == XML_TEXT_NODE || t->type == XML_CDATA_SECTION_NODE) && t->content)
				strbuf_puts(&sheet, (const char *)t->content);
		if (sheet.len)
			css_sheet(&w->css, sheet.buf, &tmp);
	}
	strbuf_free(&sheet);
	strbuf_free(&tmp);
}

static bool css_has_class(const char *const *cls, const size_t *len, size_t n, const char *name)
{
	size_t l = strlen(name);
	for (size_t i = 0; i < n; i++)
		if (len[i] == l && !strncasecmp(cls[i], name, l))
			return true;
	return false;
}

/* Whether a <style> rule hides element n. */
static bool css_match(const struct css *c, xmlNode *n)
{
	if (!c->n)
		return false;
	xmlChar *hc = xmlGetProp(n, (const xmlChar *)"class"), *hi = xmlGetProp(n, (const xmlChar *)"id");
	const char *cls[CSS_ELEM_CLASSES], *id = hi ? (const char *)hi : "";
	size_t len[CSS_ELEM_CLASSES], ncls = 0;
	const char *tag = (const char *)n->name;
	uint64_t mask = css_bit('t', tag, strlen(tag)) | css_bit('#', id, strlen(id));
	for (const char *p = hc ? (const char *)hc : ""; *p && ncls < CSS_ELEM_CLASSES;) {
		while (css_space(*p))
			p++;
		size_t l = 0;
		while (p[l] && !css_space(p[l]))
			l++;
		if (!l)
			break;
		cls[ncls] = p;
		len[ncls++] = l;
		mask |= css_bit('.', p, l);
		p += l;
	}
	const char *names = c->names.buf;
	bool hit = false;
	for (size_t i = 0; i < c->n && !hit; i++) {
		const struct css_sel *s = &c->sel[i];
		if (s->mask & ~mask)
			continue;
		hit = (!s->tag || !strcasecmp(names + s->tag, tag)) && (!s->id || !strcasecmp(names + s->id, id));
		for (unsigned k = 0; hit && k < s->ncls; k++)
			hit = css_has_class(cls, len, ncls, names + s->cls[k]);
	}
	xmlFree(hc);
	xmlFree(hi);
	return hit;
}

/* Hidden: the hidden attribute, a style attribute or a <style> rule that
 * hides (css_hides). */
static bool hidden(struct walk *w, xmlNode *n)
{
	if (xmlHasProp(n, (const xmlChar *)"hidden"))
		return true;
	xmlChar *h = NULL;
	const char *style = attr(n, "style", &h);
	bool hide = style && css_hides(style, strlen(style));
	xmlFree(h);
	return hide || css_match(&w->css, n);
}

/* A subtree not shown: counted, never dropped silently. */
static void drop_hidden(struct walk *w, xmlNode *n)
{
	w->st->hidden++;
	w->st->hidden_text += text_bytes(n);
}

static void walk_children(struct walk *w, xmlNode *n, int depth);

/* An attribute URL (href, src) into out, as a browser reads it.  libxml2
 * 2.9 knows only HTML 4 entities, so the HTML5 ones that spell URL syntax
 * (&Tab; &NewLine; &colon; ...) are still literal here; they are decoded
 * first (&amp;colon; is decoded too: a target is then named, never
 * wrongly shown as live). */
static enum san_url_kind attr_url(const char *v, struct strbuf *out)
{
	static const struct {
		const char *ref;
		char c;
	} E[] = {
		{"&Tab;", '\t'},  {"&NewLine;", '\n'}, {"&colon;", ':'},  {"&sol;", '/'},
		{"&bsol;", '\\'}, {"&period;", '.'},   {"&commat;", '@'}, {"&num;", '#'},
		{"&quest;", '?'}, {"&lpar;", '('},     {"&rpar;", ')'},   {"&percnt;", '%'},
	};
	struct strbuf d = STRBUF_INIT;
	for (const char *p = v, *amp; *p; p = amp + 1) {
		if (!(amp = strchr(p, '&'))) {
			strbuf_puts(&d, p);
			break;
		}
		strbuf_append(&d, p, (size_t)(amp - p));
		size_t k = 0, l = 0;
		for (; k < sizeof(E) / sizeof(E[0]); k++)
			if (!strncmp(amp, E[k].ref, l = strlen(E[k].ref)))
				break;
		if (k < sizeof(E) / sizeof(E[0])) {
			strbuf_putc(&d, E[k].c);
			amp += l - 1;
		} else
			strbuf_putc(&d, '&');
	}
	enum san_url_kind kind = san_url_target(strbuf_str(&d), d.len, out);
	strbuf_free(&d);
	return kind;
}

/* " [target]" after a link's text: data: and script URLs only named,
 * the rest through san_url_rewrite (alone, then in its brackets). */
static void link_target(struct walk *w, const char *href)
{
	struct strbuf u = STRBUF_INIT, a = STRBUF_INIT, b = STRBUF_INIT;
	enum san_url_kind kind = attr_url(href, &u);
	if (!u.len || u.buf[0] == '#')
		goto out;
	w->st->links++;
	if (kind == SAN_URL_DATA) {
		w->st->data_urls++;
		text(w, " [data: URL]");
		goto out;
	}
	if (kind == SAN_URL_SCRIPT) {
		w->st->scripts++;
		text(w, " [script URL]");
		goto out;
	}
	if (w->o->links == SAN_LINKS_REMOVE)
		goto out;
	if (w->o->links == SAN_LINKS_KEEP) {
		strbuf_putc(&b, '[');
		strbuf_append(&b, u.buf, u.len);
	} else {
		strbuf_putc(&a, '[');
		size_t k = san_url_rewrite(u.buf, u.len, SAN_LINKS_DEFANG, NULL, &a);
		strbuf_putc(&a, ']');
		k += san_url_rewrite(a.buf, a.len, SAN_LINKS_DEFANG, NULL, &b); /* "file:" + "]" */
		if (k)
			w->st->links_defanged++;
	}
	if (w->o->links == SAN_LINKS_KEEP)
		strbuf_putc(&b, ']');
	text(w, " ");
	text(w, b.buf);
out:
	strbuf_free(&u);
	strbuf_free(&a);
	strbuf_free(&b);
}

static void walk_node(struct walk *w, xmlNode *n, int depth)
{
	if (w->err)
		return;
	if (++w->nodes % 256 == 0 && w->o->deadline_ns && monotime_ns() > w->o->deadline_ns) {
		w->err = -ETIMEDOUT;
		return;
	}
	if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
		if (n->content)
			text(w, (const char *)n->content);
		return;
	}
	if (n->type != XML_ELEMENT_NODE && n->type != XML_DOCUMENT_NODE && n->type != XML_HTML_DOCUMENT_NODE)
		return; /* comments, PIs, DTD */
	if (n->type != XML_ELEMENT_NODE) {
		walk_children(w, n, depth + 1);
		return;
	}
	if (depth > SAN_HTML_DEPTH) {
		drop_hidden(w, n);
		return;
	}
	if (any(n, DROP)) {
		if (is(n, "script"))
			w->st->scripts++;
		return;
	}
	if (hidden(w, n)) {
		drop_hidden(w, n);
		return;
	}
	xmlChar *h = NULL;
	if (is(n, "br")) {
		raw(w, "\n", 1);
		w->nl++;
		w->space = false;
		return;
	}
	if (is(n, "hr")) {
		newline(w, 1);
		text(w, "----");
		newline(w, 1);
		return;
	}
	if (is(n, "img")) {
		w->st->images++;
		const char *alt = attr(n, "alt", &h);
		text(w, "[");
		text(w, w->o->image_label ? w->o->image_label : "image");
		if (alt && *alt) {
			text(w, ": ");
			text(w, alt);
		}
		text(w, "]");
		xmlFree(h);
		const char *src = attr(n, "src", &h);
		if (src) {
			struct strbuf u = STRBUF_INIT;
			enum san_url_kind kind = attr_url(src, &u);
			if (kind == SAN_URL_DATA)
				w->st->data_urls++;
			if (kind == SAN_URL_SCRIPT)
				w->st->scripts++;
			strbuf_free(&u);
		}
		xmlFree(h);
		return;
	}
	if (is(n, "li")) {
		newline(w, 1);
		int d = w->list_depth > 0 ? w->list_depth - 1 : 0;
		for (int i = 0; i < d && i < 8; i++)
			raw(w, "  ", 2);
		if (w->list_depth > 0 && w->list_num[d] >= 0) {
			char b[24];
			snprintf(b, sizeof(b), "%d. ", w->list_num[d]++);
			raw(w, b, strlen(b));
		} else {
			raw(w, "・", 3);
		}
		w->nl = 0;
		walk_children(w, n, depth);
		newline(w, 1);
		return;
	}
	if (is(n, "ul") || is(n, "ol")) {
		newline(w, w->list_depth ? 1 : 2);
		if (w->list_depth < 32) {
			w->list_num[w->list_depth] = is(n, "ol") ? 1 : -1;
			w->list_depth++;
			walk_children(w, n, depth);
			w->list_depth--;
		} else {
			walk_children(w, n, depth);
		}
		newline(w, w->list_depth ? 1 : 2);
		return;
	}
	if (is(n, "tr")) {
		newline(w, 1);
		w->cell_first = true;
		walk_children(w, n, depth);
		newline(w, 1);
		return;
	}
	if (is(n, "td") || is(n, "th")) {
		if (!w->cell_first) {
			w->space = false;
			raw(w, " | ", 3);
			w->nl = 0;
		}
		w->cell_first = false;
		walk_children(w, n, depth);
		return;
	}
	if (is(n, "a")) {
		const char *href = attr(n, "href", &h);
		walk_children(w, n, depth);
		if (href)
			link_target(w, href);
		xmlFree(h);
		return;
	}
	bool para = any(n, PARA), block = !para && any(n, BLOCK);
	if (para)
		newline(w, 2);
	else if (block)
		newline(w, 1);
	if (is(n, "pre"))
		w->pre++;
	walk_children(w, n, depth);
	if (is(n, "pre"))
		w->pre--;
	if (para)
		newline(w, 2);
	else if (block)
		newline(w, 1);
}

static void walk_children(struct walk *w, xmlNode *n, int depth)
{
	for (xmlNode *c = n->children; c && !w->err; c = c->next)
		walk_node(w, c, depth + 1);
}

int san_html_to_text(const char *html, size_t len, const struct san_html_opts *opts, char **ret,
		     struct san_html_stats *ret_stats)
{
	*ret = NULL;
	memset(ret_stats, 0, sizeof(*ret_stats));
	if (len > (size_t)INT32_MAX)
		return -EFBIG;
	htmlDocPtr doc = htmlReadMemory(html ? html : "", (int)len, NULL, "UTF-8",
					HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING |
						HTML_PARSE_NONET | HTML_PARSE_COMPACT);
	struct walk w = {.o = opts, .st = ret_stats};
	if (!doc) {
		/* Empty or unparseable: nothing readable, which is not an error for empty input. */
		for (size_t i = 0; i < len; i++)
			if (!isspace((unsigned char)html[i]))
				return -EBADMSG;
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	strbuf_putc(&w.css.names, '\0'); /* offset 0: no name */
	css_collect(&w, (xmlNode *)doc);
	walk_node(&w, (xmlNode *)doc, 0);
	xmlFreeDoc(doc);
	free(w.css.sel);
	strbuf_free(&w.css.names);
	if (w.err) {
		strbuf_free(&w.out);
		return w.err;
	}
	/* trim trailing white space, end with one newline */
	while (w.out.len && (w.out.buf[w.out.len - 1] == '\n' || w.out.buf[w.out.len - 1] == ' '))
		w.out.buf[--w.out.len] = '\0';
	if (w.out.len)
		strbuf_putc(&w.out, '\n');
	/* Links written as text, also when split across elements ("<b>http</b>://"). */
	if (opts->links != SAN_LINKS_KEEP && w.out.len) {
		struct strbuf nb = STRBUF_INIT;
		ret_stats->text_links = san_url_rewrite(w.out.buf, w.out.len, opts->links, opts->url_label, &nb);
		strbuf_free(&w.out);
		w.out = nb;
		if (w.out.len > (opts->max_out ? opts->max_out : (size_t)16 << 20)) {
			strbuf_free(&w.out);
			return -EFBIG;
		}
	}
	*ret = strbuf_steal(&w.out);
	return 0;
}
