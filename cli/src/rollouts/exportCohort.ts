// Streams every page of a cohort's org ids into a file or stdout, so a 100,000-org
// cohort never sits in memory whole. A file is written beside its final name and
// renamed at the end: an interrupted export leaves no half-written file behind.

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import type { Writable } from 'node:stream';
import type { ApiClient } from '../apiClient.js';
import { cohortPath } from './api.js';
import type { CohortPage } from './types.js';

export type ExportFormat = 'csv' | 'json';

export const EXPORT_PAGE_SIZE = 1000;

/** Every page of the cohort, in org id order. */
export async function* cohortPages(api: ApiClient, name: string, pageSize = EXPORT_PAGE_SIZE): AsyncGenerator<CohortPage> {
  let after: number | undefined;
  for (;;) {
    const page = await api.get<CohortPage>(cohortPath(name), { limit: pageSize, after });
    yield page;
    const last = page.orgIds.at(-1);
    if (page.orgIds.length < pageSize || last === undefined) return;
    after = last;
  }
}

export interface ExportSummary {
  name: string;
  size: number;
  seed: number | null;
  exported: number;
  format: ExportFormat;
  output: string | null;
}

async function write(out: Writable, text: string): Promise<void> {
  if (!out.write(text)) await once(out, 'drain');
}

/** Writes the cohort to `out` as CSV (`org_id` header) or one JSON document. */
export async function writeCohort(
  api: ApiClient,
  name: string,
  format: ExportFormat,
  out: Writable,
  pageSize = EXPORT_PAGE_SIZE,
): Promise<Omit<ExportSummary, 'output'>> {
  let exported = 0;
  let head: CohortPage | undefined;
  for await (const page of cohortPages(api, name, pageSize)) {
    if (!head) {
      head = page;
      await write(
        out,
        format === 'csv'
          ? 'org_id\n'
          : `{"name":${JSON.stringify(page.name)},"size":${page.size},"seed":${JSON.stringify(page.seed)},"orgIds":[`,
      );
    }
    if (page.orgIds.length === 0) continue;
    const sep = format === 'csv' ? '\n' : ',';
    await write(out, (format === 'json' && exported > 0 ? ',' : '') + page.orgIds.join(sep) + (format === 'csv' ? '\n' : ''));
    exported += page.orgIds.length;
  }
  if (format === 'json') await write(out, ']}\n');
  // head is set: the generator yields at least one page or throws (COHORT_NOT_FOUND).
  return { name: head?.name ?? name, size: head?.size ?? exported, seed: head?.seed ?? null, format, exported };
}

export async function exportCohortToFile(
  api: ApiClient,
  name: string,
  format: ExportFormat,
  file: string,
  pageSize = EXPORT_PAGE_SIZE,
): Promise<ExportSummary> {
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  try {
    const summary = await writeCohort(api, name, format, out, pageSize);
    out.end();
    await once(out, 'finish');
    await rename(partial, file);
    return { ...summary, output: file };
  } catch (err) {
    out.destroy();
    await rm(partial, { force: true });
    throw err;
  }
}
