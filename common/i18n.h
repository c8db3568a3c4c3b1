/* i18n: operator-facing messages in the user's language (gettext).
 *
 * One catalogue, text domain "sekisho", for every program and library of
 * the tree.  Messages are marked with _() where they are used and with N_()
 * where they are only stored (tables of words, pieces chosen later); both
 * look up the "sekisho" domain explicitly (dgettext), so that library code
 * translates the same whatever text domain the program chose, and a
 * program that never called i18n_init (the unit tests) gets the English
 * msgid unchanged.
 *
 * What stays English on purpose: the machine-read parts of a message
 * ("file:line:col: error:", JSON, listings other programs parse, audit
 * records).  docs/i18n.md says how to mark a message and update po/ja.po. */
#pragma once
#include <libintl.h>

#define SEKISHO_TEXTDOMAIN "sekisho"

/* dgettext carries format_arg, so a translated format is checked against
 * its arguments like the literal it replaces. */
#define _(s) dgettext(SEKISHO_TEXTDOMAIN, s)
#define N_(s) s

/* Set LC_CTYPE and LC_MESSAGES from the environment (only those: numbers,
 * dates and sorting stay as in C) and bind the catalogue directory:
 * $SEKISHO_LOCALEDIR when set (the tests point it at the build tree;
 * ignored in setuid programs), else the installed share/locale.  Call
 * once, first thing in main.  Never fails: without a catalogue or a
 * locale the messages are the English msgids. */
void i18n_init(void);
