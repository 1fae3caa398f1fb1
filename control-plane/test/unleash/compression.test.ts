// The Unleash client API answers its features document compressed by negotiation, made
// once per (config version, import revision), and still plain for a client that asks
// for nothing or sends a header that does not parse.
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Fixture, startFixture } from '../helpers.js';

let f: Fixture;
beforeAll(async () => {
  f = await startFixture();
  // Enough features that the document is worth compressing (over 1 KiB).
  const features = Array.from({ length: 60 }, (_, i) => ({
    name: `feature-${i}`,
    enabled: i % 2 === 0,
    strategies: [{ name: 'default' }],
  }));
  const res = await f.api.post('/api/admin/features-import', { features, segments: [] });
  expect(res.status, res.text).toBe(200);
});
afterAll(async () => {
  await f?.close();
});

function get(path: string, headers: Record<string, string> = {}) {
  return f.cp.app.inject({ method: 'GET', url: path, headers: { authorization: f.tokens['sdk:read'], ...headers } });
}

describe('Unleash client API compression', () => {
  for (const path of ['/api/client/features', '/api/client/delta']) {
    it(`${path}: gzip and br by Accept-Encoding, the same document once decoded`, async () => {
      const plain = await get(path);
      expect(plain.statusCode).toBe(200);
      expect(plain.headers['content-encoding']).toBeUndefined();
      expect(plain.headers.vary).toBe('Accept-Encoding');
      const gz = await get(path, { 'accept-encoding': 'gzip' });
      expect(gz.headers['content-encoding']).toBe('gzip');
      expect(gunzipSync(gz.rawPayload).toString()).toBe(plain.body);
      expect(gz.rawPayload.length).toBeLessThan(plain.rawPayload.length);
      const br = await get(path, { 'accept-encoding': 'br, gzip' });
      expect(br.headers['content-encoding']).toBe('br');
      expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);
      expect(gz.headers.etag).toBe(plain.headers.etag);
    });
  }

  it('answers a bad Accept-Encoding uncompressed, and 304 whatever the coding', async () => {
    const plain = await get('/api/client/features');
    for (const header of ['gzip;q=nope', 'zstd', ',,;', 'identity;q=0']) {
      const res = await get('/api/client/features', { 'accept-encoding': header });
      expect(res.statusCode, header).toBe(200);
      expect(res.headers['content-encoding'], header).toBeUndefined();
      expect(res.body, header).toBe(plain.body);
    }
    const notModified = await get('/api/client/features', { 'accept-encoding': 'gzip', 'if-none-match': String(plain.headers.etag) });
    expect(notModified.statusCode).toBe(304);
    expect(notModified.body).toBe('');
  });

  it('compresses a filtered document too', async () => {
    const all = await get('/api/client/features?namePrefix=feature-1', { 'accept-encoding': 'gzip' });
    const doc = JSON.parse(all.headers['content-encoding'] === 'gzip' ? gunzipSync(all.rawPayload).toString() : all.body);
    expect(doc.features.map((x: { name: string }) => x.name).every((n: string) => n.startsWith('feature-1'))).toBe(true);
    expect(doc.features.length).toBe(11);
  });
});
