# tools/demo.d/50-portal.sh: the file portals (issue 15).
# Sourced by tools/demo: uses step/say, $SEKISHO_ROOT, build/demo.
# The whole path in network namespaces (test/integration/portal/chain.py):
# a mail with attachments through Postfix and the milter, the notice's link
# opened from the LGWAN side, the worker's safe copies downloaded over HTTPS,
# an original requested and approved, a PPAP zip opened with its password,
# and a file uploaded on the Internet side that arrives as a link in an
# LGWAN mailbox.  The same script is the portal-e2e test; --demo makes it
# tell what happens.  Everything is torn down at the end.

portal_demo() {
	local e2e="$SEKISHO_ROOT/test/integration/portal/e2e_test.py"
	step "15. ファイル受け渡し / files reach LGWAN staff: the notice's link, safe copies, an approved original, an upload"
	if [ "$(id -u)" != 0 ] || ! command -v postfix >/dev/null || [ ! -x "$SEKISHO_ROOT/build/demo/sanitizer/portal/sekisho-portal" ]; then
		say "(skipped: needs root, postfix and build/demo/sanitizer/portal/sekisho-portal)"
		return 0
	fi
	SEKISHO_SOURCE_ROOT="$SEKISHO_ROOT" python3 "$e2e" "$SEKISHO_ROOT/build/demo" --demo ||
		say "(the portal part reported a failure above)"
}
portal_demo
