// Org-scoped cache headers within the CDNs' header limits, and ETag matching.
import { DEFAULT_MAX_TAG_BYTES, etagOf, MAX_TAG_LENGTH, notModified, orgCacheHeaders } from '@orgplane/runtime/guards';
import { describe, expect, it } from 'vitest';

describe('orgCacheHeaders', () => {
  it('puts org:<id> first in Surrogate-Key (spaces) and Cache-Tag (commas)', () => {
    const { headers, dropped } = orgCacheHeaders({ orgId: 42, tags: ['property:7', 'user:9'] });
    expect(headers).toEqual({
      'cache-control': 'private, max-age=0, must-revalidate',
      'surrogate-key': 'org:42 property:7 user:9',
      'cache-tag': 'org:42,property:7,user:9',
    });
    expect(dropped).toEqual([]);
  });

  it('lets a shared cache keep it only when asked', () => {
    expect(orgCacheHeaders({ orgId: 1, sharedMaxAgeSeconds: 60 }).headers['cache-control']).toBe('public, max-age=0, s-maxage=60');
  });

  it('cuts whole tags to stay under 16,000 bytes (Fastly drops keys past 16,384 silently), never org:<id>', () => {
    const tags = Array.from({ length: 3000 }, (_, i) => `property:${i}`);
    const { headers, dropped } = orgCacheHeaders({ orgId: 42, tags });
    expect(Buffer.byteLength(headers['surrogate-key']!)).toBeLessThanOrEqual(DEFAULT_MAX_TAG_BYTES);
    expect(Buffer.byteLength(headers['cache-tag']!)).toBeLessThanOrEqual(DEFAULT_MAX_TAG_BYTES);
    expect(headers['surrogate-key']!.startsWith('org:42 property:0 ')).toBe(true);
    expect(headers['surrogate-key']!.split(' ').length + dropped.length).toBe(3001);
    expect(dropped.at(-1)).toBe('property:2999');
  });

  it('drops a tag over 1,024 characters or with characters a header cannot carry', () => {
    const long = `t:${'x'.repeat(MAX_TAG_LENGTH)}`;
    const { headers, dropped } = orgCacheHeaders({ orgId: 1, tags: [long, 'a b', 'a,b', 'ok:1'] });
    expect(headers['surrogate-key']).toBe('org:1 ok:1');
    expect(dropped).toEqual([long, 'a b', 'a,b']);
  });
});

describe('ETag', () => {
  it('is strong, stable for a body and different for another', () => {
    expect(etagOf('{"a":1}')).toBe(etagOf(Buffer.from('{"a":1}')));
    expect(etagOf('{"a":1}')).not.toBe(etagOf('{"a":2}'));
    expect(etagOf('x')).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
  });

  it('matches If-None-Match lists, weak forms and *', () => {
    const tag = etagOf('x');
    expect(notModified(tag, tag)).toBe(true);
    expect(notModified(`"other", W/${tag}`, tag)).toBe(true);
    expect(notModified('*', tag)).toBe(true);
    expect(notModified('"other"', tag)).toBe(false);
    expect(notModified(undefined, tag)).toBe(false);
  });
});
