export { buildTenantApi, EXPENSE_TOTALS_FLAG, type TenantApiOptions } from './app.js';
export { loadTenantApiConfig, type TenantApiConfig, TenantApiConfigError } from './config.js';
