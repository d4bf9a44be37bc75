/**
 * `@tollgate/client`: the browser client for Tollgate.
 *
 * This module only re-exports; each area lives in its own file.
 */
export { AuthError } from './errors.js';
export type { AuthErrorCode, FieldError } from './errors.js';
