/**
 * Generates the OCI runtime spec (`config.json`) for a RUN step, with
 * Docker's defaults for `RUN`: its own mount, pid, ipc and uts namespaces,
 * Docker's default capability set, masked and read-only `/proc` paths,
 * `no_new_privileges`, a private `/dev` with `/dev/pts`, `/dev/shm` and
 * `/dev/mqueue`, and the container's `/etc/hosts`, `/etc/resolv.conf` and
 * `/etc/hostname` bind-mounted from files outside the rootfs.
 */

export type NetworkMode = 'default' | 'host' | 'none';

export interface ProcessSpec {
  args: string[];
  env: string[];
  cwd: string;
  uid: number;
  gid: number;
  additionalGids: number[];
}

export interface SpecInput {
  rootfs: string;
  process: ProcessSpec;
  network: NetworkMode;
  hostname: string;
  /** Host files bind-mounted over the container's `/etc/...` of the same name. */
  etcFiles: { hosts: string; resolvConf: string; hostname: string };
  /** RUN `--mount`s and other per-step mounts, after the standard ones. */
  extraMounts: OciMount[];
}

/** One entry of the runtime spec's `mounts`. */
export interface OciMount {
  destination: string;
  type: string;
  source: string;
  options: string[];
}

/** Docker's default capabilities for containers (moby `oci/caps/defaults.go`). */
const DEFAULT_CAPABILITIES = [
  'CAP_CHOWN',
  'CAP_DAC_OVERRIDE',
  'CAP_FSETID',
  'CAP_FOWNER',
  'CAP_MKNOD',
  'CAP_NET_RAW',
  'CAP_SETGID',
  'CAP_SETUID',
  'CAP_SETFCAP',
  'CAP_SETPCAP',
  'CAP_NET_BIND_SERVICE',
  'CAP_SYS_CHROOT',
  'CAP_KILL',
  'CAP_AUDIT_WRITE',
];

const MASKED_PATHS = [
  '/proc/asound',
  '/proc/acpi',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];

const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/** The mount points the spec puts inside the rootfs (stubs the runtime creates when missing). */
export const SPEC_MOUNT_POINTS = ['/proc', '/dev', '/sys', '/etc/hosts', '/etc/resolv.conf', '/etc/hostname'];

export function runtimeSpec(input: SpecInput): object {
  const caps = DEFAULT_CAPABILITIES;
  const namespaces = [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  // `host` and `default` share the host's network: there is no bridge here.
  if (input.network === 'none') namespaces.push({ type: 'network' });
  const bind = (source: string, destination: string) => ({
    destination,
    type: 'bind',
    source,
    options: ['rbind', 'ro', 'nosuid', 'nodev', 'noexec'],
  });
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: input.process.uid, gid: input.process.gid, additionalGids: input.process.additionalGids },
      args: input.process.args,
      env: input.process.env,
      cwd: input.process.cwd,
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      noNewPrivileges: true,
    },
    root: { path: input.rootfs, readonly: false },
    hostname: input.hostname,
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'],
      },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      bind(input.etcFiles.hosts, '/etc/hosts'),
      bind(input.etcFiles.resolvConf, '/etc/resolv.conf'),
      bind(input.etcFiles.hostname, '/etc/hostname'),
      ...input.extraMounts,
    ],
    linux: {
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  };
}
