import { UserError } from '../errors.ts';
import type { CommandForm, Dockerfile, Instruction, Word } from '../parser/ast.ts';
import { expandWords } from '../shell/expand.ts';
import { exposeCreatedBy, goDuration, goList, goQuotedList, goQuoteRune } from './history.ts';
import { expandAt, type Locate } from './stage-planner.ts';
import type { StageState } from './stage-state.ts';

/** Instructions that only change the image config. */
export type ConfigInstruction = Exclude<Instruction, { kind: 'FROM' | 'ARG' | 'WORKDIR' | 'RUN' | 'COPY' | 'ADD' | 'ONBUILD' | 'MAINTAINER' }>;

/** Exec form as given; shell form wrapped in the stage's SHELL. */
function commandArgs(cmd: CommandForm, shell: readonly string[]): string[] {
  return cmd.form === 'exec' ? cmd.args.map((a) => a.value) : [...shell, cmd.script.value];
}

const PORT = /^(\d+)(?:-(\d+))?(?:\/(tcp|udp|sctp))?$/i;

/**
 * Applies one metadata instruction to the stage's image config, with
 * BuildKit's semantics, and returns its history `created_by`.
 */
export function applyConfigInstruction(
  ins: ConfigInstruction,
  state: StageState,
  env: ReadonlyMap<string, string>,
  esc: Dockerfile['escapeChar'],
  where: Locate,
): string {
  const x = (w: Word): string => expandAt(w, env, esc, where);
  const c = state.config;
  switch (ins.kind) {
    case 'ENV': {
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      for (const [k, v] of pairs) state.setEnv(k, v);
      return `ENV ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    }
    case 'LABEL': {
      const pairs = ins.pairs.map((p) => [x(p.key), x(p.value)] as const);
      c.Labels = { ...(c.Labels ?? {}), ...Object.fromEntries(pairs) };
      return `LABEL ${pairs.map(([k, v]) => `${k}=${v}`).join(' ')}`;
    }
    case 'USER':
      c.User = x(ins.user);
      return `USER ${c.User}`;
    case 'EXPOSE': {
      const ports: string[] = [];
      for (const w of ins.ports) {
        for (const p of expandWords(w.value, env, esc)) {
          const m = PORT.exec(p);
          if (!m) throw new UserError(`invalid port ${JSON.stringify(p)}: expected PORT, PORT/PROTO or START-END/PROTO`, where(w));
          const proto = (m[3] ?? 'tcp').toLowerCase();
          const [start, end] = [Number(m[1]), Number(m[2] ?? m[1])];
          if (end < start || end > 65535) throw new UserError(`invalid port range ${JSON.stringify(p)}`, where(w));
          for (let n = start; n <= end; n++) ports.push(`${n}/${proto}`);
        }
      }
      c.ExposedPorts = { ...(c.ExposedPorts ?? {}), ...Object.fromEntries(ports.map((p) => [p, {}])) };
      return exposeCreatedBy(ports);
    }
    case 'VOLUME': {
      const paths = ins.paths.flatMap((w) => (ins.form === 'json' ? [x(w)] : expandWords(w.value, env, esc)));
      if (paths.some((p) => p.trim() === '')) throw new UserError('VOLUME specified can not be an empty string', where(ins));
      c.Volumes = { ...(c.Volumes ?? {}), ...Object.fromEntries(paths.map((p) => [p, {}])) };
      return `VOLUME ${goList(paths)}`;
    }
    case 'CMD':
      c.Cmd = commandArgs(ins.command, state.shell);
      state.cmdSet = true;
      return `CMD ${goQuotedList(c.Cmd)}`;
    case 'ENTRYPOINT':
      c.Entrypoint = commandArgs(ins.command, state.shell);
      if (!state.cmdSet) c.Cmd = null;
      return `ENTRYPOINT ${goQuotedList(c.Entrypoint)}`;
    case 'SHELL':
      state.shell = ins.shell.map((w) => w.value);
      c.Shell = [...state.shell];
      return `SHELL ${goList(state.shell)}`;
    case 'STOPSIGNAL': {
      const signal = x(ins.signal);
      if (!/^(SIG[A-Z0-9+-]+|\d+)$/.test(signal)) throw new UserError(`invalid STOPSIGNAL ${JSON.stringify(signal)}`, where(ins.signal));
      c.StopSignal = signal;
      return `STOPSIGNAL ${signal}`;
    }
    case 'HEALTHCHECK': {
      if (ins.test === 'NONE' || !ins.command) {
        c.Healthcheck = { Test: ['NONE'] };
        return healthcheckCreatedBy(['NONE'], 0, 0, 0, 0);
      }
      const test = ins.command.form === 'exec' ? ['CMD', ...ins.command.args.map((a) => a.value)] : ['CMD-SHELL', ins.command.script.value];
      c.Healthcheck = {
        Test: test,
        ...(ins.interval && { Interval: ins.interval }),
        ...(ins.timeout && { Timeout: ins.timeout }),
        ...(ins.startPeriod && { StartPeriod: ins.startPeriod }),
        ...(ins.startInterval && { StartInterval: ins.startInterval }),
        ...(ins.retries && { Retries: ins.retries }),
      };
      return healthcheckCreatedBy(test, ins.interval, ins.timeout, ins.startPeriod, ins.retries);
    }
  }
}

/** BuildKit's HEALTHCHECK history line: Go's `%v` of the check, `&{["CMD-SHELL" "…"] "30s" "5s" "0s" '\x03'}`. */
function healthcheckCreatedBy(test: readonly string[], interval: number, timeout: number, startPeriod: number, retries: number): string {
  return `HEALTHCHECK &{${goQuotedList(test)} "${goDuration(interval)}" "${goDuration(timeout)}" "${goDuration(startPeriod)}" ${goQuoteRune(retries)}}`;
}
