/* cdr_pdfw: the trusted side's small PDF writer.  It makes a new PDF out of
 * validated page images (cdr_pixels) and nothing else: a catalog, a page
 * tree, one page per image (MediaBox, one image XObject, a content stream
 * that draws it), and an Info dictionary holding only a fixed Producer.  No
 * fonts, no actions, no annotations, no metadata stream, no names.
 *
 * Each page's image is encoded by what its pixels look like
 * (cdr_pdfw_choose): 1-bit Flate for pure black and white, 4-bit grey Flate
 * for grey text pages, 8-bit RGB Flate for colour text pages, JPEG for
 * photographs and anything with many mid-tones.
 *
 * The file is written as it goes: a page's objects reach the fd as soon as
 * cdr_pdfw_page returns, so a caller can free each page's pixels at once.
 *
 * Ownership: the writer owns its own state (cdr_pdfw_free); the caller owns
 * fd and the images.  Errors are -errno (-EIO for a failed write, -EINVAL for
 * a bad argument, -ENOMEM, -EFBIG past 9,999,999,999 bytes); after an error
 * the writer only accepts cdr_pdfw_free. */
#pragma once
#include <stddef.h>
#include <stdint.h>

#include "sanitizer/cdr/cdr_pixels.h"

#define CDR_PDFW_PRODUCER "sekisho CDR"

enum cdr_pdfw_enc {
	CDR_PDFW_FLATE_BILEVEL, /* 1 bit per pixel, grey */
	CDR_PDFW_FLATE_GREY4,   /* 4 bits per pixel, grey */
	CDR_PDFW_FLATE_RGB,     /* 8 bits per sample, RGB */
	CDR_PDFW_JPEG,          /* DCT, grey or RGB, quality CDR_PDFW_JPEG_QUALITY */
};
#define CDR_PDFW_JPEG_QUALITY 85

struct cdr_pdfw;

/* the encoding for img by its pixels */
enum cdr_pdfw_enc cdr_pdfw_choose(const struct cdr_pixels_image *img);
const char *cdr_pdfw_enc_name(enum cdr_pdfw_enc enc); /* "bilevel", "grey4", "rgb", "jpeg" */

/* start a file on fd (the header is written at once) */
int cdr_pdfw_new(int fd, struct cdr_pdfw **ret_w);
/* one page of w_pt x h_pt points (each in [1, 14400]) showing img over the
 * whole page, encoded as enc */
int cdr_pdfw_page(struct cdr_pdfw *w, const struct cdr_pixels_image *img, double w_pt, double h_pt,
		  enum cdr_pdfw_enc enc);
/* the page tree, catalog, Info, cross-reference table and trailer; at least
 * one page must have been written */
int cdr_pdfw_finish(struct cdr_pdfw *w);
/* bytes written so far */
uint64_t cdr_pdfw_bytes(const struct cdr_pdfw *w);
void cdr_pdfw_free(struct cdr_pdfw *w);
