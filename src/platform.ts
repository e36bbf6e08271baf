import type { Platform } from './image/oci.ts';

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x', riscv64: 'riscv64' };

/** The platform of this machine, in Go's GOOS/GOARCH terms as image configs use them. */
export function hostPlatform(): Platform {
  return { os: 'linux', architecture: GOARCH[process.arch] ?? process.arch };
}
