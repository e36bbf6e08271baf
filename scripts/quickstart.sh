#!/usr/bin/env bash
# Quick start: sets up tsbuild, builds a busybox base image from Debian's
# busybox-static (`FROM scratch` + `ADD rootfs.tar /`, no registry needed),
# then builds the example image on top of it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
work=examples/base
bash fixtures/base/make-busybox-rootfs.sh "$work/rootfs" >/dev/null
tar --sort=name --numeric-owner --owner=0 --group=0 --mtime='2020-01-01 00:00:00Z' -C "$work/rootfs" -cf "$work/rootfs.tar" .
rm -rf "$work/rootfs"
./bin/tsbuild build -t tsbuild.local/busybox:1.35 "$work"
./bin/tsbuild build -t tsbuild.local/hello:latest -o type=oci,dest=examples/hello/out,tar=false examples/hello
