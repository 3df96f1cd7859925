#!/usr/bin/env bats
# The bash and zsh completions, run for real against the binary under test
# (commands, options and columns come from it) and a tiny fake sysfs (devices,
# groups, drivers). bash: the completion function is called the way readline
# calls it, with bash-completion's helpers loaded. zsh: an interactive zsh in
# a pseudo-terminal is sent a line and a TAB, and every match its completion
# system produces is recorded.
#
# The binary is $VFIOCTL, else vfioctl in PATH (as inside the test VM).

bats_require_minimum_version 1.5.0 # run --separate-stderr

setup() {
	local bin=${VFIOCTL:-vfioctl}
	if [[ $bin != */* ]]; then
		bin=$(command -v "$bin") || fail "no vfioctl in PATH (set VFIOCTL)"
	fi
	bin=$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")
	[[ -x $bin ]] || fail "$bin is not executable"
	# completion runs `vfioctl ...` by the name typed, as for an installed one
	mkdir -p "$BATS_TEST_TMPDIR/bin"
	ln -s "$bin" "$BATS_TEST_TMPDIR/bin/vfioctl"
	PATH=$BATS_TEST_TMPDIR/bin:$PATH

	COMPLETIONS=$(cd "$BATS_TEST_DIRNAME/../../completions" 2>/dev/null && pwd) ||
		fail "no completions/ next to tests/"

	ROOT=$BATS_TEST_TMPDIR/root
	local d
	for d in 0000:00:00.0 0000:00:1f.2 0000:01:00.0 0000:01:00.1 0001:00:00.0; do
		mkdir -p "$ROOT/sys/bus/pci/devices/$d"
	done
	for d in 0 1 2 13; do
		mkdir -p "$ROOT/sys/kernel/iommu_groups/$d"
	done
	for d in vfio-pci nvme e1000e; do
		mkdir -p "$ROOT/sys/bus/pci/drivers/$d"
	done
	mkdir -p "$ROOT/proc/1" "$ROOT/proc/4242" "$ROOT/proc/self"
	cd "$BATS_TEST_TMPDIR"
}

fail() {
	printf '%s\n' "$*" >&2
	return 1
}

# ---- bash ---------------------------------------------------------------------

# bash_complete LINE: completes at the end of LINE; $output gets COMPREPLY one
# per line, sorted, and $nospace is 1 when the completion asked for no space.
# Words are split as readline splits them: at blanks, and around ':' and '='
# (COMP_WORDBREAKS), which is what makes BDFs and --opt=value interesting.
bash_complete() {
	local bc=${BASH_COMPLETION:-/usr/share/bash-completion/bash_completion}
	[[ -r $bc ]] || skip "bash-completion is not installed ($bc)"
	run --separate-stderr bash --norc --noprofile -c '
		source "$1" || exit 99
		source "$2" || exit 98
		nospace_file=$4
		compopt() { [[ "$*" == *nospace* ]] && echo nospace >"$nospace_file"; return 0; }
		line=$3 COMP_LINE=$3 COMP_POINT=${#3} COMP_WORDS=() word=
		for ((i = 0; i < ${#line}; i++)); do
			c=${line:i:1}
			case $c in
			" ") [[ -n $word ]] && COMP_WORDS+=("$word"); word= ;;
			[:=])
				[[ -n $word && $word != [:=]* ]] && COMP_WORDS+=("$word") && word=
				word+=$c ;;
			*)
				[[ $word == [:=]* ]] && COMP_WORDS+=("$word") && word=
				word+=$c ;;
			esac
		done
		COMP_WORDS+=("$word")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		_vfioctl vfioctl "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | LC_ALL=C sort
	' bash "$bc" "$COMPLETIONS/vfioctl.bash" "$1" "$BATS_TEST_TMPDIR/nospace"
	nospace=0
	[[ -e $BATS_TEST_TMPDIR/nospace ]] && nospace=1
	rm -f "$BATS_TEST_TMPDIR/nospace"
	if [[ $status -ne 0 || -n $stderr ]]; then
		printf 'completing "%s": status %d, stderr:\n%s\n' "$1" "$status" "$stderr" >&2
		return 1
	fi
	output=${output%$'\n'}
}

# The long options of `vfioctl CMD --help`, sorted (none for the main help).
help_long_options() {
	vfioctl "$@" --help | sed -n 's/^ \{1,\}\(-[A-Za-z0-9], \)\{0,1\}\(--[a-z][a-z0-9-]*\).*/\2/p' |
		LC_ALL=C sort
}

lines_of() { printf '%s\n' "$@"; }

has_line() {
	grep -qxF -- "$1" <<<"$output" || fail "'$1' not offered; got:"$'\n'"$output"
}

@test "bash: the completion file parses" {
	run bash -n "$COMPLETIONS/vfioctl.bash"
	[ "$status" -eq 0 ]
}

@test "bash: commands come from vfioctl --help, plus help" {
	bash_complete "vfioctl "
	expected=$( (vfioctl --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'
		echo help) | LC_ALL=C sort)
	[ -n "$expected" ]
	[ "$output" = "$expected" ]
	has_line list
	has_line group
	has_line check
}

@test "bash: a command prefix completes to the command" {
	bash_complete "vfioctl gr"
	[ "$output" = group ]
}

@test "bash: global options before the command" {
	bash_complete "vfioctl --"
	[ "$output" = "$(lines_of --backend --debug --help --sysroot --version)" ]
	bash_complete "vfioctl -"
	has_line -h
	has_line -V
}

@test "bash: --sysroot takes a directory, with or without =" {
	mkdir -p sub/dir
	touch subfile
	bash_complete "vfioctl --sysroot su"
	[ "$output" = sub ]
	bash_complete "vfioctl --sysroot=ro"
	[ "$output" = root ]
}

@test "bash: the global --backend offers auto, type1 and iommufd; the command is found after it" {
	bash_complete "vfioctl --backend "
	[ "$output" = "$(lines_of auto iommufd type1)" ]
	bash_complete "vfioctl --backend=i"
	[ "$output" = iommufd ]
	bash_complete "vfioctl --backend iommufd ma"
	[ "$output" = map ]
	bash_complete "vfioctl --backend iommufd map 1 --no-h"
	[ "$output" = --no-huge-pages ]
}

@test "bash: the command is found after --sysroot DIR" {
	bash_complete "vfioctl --sysroot $ROOT --debug l"
	[ "$output" = list ]
}

@test "bash: every option of every command's --help is offered" {
	for cmd in $(vfioctl --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
		bash_complete "vfioctl $cmd --"
		[ "$output" = "$(help_long_options "$cmd")" ] ||
			fail "$cmd: offered"$'\n'"$output"$'\n'"expected"$'\n'"$(help_long_options "$cmd")"
	done
}

@test "bash: list options, long and short" {
	bash_complete "vfioctl list --v"
	[ "$output" = "$(lines_of --vendor --vfio)" ]
	bash_complete "vfioctl list -"
	for o in -c -d -J -r -P -o -n -h --class --driver --json --output --list-columns; do
		has_line "$o"
	done
}

@test "bash: global options are not offered after the command" {
	bash_complete "vfioctl list --sys"
	[ -z "$output" ]
	bash_complete "vfioctl group --deb"
	[ -z "$output" ]
}

@test "bash: -o offers the command's columns, read from --list-columns" {
	bash_complete "vfioctl list -o "
	[ "$output" = "$(vfioctl list --list-columns -r -n | cut -d' ' -f1 | LC_ALL=C sort)" ]
	[ "$nospace" -eq 1 ]
	bash_complete "vfioctl check --output "
	[ "$output" = "$(lines_of CHECK DETAIL DEVICE HINT STATUS)" ]
}

@test "bash: -o completes inside a comma list, after + and in any case" {
	bash_complete "vfioctl list -o B"
	[ "$output" = "$(lines_of BARS BDF BOOTVGA)" ]
	bash_complete "vfioctl list -o BDF,GR"
	[ "$output" = BDF,GROUP ]
	bash_complete "vfioctl list --output=+dr"
	[ "$output" = +DRIVER ]
	bash_complete "vfioctl group -o +viable,dev"
	[ "$output" = +viable,DEVICES ]
}

@test "bash: -o leaves out columns already in the list" {
	bash_complete "vfioctl check -o CHECK,STATUS,"
	[ "$output" = "$(lines_of CHECK,STATUS,DETAIL CHECK,STATUS,DEVICE CHECK,STATUS,HINT)" ]
}

@test "bash: --driver offers the drivers of the sysroot, and none" {
	bash_complete "vfioctl --sysroot $ROOT list --driver "
	[ "$output" = "$(lines_of e1000e none nvme vfio-pci)" ]
	bash_complete "vfioctl --sysroot=$ROOT list -d vf"
	[ "$output" = vfio-pci ]
}

@test "bash: list and check offer the PCI addresses below --sysroot" {
	bash_complete "vfioctl --sysroot $ROOT list "
	[ "$output" = "$(lines_of 0000:00:00.0 0000:00:1f.2 0000:01:00.0 0000:01:00.1 0001:00:00.0)" ]
	bash_complete "vfioctl --sysroot $ROOT check -J 0001"
	[ "$output" = 0001:00:00.0 ]
}

@test "bash: a BDF completes across its colons" {
	bash_complete "vfioctl --sysroot $ROOT list 0000:01:"
	[ "$output" = "$(lines_of 00.0 00.1)" ]
	bash_complete "vfioctl --sysroot $ROOT list 0000:00:1"
	[ "$output" = 1f.2 ]
}

@test "bash: the short BB:DD.F form completes too" {
	bash_complete "vfioctl --sysroot $ROOT check 01:00"
	[ "$output" = "$(lines_of 00.0 00.1)" ]
}

@test "bash: addresses already on the line are not offered again" {
	bash_complete "vfioctl --sysroot $ROOT list 0000:01:00.0 0000:01:"
	[ "$output" = 00.1 ]
}

@test "bash: group offers group numbers and addresses" {
	bash_complete "vfioctl --sysroot $ROOT group 1"
	[ "$output" = "$(lines_of 1 13)" ]
	bash_complete "vfioctl --sysroot $ROOT group "
	has_line 0
	has_line 13
	has_line 0000:01:00.1
}

@test "bash: without --sysroot, devices come from the running system" {
	[ -d /sys/bus/pci/devices ] || skip "no /sys/bus/pci/devices here"
	expected=$(ls /sys/bus/pci/devices | LC_ALL=C sort)
	bash_complete "vfioctl list "
	[ "$output" = "$expected" ]
}

@test "bash: help completes a command name, once" {
	bash_complete "vfioctl help ch"
	[ "$output" = check ]
	bash_complete "vfioctl help check "
	[ -z "$output" ]
}

@test "bash: --pid offers the processes below --sysroot" {
	vfioctl memlock --help >/dev/null 2>&1 || skip "this vfioctl has no memlock"
	bash_complete "vfioctl --sysroot $ROOT memlock --pid "
	[ "$output" = "$(lines_of 1 4242)" ]
}

@test "bash: names read from the sysroot are never run as code" {
	mkdir -p "$ROOT/sys/bus/pci/drivers/\$(touch pwned)" "$ROOT/sys/bus/pci/devices/0000:\$(touch pwned)"
	bash_complete "vfioctl --sysroot $ROOT list --driver "
	has_line '$(touch pwned)'
	bash_complete "vfioctl --sysroot $ROOT list "
	[ ! -e pwned ]
}

@test "bash: map --backing, --mode, --populate and --iova offer their values" {
	vfioctl map --help >/dev/null 2>&1 || skip "this vfioctl has no map"
	bash_complete "vfioctl map 1 --backing hu"
	[ "$output" = "$(lines_of hugetlb hugetlb:1G hugetlb:2M)" ]
	bash_complete "vfioctl map 1 --backing memfd:"
	has_line hugetlb
	bash_complete "vfioctl map 1 --mode "
	[ "$output" = "$(lines_of iopf no-pin pin)" ]
	bash_complete "vfioctl map 1 --populate "
	[ "$output" = none ]
	bash_complete "vfioctl map 1 --iova "
	[ "$output" = auto ]
	bash_complete "vfioctl map 1 --bar-iova a"
	[ "$output" = auto ]
}

@test "bash: map --backing file: completes a path" {
	vfioctl map --help >/dev/null 2>&1 || skip "this vfioctl has no map"
	touch memfile-a memfile-b
	bash_complete "vfioctl map 1 --backing fi"
	[ "$output" = file: ]
	[ "$nospace" = 1 ]
	bash_complete "vfioctl map 1 --backing file:memf"
	[ "$output" = "$(lines_of memfile-a memfile-b)" ]
}

@test "bash: map --bar-device offers PCI addresses, container offers groups and addresses" {
	vfioctl map --help >/dev/null 2>&1 || skip "this vfioctl has no map"
	bash_complete "vfioctl --sysroot $ROOT map 1 --bar 0 --bar-device 0001"
	[ "$output" = 0001:00:00.0 ]
	bash_complete "vfioctl --sysroot $ROOT container 1"
	[ "$output" = "$(lines_of 1 13)" ]
}

@test "bash: persist offers its actions, then the addresses remove takes" {
	bash_complete "vfioctl --sysroot $ROOT persist "
	[ "$output" = "$(lines_of apply list remove)" ]
	bash_complete "vfioctl --sysroot $ROOT persist remove 0001"
	[ "$output" = 0001:00:00.0 ]
	bash_complete "vfioctl --sysroot $ROOT persist list "
	[ -z "$output" ]
}

@test "bash: an unknown command or a missing binary completes nothing, quietly" {
	bash_complete "vfioctl bogus --"
	[ -z "$output" ]
	bash_complete "$BATS_TEST_TMPDIR/nonexistent/vfioctl list --"
	[ -z "$output" ]
}

# ---- zsh ----------------------------------------------------------------------

# zsh_complete LINE: types LINE and a TAB into an interactive zsh (in a
# pseudo-terminal, through the zpty module) whose compadd records the matches
# it is given; $output gets them, sorted and unique.
zsh_complete() {
	command -v zsh >/dev/null || skip "zsh is not installed"
	zsh -fc 'zmodload zsh/zpty' 2>/dev/null || skip "zsh has no zpty module"
	local t=$BATS_TEST_TMPDIR
	cat >"$t/zsh-setup" <<-'SETUP'
		PS1='> '
		fpath=($ZT_COMPLETIONS $fpath)
		autoload -Uz compinit && compinit -u -D
		# compadd calls that only ask (-O, -A, -D) add nothing; the others
		# add the words that match what is typed: record those
		compadd() {
			if (( ${@[(I)-[OAD]]} )); then
				builtin compadd "$@"
				return
			fi
			local -a zt_matches
			builtin compadd -O zt_matches "$@"
			(( $#zt_matches )) && print -rl -- $zt_matches >>$ZT_OUT
			builtin compadd "$@"
		}
		zt_done() { print -r -- '#done' >>$ZT_OUT }
		comppostfuncs=(zt_done)
	SETUP
	cat >"$t/zsh-drive" <<-'DRIVE'
		zmodload zsh/zpty zsh/zselect || exit 3
		zpty zt zsh -f -i
		zpty -w zt "source ${(q)1}"
		zpty -w -n zt "$2"$'\t'
		local i junk
		for i in {1..300}; do
			zpty -r -t zt junk '*' 2>/dev/null
			[[ -f $ZT_OUT ]] && grep -qx '#done' $ZT_OUT && break
			zselect -t 5
		done
		zpty -d zt
		grep -qx '#done' $ZT_OUT 2>/dev/null || { echo "zsh: completion did not finish" >&2; exit 4; }
	DRIVE
	rm -f "$t/zsh-out"
	ZT_COMPLETIONS=$COMPLETIONS ZT_OUT=$t/zsh-out run --separate-stderr \
		zsh -f "$t/zsh-drive" "$t/zsh-setup" "$1"
	if [[ $status -ne 0 || -n $stderr ]]; then
		printf 'completing "%s": status %d, stderr:\n%s\n' "$1" "$status" "$stderr" >&2
		return 1
	fi
	output=$(grep -vx '#done' "$t/zsh-out" | LC_ALL=C sort -u)
}

@test "zsh: the completion file parses and declares #compdef vfioctl" {
	command -v zsh >/dev/null || skip "zsh is not installed"
	run zsh -n "$COMPLETIONS/_vfioctl"
	[ "$status" -eq 0 ]
	[ "$(head -n 1 "$COMPLETIONS/_vfioctl")" = "#compdef vfioctl" ]
}

@test "zsh: commands come from vfioctl --help, plus help" {
	zsh_complete "vfioctl "
	expected=$( (vfioctl --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'
		echo help) | LC_ALL=C sort)
	[ "$output" = "$expected" ]
}

@test "zsh: global options before the command, and --sysroot's directory" {
	zsh_complete "vfioctl --"
	[ "$output" = "$(lines_of --backend --debug --help --sysroot --version)" ]
	mkdir -p sub/dir
	touch subfile
	zsh_complete "vfioctl --sysroot su"
	[ "$output" = sub ]
}

@test "zsh: every option of every command's --help is offered" {
	for cmd in $(vfioctl --help | awk '/^Commands:/ { on = 1; next } /^$/ { on = 0 } on { print $1 }'); do
		zsh_complete "vfioctl $cmd --"
		[ "$output" = "$(help_long_options "$cmd")" ] ||
			fail "$cmd: offered"$'\n'"$output"$'\n'"expected"$'\n'"$(help_long_options "$cmd")"
	done
}

@test "zsh: the global --backend offers auto, type1 and iommufd" {
	zsh_complete "vfioctl --backend "
	[ "$output" = "$(lines_of auto iommufd type1)" ]
	zsh_complete "vfioctl --backend iommufd ma"
	[ "$output" = map ]
}

@test "zsh: global options are not offered after the command" {
	zsh_complete "vfioctl list --sys"
	[ -z "$output" ]
}

@test "zsh: -o offers the command's columns, in a comma list, after +, any case" {
	zsh_complete "vfioctl list -o "
	[ "$output" = "$(vfioctl list --list-columns -r -n | cut -d' ' -f1 | LC_ALL=C sort)" ]
	zsh_complete "vfioctl list --output=+dr"
	[ "$output" = DRIVER ]
	zsh_complete "vfioctl check -o CHECK,STATUS,"
	[ "$output" = "$(lines_of DETAIL DEVICE HINT)" ]
}

@test "zsh: --driver offers the drivers below --sysroot, and none" {
	zsh_complete "vfioctl --sysroot $ROOT list --driver "
	[ "$output" = "$(lines_of e1000e none nvme vfio-pci)" ]
}

@test "zsh: PCI addresses below --sysroot, full and short, not twice" {
	zsh_complete "vfioctl --sysroot=$ROOT list "
	[ "$output" = "$(lines_of 0000:00:00.0 0000:00:1f.2 0000:01:00.0 0000:01:00.1 0001:00:00.0)" ]
	zsh_complete "vfioctl --sysroot $ROOT check 01:0"
	[ "$output" = "$(lines_of 01:00.0 01:00.1)" ]
	zsh_complete "vfioctl --sysroot $ROOT list 0000:01:00.0 0000:01:"
	[ "$output" = 0000:01:00.1 ]
}

@test "zsh: group offers group numbers and addresses" {
	zsh_complete "vfioctl --sysroot $ROOT group 1"
	[ "$output" = "$(lines_of 1 13)" ]
}

@test "zsh: help completes a command name" {
	zsh_complete "vfioctl help ch"
	[ "$output" = check ]
}

@test "zsh: names read from the sysroot are never run as code" {
	mkdir -p "$ROOT/sys/bus/pci/drivers/\$(touch pwned)"
	zsh_complete "vfioctl --sysroot $ROOT list --driver "
	has_line '$(touch pwned)'
	[ ! -e pwned ]
}

@test "zsh: map --backing and --mode offer their values" {
	vfioctl map --help >/dev/null 2>&1 || skip "this vfioctl has no map"
	zsh_complete "vfioctl map 1 --backing hu"
	[ "$output" = "$(lines_of hugetlb hugetlb:1G hugetlb:2M)" ]
	zsh_complete "vfioctl map 1 --mode "
	[ "$output" = "$(lines_of iopf no-pin pin)" ]
	zsh_complete "vfioctl --sysroot $ROOT map 1 --bar 0 --bar-device 0001"
	[ "$output" = 0001:00:00.0 ]
}

@test "zsh: persist offers its actions, then the addresses remove takes" {
	zsh_complete "vfioctl --sysroot $ROOT persist "
	[ "$output" = "$(lines_of apply list remove)" ]
	zsh_complete "vfioctl --sysroot $ROOT persist remove 0001"
	[ "$output" = 0001:00:00.0 ]
}

@test "zsh: an unknown command completes nothing, quietly" {
	zsh_complete "vfioctl bogus --"
	[ -z "$output" ]
}
