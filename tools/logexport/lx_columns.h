/* lx_columns: the CSV column set and the flattening of records into rows.
 *
 * A row has the common columns (status, time, host, component, event, seq,
 * zones, addresses, protocol, action, rule), then the columns of every
 * known event type present in the export whose member some exported record
 * has (docs/logexport.md lists them per event), then "notes" (verification problems and the writer's
 * _truncated/_invalid_utf8/_omitted marks) and "other" (every data member
 * no column took, as compact JSON), so that nothing logged is lost.
 * Arrays are joined with LF (one item per line in a spreadsheet cell).
 * Cells are capped at LX_CELL_MAX bytes (Excel holds 32767 characters per
 * cell); a cut is said in notes.
 *
 * The column set is immutable after lx_columns_new and owned by the
 * caller (lx_columns_free).  Allocation failures abort. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

struct json_object;

#define LX_CELL_MAX 32000

struct lx_colset;

/* Does the export hold records of event (key NULL), or records of event
 * with data member key? */
typedef bool lx_colset_present_fn(const char *event, const char *key, void *arg);

/* Column set: the common columns, then, for every known event type
 * present, its columns whose member is present (in the documented
 * order), then notes and other.  present NULL: every column of every
 * known event. */
struct lx_colset *lx_columns_new(lx_colset_present_fn *present, void *arg);
void lx_columns_free(struct lx_colset *cs);
size_t lx_columns_count(const struct lx_colset *cs);

/* The header cells (English field names, or Japanese labels). */
void lx_columns_header(const struct lx_colset *cs, bool ja, struct strbuf *row_out, bool crlf_csv);

/* One record as seen by the exporter. */
struct lx_row_in {
	struct json_object *obj; /* parsed record, NULL if the line is not JSON */
	const char *status;      /* audit_verify_rec_status_name() */
	bool mac_ok;
	const char *file; /* basename of the file */
	uint64_t line_no, offset;
	const char *raw; /* the line's bytes (for lines that do not parse) */
	size_t rawlen;
};

/* Append the record as one CSV row (RFC 4180, CRLF, formula guard on). */
void lx_columns_row(const struct lx_colset *cs, const struct lx_row_in *in, bool ja, struct strbuf *row_out);

/* For documentation and tests: the known event types and their extra
 * columns, as "event: col, col, ..." lines. */
void lx_columns_describe(struct strbuf *out, bool ja);

/* Status word shown in the status column. */
const char *lx_columns_status_label(const char *status, bool ja);
