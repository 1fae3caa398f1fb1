// The alert rules under monitoring/alerts, checked and unit-tested by promtool (Debian's
// prometheus package ships it; .ci/run installs it), and each alert's runbook link points
// at a heading that exists in the runbook.
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);
const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const alerts = path.join(root, 'monitoring', 'alerts');
const ruleFiles = readdirSync(alerts).filter((f) => f.endsWith('.rules.yml'));
const testFiles = readdirSync(alerts).filter((f) => f.endsWith('.test.yml'));

async function promtool(args: string[], cwd = alerts): Promise<{ ok: boolean; output: string }> {
  try {
    const { stdout, stderr } = await run('promtool', args, { cwd });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { code?: unknown; stdout?: string; stderr?: string };
    if (e.code === 'ENOENT') throw new Error('promtool is not installed: apt-get install prometheus (see .ci/run)');
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Heading anchors as GitHub makes them: lower case, spaces to dashes, punctuation dropped. */
function anchors(markdown: string): Set<string> {
  return new Set(
    markdown
      .split('\n')
      .filter((l) => /^#{1,6} /.test(l))
      .map((l) =>
        l
          .replace(/^#+ /, '')
          .trim()
          .toLowerCase()
          .replace(/[^a-z0-9 -]/g, '')
          .replace(/ /g, '-'),
      ),
  );
}

describe('alert rules', () => {
  it('there are rule files and tests for them', () => {
    expect(ruleFiles).toContain('replica-health.rules.yml');
    expect(testFiles).toContain('replica-health.test.yml');
  });

  for (const file of ruleFiles) {
    it(`${file}: promtool check rules`, async () => {
      const res = await promtool(['check', 'rules', file]);
      expect(res.ok, res.output).toBe(true);
    });

    it(`${file}: every alert has a runbook link to a heading that exists`, () => {
      const text = readFileSync(path.join(alerts, file), 'utf8');
      const alertCount = (text.match(/- alert: /g) ?? []).length;
      const links = [...text.matchAll(/runbook_url: "([^"#]+)#([^"]+)"/g)];
      expect(links.length).toBe(alertCount);
      for (const [, doc, anchor] of links) {
        const runbook = readFileSync(path.join(root, doc!), 'utf8');
        expect(anchors(runbook), `${doc}#${anchor}`).toContain(anchor);
      }
    });
  }

  for (const file of testFiles) {
    it(`${file}: promtool test rules`, async () => {
      const res = await promtool(['test', 'rules', file]);
      expect(res.ok, res.output).toBe(true);
    });
  }

  it('the unit tests catch a threshold that drifted (10 s warning instead of 5 s)', async () => {
    const scratch = mkdtempSync(path.join(tmpdir(), 'orgplane-alerts-'));
    try {
      for (const f of [...ruleFiles, ...testFiles]) copyFileSync(path.join(alerts, f), path.join(scratch, f));
      const rules = path.join(scratch, 'replica-health.rules.yml');
      writeFileSync(
        rules,
        readFileSync(rules, 'utf8').replace('(orgplane_replica_lag_seconds) > 5', '(orgplane_replica_lag_seconds) > 10'),
      );
      const res = await promtool(['test', 'rules', 'replica-health.test.yml'], scratch);
      expect(res.ok).toBe(false);
      expect(res.output).toContain('OrgplaneReplicaLagWarning');
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });
});
