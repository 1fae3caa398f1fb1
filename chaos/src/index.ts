// The chaos engine arrives with its own issue; the package exists so the workspace
// layout and dependency direction (cli -> chaos) are fixed from the start.
export const CHAOS_API_VERSION = 1;
