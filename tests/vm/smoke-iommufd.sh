#!/bin/bash
# Job for `tests/vm/run --kernel iommufd --script tests/vm/smoke-iommufd.sh`: shows that the
# kernel built from tests/vm/iommufd.config has what the iommufd tests need, in the rig's
# usual guest (systemd, udev, the 9p shares).
set -euo pipefail
echo "kernel: $(uname -r)"
echo "init: $(ps -p 1 -o comm=), system: $(systemctl is-system-running || true)"
echo "9p: $(awk '$3 == "9p" { printf "%s ", $2 }' /proc/mounts)"
zcat /proc/config.gz | grep -E '^CONFIG_(IOMMUFD|IOMMUFD_TEST|VFIO_DEVICE_CDEV|VFIO_CONTAINER|VFIO_PCI_DMABUF|MODULES)=' |
	tr '\n' ' '
echo
ls -l /dev/iommu
modprobe vfio-pci && echo "modprobe vfio-pci: ok, $(modinfo -F filename vfio-pci)"
# an edu with an IOMMU group of its own (the first on the root bus)
dev=0000:00:08.0
[[ "$(cat /sys/bus/pci/devices/$dev/device)" == 0x11e8 ]]
echo vfio-pci >/sys/bus/pci/devices/$dev/driver_override
echo $dev >/sys/bus/pci/drivers_probe
udevadm settle
echo "$dev: driver $(basename "$(readlink /sys/bus/pci/devices/$dev/driver)"), group $(basename "$(readlink /sys/bus/pci/devices/$dev/iommu_group)"), cdev $(ls /sys/bus/pci/devices/$dev/vfio-dev)"
stat -c '%A %t:%T %n' /dev/vfio/* /dev/vfio/devices/*
echo "$dev" >/sys/bus/pci/devices/$dev/driver/unbind
echo >/sys/bus/pci/devices/$dev/driver_override
# IOMMUFD_TEST: the selftest's mock IOMMU (iommufd_selftest_iommu.0) registers at boot
iommus=(/sys/class/iommu/*)
echo "iommu devices: ${iommus[*]##*/}"
echo "tracers: $(cat /sys/kernel/tracing/available_tracers)"
echo "vfioctl check:"
vfioctl check 2>&1 | sed 's/^/  /'
