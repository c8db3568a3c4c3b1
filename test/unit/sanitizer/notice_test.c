/* san_notice: built-ins, template files, rendering. */
#include <string.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sanitizer/san_notice.h"
#include "test/check.h"

static int load(const char *text, struct san_notice **n, char *why, size_t wl)
{
	char p[] = "/tmp/san-notice-XXXXXX";
	int fd = mkstemp(p);
	if (fd < 0)
		return -errno;
	if (write(fd, text, strlen(text)) < 0) {
		close(fd);
		return -errno;
	}
	close(fd);
	int r = san_notice_load("ja", p, n, why, wl);
	unlink(p);
	return r;
}

int main(void)
{
	struct san_notice *n;
	CHECK(san_notice_new("ja", &n) == 0, "ja");
	CHECK(strcmp(san_notice_get(n, "image"), "画像") == 0, "ja image");
	struct strbuf sb = STRBUF_INIT;
	const char *kv[] = {"count", "3", NULL};
	san_notice_render(n, "removed", kv, &sb);
	CHECK(strcmp(sb.buf, "削除したもの（3 件）:") == 0, "render '%s'", sb.buf);
	san_notice_free(n);
	CHECK(san_notice_new("fr", &n) == -EINVAL, "unknown language");
	CHECK(san_notice_new("en", &n) == 0 && strcmp(san_notice_get(n, "image"), "image") == 0, "en");
	strbuf_reset(&sb);
	const char *kv2[] = {"name", "x", NULL};
	san_notice_render(n, "blob_line", kv2, &sb);
	CHECK(strstr(sb.buf, "name: x") && strstr(sb.buf, "{qid}"), "unknown placeholder kept: '%s'", sb.buf);
	san_notice_free(n);
	char why[256];
	CHECK(load("# c\ntitle = T\\nU\n\nimage = 絵\n", &n, why, sizeof(why)) == 0, "load: %s", why);
	CHECK(strcmp(san_notice_get(n, "title"), "T\nU") == 0 && strcmp(san_notice_get(n, "image"), "絵") == 0 &&
		      strcmp(san_notice_get(n, "end"),
			     "------------------------------------------------------------") == 0,
	      "overlay");
	san_notice_free(n);
	CHECK(load("bogus = 1\n", &n, why, sizeof(why)) == -EINVAL && strstr(why, ":1: unknown key"), "unknown key: %s",
	      why);
	CHECK(load("title\n", &n, why, sizeof(why)) == -EINVAL, "no =");
	CHECK(load("title = \xff\n", &n, why, sizeof(why)) == -EINVAL, "bad utf-8");
	/* the portal keys (docs/portal.md): in both languages, overridable */
	static const char *const portal[] = {"cdr_pending", "cdr_ready",       "cdr_none",     "portal_link",
					     "portal_mail", "portal_original", "portal_failed"};
	for (size_t i = 0; i < sizeof(portal) / sizeof(portal[0]); i++)
		for (int l = 0; l < 2; l++) {
			CHECK(san_notice_new(l ? "en" : "ja", &n) == 0, "new");
			CHECK(san_notice_get(n, portal[i])[0] != '\0', "%s has a %s text", portal[i], l ? "en" : "ja");
			san_notice_free(n);
		}
	CHECK(load("portal_link = リンク {url} ({expires})\n", &n, why, sizeof(why)) == 0, "portal_link: %s", why);
	strbuf_reset(&sb);
	const char *kvl[] = {"url", "https://p.example/m/T", "expires", "2026-12-14 10:00 JST", NULL};
	san_notice_render(n, "portal_link", kvl, &sb);
	CHECK_STR(sb.buf, "リンク https://p.example/m/T (2026-12-14 10:00 JST)");
	san_notice_free(n);
	san_notice_free(NULL);
	strbuf_free(&sb);
	FILE *f = tmpfile();
	CHECK(san_notice_dump("en", f) == 0 && san_notice_dump("xx", f) == -EINVAL, "dump");
	fclose(f);
	return check_done();
}
