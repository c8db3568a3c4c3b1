/* lx_cp932: UTF-8 -> CP932 with '?' replacement (see lx_cp932.h).
 *
 * Contract: one iconv descriptor per converter, reset before every call
 * (CP932 is stateless, but a reset keeps one bad call from affecting the
 * next).  On EILSEQ/EINVAL the offending UTF-8 sequence (or single bad
 * byte) is skipped and '?' written, so conversion always completes. */
#include "tools/logexport/lx_cp932.h"

#include <errno.h>
#include <iconv.h>
#include <stdlib.h>

#include "common/utf8.h"
#include "common/xalloc.h"

struct lx_cp932 {
	iconv_t cd;
};

int lx_cp932_new(struct lx_cp932 **ret_conv)
{
	iconv_t cd = iconv_open("CP932", "UTF-8");
	if (cd == (iconv_t)-1)
		return errno == EINVAL ? -EINVAL : -errno;
	struct lx_cp932 *c = xmalloc(sizeof *c);
	c->cd = cd;
	*ret_conv = c;
	return 0;
}

void lx_cp932_free(struct lx_cp932 *conv)
{
	if (!conv)
		return;
	iconv_close(conv->cd);
	free(conv);
}

/* Length of the character at p that iconv refused: a valid UTF-8
 * character CP932 lacks is skipped whole, a byte that is not UTF-8 on its
 * own (so every such byte becomes one '?'). */
static size_t skip_len(const unsigned char *p, size_t left)
{
	uint32_t cp;
	size_t n = utf8_decode(p, left, &cp);
	return n ? n : 1;
}

uint64_t lx_cp932_convert(struct lx_cp932 *conv, const char *in, size_t n, struct strbuf *out)
{
	uint64_t replaced = 0;
	iconv(conv->cd, NULL, NULL, NULL, NULL);
	char *ip = (char *)(uintptr_t)in; /* iconv's prototype is not const-correct */
	size_t ileft = n;
	while (ileft > 0) {
		/* Worst case CP932 needs 2 bytes per input byte; grow in steps. */
		size_t room = ileft * 2 + 16;
		xgrow(&out->buf, &out->cap, out->len + room + 1, 1);
		char *op = out->buf + out->len;
		size_t oleft = room;
		size_t r = iconv(conv->cd, &ip, &ileft, &op, &oleft);
		int err = r == (size_t)-1 ? errno : 0;
		out->len = (size_t)(op - out->buf);
		out->buf[out->len] = '\0';
		if (err == E2BIG || err == 0)
			continue;
		/* EILSEQ, EINVAL (cut sequence) or anything else: replace one
		 * character and go on. */
		size_t skip = skip_len((const unsigned char *)ip, ileft);
		ip += skip;
		ileft -= skip;
		strbuf_putc(out, '?');
		replaced++;
		iconv(conv->cd, NULL, NULL, NULL, NULL);
	}
	return replaced;
}
