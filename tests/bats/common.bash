# shellcheck shell=bash
# Loaded by every .bats file here: which vfioctl to run, where the fake roots
# are, and the helpers that compare its output with the expected files.
#
# Environment:
#   VFIOCTL          the binary (default: vfioctl from PATH, as in the test VM)
#   VFIOCTL_ROOTS    a directory made by tests/roots/mkroots (make check-bats
#                    sets it); unset: the roots are made once per bats run in
#                    $BATS_RUN_TMPDIR, and the root tests skip, saying why,
#                    when that is impossible (no depmod, read-only disk...)
#   UPDATE_EXPECTED  1: write what vfioctl prints into tests/bats/expected/
#                    instead of comparing (exit statuses are still checked);
#                    read every file it changed before committing it
#
# Exit statuses (vfioctl(8)): 0 ok; 1 failed (e.g. damaged sysfs, devices
# skipped); 2 bad command line; 3 `check` found at least one FAIL (WARN and
# SKIP leave it 0); 4 a named device or group does not exist.

bats_require_minimum_version 1.5.0

VFIOCTL=${VFIOCTL:-vfioctl}
EXPECTED=$BATS_TEST_DIRNAME/expected
MKROOTS=$BATS_TEST_DIRNAME/../roots/mkroots
# names, sorting and messages must not follow the caller's locale
export LC_ALL=C
unset COLUMNS LIBSMARTCOLS_DEBUG LIBSMARTCOLS_JSON
# for a sanitizer build: leaks of other libraries' own making (see the file)
export LSAN_OPTIONS=suppressions=$BATS_TEST_DIRNAME/lsan.supp:print_suppressions=0${LSAN_OPTIONS:+:$LSAN_OPTIONS}

# Call from setup_file: makes $ROOTS usable (or records why not).
roots_setup() {
	if [[ -n "${VFIOCTL_ROOTS:-}" ]]; then
		export ROOTS=$VFIOCTL_ROOTS
		return 0
	fi
	export ROOTS=$BATS_RUN_TMPDIR/roots
	# once per run, shared by all files (bats runs files one after another)
	if [[ ! -e "$ROOTS/.made" && ! -e "$ROOTS/.failed" ]]; then
		mkdir -p "$ROOTS"
		if "$MKROOTS" "$ROOTS" >"$ROOTS/.log" 2>&1; then
			touch "$ROOTS/.made"
		else
			touch "$ROOTS/.failed"
		fi
	fi
}

# Skips the test when the roots could not be made here; fails when a root that
# make check-bats should have made is missing.
need_root() { # name
	if [[ -e "$ROOTS/.failed" ]]; then
		skip "cannot make the fake roots here: $(tail -n 1 "$ROOTS/.log")"
	fi
	[[ -d "$ROOTS/$1/sys" ]] || {
		echo "no root $ROOTS/$1: run tests/roots/mkroots $ROOTS" >&2
		return 1
	}
}

# Runs vfioctl (stdout in $output, stderr in $stderr, status in $status) and
# fails on what no input may cause: a signal, a sanitizer report.
vfc() {
	run --separate-stderr "$VFIOCTL" "$@"
	if ((status >= 128)); then
		echo "vfioctl $* died: status $status" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
	if grep -qE 'AddressSanitizer|LeakSanitizer|UndefinedBehaviorSanitizer|runtime error:' <<<"$stderr"; then
		echo "vfioctl $*: sanitizer report" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
}

# vfc on a root.
vfc_root() { # root args...
	local root=$1
	shift
	need_root "$root"
	vfc --sysroot "$ROOTS/$root" "$@"
}

# A copy of a root in the test's own directory, to break on purpose; $ROOTS
# points at the copies afterwards (for this test only).
root_copy() { # name
	need_root "$1"
	mkdir -p "$BATS_TEST_TMPDIR/roots"
	cp -a "$ROOTS/$1" "$BATS_TEST_TMPDIR/roots/$1"
	ROOTS=$BATS_TEST_TMPDIR/roots
}

status_is() { # expected
	if [[ "$status" != "$1" ]]; then
		echo "exit status $status, expected $1" >&2
		echo "--- stdout" >&2
		printf '%s\n' "$output" >&2
		echo "--- stderr" >&2
		printf '%s\n' "$stderr" >&2
		return 1
	fi
}

# Compares text with an expected file, or writes it in update mode.
same_as() { # file text what
	local file=$1 text=$2 what=$3
	if [[ "${UPDATE_EXPECTED:-}" == 1 ]]; then
		mkdir -p "$(dirname "$file")"
		if [[ -n "$text" ]]; then
			printf '%s\n' "$text" >"$file"
		else
			rm -f "$file"
		fi
		return 0
	fi
	if [[ ! -e "$file" ]]; then
		[[ -z "$text" ]] && return 0
		echo "unexpected $what (no ${file#"$BATS_TEST_DIRNAME"/}):" >&2
		printf '%s\n' "$text" >&2
		return 1
	fi
	if ! diff -u "$file" - <<<"$text" >"$BATS_TEST_TMPDIR/diff"; then
		echo "$what differs from ${file#"$BATS_TEST_DIRNAME"/} (UPDATE_EXPECTED=1 rewrites it):" >&2
		cat "$BATS_TEST_TMPDIR/diff" >&2
		return 1
	fi
}

# expect ROOT NAME STATUS ARGS...
#   Runs `vfioctl --sysroot ROOT ARGS...`, checks the exit status, compares
#   stdout with expected/ROOT/NAME.out and stderr with expected/ROOT/NAME.err
#   (no .err file: stderr must be empty). Warnings come in directory order,
#   which depends on the file system, so stderr is compared sorted. JSON
#   output must also parse.
expect() {
	local root=$1 name=$2 want=$3
	shift 3
	vfc_root "$root" "$@" || return 1
	status_is "$want" || return 1
	same_as "$EXPECTED/$root/$name.out" "$output" "stdout" || return 1
	same_as "$EXPECTED/$root/$name.err" "$(sort <<<"$stderr")" "stderr" || return 1
	if [[ " $* " == *" -J "* || " $* " == *" --json "* ]] && [[ -n "$output" ]]; then
		jq -e . >/dev/null <<<"$output" || {
			echo "stdout is not JSON" >&2
			return 1
		}
	fi
}

# jq over the last output; fails with the query and the output when the
# query is false or null.
json_has() { # jq-filter
	if ! jq -e "$1" >/dev/null <<<"$output"; then
		echo "JSON does not satisfy: $1" >&2
		printf '%s\n' "$output" >&2
		return 1
	fi
}

has_line() { # text pattern(ERE) what
	if ! grep -qE -- "$2" <<<"$1"; then
		echo "${3:-output} has no line matching: $2" >&2
		printf '%s\n' "$1" >&2
		return 1
	fi
}
