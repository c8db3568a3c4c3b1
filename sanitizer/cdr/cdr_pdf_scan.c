/* cdr_pdf_scan: active-content names in a PDF's bytes and in its Flate
 * streams, for the converter's report (contract in cdr_pdf_scan.h).
 *
 * Runs inside the sandbox on attacker bytes.  Every stream is inflated into
 * one reused buffer of at most max_stream_out bytes, and the scan stops
 * inflating once max_total_out bytes or max_streams streams are reached (a
 * Flate bomb costs at most those bytes and the time to inflate them).
 * Never logs; a failure is -errno and nothing else. */
#include "sanitizer/cdr/cdr_pdf_scan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ZLIB_CONST
#include <zlib.h>

static const struct {
	const char *name; /* without the slash */
	const char *item;
} scan_names[CDR_PDF_SCAN_COUNT_] = {
	[CDR_PDF_SCAN_OPENACTION] = {"OpenAction", "action:/OpenAction"},
	[CDR_PDF_SCAN_AA] = {"AA", "action:/AA"},
	[CDR_PDF_SCAN_JAVASCRIPT] = {"JavaScript", "javascript:/JavaScript"},
	[CDR_PDF_SCAN_JS] = {"JS", "javascript:/JS"},
	[CDR_PDF_SCAN_LAUNCH] = {"Launch", "action:/Launch"},
	[CDR_PDF_SCAN_URI] = {"URI", "action:/URI"},
	[CDR_PDF_SCAN_SUBMITFORM] = {"SubmitForm", "action:/SubmitForm"},
	[CDR_PDF_SCAN_IMPORTDATA] = {"ImportData", "action:/ImportData"},
	[CDR_PDF_SCAN_GOTOR] = {"GoToR", "action:/GoToR"},
	[CDR_PDF_SCAN_GOTOE] = {"GoToE", "action:/GoToE"},
	[CDR_PDF_SCAN_EMBEDDEDFILE] = {"EmbeddedFile", "attachment:/EmbeddedFile"},
	[CDR_PDF_SCAN_RICHMEDIA] = {"RichMedia", "multimedia:/RichMedia"},
	[CDR_PDF_SCAN_XFA] = {"XFA", "form:/XFA"},
	[CDR_PDF_SCAN_ACROFORM] = {"AcroForm", "form:/AcroForm"},
};

void cdr_pdf_scan_limits_default(struct cdr_pdf_scan_limits *ret_lim)
{
	ret_lim->max_stream_out = 16u << 20;
	ret_lim->max_total_out = 64u << 20;
	ret_lim->max_streams = 100000;
}

const char *cdr_pdf_scan_item(unsigned i)
{
	return i < CDR_PDF_SCAN_COUNT_ ? scan_names[i].item : "unknown";
}

/* a character that ends a PDF name (white space or a delimiter) */
static int scan_name_end(uint8_t c)
{
	return c == 0 || c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '(' || c == ')' ||
		c == '<' || c == '>' || c == '[' || c == ']' || c == '{' || c == '}' || c == '/' || c == '%';
}

/* count every known name in p[0..len); a name at the very end counts */
static void scan_names_in(const uint8_t *p, size_t len, struct cdr_pdf_scan_result *ret)
{
	const uint8_t *end = p + len;

	for (const uint8_t *s = memchr(p, '/', len); s; s = memchr(s + 1, '/', (size_t)(end - s - 1))) {
		size_t rest = (size_t)(end - s - 1);
		for (unsigned i = 0; i < CDR_PDF_SCAN_COUNT_; i++) {
			size_t n = strlen(scan_names[i].name);
			if (n <= rest && memcmp(s + 1, scan_names[i].name, n) == 0 &&
			    (n == rest || scan_name_end(s[1 + n]))) {
				if (ret->count[i] < ~0u)
					ret->count[i]++;
				break;
			}
		}
		if (s + 1 >= end)
			break;
	}
}

/* a direct integer after the name at p (white space between), or -1 */
static int64_t scan_int_after(const uint8_t *p, const uint8_t *end)
{
	int64_t v = 0;
	int digits = 0;

	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n' || *p == '\f'))
		p++;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (++digits > 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	/* "N 0 R" is a reference, not the value */
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	if (digits == 0 || (p < end && *p >= '0' && *p <= '9'))
		return -1;
	return v;
}

/* the value of key (e.g. "/Width") in d[0..n), the first one, or -1 */
static int64_t scan_key_int(const uint8_t *d, size_t n, const char *key)
{
	size_t k = strlen(key);
	const uint8_t *end = d + n;

	for (const uint8_t *s = memmem(d, n, key, k); s; s = memmem(s + 1, (size_t)(end - s - 1), key, k))
		if (s + k < end && scan_name_end(s[k]))
			return scan_int_after(s + k, end);
		else if (s + 1 >= end)
			break;
	return -1;
}

/* the dictionary around p: back to the "<<" that opens it and forward to
 * its ">>" (nested dictionaries skipped both ways), at most 4 KiB each way;
 * 0 when there is none */
static int scan_dict_around(const uint8_t *buf, const uint8_t *end, const uint8_t *p, const uint8_t **ret_start,
			    size_t *ret_len)
{
	const uint8_t *s, *e;
	int depth = 0;

	/* s walks back over the pair s[-2], s[-1] */
	s = p;
	while (s - buf >= 2 && p - s < 4096) {
		if (s[-1] == '>' && s[-2] == '>') {
			depth++;
			s -= 2;
		} else if (s[-1] == '<' && s[-2] == '<') {
			s -= 2;
			if (depth-- == 0)
				break;
		} else {
			s--;
		}
	}
	if (depth >= 0)
		return 0;
	depth = 0;
	for (e = s; e + 1 < end && e - p < 4096; e++) {
		if (e[0] == '<' && e[1] == '<') {
			depth++;
			e++;
		} else if (e[0] == '>' && e[1] == '>') {
			e++;
			if (--depth == 0) {
				*ret_start = s;
				*ret_len = (size_t)(e + 1 - s);
				return 1;
			}
		}
	}
	return 0;
}

/* every "/Subtype /Image" dictionary: the largest declared image */
static void scan_images(const uint8_t *buf, size_t len, struct cdr_pdf_scan_result *ret)
{
	static const char key[] = "/Image";
	const uint8_t *end = buf + len;

	for (const uint8_t *s = memmem(buf, len, key, sizeof key - 1); s;
	     s = memmem(s + 1, (size_t)(end - s - 1), key, sizeof key - 1)) {
		const uint8_t *d;
		size_t n;
		if (s + sizeof key - 1 >= end)
			break;
		if (!scan_name_end(s[sizeof key - 1]) || !scan_dict_around(buf, end, s, &d, &n))
			continue;
		int64_t w = scan_key_int(d, n, "/Width"), h = scan_key_int(d, n, "/Height");
		if (w > 0 && h > 0 && (uint64_t)w * (uint64_t)h > ret->max_image_pixels)
			ret->max_image_pixels = (uint64_t)w * (uint64_t)h;
	}
}

/* inflate the zlib stream at p (at most avail bytes of input) into out;
 * returns the bytes produced (a broken stream gives what came before) */
static size_t scan_inflate(const uint8_t *p, size_t avail, uint8_t *out, size_t cap)
{
	z_stream z;
	size_t got;

	memset(&z, 0, sizeof z);
	if (inflateInit(&z) != Z_OK)
		return 0;
	z.next_in = p;
	z.avail_in = avail > 0x7fffffffu ? 0x7fffffffu : (uInt)avail;
	z.next_out = out;
	z.avail_out = cap > 0x7fffffffu ? 0x7fffffffu : (uInt)cap;
	(void)inflate(&z, Z_FINISH);
	got = z.total_out;
	inflateEnd(&z);
	return got;
}

int cdr_pdf_scan(const uint8_t *buf, size_t len, const struct cdr_pdf_scan_limits *lim, struct cdr_pdf_scan_result *ret)
{
	static const char kw[] = "stream";
	const uint8_t *end = buf + len;
	uint8_t *out;

	memset(ret, 0, sizeof *ret);
	if (!lim->max_stream_out || !lim->max_total_out || !lim->max_streams)
		return -EINVAL;
	scan_names_in(buf, len, ret);
	scan_images(buf, len, ret);
	out = malloc(lim->max_stream_out);
	if (!out)
		return -ENOMEM;
	for (const uint8_t *s = buf; s && (size_t)(end - s) > sizeof kw; s++) {
		s = memmem(s, (size_t)(end - s), kw, sizeof kw - 1);
		if (!s)
			break;
		const uint8_t *d = s + sizeof kw - 1;
		/* "endstream" also contains the keyword; a stream's data starts
		 * after an end of line */
		if (s > buf && s[-1] == 'd')
			continue;
		if (d < end && *d == '\r')
			d++;
		if (d >= end || *d != '\n')
			continue;
		d++;
		/* only zlib streams: a zlib header is 0x78 and a checksum */
		if ((size_t)(end - d) < 2 || (d[0] & 0x0f) != 8 || ((d[0] << 8) | d[1]) % 31 != 0)
			continue;
		if (ret->streams >= lim->max_streams || ret->inflated >= lim->max_total_out) {
			ret->capped = 1;
			break;
		}
		size_t cap = lim->max_stream_out;
		if (cap > lim->max_total_out - ret->inflated)
			cap = lim->max_total_out - ret->inflated;
		ret->streams++;
		size_t got = scan_inflate(d, (size_t)(end - d), out, cap);
		ret->inflated += got;
		if (got == cap)
			ret->capped = 1;
		scan_names_in(out, got, ret);
		s = d - 1;
	}
	free(out);
	return 0;
}
