// GET /v1/config at scale: one serialization per version, compression and the compact
// encoding by negotiation, conditional requests, bad Accept / Accept-Encoding headers, and
// the bound on snapshots sent at once (503 + Retry-After).
import { brotliDecompressSync, gunzipSync } from 'node:zlib';
import { COMPACT_MEDIA_TYPE, decodeCompact, placementsOf } from '@orgplane/runtime/compact';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chooseCoding } from '../../src/http/contentCoding.js';
import { type Fixture, ORG_ID_MAX, seedClusters, startFixture } from '../helpers.js';
import { SseClient } from '../sseClient.js';

const PINS = 3000;
let f: Fixture;
let baseUrl: string;

beforeAll(async () => {
  f = await startFixture({ env: { ORGPLANE_CONFIG_MAX_SNAPSHOT_SENDS: '16', ORGPLANE_CONFIG_RETRY_AFTER_S: '3' } });
  await seedClusters(f.api, ['primary-1', 'primary-2']);
  await f.api.put('/v1/shard-map/ranges', { ranges: [{ lo: 0, hi: ORG_ID_MAX, clusterId: 'primary-1' }] });
  // Many pins straight into the table, then one change through the API to bump the version.
  await f.sql(
    `INSERT INTO placements (org_id, cluster_id, state, epoch)
     SELECT 1000 + g * 7, CASE WHEN g % 3 = 0 THEN 'primary-1' ELSE 'primary-2' END, 'active', 1 + g % 5
     FROM generate_series(1, $1) g`,
    [PINS],
  );
  await f.api.put('/v1/placements/5', { clusterId: 'primary-1' });
  baseUrl = await f.cp.app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await f?.close();
});

function get(headers: Record<string, string> = {}) {
  return f.cp.app.inject({ method: 'GET', url: '/v1/config', headers: { authorization: `Bearer ${f.tokens['sdk:read']}`, ...headers } });
}

describe('GET /v1/config, serialized once per version', () => {
  it('builds a version once, however many ask, and again only after a change', async () => {
    const cache = f.cp.services.snapshotCache;
    const before = cache.buildCount;
    const answers = await Promise.all(Array.from({ length: 8 }, () => get()));
    const again = await get();
    expect(cache.buildCount - before).toBeLessThanOrEqual(1);
    const bodies = new Set([...answers, again].map((a) => a.body));
    expect(bodies.size).toBe(1);
    const snapshot = again.json();
    expect(snapshot.placements).toHaveLength(PINS + 1);
    expect(again.headers.etag).toBe(`"${snapshot.version}"`);
    expect(again.headers.vary).toBe('Accept, Accept-Encoding');

    expect((await f.api.delete('/v1/placements/5')).status).toBe(200);
    const after = await get();
    expect(cache.buildCount - before).toBeLessThanOrEqual(2);
    expect(after.json().version).toBe(snapshot.version + 1);
    expect(after.json().placements).toHaveLength(PINS);
  });

  it('answers 304 for the current version, and 200 once it moves on', async () => {
    const version = (await get()).json().version;
    const same = await get({ 'if-none-match': `"${version}"` });
    expect(same.statusCode).toBe(304);
    expect(same.body).toBe('');
    const stale = await get({ 'if-none-match': `W/"${version - 1}"` });
    expect(stale.statusCode).toBe(200);
  });

  it('compresses with gzip or br by Accept-Encoding, the same bytes once decoded', async () => {
    const plain = await get();
    const gz = await get({ 'accept-encoding': 'gzip' });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.rawPayload).toString()).toBe(plain.body);
    expect(gz.rawPayload.length * 5).toBeLessThan(plain.rawPayload.length);
    const br = await get({ 'accept-encoding': 'gzip, deflate, br' });
    expect(br.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(br.rawPayload).toString()).toBe(plain.body);
    const preferGzip = await get({ 'accept-encoding': 'br;q=0.5, gzip' });
    expect(preferGzip.headers['content-encoding']).toBe('gzip');
  });

  it('answers a bad or odd Accept-Encoding with something usable', async () => {
    const plain = (await get()).body;
    for (const header of ['', 'identity', 'compress', 'gzip;q=abc', ';;;,,', 'gzip;q=0', 'identity;q=0', '*;q=0', 'x'.repeat(5000)]) {
      const res = await get({ 'accept-encoding': header });
      expect(res.statusCode, header).toBe(200);
      expect(res.headers['content-encoding'], header).toBeUndefined();
      expect(res.body, header).toBe(plain);
    }
    const star = await get({ 'accept-encoding': '*' });
    expect(star.headers['content-encoding']).toBe('br');
    expect(brotliDecompressSync(star.rawPayload).toString()).toBe(plain);
  });

  it('answers a bad, unknown or JSON-only Accept with JSON (an old runtime still gets JSON)', async () => {
    for (const accept of ['application/json', 'text/html', '*/*', 'garbage;;;', `${COMPACT_MEDIA_TYPE};q=0`, 'application/x-unknown']) {
      const res = await get({ accept });
      expect(res.statusCode, accept).toBe(200);
      expect(res.headers['content-type'], accept).toBe('application/json; charset=utf-8');
      expect(res.json().placements, accept).toHaveLength(PINS);
    }
  });

  it('answers the compact encoding when asked, with its own ETag, the same config once decoded', async () => {
    const json = (await get()).json();
    const res = await get({ accept: `${COMPACT_MEDIA_TYPE}, application/json;q=0.5` });
    expect(res.headers['content-type']).toBe(COMPACT_MEDIA_TYPE);
    expect(res.headers.etag).toBe(`"${json.version}.compact"`);
    const decoded = decodeCompact(res.rawPayload);
    const { placements, generatedAt: _g, ...rest } = json;
    const { placements: none, generatedAt: _g2, ...decodedRest } = decoded.snapshot;
    expect(none).toEqual([]);
    expect(decodedRest).toEqual(rest);
    expect(placementsOf(decoded.pins)).toEqual(placements);
    expect(res.rawPayload.length * 5).toBeLessThan(Buffer.byteLength((await get()).body));

    const gz = await get({ accept: COMPACT_MEDIA_TYPE, 'accept-encoding': 'gzip' });
    expect(gunzipSync(gz.rawPayload).equals(res.rawPayload)).toBe(true);
    expect((await get({ accept: COMPACT_MEDIA_TYPE, 'if-none-match': `"${json.version}.compact"` })).statusCode).toBe(304);
    // The JSON's ETag does not stand for the compact body, nor the other way round.
    expect((await get({ accept: COMPACT_MEDIA_TYPE, 'if-none-match': `"${json.version}"` })).statusCode).toBe(200);
    expect((await get({ 'if-none-match': `"${json.version}.compact"` })).statusCode).toBe(200);
  });

  it('still asks for a token', async () => {
    const res = await f.cp.app.inject({ method: 'GET', url: '/v1/config', headers: { 'accept-encoding': 'gzip' } });
    expect(res.statusCode).toBe(401);
  });
});

describe('snapshot sends are bounded', () => {
  it('answers 503 SNAPSHOT_SENDS_BUSY with Retry-After when every slot is taken; 304s and resumable watches still pass', async () => {
    const sends = f.cp.services.snapshotSends;
    expect(sends.max).toBe(16);
    const held: (() => void)[] = [];
    for (let release = sends.tryAcquire(); release; release = sends.tryAcquire()) held.push(release);
    expect(held).toHaveLength(16);
    try {
      const version = (await f.cp.services.snapshotCache.current()).version;
      const busy = await get({ 'accept-encoding': 'gzip' });
      expect(busy.statusCode).toBe(503);
      expect(busy.headers['retry-after']).toBe('3');
      expect(busy.json().error.code).toBe('SNAPSHOT_SENDS_BUSY');
      expect((await get({ 'if-none-match': `"${version}"` })).statusCode).toBe(304);

      const fresh = await SseClient.open(baseUrl, f.tokens['sdk:read']);
      expect(fresh.status).toBe(503);
      fresh.close();
      const resuming = await SseClient.open(baseUrl, f.tokens['sdk:read'], { since: version });
      expect(resuming.status).toBe(200);
      resuming.close();
    } finally {
      for (const release of held) release();
    }
    expect((await get()).statusCode).toBe(200);
    expect(sends.inFlight).toBe(0);
  });

  it('frees the slot of a watch once its snapshot event is written', async () => {
    const sends = f.cp.services.snapshotSends;
    const client = await SseClient.open(baseUrl, f.tokens['sdk:read']);
    const snapshot = await client.next();
    expect(snapshot.event).toBe('snapshot');
    expect(snapshot.data.placements).toHaveLength(PINS);
    await expect.poll(() => sends.inFlight).toBe(0);
    client.close();
  });
});

describe('the watch stream serves the cached snapshot', () => {
  it('sends the same JSON as GET, or the compact encoding with format=compact', async () => {
    const json = (await get()).json();
    const plain = await SseClient.open(baseUrl, f.tokens['sdk:read']);
    const first = await plain.next();
    plain.close();
    expect(first.event).toBe('snapshot');
    expect(first.data).toEqual(json);

    const res = await fetch(new URL('/v1/config/watch?format=compact', baseUrl), {
      headers: { authorization: `Bearer ${f.tokens['sdk:read']}`, accept: 'text/event-stream' },
    });
    const reader = res.body!.getReader();
    const event = /event: compact-snapshot\ndata: ([A-Za-z0-9+/=]+)\n\n/;
    let text = '';
    while (!event.test(text)) {
      const { value, done } = await reader.read();
      if (done) break;
      text += Buffer.from(value).toString('latin1');
    }
    await reader.cancel();
    const match = event.exec(text);
    expect(match).not.toBeNull();
    const decoded = decodeCompact(gunzipSync(Buffer.from(match![1]!, 'base64')));
    expect(decoded.snapshot.version).toBe(json.version);
    expect(placementsOf(decoded.pins)).toEqual(json.placements);
  });

  it('refuses an unknown format with 400', async () => {
    const res = await f.cp.app.inject({
      method: 'GET',
      url: '/v1/config/watch?format=xml',
      headers: { authorization: `Bearer ${f.tokens['sdk:read']}` },
    });
    expect(res.statusCode).toBe(400);
  });
});

describe('chooseCoding', () => {
  it('takes the highest q, ties in the server order, and identity when nothing else fits', () => {
    expect(chooseCoding(undefined, ['br', 'gzip'])).toBe('identity');
    expect(chooseCoding('gzip, br', ['br', 'gzip'])).toBe('br');
    expect(chooseCoding('gzip;q=1, br;q=0.9', ['br', 'gzip'])).toBe('gzip');
    expect(chooseCoding('x-gzip', ['br', 'gzip'])).toBe('gzip');
    expect(chooseCoding('GZIP;Q=0.5', ['br', 'gzip'])).toBe('gzip');
    expect(chooseCoding('br;q=0', ['br', 'gzip'])).toBe('identity');
    expect(chooseCoding('*;q=0.1, br;q=0', ['br', 'gzip'])).toBe('gzip');
    expect(chooseCoding(['gzip', 'br'], ['br', 'gzip'])).toBe('br');
    expect(chooseCoding('gzip', [])).toBe('identity');
  });
});
