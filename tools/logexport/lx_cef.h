/* lx_cef: ArcSight Common Event Format lines.
 *
 *   CEF:0|sekisho|sekisho|VERSION|SIGNATURE|NAME|SEVERITY|EXTENSION
 *
 * SIGNATURE is the event name, NAME a short human label, SEVERITY 0..10.
 * Header fields escape '\' and '|' (CR/LF become spaces: a header has no
 * line breaks); extension values escape '\' and '=' and write CR/LF as
 * \r and \n.  Values are capped at LX_CEF_VALUE_MAX bytes on a UTF-8
 * boundary.  docs/logexport.md lists the extension keys per event.
 * Appends to strbufs (abort on OOM); never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/strbuf.h"

struct json_object;

#define LX_CEF_VALUE_MAX 4000

void lx_cef_escape_header(struct strbuf *sb, const char *s, size_t n);
void lx_cef_escape_value(struct strbuf *sb, const char *s, size_t n);

/* Severity of a record (0..10): denied flows, removed attachments, lost
 * records, an unsynchronised clock rate higher. */
int lx_cef_severity(struct json_object *rec);

/* One record as a CEF line (with "\n").  status/mac_ok as from the
 * verifier: a record that does not verify gets severity 10 and says so in
 * its extension (cs6Label=verify).  version is the product version. */
void lx_cef_record(struct strbuf *out, const char *version, struct json_object *rec, const char *status, bool mac_ok,
		   const char *file, unsigned long long line_no);

/* A CEF line for a tool notice (e.g. signature "export.chain_broken"):
 * severity 10, msg=text. */
void lx_cef_notice(struct strbuf *out, const char *version, const char *signature, const char *name, const char *host,
		   const char *text);
