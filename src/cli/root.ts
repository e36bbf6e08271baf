/**
 * `$TSBUILD_ROOT`, else /var/lib/tsbuild for root, else under XDG_DATA_HOME.
 * (The variables it reads are in repeat-build.ts PARSE_ENV.)
 */
export function defaultRoot(): string {
  if (process.env.TSBUILD_ROOT) return process.env.TSBUILD_ROOT;
  if (process.getuid?.() === 0) return '/var/lib/tsbuild';
  return `${process.env.XDG_DATA_HOME ?? `${process.env.HOME ?? '/tmp'}/.local/share`}/tsbuild`;
}
