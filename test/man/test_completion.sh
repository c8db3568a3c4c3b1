#!/bin/bash
# bash completion of the CLIs (tools/completion/): each file sources cleanly
# in a non-interactive bash with bash-completion loaded, registers its
# function for its command (complete -p), and a few simulated command lines
# (COMP_WORDS/COMP_CWORD, as readline sets them) complete to what the
# program takes.  Exit 77 without bash-completion unless CI=true.
dir=${1:?completion directory}
bc=/usr/share/bash-completion/bash_completion
if [ ! -r "$bc" ]; then
	echo "bash-completion is not installed (tools/packages.txt)"
	[ "${CI:-}" = true ] && exit 1
	exit 77
fi
# shellcheck disable=SC1090
. "$bc"
fail=0
ok() { echo "ok   $*"; }
bad() { echo "FAIL $*"; fail=$((fail + 1)); }

# complete LINE: COMPREPLY for the last word of LINE (a trailing space
# starts a new, empty word)
complete_line() {
	local line=$1 func
	read -ra COMP_WORDS <<<"$line"
	[[ $line == *' ' ]] && COMP_WORDS+=("")
	COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
	COMP_LINE=$line COMP_POINT=${#line}
	COMPREPLY=()
	func=$(complete -p "${COMP_WORDS[0]}" | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
	"$func" "${COMP_WORDS[0]}" "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
	printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

expect() {
	local got
	got=$(complete_line "$1")
	if [ "$got" = "$2" ]; then ok "'$1' -> '$got'"; else bad "'$1' -> '$got', want '$2'"; fi
}

for cmd in sekishoctl sekisho-rulec sekisho-logexport sekisho-cdr sekisho-quarantine sekisho-portal sekisho-upload; do
	if ! out=$(. "$dir/$cmd" 2>&1) || [ -n "$out" ]; then
		bad "$cmd: sourcing prints nothing and succeeds ($out)"
		continue
	fi
	# shellcheck disable=SC1090
	. "$dir/$cmd"
	if complete -p "$cmd" >/dev/null 2>&1; then ok "$cmd: complete -p"; else bad "$cmd: not registered"; fi
done

expect "sekishoctl " "--help --version apply backstop confirm counters reload rollback status"
expect "sekishoctl co" "confirm counters"
expect "sekishoctl apply --" "--try"
expect "sekisho-rulec c" "check compile"
expect "sekisho-rulec --str" "--strict"
expect "sekisho-rulec --strict ex" "explain"
expect "sekisho-logexport " "--help --version export forward report verify"
expect "sekisho-logexport export --format " "cef csv jsonl"
expect "sekisho-logexport export --headers j" "ja"
expect "sekisho-logexport forward --cl" "--client-cert --client-key"
expect "sekisho-cdr --mode pdf=" "pdf=pixels pdf=vector"
expect "sekisho-cdr --q" "--quiet"
expect "sekisho-quarantine --dir /tmp " "expire list release show"
expect "sekisho-quarantine --dir /tmp list --ret" "--retain-days"
expect "sekisho-portal " "--help --version serve user"
expect "sekisho-portal user --state /tmp " "add del list passwd"
expect "sekisho-portal user add tanaka " "approver operator"
expect "sekisho-portal serve --originals " "off on"
expect "sekisho-portal user --pa" "--password-stdin"
expect "sekisho-upload user " "add del list passwd"
expect "sekisho-upload user add yamada --role " "staff"
expect "sekisho-upload serve --approval " "off on"
expect "sekisho-upload serve --max-f" "--max-files"

# files: a policy for sekishoctl apply, any file after a rulec command
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
touch "$tmp/a.policy" "$tmp/b.txt"
expect "sekishoctl apply $tmp/" "$tmp/a.policy"
expect "sekisho-rulec check $tmp/a" "$tmp/a.policy"

echo "$fail failures"
[ "$fail" -eq 0 ]
