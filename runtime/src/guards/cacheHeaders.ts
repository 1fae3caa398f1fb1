// Org-scoped cache headers: Cache-Control, Surrogate-Key (Fastly, Varnish xkey) and Cache-Tag
// (Cloudflare) carrying org:<id> first and then the caller's tags, and a strong ETag.
// Header limits: Cloudflare reads 16 KB of Cache-Tag and Fastly silently drops keys past
// 16,384 bytes of Surrogate-Key, so tags are cut (whole tags, never half of one) to fit
// `maxTagBytes` (default 16,000) and each tag to 1,024 characters; what was cut is reported.
import { createHash } from 'node:crypto';

export const MAX_TAG_LENGTH = 1024;
export const DEFAULT_MAX_TAG_BYTES = 16_000;

export interface CacheHeaderInput {
  orgId: number;
  /** More tags, e.g. `property:7`; org:<id> is always first. */
  tags?: readonly string[];
  /** Seconds a shared cache may keep it (s-maxage); 0 (default) keeps it out of shared caches. */
  sharedMaxAgeSeconds?: number;
  /** Seconds a browser may keep it (default 0: revalidate every time). */
  maxAgeSeconds?: number;
  maxTagBytes?: number;
}

export interface CacheHeaders {
  headers: Record<string, string>;
  /** Tags left out to stay under the header limits. */
  dropped: string[];
}

const TAG = /^[A-Za-z0-9:_.-]+$/;

export function orgCacheHeaders(input: CacheHeaderInput): CacheHeaders {
  const limit = input.maxTagBytes ?? DEFAULT_MAX_TAG_BYTES;
  const tags = [`org:${input.orgId}`];
  const dropped: string[] = [];
  let bytes = tags[0]!.length;
  for (const tag of input.tags ?? []) {
    if (!TAG.test(tag) || tag.length > MAX_TAG_LENGTH || bytes + 1 + tag.length > limit || tags.includes(tag)) {
      dropped.push(tag);
      continue;
    }
    tags.push(tag);
    bytes += 1 + tag.length;
  }
  const shared = input.sharedMaxAgeSeconds ?? 0;
  const maxAge = input.maxAgeSeconds ?? 0;
  const cacheControl = shared > 0 ? `public, max-age=${maxAge}, s-maxage=${shared}` : `private, max-age=${maxAge}, must-revalidate`;
  return {
    headers: { 'cache-control': cacheControl, 'surrogate-key': tags.join(' '), 'cache-tag': tags.join(',') },
    dropped,
  };
}

/** A strong ETag of the body. */
export function etagOf(body: Buffer | string): string {
  return `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
}

/** True when If-None-Match names `etag` (or `*`): answer 304 with no body. */
export function notModified(ifNoneMatch: string | string[] | undefined, etag: string): boolean {
  if (typeof ifNoneMatch !== 'string') return false;
  return ifNoneMatch
    .split(',')
    .map((t) => t.trim().replace(/^W\//, ''))
    .some((t) => t === etag || t === '*');
}
