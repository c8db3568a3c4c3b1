/* san_html: HTML to text (see san_html.h).
 *
 * Contract: parses with htmlReadMemory (no network, no entity loading,
 * recover mode, errors silenced) and walks the tree once, recursively to a
 * fixed depth (SAN_HTML_DEPTH; deeper subtrees are dropped and counted as
 * hidden).  Output is capped (max_out) and checked against the deadline.
 * Nothing prints; libxml2's global error handler is not touched (errors are
 * suppressed per parse with HTML_PARSE_NOERROR). */
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

#include "common/strbuf.h"

#define SAN_HTML_DEPTH 200

struct walk {
	const struct san_html_opts *o;
	struct san_html_stats *st;
	struct strbuf out;
	int nl;            /* trailing newlines in out (2 = blank line) */
	bool space;        /* a collapsed space is pending */
	int pre;
	int err;
	size_t nodes;
	int list_depth;
	int list_num[32];  /* -1 = unordered, else next number */
	bool cell_first;
};

static int64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void san_html_defang(const char *url, char *out, size_t outlen)
{
	if (strncasecmp(url, "https://", 8) == 0) snprintf(out, outlen, "hxxps://%s", url + 8);
	else if (strncasecmp(url, "http://", 7) == 0) snprintf(out, outlen, "hxxp://%s", url + 7);
	else if (strncasecmp(url, "ftp://", 6) == 0) snprintf(out, outlen, "fxp://%s", url + 6);
	else snprintf(out, outlen, "%s", url);
}

static void raw(struct walk *w, const char *s, size_t n)
{
	if (w->err) return;
	size_t cap = w->o->max_out ? w->o->max_out : (size_t)16 << 20;
	if (w->out.len + n > cap) { w->err = -EFBIG; return; }
	strbuf_append(&w->out, s, n);
}

static void newline(struct walk *w, int want)
{
	if (w->out.len == 0) { w->space = false; return; }
	while (w->nl < want) { raw(w, "\n", 1); w->nl++; }
	w->space = false;
}

/* Append visible text, collapsing white space outside <pre>, defanging
 * URLs written as text when links are defanged. */
static void text(struct walk *w, const char *s)
{
	for (const char *p = s; *p && !w->err; p++) {
		unsigned char c = (unsigned char)*p;
		if (!w->pre && (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f')) {
			if (w->nl == 0 && w->out.len > 0) w->space = true;
			continue;
		}
		if (w->pre && c == '\r') continue;
		if (w->space) { raw(w, " ", 1); w->space = false; }
		if (w->o->links == SAN_LINKS_DEFANG && (c == 'h' || c == 'H')) {
			if (strncasecmp(p, "https://", 8) == 0) { raw(w, "hxxps://", 8); p += 7; w->nl = 0; continue; }
			if (strncasecmp(p, "http://", 7) == 0) { raw(w, "hxxp://", 7); p += 6; w->nl = 0; continue; }
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
		if (is(n, *names)) return true;
	return false;
}

static const char *const DROP[] = { "script", "style", "title", "noscript", "template", "object",
	"embed", "applet", "iframe", "frame", "frameset", "svg", "math", "meta", "link", "base", "input",
	"select", "textarea", "audio", "video", "canvas", "map", "param", "source", "track", NULL };
static const char *const BLOCK[] = { "div", "section", "article", "header", "footer", "nav", "aside",
	"main", "form", "fieldset", "address", "center", "table", "tbody", "thead", "tfoot", "caption",
	"dl", "dt", "dd", "figure", "figcaption", "details", "summary", "body", "html", NULL };
static const char *const PARA[] = { "p", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre",
	"ul", "ol", "hr", NULL };

static bool hidden(xmlNode *n, struct walk *w)
{
	xmlChar *h = NULL;
	bool hide = false;
	if (xmlHasProp(n, (const xmlChar *)"hidden")) hide = true;
	if (!hide && attr(n, "style", &h)) {
		char buf[512];
		size_t k = 0;
		for (const char *p = (const char *)h; *p && k + 1 < sizeof(buf); p++)
			if (!isspace((unsigned char)*p)) buf[k++] = (char)tolower((unsigned char)*p);
		buf[k] = '\0';
		if (strstr(buf, "display:none") || strstr(buf, "visibility:hidden") ||
		    strstr(buf, "font-size:0") || strstr(buf, "opacity:0;") || strstr(buf, "max-height:0"))
			hide = true;
	}
	xmlFree(h);
	if (hide) w->st->hidden++;
	return hide;
}

static void walk_children(struct walk *w, xmlNode *n, int depth);

static void link_target(struct walk *w, const char *href)
{
	while (*href == ' ' || *href == '\t' || *href == '\n' || *href == '\r') href++;
	if (!*href || *href == '#') return;
	w->st->links++;
	if (strncasecmp(href, "data:", 5) == 0) { w->st->data_urls++; text(w, " [data: URL]"); return; }
	if (strncasecmp(href, "javascript:", 11) == 0 || strncasecmp(href, "vbscript:", 9) == 0) {
		w->st->scripts++; text(w, " [script URL]"); return;
	}
	if (w->o->links == SAN_LINKS_REMOVE) return;
	char buf[2048];
	if (w->o->links == SAN_LINKS_DEFANG) {
		san_html_defang(href, buf, sizeof(buf));
		if (strcmp(buf, href) != 0) w->st->links_defanged++;
	} else {
		snprintf(buf, sizeof(buf), "%s", href);
	}
	for (char *p = buf; *p; p++)  /* a target is one line */
		if (*p == '\n' || *p == '\r' || *p == '\t') *p = ' ';
	struct san_html_opts tmp = *w->o;
	tmp.links = SAN_LINKS_KEEP;  /* already defanged: do not re-scan */
	const struct san_html_opts *save = w->o;
	w->o = &tmp;
	text(w, " [");
	text(w, buf);
	text(w, "]");
	w->o = save;
}

static void walk_node(struct walk *w, xmlNode *n, int depth)
{
	if (w->err) return;
	if (++w->nodes % 256 == 0 && w->o->deadline_ns && mono_ns() > w->o->deadline_ns) {
		w->err = -ETIMEDOUT;
		return;
	}
	if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
		if (n->content) text(w, (const char *)n->content);
		return;
	}
	if (n->type != XML_ELEMENT_NODE && n->type != XML_DOCUMENT_NODE && n->type != XML_HTML_DOCUMENT_NODE)
		return;  /* comments, PIs, DTD */
	if (n->type != XML_ELEMENT_NODE) { walk_children(w, n, depth + 1); return; }
	if (depth > SAN_HTML_DEPTH) { w->st->hidden++; return; }
	if (any(n, DROP)) {
		if (is(n, "script")) w->st->scripts++;
		return;
	}
	if (hidden(n, w)) return;
	xmlChar *h = NULL;
	if (is(n, "br")) { raw(w, "\n", 1); w->nl++; w->space = false; return; }
	if (is(n, "hr")) { newline(w, 1); text(w, "----"); newline(w, 1); return; }
	if (is(n, "img")) {
		w->st->images++;
		const char *alt = attr(n, "alt", &h);
		text(w, "[");
		text(w, w->o->image_label ? w->o->image_label : "image");
		if (alt && *alt) { text(w, ": "); text(w, alt); }
		text(w, "]");
		xmlFree(h);
		const char *src = attr(n, "src", &h);
		if (src && strncasecmp(src, "data:", 5) == 0) w->st->data_urls++;
		xmlFree(h);
		return;
	}
	if (is(n, "li")) {
		newline(w, 1);
		int d = w->list_depth > 0 ? w->list_depth - 1 : 0;
		for (int i = 0; i < d && i < 8; i++) raw(w, "  ", 2);
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
		if (!w->cell_first) { w->space = false; raw(w, " | ", 3); w->nl = 0; }
		w->cell_first = false;
		walk_children(w, n, depth);
		return;
	}
	if (is(n, "a")) {
		const char *href = attr(n, "href", &h);
		walk_children(w, n, depth);
		if (href) link_target(w, href);
		xmlFree(h);
		return;
	}
	bool para = any(n, PARA), block = !para && any(n, BLOCK);
	if (para) newline(w, 2); else if (block) newline(w, 1);
	if (is(n, "pre")) w->pre++;
	walk_children(w, n, depth);
	if (is(n, "pre")) w->pre--;
	if (para) newline(w, 2); else if (block) newline(w, 1);
}

static void walk_children(struct walk *w, xmlNode *n, int depth)
{
	for (xmlNode *c = n->children; c && !w->err; c = c->next)
		walk_node(w, c, depth + 1);
}

int san_html_to_text(const char *html, size_t len, const struct san_html_opts *opts,
		     char **ret, struct san_html_stats *ret_stats)
{
	*ret = NULL;
	memset(ret_stats, 0, sizeof(*ret_stats));
	if (len > (size_t)INT32_MAX) return -EFBIG;
	htmlDocPtr doc = htmlReadMemory(html ? html : "", (int)len, NULL, "UTF-8",
		HTML_PARSE_RECOVER | HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
		HTML_PARSE_COMPACT);
	struct walk w = { .o = opts, .st = ret_stats };
	if (!doc) {
		/* Empty or unparseable: nothing readable, which is not an error for empty input. */
		for (size_t i = 0; i < len; i++)
			if (!isspace((unsigned char)html[i])) return -EBADMSG;
		*ret = strdup("");
		return *ret ? 0 : -ENOMEM;
	}
	walk_node(&w, (xmlNode *)doc, 0);
	xmlFreeDoc(doc);
	if (w.err) { strbuf_free(&w.out); return w.err; }
	/* trim trailing white space, end with one newline */
	while (w.out.len && (w.out.buf[w.out.len - 1] == '\n' || w.out.buf[w.out.len - 1] == ' '))
		w.out.buf[--w.out.len] = '\0';
	if (w.out.len) strbuf_putc(&w.out, '\n');
	*ret = strbuf_steal(&w.out);
	return 0;
}
