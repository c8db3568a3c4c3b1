/* fuzz_cdr_members: libFuzzer target for the trusted-side reader of the
 * archive converter's member stream (sanitizer/cdr/cdr_members.c).
 *
 * cdr_members_parse must refuse the input with -EBADMSG and a reason, or
 * accept it such that every record lies inside the input, every name is a
 * safe name under the caps, no two member names clash, sizes and counts
 * respect the caps, and the records tile the input up to the end record.
 * Small caps make the limits reachable.  Seeds: test/fuzz/corpus/cdr_members/. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sanitizer/cdr/cdr_members.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct cdr_members_caps caps = {.max_entries = 8,
						     .max_member_bytes = 64,
						     .max_total_bytes = 128,
						     .max_ratio = 1,
						     .max_name_bytes = 40,
						     .max_segments = 4};
	struct cdr_members_stream s;
	char why[64];
	why[0] = 0;
	int r = cdr_members_parse(data, size, &caps, &s, why, sizeof why);
	if (r < 0) {
		if (r != -EBADMSG || why[0] == 0 || s.rec || s.nrec)
			abort();
		return 0;
	}
	if (s.nrec > caps.max_entries || s.member_bytes > caps.max_total_bytes)
		abort();
	/* the records follow each other from the stream header on */
	const uint8_t *expect = data + CDR_MEMBERS_HEADER_SIZE;
	uint64_t members = 0, bytes = 0;
	struct cdr_names *names = cdr_names_new();
	for (size_t i = 0; i < s.nrec; i++) {
		const struct cdr_members_rec *m = &s.rec[i];
		if ((const uint8_t *)m->name != expect + CDR_MEMBERS_RECORD_SIZE ||
		    m->data != (const uint8_t *)m->name + m->name_len ||
		    !cdr_members_name_ok(m->name, m->name_len, &caps))
			abort();
		if (m->type == CDR_MEMBERS_MEMBER) {
			if (m->len > caps.max_member_bytes || cdr_names_add(names, m->name, m->name_len))
				abort();
			members++;
			bytes += m->len;
		} else if (m->type != CDR_MEMBERS_SKIPPED || !cdr_members_reason_ok((const char *)m->data, m->len)) {
			abort();
		}
		/* touch the last byte: ASan checks it is inside */
		if (m->len) {
			volatile uint8_t b = m->data[m->len - 1];
			(void)b;
		}
		expect = m->data + m->len;
	}
	cdr_names_free(names);
	if (members != s.nmembers || bytes != s.member_bytes)
		abort();
	/* what follows is the end or refusal record, and then nothing */
	size_t tail = CDR_MEMBERS_RECORD_SIZE + strlen(s.refused);
	if ((size_t)(data + size - expect) != tail || (expect[0] != 'E' && expect[0] != 'R') ||
	    (expect[0] == 'R') != (s.refused[0] != 0))
		abort();
	if ((s.flags & CDR_MEMBERS_FLAG_SINGLE) && !s.refused[0] && s.nrec != 1)
		abort();
	free(s.rec);
	return 0;
}
