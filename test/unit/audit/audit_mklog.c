/* audit_mklog DIR: write a sample chain for the independent verifier test
 * (DIR/key, DIR/log/): two writer sessions, size rotation, strings with
 * Japanese text, quotes, backslashes, control characters and slashes.
 * Prints the C verifier's view: "<last seq> <last mac> <ok>". */
#include <string.h>

#include "audit_testutil.h"

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: audit_mklog DIR\n");
		return 2;
	}
	setenv("TZ", "Asia/Tokyo", 1);
	struct audit_key key;
	tu_key(argv[1], "key", &key);
	char *d = tu_path(argv[1], "log");
	struct audit_opts o = tu_opts(d, &key);
	o.flags = 0;
	o.rotate_bytes = 8192;
	const char *names[] = {"請求書.pdf.exe", "a\"b\\c/d", "tab\there\nnl\x01\x1f", "\u202Efdp.scr"};
	for (int session = 0; session < 2; session++) {
		struct audit_log *log = tu_open(&o);
		for (uint64_t i = 0; i < 60; i++) {
			REQUIRE(tu_emit_flow(log, i) == 0);
			if (i % 10 == 0)
				REQUIRE(audit_emit(log, "mail.sanitized",
						   (struct audit_field[]){
							   AUDIT_STR("queue_id", "4Xa9Zq1kLm"),
							   AUDIT_STR("subject", "【至急】\"税務\\課\"よりのお知らせ"),
							   AUDIT_STRLIST("removed", names, 4),
						   },
						   3) == 0);
		}
		REQUIRE(audit_close(log) == 0);
	}
	struct audit_verify_result *r = tu_verify_dir(d, &key);
	printf("%llu %s %d\n", (unsigned long long)r->last_seq, r->last_mac, r->ok);
	audit_verify_result_free(r);
	free(d);
	return 0;
}
