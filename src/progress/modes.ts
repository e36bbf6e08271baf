/** `--progress` values: `auto` is `tty` when stderr is a terminal, else `plain`. */
export const PROGRESS_MODES = ['auto', 'tty', 'plain', 'json', 'quiet'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];
