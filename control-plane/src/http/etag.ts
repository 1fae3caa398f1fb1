// Conditional GETs: the config snapshot and the Unleash features document both answer 304.

/** True when an If-None-Match header lists `etag` (quoted, weak or not), or is `*`. */
export function etagMatches(header: string, etag: string): boolean {
  return header.split(',').some((tag) => {
    const t = tag.trim();
    return t === '*' || t === etag || t === `W/${etag}`;
  });
}
