import { buildCommand } from './build.ts';
import { contextCommand } from './context.ts';
import { doctorCommand } from './doctor.ts';
import { historyCommand } from './history.ts';
import { imagesCommand } from './images.ts';
import { inspectCommand } from './inspect.ts';
import { loginCommand } from './login.ts';
import { logoutCommand } from './logout.ts';
import { parseCommand } from './parse.ts';
import { planCommand } from './plan.ts';
import { pullCommand } from './pull.ts';
import { pruneCommand } from './prune.ts';
import { pushCommand } from './push.ts';
import { rmiCommand } from './rmi.ts';
import { tagCommand } from './tag.ts';

/**
 * Every command by its first word, for messages and "did you mean" (main.ts
 * registers them with yargs).
 */
export const COMMANDS: Readonly<Record<string, { builder?: unknown }>> = {
  build: buildCommand,
  parse: parseCommand,
  plan: planCommand,
  context: contextCommand,
  images: imagesCommand,
  tag: tagCommand,
  rmi: rmiCommand,
  inspect: inspectCommand,
  history: historyCommand,
  pull: pullCommand,
  push: pushCommand,
  login: loginCommand,
  logout: logoutCommand,
  prune: pruneCommand,
  doctor: doctorCommand,
};
