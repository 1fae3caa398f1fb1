// A checked-in snapshot of every command's flags and arguments: a change to the CLI's
// surface must be deliberate (update with `npx vitest run cli/test/commands.test.ts -u`).
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Config } from '@oclif/core';
import { expect, it } from 'vitest';

const cliRoot = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');

it('the command surface matches the checked-in snapshot', async () => {
  const config = await Config.load(cliRoot);
  const surface = [];
  // Our commands, not the plugins' (autocomplete).
  const ours = config.commands.filter((c) => c.pluginName === config.pjson.name);
  expect(ours.length).toBeGreaterThan(20);
  for (const c of ours.sort((a, b) => a.id.localeCompare(b.id))) {
    const cmd = await c.load();
    expect(cmd.summary, `${c.id} has no summary`).toBeTruthy();
    expect(cmd.examples?.length, `${c.id} has no examples`).toBeGreaterThan(0);
    expect(cmd.enableJsonFlag, `${c.id} does not take --json`).toBe(true);
    // Command.parse() spreads the class ({...ctor}): inherited args would show in help and be refused.
    if (Object.keys(cmd.args ?? {}).length > 0) expect(Object.hasOwn(cmd, 'args'), `${c.id} must declare its own static args`).toBe(true);
    surface.push({
      id: c.id,
      args: Object.entries(cmd.args ?? {}).map(([name, a]) => ({ name, required: Boolean(a.required) })),
      // As oclif parses them: the base class's baseFlags and the command's own (--json is checked above).
      flags: Object.entries({ ...cmd.baseFlags, ...cmd.flags })
        .map(([name, f]) => ({
          name,
          type: f.type,
          required: Boolean(f.required),
          default: typeof f.default === 'function' ? 'dynamic' : (f.default ?? null),
          hidden: Boolean(f.hidden),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    });
  }
  await expect(JSON.stringify(surface, null, 2)).toMatchFileSnapshot('./__snapshots__/commands.json');
});
