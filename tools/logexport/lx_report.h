/* lx_report: the HTML audit report page.
 *
 * One self-contained file: inline CSS, inline SVG charts, no script, no
 * external reference of any kind (fonts are the system's: Noto Sans CJK
 * JP first).  Japanese or English labels.  Every string from the logs is
 * escaped (lx_html).  Renders into a strbuf (abort on OOM); never prints. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#include "common/audit/audit_verify.h"
#include "common/strbuf.h"
#include "tools/logexport/lx_stats.h"

struct lx_report_chain {
	const char *dir;
	const struct audit_verify_result *res;
};

struct lx_report_meta {
	bool ja;
	const char *since, *until; /* the period as given (display) */
	const char *generated;     /* local RFC 3339 */
	const char *version;       /* tool version */
	const struct lx_report_chain *chains;
	size_t nchains;
};

void lx_report_render(struct strbuf *out, const struct lx_stats *st, const struct lx_report_meta *m);
