#!/usr/bin/env bash
# Installs what `npm run conformance` needs on Debian (as root) when missing:
# Debian's docker.io (dockerd 20.10 with BuildKit built in, and the 20.10
# client at /usr/bin/docker), plus tsbuild's own test tools; bundles the CLI
# when dist/ has none yet (run `npm run build` yourself after changing src/).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
[ -x /usr/sbin/dockerd ] && [ -x /usr/bin/docker ] || need+=(docker.io)
for pair in runc:runc docker-registry:docker-registry skopeo:skopeo file:file; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair##*:}")
done
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'install ok installed' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
  echo "conformance setup: installing Debian packages: ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
[ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error
[ -f dist/tsbuild.mjs ] || npm run --silent build
