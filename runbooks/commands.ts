// Reads the `orgplane ...` lines out of a runbook's sh blocks, for the tests that
// check and run them.

/** Shell-like split that honours double and single quotes. */
export function splitArgs(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m; m = re.exec(line)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

export function runbookCommands(markdown: string): string[] {
  const lines: string[] = [];
  for (const block of markdown.matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of (block[1] ?? '').split('\n')) {
      const line = raw.replace(/\s+#.*$/, '').trim();
      if (line.startsWith('orgplane ')) lines.push(line);
    }
  }
  return lines;
}
