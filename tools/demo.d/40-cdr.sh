# tools/demo.d/40-cdr.sh: file 無害化 (CDR, issue 14).
# Sourced by tools/demo: uses step/run/say, $work, $SEKISHO_ROOT, build/demo.
# Three ordinary-looking files that carry active content or private data
# (made by cdr_inputs.py) go through sekisho-cdr; each copy is made in the
# sandbox and the report says what was removed.

cdr_demo() {
	local cdr="$SEKISHO_ROOT/build/demo/sanitizer/cdr/sekisho-cdr" dir="$work/cdr" f base rc
	step "14. ファイル無害化 / file CDR: safe copies of a PDF, a macro workbook and a photo"
	mkdir -p "$dir/in" "$dir/out"
	/usr/bin/python3 "$SEKISHO_ROOT/tools/demo.d/cdr_inputs.py" "$dir/in" || { say "(could not make the inputs)"; return 0; }
	for f in "$dir"/in/*; do
		base=$(basename "$f")
		printf '\n'
		run "$cdr" "$f" -o "$dir/out/${base%.*}.copy" --report "$dir/out/$base.json"
		rc=$?
		# the copy gets the extension the report says
		if [ "$rc" = 0 ]; then
			ext=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["out_ext"])' "$dir/out/$base.json")
			mv "$dir/out/${base%.*}.copy" "$dir/out/${base%.*}.$ext"
		fi
	done
	printf '\n'
	say "copies and JSON reports: $dir/out/"
	ls -l "$dir/out" | sed 's/^/  /'
}
cdr_demo
