#!/bin/bash
# Default job of tests/vm/run: show that the guest has what vfioctl's tests rely on.
set -euo pipefail
uname -r
groups=(/sys/kernel/iommu_groups/*)
echo "iommu groups: $(printf "%s\n" "${groups[@]##*/}" | sort -n | tr "\n" " ")"
lspci -nn
modprobe -n -v vfio-pci
echo "vfio loaded before the job: $(lsmod | awk '$1 ~ /^vfio/ {print $1}' | tr '\n' ' ')"
echo "vfioctl: $(command -v vfioctl || echo 'not installed')"
