// A mistyped command (`orgplane shards lst`). A person at a terminal gets
// @oclif/plugin-not-found's "Did you mean shards list?" prompt, which runs the suggestion
// on yes. A script (stdin not a terminal, or --json) is never prompted: it gets the named
// error COMMAND_NOT_FOUND with the suggestion as its hint (and in --json's document), and
// exit code 127 like a shell's unknown command, which the prompt's "no" exits with too.
//
// The plugin is not listed in oclif.plugins: its hook would run beside this one (oclif
// runs every plugin's hook) and print its own error; this hook calls it for terminals.
import { type Hook, toConfiguredId } from '@oclif/core';
import { CliError, ExitCode, errorText } from '../errors.js';

const hook: Hook.CommandNotFound = async function (opts) {
  const argv = opts.argv ?? [];
  const json = argv.includes('--json');
  if (process.stdin.isTTY === true && !json) {
    const { default: prompting } = await import('@oclif/plugin-not-found');
    return prompting.call(this, opts);
  }

  if (opts.id === 'help' || opts.id.startsWith('help:')) {
    // There is no help command: help is the --help flag.
    const about = [...opts.id.split(':').slice(1), ...argv.filter((a) => !a.startsWith('-'))].join(' ');
    return fail(
      json,
      new CliError(
        'COMMAND_NOT_FOUND',
        'orgplane has no help command',
        `${opts.config.bin} ${about ? `${about} ` : ''}--help`,
        ExitCode.commandNotFound,
      ),
    );
  }
  const visible = opts.config.commands.filter((c) => !c.hidden).flatMap((c) => [c.id, ...c.aliases]);
  // oclif joins every word typed into the id (`rollouts kil new-invoices` is
  // rollouts:kil:new-invoices) and may leave the last in argv (`shrads list`): try each prefix.
  const words = [...opts.id.split(':'), ...(argv[0] !== undefined && !argv[0].startsWith('-') ? [argv[0]] : [])];
  const suggestion = closest(
    words.map((_, i) => words.slice(0, i + 1).join(':')),
    visible,
  );
  const typed = toConfiguredId(opts.id, opts.config);
  const { bin } = opts.config;
  const suggested = suggestion === undefined ? undefined : toConfiguredId(suggestion, opts.config);
  const error = new CliError(
    'COMMAND_NOT_FOUND',
    `${typed} is not an ${bin} command${suggested ? `: did you mean ${suggested}?` : ''}`,
    suggested ? `${bin} ${suggested}, or ${bin} --help for every command` : `${bin} --help lists every command`,
    ExitCode.commandNotFound,
    suggested ? { suggestion: suggested } : undefined,
  );
  fail(json, error);
};

/** As OrgplaneCommand prints its errors (a hook has no command to do it). */
function fail(json: boolean, error: CliError): void {
  if (json) {
    process.stdout.write(`${JSON.stringify({ error: error.toJSON() }, null, 2)}\n`);
  } else {
    process.stderr.write(errorText(error));
  }
  process.exitCode = error.exitCode;
}

export default hook;

/** The id nearest to any of the typed ones by edit distance, or undefined when nothing is close. */
export function closest(typed: string[], ids: string[]): string | undefined {
  let best: { id: string; distance: number } | undefined;
  for (const t of typed) {
    for (const id of ids) {
      const distance = editDistance(t, id);
      if (!best || distance < best.distance) best = { id, distance };
    }
  }
  // Farther than half the id is a guess, not a typo.
  return best && best.distance <= Math.ceil(best.id.length / 2) ? best.id : undefined;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] ?? 0) + 1, (row[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] ?? 0;
}
