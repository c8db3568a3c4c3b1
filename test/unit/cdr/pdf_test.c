/* The PDF path's trusted pieces: the converter report reader
 * (cdr_pdf_info_parse, table-driven, refusals beside the accepted cases),
 * the page pixel size rule, the ink count of the blank-page rule, the
 * encoding choice, and the PDF writer cdr_pdfw, whose files are judged by
 * qpdf (--check, --show-npages) and read back by poppler's pdfimages and
 * pdftoppm (pixels compared with what was written), never by our own parser.  The external checks
 * are skipped (counted as passed, with a note) when qpdf or pdftoppm is
 * missing, unless CI=true. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sanitizer/cdr/cdr_pdf.h"
#include "sanitizer/cdr/cdr_pdf_info.h"
#include "sanitizer/cdr/cdr_pdfw.h"
#include "test/check.h"

struct info_case {
	const char *text;
	int rc;          /* 0 or -EBADMSG */
	const char *why; /* refusal key */
	unsigned pages;
	size_t nremoved;
};

static const struct info_case info_cases[] = {
	{"pages 1\npage 1 595.00x842.00 73\nok\n", 0, NULL, 1, 0},
	{"pages 2\npage 1 595x842 0\npage 2 20000.5x1.00 9\nremoved action:/OpenAction\nremoved "
	 "attachment:\xe8\xab\x8b\xe6\xb1\x82.exe\nremoved action:/OpenAction\nok\n",
	 0, NULL, 2, 2},
	{"", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595.00x842.00 73\n", -EBADMSG, "pdf-info-syntax", 0, 0},         /* no ok */
	{"pages 1\npage 1 595.00x842.00 73\nok", -EBADMSG, "pdf-info-syntax", 0, 0},       /* no newline */
	{"pages 1\npage 1 595.00x842.00 73\nok\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0}, /* after ok */
	{"pages 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 501\n", -EBADMSG, "page-limit", 0, 0},
	{"pages 99999999999999999999\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 2\npage 1 595x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},                   /* a page missing */
	{"pages 2\npage 2 595x842 0\npage 1 595x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0}, /* order */
	{"pages 1\npage 1 595x842 0\npage 2 595x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0}, /* one too many */
	{"pages 1\npage 1 0.50x842 0\nok\n", -EBADMSG, "pdf-info-page-size", 0, 0},
	{"pages 1\npage 1 1000001x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595.123x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595.x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 -595x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 5e2x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 1000000001\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 0 \nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 0\nremoved \nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 0\nremoved a b\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 0\nremoved a\x01\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 0\nremoved a\xc3\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\npage 1 595x842 0\nremoved \xc2\x85\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0}, /* C1 control */
	{"pages 1\npage 1 595x842 0\nhello\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
	{"pages 1\r\npage 1 595x842 0\nok\n", -EBADMSG, "pdf-info-syntax", 0, 0},
};

static void test_info(void)
{
	for (size_t i = 0; i < sizeof info_cases / sizeof info_cases[0]; i++) {
		const struct info_case *c = &info_cases[i];
		struct cdr_pdf_info info;
		char why[64] = "";
		int rc = cdr_pdf_info_parse(c->text, strlen(c->text), 500, 1000, &info, why, sizeof why);
		CHECK(rc == c->rc, "case %zu: rc %d, want %d (%s)", i, rc, c->rc, why);
		if (c->why)
			CHECK(strncmp(why, c->why, strlen(c->why)) == 0, "case %zu: why %s, want %s...", i, why,
			      c->why);
		if (rc == 0) {
			CHECK_EQ_U(info.pages, c->pages);
			CHECK_EQ_U(info.nremoved, c->nremoved);
		} else {
			CHECK(info.page == NULL && info.removed == NULL && info.pages == 0);
		}
		cdr_pdf_info_free(&info);
	}

	/* the values of an accepted report */
	const char *t = "pages 2\npage 1 595.28x841.9 12\npage 2 20000x1 0\nremoved x\nok\n";
	struct cdr_pdf_info info;
	char why[64];
	REQUIRE(cdr_pdf_info_parse(t, strlen(t), 500, 1000, &info, why, sizeof why) == 0);
	CHECK(info.page[0].w_pt == 595.28 && info.page[0].h_pt == 841.9 && info.page[0].text_chars == 12);
	CHECK(info.page[1].w_pt == 20000 && info.page[1].h_pt == 1 && info.page[1].text_chars == 0);
	CHECK_STR(info.removed[0], "x");
	cdr_pdf_info_free(&info);

	/* removed items past the cap are counted, repeated ones kept once */
	char big[8192];
	size_t n = (size_t)snprintf(big, sizeof big, "pages 1\npage 1 10x10 0\n");
	for (int i = 0; i < 10; i++)
		n += (size_t)snprintf(big + n, sizeof big - n, "removed item%d\nremoved item%d\n", i, i);
	n += (size_t)snprintf(big + n, sizeof big - n, "ok\n");
	REQUIRE(cdr_pdf_info_parse(big, n, 500, 4, &info, why, sizeof why) == 0);
	CHECK_EQ_U(info.nremoved, 4);
	CHECK_EQ_U(info.nremoved_more, 6 + 6);
	cdr_pdf_info_free(&info);

	/* a line longer than the cap */
	memset(big, 'a', sizeof big);
	memcpy(big, "pages 1\npage 1 10x10 0\nremoved ", 31);
	big[sizeof big - 1] = '\n';
	CHECK(cdr_pdf_info_parse(big, sizeof big, 500, 1000, &info, why, sizeof why) == -EBADMSG);
	CHECK(cdr_pdf_info_parse("ok\n", 3, 0, 1000, &info, why, sizeof why) == -EINVAL);
}

static void test_page_pixels(void)
{
	static const struct {
		double w, h;
		unsigned dpi;
		uint32_t pw, ph; /* 0: only the caps are checked */
	} cases[] = {
		{595, 842, 150, 1239, 1754}, {595.28, 841.89, 150, 1240, 1753},
		{612, 792, 72, 612, 792},    {1, 1, 150, 2, 2},
		{0.1, 0.1, 72, 1, 1},        {20000, 20000, 150, 0, 0},
		{1, 100000, 150, 1, 10000},  {100000, 1, 600, 10000, 1},
		{14400, 14400, 600, 0, 0},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		uint32_t w, h;
		cdr_pdf_info_page_pixels(cases[i].w, cases[i].h, cases[i].dpi, &w, &h);
		CHECK(w >= 1 && h >= 1 && w <= CDR_PDF_MAX_SIDE && h <= CDR_PDF_MAX_SIDE &&
			      (uint64_t)w * h <= CDR_PDF_MAX_PIXELS,
		      "case %zu: %ux%u", i, w, h);
		if (cases[i].pw)
			CHECK(w == cases[i].pw && h == cases[i].ph, "case %zu: %ux%u, want %ux%u", i, w, h, cases[i].pw,
			      cases[i].ph);
	}
}

/* an image of w x h with ch channels, filled by kind: 0 white, 1 black
 * and white text-like strokes, 2 anti-aliased grey text-like, 3 photo-like,
 * 4 white with a red box */
static uint8_t *make(uint32_t w, uint32_t h, unsigned ch, int kind, struct cdr_pixels_image *img)
{
	uint8_t *p = malloc((size_t)w * h * ch);
	uint32_t seed = 12345;
	REQUIRE(p);
	for (uint32_t y = 0; y < h; y++)
		for (uint32_t x = 0; x < w; x++)
			for (unsigned c = 0; c < ch; c++) {
				uint8_t v = 255;
				int stroke = (y % 12 == 3 || y % 12 == 4) && x % 16 < 10;
				if (kind == 1 && stroke)
					v = 0;
				if (kind == 2 && stroke)
					v = (uint8_t)(x % 16 == 0 || x % 16 == 9 ? 136 : 0);
				if (kind == 3) { /* a photograph: gradients and grain */
					seed = seed * 1103515245u + 12345u;
					v = (uint8_t)((x * 160 / w + y * 60 / h + c * 30 + (seed >> 16) % 24) & 0xff);
				}
				if (kind == 4 && x > w / 4 && x < w / 2 && y > h / 4 && y < h / 2)
					v = c == 0 ? 255 : 0;
				p[((size_t)y * w + x) * ch + c] = v;
			}
	img->width = w;
	img->height = h;
	img->channels = ch;
	img->rows = p;
	return p;
}

static void test_ink_choose(void)
{
	struct cdr_pixels_image img;
	uint8_t *p;

	p = make(200, 100, 1, 0, &img);
	CHECK_EQ_U(cdr_pdf_ink(&img), 0);
	p[50 * 200 + 20] = 0; /* one dot */
	CHECK_EQ_U(cdr_pdf_ink(&img), 1);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_FLATE_BILEVEL);
	free(p);
	p = make(200, 100, 1, 1, &img);
	CHECK(cdr_pdf_ink(&img) > 1000);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_FLATE_BILEVEL);
	free(p);
	p = make(200, 100, 1, 2, &img);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_FLATE_GREY4);
	free(p);
	p = make(200, 100, 1, 3, &img);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_JPEG);
	free(p);
	p = make(200, 100, 3, 3, &img);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_JPEG);
	free(p);
	p = make(200, 100, 3, 1, &img);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_FLATE_RGB);
	CHECK(cdr_pdf_ink(&img) > 1000);
	free(p);
	/* a dark page: the background is black, white marks are the ink */
	p = make(200, 100, 1, 0, &img);
	memset(p, 0, 200 * 100);
	p[10] = 255;
	CHECK_EQ_U(cdr_pdf_ink(&img), 1);
	free(p);
	/* a red box on white: ink for the blank-page rule, flat colour for Flate */
	p = make(200, 100, 3, 4, &img);
	CHECK(cdr_pdf_ink(&img) > 1000);
	CHECK(cdr_pdfw_choose(&img) == CDR_PDFW_FLATE_RGB);
	free(p);
}

/* run a command; its exit status, or -1 */
static int run(const char *const argv[], const char *out_path)
{
	pid_t pid = fork();
	int st;
	if (pid == 0) {
		if (out_path) {
			int fd = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
			if (fd < 0 || dup2(fd, 1) < 0)
				_exit(126);
		}
		int devnull = open("/dev/null", O_WRONLY);
		if (devnull >= 0 && !out_path)
			dup2(devnull, 1);
		if (devnull >= 0)
			dup2(devnull, 2);
		char *av[16] = {NULL};
		for (size_t i = 0; argv[i] && i < 15; i++)
			memcpy(&av[i], &argv[i], sizeof av[i]); /* exec's argv is not const */
		execvp(av[0], av);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &st, 0) < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int have(const char *prog, const char *version_flag)
{
	const char *argv[] = {prog, version_flag, NULL};
	return run(argv, NULL) == 0;
}

/* read a binary PBM/PGM/PPM (P4/P5/P6, maxval 255) as poppler's tools
 * write them; a PBM's 1 (black) becomes 0 */
static uint8_t *read_pnm(const char *path, uint32_t *ret_w, uint32_t *ret_h, unsigned *ret_ch)
{
	FILE *f = fopen(path, "rb");
	char magic[3] = "";
	unsigned w = 0, h = 0, max = 255;
	uint8_t *p = NULL;
	if (!f)
		return NULL;
	int ok = fscanf(f, "%2s %u %u", magic, &w, &h) == 3 && w && h && w < 10000 && h < 10000;
	if (ok && strcmp(magic, "P4") != 0)
		ok = fscanf(f, "%u", &max) == 1 && max == 255 && (strcmp(magic, "P5") == 0 || strcmp(magic, "P6") == 0);
	if (ok && fgetc(f) != EOF) {
		unsigned ch = magic[1] == '6' ? 3 : 1;
		size_t rb = magic[1] == '4' ? (w + 7) / 8 : (size_t)w * ch;
		uint8_t *raw = malloc(rb * h);
		p = malloc((size_t)w * h * ch);
		if (raw && p && fread(raw, 1, rb * h, f) == rb * h) {
			for (size_t y = 0; y < h; y++)
				for (size_t x = 0; x < (size_t)w * ch; x++)
					p[y * w * ch + x] = magic[1] == '4'
						? ((raw[y * rb + x / 8] & (0x80 >> (x % 8))) ? 0 : 255)
						: raw[y * rb + x];
			*ret_w = w;
			*ret_h = h;
			*ret_ch = ch;
		} else {
			free(p);
			p = NULL;
		}
		free(raw);
	}
	fclose(f);
	return p;
}

/* mean absolute difference x100 between the written image and what came
 * back (a grey image may come back as RGB: its first channel is compared) */
static uint64_t mean_diff100(const struct cdr_pixels_image *img, const uint8_t *back, unsigned bch)
{
	uint64_t diff = 0, m = (uint64_t)img->width * img->height * img->channels;
	for (uint64_t k = 0; k < m; k++) {
		uint64_t px = k / img->channels, c = k % img->channels;
		diff += (uint64_t)abs((int)back[px * bch + c] - (int)img->rows[k]);
	}
	return diff * 100 / m;
}

static void test_writer(void)
{
	char dir[] = "/tmp/cdr-pdfw-XXXXXX", path[256], cmd_prefix[256];
	struct cdr_pixels_image img[5];
	uint8_t *px[5];
	/* each page as large in points as in pixels, so that pdftoppm -r 72
	 * gives back the same pixel grid */
	static const struct {
		unsigned ch;
		int kind;
		enum cdr_pdfw_enc enc;
		unsigned tolerance; /* mean absolute difference allowed, x100 */
	} pages[] = {
		{1, 1, CDR_PDFW_FLATE_BILEVEL, 0}, {1, 2, CDR_PDFW_FLATE_GREY4, 800}, /* 4 bits: each level within 8 */
		{3, 1, CDR_PDFW_FLATE_RGB, 0},     {3, 3, CDR_PDFW_JPEG, 1000},       {1, 3, CDR_PDFW_JPEG, 1000},
	};
	struct cdr_pdfw *w;

	REQUIRE(mkdtemp(dir));
	snprintf(path, sizeof path, "%s/out.pdf", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	REQUIRE(fd >= 0);
	REQUIRE(cdr_pdfw_new(fd, &w) == 0);
	CHECK(cdr_pdfw_finish(w) == -EINVAL); /* no page */
	for (size_t i = 0; i < 5; i++) {
		px[i] = make(96 + 8 * (uint32_t)i, 64, pages[i].ch, pages[i].kind, &img[i]);
		CHECK(cdr_pdfw_page(w, &img[i], img[i].width, img[i].height, pages[i].enc) == 0, "page %zu", i);
	}
	/* refusals leave the writer usable */
	CHECK(cdr_pdfw_page(w, &img[0], 0.5, 10, CDR_PDFW_FLATE_BILEVEL) == -EINVAL);
	CHECK(cdr_pdfw_page(w, &img[0], 10, 14401, CDR_PDFW_FLATE_BILEVEL) == -EINVAL);
	CHECK(cdr_pdfw_page(w, &img[2], 10, 10, CDR_PDFW_FLATE_GREY4) == -EINVAL);
	CHECK(cdr_pdfw_page(w, &img[0], 10, 10, CDR_PDFW_FLATE_RGB) == -EINVAL);
	CHECK(cdr_pdfw_finish(w) == 0);
	CHECK(cdr_pdfw_bytes(w) == (uint64_t)lseek(fd, 0, SEEK_END));
	cdr_pdfw_free(w);
	close(fd);

	/* what the file holds: a fixed Producer, nothing active */
	FILE *f = fopen(path, "rb");
	static char all[1 << 20];
	size_t n = f ? fread(all, 1, sizeof all, f) : 0;
	if (f)
		fclose(f);
	CHECK(n > 0 &&
	      memmem(all, n, "/Producer (" CDR_PDFW_PRODUCER ")", strlen("/Producer (" CDR_PDFW_PRODUCER ")")));
	static const char *const banned[] = {"/JS",     "/JavaScript", "/AA",           "/OpenAction",
					     "/Launch", "/URI",        "/EmbeddedFile", "/AcroForm",
					     "/Annots", "/Metadata",   "/Font"};
	for (size_t i = 0; i < sizeof banned / sizeof banned[0]; i++)
		CHECK(!memmem(all, n, banned[i], strlen(banned[i])), "%s in the output", banned[i]);

	if (!have("qpdf", "--version") || !have("pdftoppm", "-v") || !have("pdfimages", "-v")) {
		printf("qpdf or pdftoppm missing: the external checks are skipped\n");
		CHECK(getenv("CI") == NULL || strcmp(getenv("CI"), "true") != 0, "CI needs qpdf and poppler-utils");
	} else {
		const char *check[] = {"qpdf", "--check", path, NULL};
		CHECK(run(check, NULL) == 0, "qpdf --check %s", path);
		char npages_out[256];
		snprintf(npages_out, sizeof npages_out, "%s/npages", dir);
		const char *np[] = {"qpdf", "--show-npages", path, NULL};
		CHECK(run(np, npages_out) == 0);
		f = fopen(npages_out, "r");
		int npages = 0;
		CHECK(f && fscanf(f, "%d", &npages) == 1 && npages == 5, "qpdf counts %d pages", npages);
		if (f)
			fclose(f);
		/* every image back out of the file (pdfimages decodes the streams:
		 * Flate with its predictor, DCT), compared with what was written;
		 * then every page rendered by pdftoppm at the page's own size */
		snprintf(cmd_prefix, sizeof cmd_prefix, "%s/p", dir);
		for (size_t i = 0; i < 5; i++) {
			char pg[16], file[300];
			uint32_t rw = 0, rh = 0;
			unsigned rch = 0;
			uint8_t *back = NULL;
			snprintf(pg, sizeof pg, "%zu", i + 1);
			const char *ex[] = {"pdfimages", "-f", pg, "-l", pg, path, cmd_prefix, NULL};
			CHECK(run(ex, NULL) == 0);
			static const char *const exts[] = {"pbm", "pgm", "ppm"};
			for (size_t e = 0; e < 3 && !back; e++) {
				snprintf(file, sizeof file, "%s-000.%s", cmd_prefix, exts[e]);
				back = read_pnm(file, &rw, &rh, &rch);
				unlink(file);
			}
			CHECK(back && rw == img[i].width && rh == img[i].height && rch >= pages[i].ch,
			      "page %zu: image %ux%ux%u back", i + 1, rw, rh, rch);
			if (back && rw == img[i].width && rh == img[i].height && rch >= pages[i].ch) {
				uint64_t d = mean_diff100(&img[i], back, rch);
				CHECK(d <= pages[i].tolerance, "page %zu (%s): mean difference %.2f", i + 1,
				      cdr_pdfw_enc_name(pages[i].enc), (double)d / 100);
			}
			free(back);

			const char *grey[] = {"pdftoppm", "-r",    "72", "-f",       pg,  "-l",
					      pg,         "-gray", path, cmd_prefix, NULL};
			const char *rgb[] = {"pdftoppm", "-r", "72", "-f", pg, "-l", pg, path, cmd_prefix, NULL};
			CHECK(run(pages[i].ch == 1 ? grey : rgb, NULL) == 0);
			snprintf(file, sizeof file, "%s-%zu.%s", cmd_prefix, i + 1, pages[i].ch == 1 ? "pgm" : "ppm");
			back = read_pnm(file, &rw, &rh, &rch);
			unlink(file);
			CHECK(back && rw == img[i].width && rh == img[i].height && rch == pages[i].ch,
			      "page %zu: rendered %ux%ux%u", i + 1, rw, rh, rch);
			/* the renderer smooths edges: a looser bound than the image's */
			if (back && rw == img[i].width && rh == img[i].height && rch == pages[i].ch)
				CHECK(mean_diff100(&img[i], back, rch) <= pages[i].tolerance + 2000,
				      "page %zu rendered", i + 1);
			free(back);
		}
		unlink(npages_out);
	}
	for (size_t i = 0; i < 5; i++)
		free(px[i]);
	if (getenv("CDR_PDF_TEST_KEEP"))
		printf("kept %s\n", path);
	else {
		unlink(path);
		rmdir(dir);
	}
}

/* the vector mode's readers of qpdf's output: --show-npages' count and the
 * banned-name search over --json */
static void test_vector_readers(void)
{
	static const struct {
		const char *text;
		int rc;
		unsigned n;
	} np[] = {
		{"1\n", 0, 1},         {"200\n", 0, 200},           {"9999999\n", 0, 9999999}, {"", -EBADMSG, 0},
		{"\n", -EBADMSG, 0},   {"12", -EBADMSG, 0},         {"12\n\n", -EBADMSG, 0},   {"-1\n", -EBADMSG, 0},
		{"1 \n", -EBADMSG, 0}, {"10000000\n", -EBADMSG, 0}, {"x\n", -EBADMSG, 0},
	};
	for (size_t i = 0; i < sizeof np / sizeof np[0]; i++) {
		unsigned n = 77;
		int rc = cdr_pdf_npages_parse((const uint8_t *)np[i].text, strlen(np[i].text), &n);
		CHECK(rc == np[i].rc, "npages case %zu: rc %d", i, rc);
		CHECK(n == (rc == 0 ? np[i].n : 77u), "npages case %zu: %u", i, n);
	}
	static const struct {
		const char *json;
		const char *key;
	} js[] = {
		{"{\"/Type\": \"/Page\", \"/Contents\": \"4 0 R\"}", NULL},
		{"{\"/OpenAction\": {\"/S\": \"/JavaScript\"}}", "\"/JavaScript\""},
		{"{\"/S\": \"/URI\"}", "\"/URI\""},
		{"{\"/Names\": {}}", "\"/Names\""},
		{"{\"/AAx\": 1, \"/JSON\": 2}", NULL}, /* longer names are not the banned ones */
		{"{\"/Producer\": \"u:/JS\"}", NULL},  /* a string, not a name */
		{"\"/AcroForm", NULL},                 /* cut off: no closing quote */
		{"", NULL},
	};
	for (size_t i = 0; i < sizeof js / sizeof js[0]; i++) {
		const char *got = cdr_pdf_json_banned((const uint8_t *)js[i].json, strlen(js[i].json));
		CHECK(got == js[i].key || (got && js[i].key && strcmp(got, js[i].key) == 0), "json case %zu: %s", i,
		      got ? got : "(none)");
	}
}

int main(void)
{
	test_vector_readers();
	test_info();
	test_page_pixels();
	test_ink_choose();
	test_writer();
	return check_done();
}
