#!/usr/bin/env bats
# The badids root (tests/roots/badids.desc): a pci.ids that libpci rejects.
# libpci's default is to print and exit(); vfioctl must warn and show numbers.

load common

setup_file() {
	roots_setup
}

R=badids

@test "list: numbers instead of names, one warning, exit 0" {
	vfc_root $R list
	status_is 0
	same_as "$EXPECTED/$R/list.out" "$output" stdout
	[[ $(grep -c 'pci.ids unusable' <<<"$stderr") == 1 ]]
	has_line "$stderr" '^vfioctl: warning: pci.ids unusable, showing numbers: Parse error at .*/usr/share/misc/pci.ids, line 9$' stderr
}

@test "list -J, group and check work all the same" {
	vfc_root $R list -J
	status_is 0
	same_as "$EXPECTED/$R/list-json.out" "$output" stdout
	json_has '.devices[] | select(.bdf == "0000:00:02.0") | .name == "8086 10d3" and .class == "0200"'
	vfc_root $R group -J
	status_is 0
	same_as "$EXPECTED/$R/group-json.out" "$output" stdout
	vfc_root $R check 00:02.0
	status_is 0
	same_as "$EXPECTED/$R/check-nic.out" "$output" stdout
}

@test "the pci.ids warning: the path as the system names it, one line" {
	expect $R list 0 list
}
