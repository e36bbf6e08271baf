#!/usr/bin/env bash
# Installs what tsbuild and its tests need on a Debian machine (as root), then
# builds the CLI. Safe to run again: it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
for pair in runc:runc crun:crun busybox:busybox-static docker-registry:docker-registry skopeo:skopeo umoci:umoci \
            getfattr:attr setfattr:attr mknod:coreutils file:file xz:xz-utils bzip2:bzip2 htpasswd:apache2-utils; do
  cmd=${pair%%:*}; pkg=${pair##*:}
  command -v "$cmd" >/dev/null 2>&1 || need+=("$pkg")
done
# busybox from busybox (dynamic) is not enough: the test base needs the static one.
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  echo "setup: installing Debian packages: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
fi
npm run --silent build

# Put `tsbuild` on PATH (root's quick start), unless another one is already there.
if [ "$(id -u)" = 0 ] && { [ ! -e /usr/local/bin/tsbuild ] || [ -L /usr/local/bin/tsbuild ]; }; then
  ln -sfn "$PWD/bin/tsbuild" /usr/local/bin/tsbuild
fi
