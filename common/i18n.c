/* i18n: the one place programs set up gettext (see i18n.h).
 *
 * LC_CTYPE is set with LC_MESSAGES because gettext converts a translation
 * to the character set of LC_CTYPE: under the C locale the Japanese would
 * come out as '?'.  LC_ALL is not used: a Japanese locale must not change
 * how numbers are printed or parsed anywhere in the tree.
 *
 * SEKISHO_LOCALEDIR is read with secure_getenv: a catalogue holds format
 * strings, so a setuid program must not take one from its caller. */
#include "common/i18n.h"

#include <locale.h>
#include <stdlib.h>

#ifndef SEKISHO_LOCALEDIR
#error "SEKISHO_LOCALEDIR (the installed share/locale) is set by common/meson.build"
#endif

void i18n_init(void)
{
	const char *dir = secure_getenv("SEKISHO_LOCALEDIR");

	setlocale(LC_CTYPE, "");
	setlocale(LC_MESSAGES, "");
	bindtextdomain(SEKISHO_TEXTDOMAIN, dir && *dir ? dir : SEKISHO_LOCALEDIR);
	textdomain(SEKISHO_TEXTDOMAIN);
}
