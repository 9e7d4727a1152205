# What every bench shares: its figures and its ratios. Source it.
#   figure BENCH NAME VALUE TARGET   a measured figure: printed, and added to
#                                    $BENCH_FIGURES (bench/all's table). TARGET:
#                                    "<= X", ">= X" or "-" (none).
#   ratio BENCH NAME NUM DEN TARGET  NUM/DEN as a figure; a NUM or a DEN that
#                                    is missing, not a number or zero (DEN) ends
#                                    the bench with an error: never a ratio of
#                                    nothing.
#   need PATH WHAT                   a probe the bench runs: missing, the bench
#                                    fails saying so.
bench_fail() {
	echo "bench: FAILED: $*" >&2
	exit 1
}

need() {
	[ -x "$1" ] || bench_fail "$2 ($1) is missing: 'make bench' builds it"
}

is_number() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

figure() {
	local bench=$1 name=$2 value=$3 target=$4 verdict=-
	is_number "$value" || bench_fail "$bench: $name: nothing was measured ('$value')"
	case $target in
	"<= "* | ">= "*)
		verdict=$(awk -v v="$value" -v op="${target%% *}" -v t="${target#* }" \
			'BEGIN { ok = op == "<=" ? v <= t : v >= t; print ok ? "met" : "NOT met" }')
		;;
	esac
	printf '%s: %s = %s (target %s: %s)\n' "$bench" "$name" "$value" "$target" "$verdict"
	[ -z "${BENCH_FIGURES:-}" ] ||
		printf '%s\t%s\t%s\t%s\t%s\n' "$bench" "$name" "$value" "$target" "$verdict" \
			>>"$BENCH_FIGURES"
}

ratio() {
	local bench=$1 name=$2 num=$3 den=$4 target=$5
	is_number "$num" || bench_fail "$bench: $name: the figure was not measured ('$num')"
	is_number "$den" || bench_fail "$bench: $name: the baseline was not measured ('$den')"
	awk -v d="$den" 'BEGIN { exit !(d == 0) }' &&
		bench_fail "$bench: $name: the baseline is zero"
	figure "$bench" "$name" "$(awk -v n="$num" -v d="$den" 'BEGIN { printf "%.3f", n / d }')" \
		"$target"
}
