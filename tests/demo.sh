#!/usr/bin/env bash
# The main job, run inside the emulated passthrough host by `make demo`:
# what a sysadmin does on a new passthrough host, and gives back afterwards.
set -u
run() { printf '\n$ %s\n' "$*"; "$@"; echo "[exit $?]"; }
edu=$(vfioctl list --vendor 1234:11e8 -r -n -o BDF | head -n 1)
run vfioctl --version
run vfioctl check
run vfioctl list
run vfioctl group
run vfioctl list --json "$edu"
run vfioctl check "$edu"
run vfioctl bind --dry-run "$edu"
run vfioctl bind "$edu"
run vfioctl list --vfio
run vfioctl memlock --estimate --ram 8G
run vfioctl unbind "$edu"
run vfioctl list "$edu"
