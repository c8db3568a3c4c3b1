/* ptl_rcpt: the upload portal's recipient check (see ptl_rcpt.h).
 * Contract: pure functions over caller buffers; an address passes only
 * when every byte was judged; nothing allocates or prints. */
#include "sanitizer/portal/ptl_rcpt.h"

#include <errno.h>
#include <string.h>
#include <strings.h>

/* RFC 5322 atext */
static bool atext(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		(c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static bool ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
}

bool ptl_rcpt_domain_valid(const char *d)
{
	size_t len = d ? strlen(d) : 0, label = 0, labels = 0;
	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i <= len; i++) {
		if (i == len || d[i] == '.') {
			if (label == 0 || label > 63 || d[i - 1] == '-' || d[i - label] == '-')
				return false;
			labels++;
			label = 0;
		} else if (ldh((unsigned char)d[i])) {
			label++;
		} else {
			return false;
		}
	}
	return labels >= 2;
}

int ptl_rcpt_check(const char *addr, const char *const *domains, size_t ndomains, char *ret, const char **ret_why)
{
	ret[0] = 0;
	size_t len = addr ? strlen(addr) : 0;
	if (len == 0) {
		*ret_why = "rcpt-empty";
		return -EINVAL;
	}
	if (len > PTL_RCPT_MAX) {
		*ret_why = "rcpt-too-long";
		return -EINVAL;
	}
	const char *at = strchr(addr, '@');
	*ret_why = "rcpt-syntax";
	if (!at || strchr(at + 1, '@'))
		return -EINVAL;
	size_t local = (size_t)(at - addr);
	if (local == 0 || local > PTL_RCPT_LOCAL_MAX || addr[0] == '.' || addr[local - 1] == '.')
		return -EINVAL;
	for (size_t i = 0; i < local; i++) {
		if (addr[i] == '.' ? addr[i + 1] == '.' : !atext((unsigned char)addr[i]))
			return -EINVAL;
	}
	const char *dom = at + 1;
	if (!ptl_rcpt_domain_valid(dom))
		return -EINVAL;
	*ret_why = "rcpt-domain";
	for (size_t i = 0; i < ndomains; i++) {
		if (domains[i] && strcasecmp(dom, domains[i]) == 0) {
			memcpy(ret, addr, len + 1);
			for (char *c = ret + local + 1; *c; c++)
				if (*c >= 'A' && *c <= 'Z')
					*c = (char)(*c - 'A' + 'a');
			*ret_why = NULL;
			return 0;
		}
	}
	return -EPERM;
}
