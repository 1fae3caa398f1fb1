export { buildTenantApi, EXPENSE_TOTALS_FLAG, READ_AFTER_HEADER, type TenantApiOptions } from './app.js';
export { loadTenantApiConfig, type TenantApiConfig, TenantApiConfigError } from './config.js';
