// The URL of the shared server that tests/run.mjs started for this run.
export const BASE = process.env.TOLLGATE_URL;
if (!BASE) throw new Error('TOLLGATE_URL is not set: run end-to-end tests through `make test-e2e` (tests/run.mjs)');
