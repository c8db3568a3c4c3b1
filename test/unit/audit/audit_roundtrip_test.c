/* Round trip: write events of every field type (Japanese text included)
 * through the writer, read them back through the verifier's iterator, and
 * check the exact line format.  Failure cases: bad options, bad event
 * names, oversize and invalid-UTF-8 values (cut and marked), tampered
 * single lines. */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "audit_testutil.h"
#include "common/audit/audit_record.h"
#include "test/check.h"

#define RANDOM_STRINGS 300

static const char *jstr(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? json_object_get_string(v) : NULL;
}

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v;
	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static bool array_has(struct json_object *a, const char *s)
{
	if (!a || !json_object_is_type(a, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(a); i++)
		if (strcmp(json_object_get_string(json_object_array_get_idx(a, i)), s) == 0)
			return true;
	return false;
}

static void test_options(const char *dir, const struct audit_key *key)
{
	struct audit_log *log = NULL;
	struct audit_opts o = tu_opts(dir, key);
	char why[256];
	o.component = NULL;
	CHECK(audit_open(&o, &log, why, sizeof why) == -EINVAL);
	o.component = "Gate Way";
	CHECK(audit_open(&o, &log, why, sizeof why) == -EINVAL);
	o.component = "gateway";
	o.slot_bytes = 100;
	CHECK(audit_open(&o, &log, why, sizeof why) == -EINVAL);
	o.slot_bytes = 0;
	struct audit_key shortkey = *key;
	shortkey.len = 8;
	o.key = &shortkey;
	CHECK(audit_open(&o, &log, why, sizeof why) == -EINVAL);
	CHECK(log == NULL);
	CHECK(audit_close(NULL) == 0);
}

/* The writer's fast path (no json-c call for strings with nothing to
 * escape) must give exactly json-c's output: check the predicate against
 * json-c for every byte value. */
static void test_json_plain(void)
{
	struct json_object *o = json_object_new_string("");
	for (int b = 0; b < 256; b++) {
		char c = (char)b;
		json_object_set_string_len(o, &c, 1);
		size_t n;
		const char *q = json_object_to_json_string_length(
			o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
		bool same = n == 3 && q[0] == '"' && q[1] == c && q[2] == '"';
		if (same != audit_record_json_plain(&c, 1)) {
			fprintf(stderr, "byte 0x%02x: json-c writes %s\n", b, q);
			check_failures++;
		}
	}
	json_object_put(o);
}

/* A record's S (line without the mac member) is exactly what json-c
 * writes for the parsed record: the layout is json-c's. */
static void check_same_as_json_c(const char *line, size_t len)
{
	REQUIRE(len > AUDIT_MAC_SUFFIX_LEN);
	size_t sl = len - AUDIT_MAC_SUFFIX_LEN + 1;
	char *S = malloc(sl + 1);
	memcpy(S, line, sl - 1);
	S[sl - 1] = '}';
	S[sl] = '\0';
	struct json_object *o = audit_record_parse(S, sl);
	CHECK(o != NULL);
	size_t n = 0;
	const char *again = o
		? json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n)
		: "";
	if (n != sl || memcmp(again, S, sl) != 0) {
		fprintf(stderr, "record differs from json-c's serialisation:\n ours:   %s\n json-c: %s\n", S, again);
		check_failures++;
	}
	json_object_put(o);
	free(S);
}

int main(void)
{
	setenv("TZ", "Asia/Tokyo", 1);
	char *dir = tu_tmpdir("roundtrip");
	char *logdir = tu_path(dir, "gateway");
	struct audit_key key;
	tu_key(dir, "key", &key);
	test_options(logdir, &key);
	test_json_plain();

	struct audit_opts o = tu_opts(logdir, &key);
	o.flags = 0; /* with clock.status */
	o.max_str = 100;
	o.slot_bytes = 1024;
	o.queue_slots = 4096; /* the whole test fits: nothing is dropped */
	struct audit_log *log = tu_open(&o);

	/* Every field type. */
	const char *removed[] = {"請求書.exe", "見積書\u202Efdp.scr", "report.docm"};
	uint8_t sha[32];
	for (int i = 0; i < 32; i++)
		sha[i] = (uint8_t)(i * 7);
	u128 v6 = ((u128)0x20010db8u << 96) | 1;
	struct audit_field att0[] = {AUDIT_STR("name", "請求書.exe"), AUDIT_HEX("sha256", sha, 32),
				     AUDIT_STR("quarantine_id", "Q-20261122-0001")};
	struct audit_field att1[] = {AUDIT_STR("name", "契約書.zip"), AUDIT_HEX("sha256", sha, 32),
				     AUDIT_BOOL("encrypted", true)};
	struct audit_field items[] = {AUDIT_OBJ(NULL, att0, 3), AUDIT_OBJ(NULL, att1, 3)};
	CHECK(audit_emit(log, "mail.sanitized",
			 (struct audit_field[]){
				 AUDIT_STR("queue_id", "4XyZ1c2d3"),
				 AUDIT_STR("message_id", "<20261122.abc@example.lg.jp>"),
				 AUDIT_STR("subject", "【至急】住民税の通知について"),
				 AUDIT_STRLIST("removed_names", removed, 3),
				 AUDIT_LIST("removed", items, 2),
				 AUDIT_INT("neg", -42),
				 AUDIT_UINT("big", UINT64_MAX),
				 AUDIT_BOOL("html_to_text", true),
				 AUDIT_IP("client", 6, v6),
				 AUDIT_NULL("nothing"),
				 AUDIT_STR("quote", "a \"quoted\" \\ / path\n\ttab"),
			 },
			 11) == 0);
	/* Cut values: a 3-byte-per-character string longer than max_str. */
	char longjp[400] = "";
	for (int i = 0; i < 60; i++)
		strcat(longjp, "関");
	CHECK(audit_emit(log, "test.cut", (struct audit_field[]){AUDIT_STR("long", longjp), AUDIT_INT("after", 7)},
			 2) == 0);
	/* Invalid UTF-8 is repaired and marked. */
	CHECK(audit_emit(log, "test.utf8", (struct audit_field[]){AUDIT_STRN("bad", "ok\xff\xc3(", 5)}, 1) == 0);
	/* More fields than fit in the 1 KiB slot: the rest are omitted and counted. */
	struct audit_field many[40];
	char fnames[40][8];
	for (int i = 0; i < 40; i++) {
		snprintf(fnames[i], sizeof fnames[i], "f%d", i);
		many[i] = (struct audit_field)AUDIT_STR(fnames[i], "0123456789012345678901234567890123456789");
	}
	CHECK(audit_emit(log, "test.many", many, 40) == 0);
	/* Every ASCII byte, NUL and DEL included, through the writer. */
	char all[128];
	for (int i = 0; i < 128; i++)
		all[i] = (char)i;
	CHECK(audit_emit(log, "test.ascii",
			 (struct audit_field[]){AUDIT_STRN("lo", all, 64), AUDIT_STRN("hi", all + 64, 64),
						AUDIT_STRN("k\"ey\n", "v", 1)},
			 3) == 0);
	/* A repeated name: the first one stays, the repeat is left out. */
	CHECK(audit_emit(log, "test.dup",
			 (struct audit_field[]){AUDIT_INT("x", 1), AUDIT_INT("x", 2), AUDIT_INT("y", 3)}, 3) == 0);
	/* Random strings over an alphabet with every kind of byte the
	 * escaping cares about, at every alignment: each must come back
	 * exactly (and each record is compared with json-c's layout below). */
	static const char *const alpha[] = {"a",  "Z",    "0",    " ",    "\"", "\\", "/", "\n",
					    "\t", "\x01", "\x1f", "\x7f", "é",  "関", "😀", "\xe2\x80\xa8"};
	char rnd[RANDOM_STRINGS][160];
	unsigned seed = 12345;
	for (int k = 0; k < RANDOM_STRINGS; k++) {
		size_t len = 0, want = (seed = seed * 1103515245 + 12345) % 40;
		rnd[k][0] = '\0';
		for (size_t c = 0; c < want; c++) {
			const char *piece = alpha[(seed = seed * 1103515245 + 12345) >> 16 & 15];
			size_t pl = strlen(piece);
			memcpy(rnd[k] + len, piece, pl);
			len += pl;
		}
		rnd[k][len] = '\0';
		CHECK(audit_emit(log, "test.random", (struct audit_field[]){AUDIT_INT("k", k), AUDIT_STR("s", rnd[k])},
				 2) == 0);
	}
	/* Bad event names are refused. */
	CHECK(audit_emit(log, "Bad Event", NULL, 0) == -EINVAL);
	CHECK(audit_emit(log, "", NULL, 0) == -EINVAL);
	CHECK(audit_emit(log, "x.0123456789012345678901234567890123456789012345678", NULL, 0) == -EINVAL);
	CHECK(audit_emit(log, NULL, NULL, 0) == -EINVAL);
	for (uint64_t i = 0; i < 1000; i++)
		CHECK(tu_emit_flow(log, i) == 0);
	CHECK(audit_flush(log) == 0);
	struct audit_stats st;
	audit_get_stats(log, &st);
	CHECK_EQ_U(st.emitted, 1006 + RANDOM_STRINGS);
	CHECK_EQ_U(st.written, 1006 + RANDOM_STRINGS);
	CHECK_EQ_U(st.dropped, 0);
	CHECK_EQ_U(st.truncated, 3);
	CHECK(audit_close(log) == 0);

	/* A second writer with another key must refuse to continue the chain. */
	struct audit_key other;
	tu_key(dir, "key2", &other);
	struct audit_opts o2 = tu_opts(logdir, &other);
	struct audit_log *bad = NULL;
	char why[256] = "";
	CHECK(audit_open(&o2, &bad, why, sizeof why) == -EKEYREJECTED);
	CHECK(strstr(why, "do not verify") != NULL);

	/* Verify and read back. */
	struct audit_verify_opts vo = {.key = &key, .dir = logdir};
	struct audit_verify_iter *it;
	REQUIRE(audit_verify_open(&vo, &it) == 0);
	struct audit_verify_record rec;
	uint64_t n = 0, flows = 0, randoms = 0;
	bool saw_mail = false, saw_cut = false, saw_utf8 = false, saw_many = false, saw_clock = false;
	int r;
	while ((r = audit_verify_next(it, &rec)) > 0) {
		n++;
		CHECK(rec.status == AUDIT_REC_OK);
		CHECK(rec.mac_ok);
		CHECK_EQ_U(rec.seq, n);
		CHECK_EQ_U(rec.line_no, n);
		REQUIRE(rec.obj);
		/* Key order and format on the bytes. */
		CHECK(strncmp(rec.line, "{\"ts\":\"", 7) == 0);
		const char *keys[] = {"\"ts\":",  "\"host\":", "\"component\":", "\"event\":",
				      "\"seq\":", "\"data\":", "\"prev\":",      "\"mac\":"};
		const char *at = rec.line;
		for (size_t k = 0; k < 8; k++) {
			const char *p = memmem(at, rec.len - (size_t)(at - rec.line), keys[k], strlen(keys[k]));
			CHECK(p != NULL);
			if (p)
				at = p;
		}
		check_same_as_json_c(rec.line, rec.len);
		CHECK(rec.ts && strlen(rec.ts) == 32 && strcmp(rec.ts + 26, "+09:00") == 0 && rec.ts[19] == '.');
		CHECK(strcmp(jstr(rec.obj, "host"), "gw-test") == 0);
		CHECK(strcmp(jstr(rec.obj, "component"), "gateway") == 0);
		struct json_object *d = jget(rec.obj, "data");
		CHECK(d && json_object_is_type(d, json_type_object));
		if (n == 1) {
			CHECK(strcmp(rec.event, "log.open") == 0);
			CHECK(strcmp(jstr(rec.obj, "prev"), AUDIT_ZERO_MAC) == 0);
			CHECK(strcmp(jstr(d, "reason"), "new") == 0);
		}
		if (strcmp(rec.event, "clock.status") == 0) {
			saw_clock = true;
			CHECK(jget(d, "synchronized") != NULL);
			CHECK(jget(d, "maxerror_us") != NULL);
		}
		if (strcmp(rec.event, "mail.sanitized") == 0) {
			saw_mail = true;
			CHECK(strcmp(jstr(d, "subject"), "【至急】住民税の通知について") == 0);
			CHECK(memmem(rec.line, rec.len, "【至急】住民税の通知について",
				     strlen("【至急】住民税の通知について")));
			struct json_object *rn = jget(d, "removed_names");
			CHECK(rn && json_object_array_length(rn) == 3);
			CHECK(array_has(rn, "見積書\u202Efdp.scr"));
			struct json_object *rm = jget(d, "removed");
			CHECK(rm && json_object_array_length(rm) == 2);
			struct json_object *a1 = json_object_array_get_idx(rm, 1);
			CHECK(strcmp(jstr(a1, "name"), "契約書.zip") == 0);
			CHECK(strcmp(jstr(a1, "sha256"),
				     "00070e151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9") == 0);
			CHECK(json_object_get_boolean(jget(a1, "encrypted")));
			CHECK(json_object_get_int64(jget(d, "neg")) == -42);
			CHECK(json_object_get_uint64(jget(d, "big")) == UINT64_MAX);
			CHECK(strcmp(jstr(d, "client"), "2001:db8::1") == 0);
			CHECK(json_object_is_type(jget(d, "nothing"), json_type_null));
			CHECK(strcmp(jstr(d, "quote"), "a \"quoted\" \\ / path\n\ttab") == 0);
			/* NOSLASHESCAPE: "/" stays as is. */
			CHECK(memmem(rec.line, rec.len, "\\/", 2) == NULL);
			CHECK(jget(d, "_truncated") == NULL);
		}
		if (strcmp(rec.event, "test.cut") == 0) {
			saw_cut = true;
			const char *s = jstr(d, "long");
			CHECK(s && strlen(s) == 99); /* 33 characters of 3 bytes within max_str 100 */
			CHECK(array_has(jget(d, "_truncated"), "long"));
			CHECK(json_object_get_int(jget(d, "after")) == 7);
		}
		if (strcmp(rec.event, "test.utf8") == 0) {
			saw_utf8 = true;
			CHECK(strcmp(jstr(d, "bad"), "ok\xef\xbf\xbd\xef\xbf\xbd(") == 0);
			CHECK(array_has(jget(d, "_invalid_utf8"), "bad"));
		}
		if (strcmp(rec.event, "test.ascii") == 0) {
			struct json_object *v = jget(d, "lo"), *w = jget(d, "hi");
			CHECK(v && json_object_get_string_len(v) == 64 &&
			      memcmp(json_object_get_string(v), all, 64) == 0);
			CHECK(w && json_object_get_string_len(w) == 64 &&
			      memcmp(json_object_get_string(w), all + 64, 64) == 0);
			CHECK(jstr(d, "k\"ey\n") && strcmp(jstr(d, "k\"ey\n"), "v") == 0);
		}
		if (strcmp(rec.event, "test.random") == 0) {
			int k = json_object_get_int(jget(d, "k"));
			REQUIRE(k >= 0 && k < RANDOM_STRINGS);
			CHECK(jstr(d, "s") && strcmp(jstr(d, "s"), rnd[k]) == 0);
			randoms++;
		}
		if (strcmp(rec.event, "test.dup") == 0) {
			CHECK(json_object_get_int(jget(d, "x")) == 1 && json_object_get_int(jget(d, "y")) == 3);
			CHECK(json_object_get_int(jget(d, "_omitted")) == 1);
		}
		if (strcmp(rec.event, "test.many") == 0) {
			saw_many = true;
			CHECK(json_object_get_int(jget(d, "_omitted")) > 0);
		}
		if (strcmp(rec.event, "flow.decision") == 0) {
			CHECK(strcmp(jstr(d, "src"), "192.168.10.0") == 0 || flows > 0);
			CHECK(json_object_get_uint64(jget(d, "n")) == flows);
			flows++;
		}
		/* Every line verifies on its own. */
		char mac[65];
		CHECK(audit_verify_line(&key, rec.line, rec.len, mac) == 1);
		CHECK(strcmp(mac, jstr(rec.obj, "mac")) == 0);
		CHECK(audit_verify_line(&other, rec.line, rec.len, NULL) == 0);
	}
	CHECK(r == 0);
	CHECK(saw_mail && saw_cut && saw_utf8 && saw_many && saw_clock);
	CHECK_EQ_U(flows, 1000);
	CHECK_EQ_U(randoms, RANDOM_STRINGS);
	const struct audit_verify_result *res = audit_verify_result(it);
	CHECK(res->ok);
	CHECK_EQ_U(res->nbreaks, 0);
	CHECK_EQ_U(res->nfiles, 1);
	CHECK_EQ_U(res->records, n);
	CHECK_EQ_U(res->last_seq, n);
	CHECK(audit_record_is_mac(res->last_mac));
	CHECK(res->files[0].first_ts[0] && res->files[0].last_ts[0]);
	audit_verify_free(it);

	/* One changed byte in a line: audit_verify_line says no. */
	{
		size_t nn;
		char **names = tu_files(logdir, &nn);
		char *p = tu_path(logdir, names[0]);
		size_t len;
		char *buf = tu_read(p, &len);
		char *nl = memchr(buf, '\n', len);
		REQUIRE(nl);
		CHECK(audit_verify_line(&key, buf, (size_t)(nl - buf), NULL) == 1);
		buf[10] ^= 1;
		CHECK(audit_verify_line(&key, buf, (size_t)(nl - buf), NULL) == 0);
		CHECK(audit_verify_line(&key, buf, 5, NULL) == 0);
		free(buf);
		free(p);
		tu_free_names(names, nn);
	}
	/* Verifier option errors. */
	struct audit_verify_result *vr = NULL;
	struct audit_verify_opts bado = {.key = &key};
	CHECK(audit_verify_run(&bado, &vr) == -EINVAL);
	bado.dir = "/nonexistent/sekisho";
	CHECK(audit_verify_run(&bado, &vr) == -ENOENT);

	audit_key_wipe(&key);
	audit_key_wipe(&other);
	tu_rmrf(dir);
	free(logdir);
	free(dir);
	return check_done();
}
