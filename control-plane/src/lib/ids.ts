/** Cluster and replica ids: lowercase DNS-label-like names, as the schema checks. */
export const RESOURCE_ID_PATTERN = '^[a-z0-9][a-z0-9-]{0,62}$';
