import type { Platform } from '../image/oci.ts';

/** Build args every build has without an ARG line; like BuildKit, they stay out of history. */
export const PROXY_ARGS = new Set([
  'HTTP_PROXY',
  'http_proxy',
  'HTTPS_PROXY',
  'https_proxy',
  'FTP_PROXY',
  'ftp_proxy',
  'NO_PROXY',
  'no_proxy',
  'ALL_PROXY',
  'all_proxy',
]);

const SECRET_LIKE = /TOKEN|PASSWORD|PASSWD|SECRET|KEY/i;

/** Whether a build arg's value must not be written into the image history. */
export function looksSecret(name: string): boolean {
  return SECRET_LIKE.test(name);
}

function platformString(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

/**
 * The automatic platform args (BuildKit's): defined in the global scope, so
 * usable in FROM lines, and visible in a stage only after `ARG NAME`. The
 * build and target platform are the same: tsbuild builds for its own host.
 */
export function automaticArgs(target: Platform, build: Platform, targetStage: string): Map<string, string> {
  return new Map([
    ['TARGETPLATFORM', platformString(target)],
    ['TARGETOS', target.os],
    ['TARGETARCH', target.architecture],
    ['TARGETVARIANT', target.variant ?? ''],
    ['BUILDPLATFORM', platformString(build)],
    ['BUILDOS', build.os],
    ['BUILDARCH', build.architecture],
    ['BUILDVARIANT', build.variant ?? ''],
    ['TARGETSTAGE', targetStage],
  ]);
}

/**
 * The ARGs in scope in one place (the global scope or a stage), in
 * declaration order, and which `--build-arg` values were consumed anywhere.
 */
export class ArgScope {
  /** Declared args with a value, in declaration order. */
  readonly values = new Map<string, string>();
  /** Every ARG line's names in this stage, with a value or not, in declaration order (repeats too): what RUN history lists. */
  readonly declared: string[] = [];

  constructor(
    private readonly buildArgs: ReadonlyMap<string, string>,
    private readonly consumed: Set<string>,
    inherited?: ReadonlyMap<string, string>,
  ) {
    // a stage built FROM another sees its args, but BuildKit does not list them in its RUN history
    for (const [k, v] of inherited ?? []) this.values.set(k, v);
  }

  /**
   * Declares `name`: a `--build-arg` beats `defaultValue`; without either,
   * `inherited` (a global ARG or an automatic arg re-declared in a stage)
   * gives the value; otherwise the arg is declared but unset.
   */
  declare(name: string, defaultValue: string | undefined, inherited: ReadonlyMap<string, string>): void {
    // BuildKit lists a re-declared arg again in RUN history (`|2 A=1 A=1`)
    this.declared.push(name);
    const given = this.buildArgs.get(name);
    if (given !== undefined) {
      this.consumed.add(name);
      this.values.set(name, given);
    } else if (defaultValue !== undefined) this.values.set(name, defaultValue);
    else if (!this.values.has(name) && inherited.has(name)) this.values.set(name, inherited.get(name) as string);
  }
}
