/* http_server: ptl_http's server with three routes, for http_server_test.py.
 *
 *   http_server CERT KEY ADDR:PORT
 *
 * GET /hello/<arg> answers a page with the argument and the language;
 * POST /form answers the form's fields (urlencoded, server cap 1 KiB);
 * POST /stream counts a streamed body (cap 1 MiB) through a body function;
 * GET /cookie sets two cookies and echoes __Host-t.  Prints "ready" when
 * listening and runs until stdin closes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/portal/ptl_http.h"

static void hello(struct ptl_req *req)
{
	struct ptl_page p;
	ptl_page_begin(&p, req->lang, "hello");
	ptl_page_put(&p, "<h1>%s</h1><p>lang=%s peer=%s</p>", req->args[0], req->lang == PTL_EN ? "en" : "ja",
		     req->peer);
	ptl_page_end(&p);
	ptl_send_page(req, 200, &p);
}

static void form(struct ptl_req *req)
{
	struct ptl_page p;
	ptl_page_begin(&p, req->lang, "form");
	for (size_t i = 0; i < req->form.n; i++)
		ptl_page_put(&p, "<p>%s=%s</p>\n", req->form.name[i], req->form.value[i]);
	ptl_page_put(&p, "<p>same-origin=%d</p>", (int)ptl_req_same_origin(req));
	ptl_page_end(&p);
	ptl_send_page(req, 200, &p);
}

static int stream_body(struct ptl_req *req, const char *data, size_t len)
{
	(void)data;
	size_t *n = req->user;
	if (!n)
		n = req->user = calloc(1, sizeof *n);
	*n += len;
	return 0;
}

static void stream(struct ptl_req *req)
{
	char t[64];
	size_t *n = req->user;
	snprintf(t, sizeof t, "%zu\n", n ? *n : 0);
	ptl_send_text(req, 200, "text/plain", t, strlen(t));
}

static void cookie(struct ptl_req *req)
{
	char v[64] = "";
	int r = ptl_req_cookie(req, "__Host-t", v, sizeof v);
	struct strbuf sb = STRBUF_INIT;
	ptl_cookie_format(&sb, "__Host-t", "v1", -1);
	ptl_req_set_cookie(req, strbuf_str(&sb));
	strbuf_free(&sb);
	char t[128];
	snprintf(t, sizeof t, "%d %s\n", r, v);
	ptl_send_text(req, 200, "text/plain", t, strlen(t));
}

static void done(struct ptl_req *req, bool ok)
{
	(void)ok;
	free(req->user);
}

static const struct ptl_route routes[] = {
	{"GET", "/hello/*", hello, NULL, 0},
	{"POST", "/form", form, NULL, 0},
	{"POST", "/stream", stream, stream_body, 1 << 20},
	{"GET", "/cookie", cookie, NULL, 0},
};

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: http_server CERT KEY ADDR:PORT\n");
		return 2;
	}
	struct ptl_http_opts o = {.listen = argv[3],
				  .cert_file = argv[1],
				  .key_file = argv[2],
				  .max_conn = 8,
				  .max_conn_per_ip = 4,
				  .timeout_s = 3,
				  .threads = 2,
				  .max_header = 8192,
				  .max_body = 1024,
				  .routes = routes,
				  .nroutes = sizeof routes / sizeof routes[0],
				  .done = done};
	struct ptl_http *h;
	char why[256];
	if (ptl_http_start(&o, &h, why, sizeof why) < 0) {
		fprintf(stderr, "http_server: %s\n", why);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	char buf[64];
	while (fgets(buf, sizeof buf, stdin))
		;
	ptl_http_stop(h);
	return 0;
}
