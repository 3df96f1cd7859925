#!/usr/bin/env bats
# The command line itself: help, version, usage errors, exit statuses, and JSON
# on whatever system the tests run on. No fake root needed, except for the
# "does not exist" cases, which must not depend on the machine's devices.

load common

setup_file() {
	roots_setup
}

# The commands, as the main help lists them.
commands() {
	"$VFIOCTL" --help | awk '/^Commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }'
}

@test "--version prints the name and a version, exit 0" {
	vfc --version
	status_is 0
	[[ "$output" =~ ^vfioctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
	vfc -V
	status_is 0
	[[ "$output" =~ ^vfioctl\ [0-9]+\.[0-9]+\.[0-9]+$ ]]
}

@test "--help lists list, group and check and the global options, exit 0" {
	vfc --help
	status_is 0
	[[ -z "$stderr" ]]
	for c in list group check; do
		has_line "$output" "^ $c +[A-Z]"
	done
	for o in --sysroot --backend --debug --help --version; do
		has_line "$output" "^ +(-[a-zA-Z], )?$o( |$)"
	done
	has_line "$output" 'vfioctl\(8\)'
}

@test "every command's --help lists its options and exits 0" {
	local c n=0
	for c in $(commands); do
		n=$((n + 1))
		vfc "$c" --help
		status_is 0
		[[ -z "$stderr" ]]
		has_line "$output" "^ vfioctl $c \[options\]" "$c --help"
		has_line "$output" '^ -h, --help +display this help$' "$c --help"
		has_line "$output" "vfioctl-$c\(8\)" "$c --help"
		# `help CMD` is the same text
		local text=$output
		vfc help "$c"
		status_is 0
		[[ "$output" == "$text" ]]
	done
	((n >= 3))
}

@test "list, group and check --help list the output options" {
	local c o
	for c in list group check; do
		vfc "$c" --help
		status_is 0
		for o in "-J, --json" "-r, --raw" "-P, --pairs" "-o, --output LIST" \
			"-n, --noheadings" "    --list-columns"; do
			has_line "$output" "^ *${o} " "$c --help"
		done
	done
}

@test "list --help lists its filters" {
	vfc list --help
	status_is 0
	has_line "$output" '^ -c, --class CLASS '
	has_line "$output" '^ -d, --driver DRIVER '
	has_line "$output" '^     --vendor ID '
	has_line "$output" '^     --vfio '
	has_line "$output" '\[BDF\.\.\.\]'
}

@test "no command: a usage error on stderr, exit 2" {
	vfc
	status_is 2
	[ -z "$output" ]
	has_line "$stderr" 'no command given' stderr
	has_line "$stderr" "Try 'vfioctl --help'" stderr
}

@test "a misspelt command: exit 2 and 'did you mean'" {
	local typo want
	for typo in lsit:list grup:group chekc:check lis:list; do
		want=${typo#*:}
		vfc "${typo%:*}"
		status_is 2
		[[ -z "$output" ]]
		has_line "$stderr" "^vfioctl: unknown command '${typo%:*}'; did you mean '$want'\?$" stderr
		has_line "$stderr" "^Try 'vfioctl --help' for more information\.$" stderr
	done
}

@test "an unknown command with no close match: exit 2, no suggestion" {
	vfc frobnicate
	status_is 2
	[[ "$stderr" == "vfioctl: unknown command 'frobnicate'"$'\n'"Try 'vfioctl --help' for more information." ]]
	vfc help frobnicate
	status_is 2
	has_line "$stderr" "unknown command 'frobnicate'" stderr
}

@test "an unknown option: exit 2, names the option and the command's help" {
	vfc list --bogus
	status_is 2
	has_line "$stderr" '^vfioctl: --bogus: unknown option$' stderr
	has_line "$stderr" "^Try 'vfioctl list --help'" stderr
	vfc --bogus list
	status_is 2
	has_line "$stderr" '--bogus' stderr
}

@test "a bad PCI address: exit 2 and a clear message, for every command" {
	local bdf
	for bdf in 0000:zz:00.0 12:34 0000:00:20.0 0000:00:1f.8 10000:00:00.0 '' 1:2:3.4.5; do
		vfc list "$bdf"
		status_is 2
		has_line "$stderr" "^vfioctl: '$bdf' is not a PCI address \(DDDD:BB:DD\.F\)$" stderr
		vfc check "$bdf"
		status_is 2
		has_line "$stderr" "^vfioctl: '$bdf' is not a PCI address" stderr
		vfc group "$bdf"
		status_is 2
		has_line "$stderr" "^vfioctl: '$bdf' is neither a group number nor a PCI address$" stderr
	done
}

@test "check validates every address before printing anything" {
	need_root server
	vfc --sysroot "$ROOTS/server" check 0000:00:00.2 nonsense
	status_is 2
	[[ -z "$output" ]]
	has_line "$stderr" "'nonsense' is not a PCI address" stderr
}

@test "a nonexistent --sysroot: a clear error naming it, exit 1" {
	local c
	for c in list group check; do
		vfc --sysroot /nonexistent/vfioctl-root "$c"
		status_is 1
		[[ -z "$output" ]]
		[[ "$stderr" == "vfioctl: --sysroot /nonexistent/vfioctl-root: No such file or directory" ]]
	done
}

@test "--backend takes auto, type1 or iommufd, before the command; anything else is exit 2" {
	local b
	for b in auto type1 iommufd; do
		vfc --backend "$b" list 0000:00:00.0 -r -n -o BDF
		[[ "$status" -eq 0 || "$status" -eq 4 ]]
		[[ "$stderr" != *"--backend"* ]]
	done
	for b in vfio IOMMUFD "" legacy; do
		vfc --backend "$b" list
		status_is 2
		[[ -z "$output" ]]
		has_line "$stderr" "^vfioctl: --backend is auto, type1 or iommufd, not '$b'$" stderr
	done
	# after the command it belongs to the command: map has none
	vfc map 1 --backend iommufd
	status_is 2
	has_line "$stderr" "^vfioctl: --backend: unknown option" stderr
}

@test "a --sysroot that is a file, or empty: clear errors" {
	vfc --sysroot "$BATS_TEST_FILENAME" list
	status_is 1
	[[ "$stderr" == "vfioctl: --sysroot $BATS_TEST_FILENAME: Not a directory" ]]
	vfc --sysroot "" list
	status_is 2
	has_line "$stderr" '^vfioctl: --sysroot needs a directory$' stderr
}

@test "bad -o, --class and --vendor values: exit 2 with the reason" {
	vfc list -o BDF,NOPE
	status_is 2
	has_line "$stderr" 'unknown column.*NOPE.*--list-columns' stderr
	vfc group -o NOPE
	status_is 2
	vfc check -o NOPE
	status_is 2
	vfc list --class 0x2
	status_is 2
	has_line "$stderr" "^vfioctl: --class wants 2, 4 or 6 hex digits, not '0x2'$" stderr
	vfc list --class 0g
	status_is 2
	vfc list --vendor 80861
	status_is 2
	has_line "$stderr" "^vfioctl: --vendor wants VVVV or VVVV:DDDD in hex, not '80861'$" stderr
	vfc list --vendor 8086:
	status_is 2
	vfc list --vendor :1521
	status_is 2
}

@test "a device or group that does not exist: exit 4 with a hint" {
	need_root server
	local r=$ROOTS/server
	vfc --sysroot "$r" list 0000:09:00.0
	status_is 4
	[[ "$stderr" == "vfioctl: no PCI device 0000:09:00.0: No such device ('vfioctl list' shows the PCI devices)" ]]
	vfc --sysroot "$r" check 0000:09:00.0
	status_is 4
	[[ -z "$output" ]]
	has_line "$stderr" '^vfioctl: no PCI device 0000:09:00.0: No such device' stderr
	vfc --sysroot "$r" group 99
	status_is 4
	[[ "$stderr" == "vfioctl: no IOMMU group 99: No such device ('vfioctl group' lists the IOMMU groups)" ]]
	vfc --sysroot "$r" group 0000:09:00.0
	status_is 4
	has_line "$stderr" '^vfioctl: no PCI device 0000:09:00.0' stderr
	# a short address means domain 0
	vfc --sysroot "$r" list 09:00.0
	status_is 4
	has_line "$stderr" 'no PCI device 0000:09:00.0' stderr
}

@test "--list-columns of list, group and check" {
	local c
	for c in list group check; do
		vfc "$c" --list-columns
		status_is 0
		same_as "$EXPECTED/cli/$c-columns.out" "$output" "$c --list-columns"
		vfc "$c" --list-columns -J
		status_is 0
		same_as "$EXPECTED/cli/$c-columns-json.out" "$output" "$c --list-columns -J"
		jq -e '.columns | length > 3' <<<"$output" >/dev/null
	done
}

# On the machine the tests run on (a container, a laptop, the test VM): the
# content is unknown, the shape is not.
@test "JSON of list, group and check on this system parses with jq" {
	vfc list -J
	[[ "$status" == 0 || "$status" == 1 ]]
	jq -e '.devices | type == "array"' <<<"$output" >/dev/null
	vfc group -J
	[[ "$status" == 0 || "$status" == 1 ]]
	jq -e '.groups | type == "array"' <<<"$output" >/dev/null
	vfc check -J
	[[ "$status" == 0 || "$status" == 3 ]]
	jq -e '.checks | length > 5 and all(.[]; .status | test("^(PASS|WARN|FAIL|SKIP)$"))' \
		<<<"$output" >/dev/null
	# exit 3 exactly when a check FAILed
	if [[ "$status" == 3 ]]; then
		jq -e 'any(.checks[]; .status == "FAIL")' <<<"$output" >/dev/null
	else
		jq -e 'all(.checks[]; .status != "FAIL")' <<<"$output" >/dev/null
	fi
}

@test "every column of --list-columns is accepted by -o, and has its JSON type" {
	need_root server
	local c col key type
	for c in list group check; do
		vfc "$c" --list-columns -J
		status_is 0
		local cols=$output
		for col in $(jq -r '.columns[].name' <<<"$cols"); do
			type=$(jq -r --arg c "$col" '.columns[] | select(.name == $c) | .type' <<<"$cols")
			vfc --sysroot "$ROOTS/server" "$c" -J -o "$col"
			status_is 0
			key=$(tr 'A-Z' 'a-z' <<<"$col")
			# every row has exactly that key, with a value of the listed type
			jq -e --arg k "$key" --arg t "$type" '
				.[] | length > 0 and all(.[]; has($k) and length == 1 and
					(.[$k] == null or (.[$k] | type) == $t))' \
				<<<"$output" >/dev/null || {
				echo "$c -o $col: not every row has '$key' of type $type" >&2
				printf '%s\n' "$output" >&2
				return 1
			}
			# lower case works as well (lsblk does the same)
			vfc --sysroot "$ROOTS/server" "$c" -o "$key"
			status_is 0
		done
	done
}

@test "--sysroot with a trailing slash, or relative, reads the same root" {
	need_root server
	local want
	vfc --sysroot "$ROOTS/server" group -J
	status_is 0
	want=$output
	vfc --sysroot "$ROOTS/server/" group -J
	status_is 0
	[[ "$output" == "$want" ]]
	cd "$ROOTS"
	vfc --sysroot server//// group -J
	status_is 0
	[[ "$output" == "$want" ]]
}
