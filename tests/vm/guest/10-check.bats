#!/usr/bin/env bats
# `vfioctl check` on a real kernel with an emulated Intel IOMMU and Debian's VFIO modules.

load helpers

# "CHECK STATUS DETAIL" lines of `vfioctl check --json`.
checks() { vfioctl check --json | jq -r '.checks[] | "\(.check) \(.status) \(.detail)"'; }

@test "the emulated IOMMU passes: DMAR table, IOMMU on, groups, interrupt remapping" {
	out=$(checks)
	for c in iommu-firmware iommu-enabled iommu-groups interrupt-remapping; do
		grep -q "^$c PASS " <<<"$out" || { echo "$out"; false; }
	done
}

@test "check exits 0 and reports no FAIL on this host" {
	run vfioctl check
	[ "$status" -eq 0 ]
	run vfioctl check --json
	[ "$status" -eq 0 ]
	[ "$(jq '[.checks[] | select(.status == "FAIL")] | length' <<<"$output")" -eq 0 ]
}

@test "vfio, vfio_iommu_type1 and vfio-pci: modules or built in, as check says" {
	out=$(checks)
	for m in vfio vfio_iommu_type1 vfio-pci; do
		file=$(modinfo -n "$m")
		if [[ "$file" == "(builtin)" ]]; then
			# the iommufd test kernel has VFIO built in
			grep -q "^module-${m//-/_} PASS builtin" <<<"$out" || { echo "$m: $out"; false; }
		else
			[[ "$file" == /lib/modules/"$(uname -r)"/*.ko* ]] || { echo "$m: $file"; false; }
		fi
	done
}

@test "check sees vfio-pci available before it is loaded" {
	[ ! -d /sys/module/vfio_pci ] || skip "vfio_pci was loaded earlier in this boot"
	checks | grep -q '^module-vfio_pci PASS available, not loaded'
}

@test "modprobe loads vfio-pci with its dependencies and check sees it loaded" {
	modprobe vfio-pci
	[ -d /sys/module/vfio_pci ] && [ -d /sys/module/vfio_iommu_type1 ] && [ -c /dev/vfio/vfio ]
	out=$(checks)
	grep -Eq '^module-vfio_pci PASS (loaded|builtin)' <<<"$out" || { echo "$out"; false; }
	grep -q '^dev-vfio PASS ' <<<"$out" || { echo "$out"; false; }
}

@test "iommufd is skipped where the kernel has no iommufd" {
	! modinfo iommufd >/dev/null 2>&1 || skip "this kernel has iommufd"
	out=$(checks)
	grep -q '^iommufd SKIP ' <<<"$out" && grep -q '^module-iommufd SKIP ' <<<"$out" || { echo "$out"; false; }
}
