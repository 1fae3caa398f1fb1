// Content negotiation for large, cacheable bodies (the config snapshot, the Unleash
// features document): each body is compressed once per coding and kept, so a request
// costs a lookup. A client that sends a malformed Accept-Encoding, or refuses every
// coding, still gets the body uncompressed: a usable answer beats 406.
import { promisify } from 'node:util';
import { brotliCompress, constants, gzip } from 'node:zlib';

export type ContentCoding = 'identity' | 'gzip' | 'br';

const gzipAsync = promisify(gzip);
const brotliAsync = promisify(brotliCompress);

/** Bodies smaller than this go out as they are: compressing them saves nothing worth a CPU slice. */
export const MIN_COMPRESSED_BYTES = 1024;
/** zlib level 6 (its default); bench:config-scale measures it against level 1 and 9. */
export const GZIP_LEVEL = 6;
/** Brotli 5: close to gzip's speed and smaller; 11 takes minutes on a 69 MB snapshot. */
export const BROTLI_QUALITY = 5;

/**
 * The coding to answer with, from `offered` (best first, identity implied last), for the
 * request's Accept-Encoding. Highest q wins; ties go to the order of `offered`. Entries
 * that do not parse are skipped; identity is the answer when nothing else is acceptable.
 */
export function chooseCoding(header: string | string[] | undefined, offered: readonly ContentCoding[]): ContentCoding {
  const text = Array.isArray(header) ? header.join(',') : header;
  if (!text) return 'identity';
  const weights = new Map<string, number>();
  for (const part of text.split(',')) {
    const [rawName, ...params] = part.split(';');
    const name = rawName?.trim().toLowerCase();
    if (!name || !/^[a-z0-9*!#$%&'+.^_`|~-]+$/.test(name)) continue;
    let q = 1;
    for (const param of params) {
      if (!/^\s*q\s*=/i.test(param)) continue;
      const match = /^\s*q\s*=\s*([0-9](?:\.[0-9]{0,3})?)\s*$/i.exec(param);
      q = match ? Math.min(1, Number(match[1])) : Number.NaN;
    }
    if (Number.isNaN(q)) continue;
    // `x-gzip` is gzip (RFC 9110 section 8.4.1.3).
    weights.set(name === 'x-gzip' ? 'gzip' : name, q);
  }
  const star = weights.get('*');
  let best: ContentCoding = 'identity';
  let bestQ = 0;
  for (const coding of offered) {
    const q = weights.get(coding) ?? star ?? 0;
    if (q > bestQ) {
      best = coding;
      bestQ = q;
    }
  }
  return best;
}

/** One body and its compressed forms, each made once (concurrent askers share the work). */
export class EncodedBody {
  private readonly encoded = new Map<ContentCoding, Promise<Buffer>>();

  constructor(readonly identity: Buffer) {}

  /** The codings worth offering for this body, best first. */
  get offered(): readonly ContentCoding[] {
    return this.identity.length < MIN_COMPRESSED_BYTES ? [] : ['br', 'gzip'];
  }

  /** The coding to use for this Accept-Encoding, and the bytes. */
  async negotiate(acceptEncoding: string | string[] | undefined): Promise<{ coding: ContentCoding; body: Buffer }> {
    const coding = chooseCoding(acceptEncoding, this.offered);
    return { coding, body: await this.get(coding) };
  }

  get(coding: ContentCoding): Promise<Buffer> {
    if (coding === 'identity') return Promise.resolve(this.identity);
    let body = this.encoded.get(coding);
    if (!body) {
      body =
        coding === 'gzip'
          ? gzipAsync(this.identity, { level: GZIP_LEVEL })
          : brotliAsync(this.identity, brotliOptions(this.identity.length));
      // A failure is not kept: the next request tries again.
      body.catch(() => this.encoded.delete(coding));
      this.encoded.set(coding, body);
    }
    return body;
  }
}

function brotliOptions(size: number) {
  return {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: BROTLI_QUALITY,
      [constants.BROTLI_PARAM_SIZE_HINT]: size,
    },
  };
}
