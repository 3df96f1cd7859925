#!/usr/bin/env bash
# The main job, run inside the emulated passthrough host by `make demo`:
# what a sysadmin does first on a new passthrough host.
set -u
run() { printf '\n$ %s\n' "$*"; "$@"; echo "[exit $?]"; }
run vfioctl --version
run vfioctl check
run vfioctl list
run vfioctl group
run vfioctl list --vendor 1234:11e8 --json
run vfioctl check 0000:00:03.0
