/* sanitizer-bench-noop-milter: the floor of the postfix case of
 * test/bench/sanitizer-bench.
 *
 *   sanitizer-bench-noop-milter unix:PATH
 *
 * A libmilter milter that negotiates exactly what sekisho-milter asks for
 * on a unix socket (connect, HELO and DATA skipped; no reply to MAIL, RCPT,
 * headers, end of headers and body chunks; header and body changes allowed)
 * and then does nothing: every message is accepted unchanged at end of
 * message.  Postfix with this milter costs what the milter protocol itself
 * costs (Postfix's side and libmilter's), so the bench can tell that part
 * of the gap from the sanitiser's own work.  Not a sanitiser: a benchmark
 * helper.  The socket is made 0666 (the bench's directory limits access).
 * Runs until SIGTERM. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libmilter/mfapi.h>

static sfsistat on_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	(void)ctx;
	(void)f2;
	(void)f3;
	unsigned long need = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY;
	if ((f0 & need) != need)
		return SMFIS_REJECT;
	*pf0 = need;
	*pf1 = f1 &
		(SMFIP_HDR_LEADSPC | SMFIP_NOUNKNOWN | SMFIP_NOCONNECT | SMFIP_NOHELO | SMFIP_NODATA | SMFIP_NR_CONN |
		 SMFIP_NR_HELO | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_DATA | SMFIP_NR_HDR | SMFIP_NR_EOH |
		 SMFIP_NR_BODY | SMFIP_NR_UNKN);
	*pf2 = *pf3 = 0;
	return SMFIS_CONTINUE;
}

static sfsistat on_envfrom(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_NOREPLY;
}
static sfsistat on_envrcpt(SMFICTX *ctx, char **argv)
{
	(void)ctx;
	(void)argv;
	return SMFIS_NOREPLY;
}
static sfsistat on_header(SMFICTX *ctx, char *n, char *v)
{
	(void)ctx;
	(void)n;
	(void)v;
	return SMFIS_NOREPLY;
}
static sfsistat on_eoh(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_NOREPLY;
}
static sfsistat on_body(SMFICTX *ctx, unsigned char *b, size_t l)
{
	(void)ctx;
	(void)b;
	(void)l;
	return SMFIS_NOREPLY;
}
static sfsistat on_eom(SMFICTX *ctx)
{
	(void)ctx;
	return SMFIS_CONTINUE;
}

int main(int argc, char **argv)
{
	if (argc != 2 || strncmp(argv[1], "unix:", 5)) {
		fprintf(stderr, "usage: sanitizer-bench-noop-milter unix:PATH\n");
		return 2;
	}
	struct smfiDesc desc = {
		.xxfi_name = (char *)"sanitizer-bench-noop-milter",
		.xxfi_version = SMFI_VERSION,
		.xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_CHGBODY,
		.xxfi_envfrom = on_envfrom,
		.xxfi_envrcpt = on_envrcpt,
		.xxfi_header = on_header,
		.xxfi_eoh = on_eoh,
		.xxfi_body = on_body,
		.xxfi_eom = on_eom,
		.xxfi_negotiate = on_negotiate,
	};
	unlink(argv[1] + 5);
	if (smfi_setconn(argv[1]) != MI_SUCCESS || smfi_register(desc) != MI_SUCCESS ||
	    smfi_opensocket(true) != MI_SUCCESS || chmod(argv[1] + 5, 0666) < 0) {
		fprintf(stderr, "sanitizer-bench-noop-milter: cannot listen on %s\n", argv[1]);
		return 2;
	}
	return smfi_main() == MI_SUCCESS ? 0 : 2;
}
