// The only module that reads process.env.
export interface TenantApiConfig {
  /** The control plane the runtime follows. */
  controlPlaneUrl: string;
  /** A token with the sdk:read scope. */
  token: string;
  redisUrl: string;
  host: string;
  port: number;
  /** Names this instance in metrics and logs. */
  instanceId: string;
  /** Credentials for the tenant clusters (the config's URLs carry none). */
  dbUser: string | undefined;
  dbPassword: string | undefined;
  cacheDir: string | undefined;
  /** `off` turns every guard off: the benchmark's baseline, never production. */
  guards: 'on' | 'off';
}

export class TenantApiConfigError extends Error {
  override name = 'TenantApiConfigError';
}

export function loadTenantApiConfig(env: NodeJS.ProcessEnv = process.env): TenantApiConfig {
  const need = (name: string): string => {
    const value = env[name];
    if (!value) throw new TenantApiConfigError(`${name} is required`);
    return value;
  };
  const port = Number(env.TENANT_API_PORT ?? 8090);
  if (!Number.isInteger(port) || port < 0 || port > 65_535)
    throw new TenantApiConfigError(`TENANT_API_PORT '${env.TENANT_API_PORT}' is not a port`);
  const guards = env.TENANT_API_GUARDS ?? 'on';
  if (guards !== 'on' && guards !== 'off') throw new TenantApiConfigError(`TENANT_API_GUARDS must be on or off, not '${guards}'`);
  return {
    controlPlaneUrl: need('ORGPLANE_URL'),
    token: need('ORGPLANE_TOKEN'),
    redisUrl: env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    host: env.TENANT_API_HOST ?? '127.0.0.1',
    port,
    instanceId: env.TENANT_API_INSTANCE ?? `tenant-api-${process.pid}`,
    dbUser: env.TENANT_DB_USER,
    dbPassword: env.TENANT_DB_PASSWORD,
    cacheDir: env.TENANT_API_CACHE_DIR,
    guards,
  };
}
