/**
 * WebAuthn's JSON forms in the browser: the server's options in, the credential out.
 *
 * Browsers with WebAuthn Level 3 read and write these themselves
 * (`PublicKeyCredential.parseCreationOptionsFromJSON`, `parseRequestOptionsFromJSON`,
 * `credential.toJSON()`); for the others, the few base64url fields Tollgate sends and reads
 * are converted here.
 */

/** A JSON object as the server sends it. */
export type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A passkey of the signed-in account, as `GET /auth/passkeys` lists it.
 *
 * @example
 * ```ts
 * for (const p of await auth.passkeys()) console.log(p.id, p.kind, p.last_used_at ?? 'never used');
 * ```
 */
export interface Passkey {
  /** The credential id (base64url). */
  id: string;
  /** Its COSE algorithm: -7 (ES256) or -8 (EdDSA). */
  alg: number;
  /** `hwk` for a device-bound key, `swk` for a synced one (RFC 8176 `amr` values). */
  kind: 'hwk' | 'swk';
  /** When it was registered (RFC 3339, UTC). */
  created_at: string;
  /** When it last signed in, or `null`. */
  last_used_at: string | null;
}

const bytes = (s: string): ArrayBuffer =>
  Uint8Array.from(atob(s.replace(/-/g, '+').replace(/_/g, '/')), (c) => c.charCodeAt(0)).buffer;

const text = (b: ArrayBuffer): string =>
  btoa(String.fromCharCode(...new Uint8Array(b))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');

/* The Level 3 statics, where the browser has them. */
const native = (): Json | undefined => globalThis.PublicKeyCredential as Json | undefined;

const withIds = (list: Json[] | undefined): Json[] => (list ?? []).map((c) => ({ ...c, id: bytes(c.id) }));

/** `PublicKeyCredentialCreationOptionsJSON` as `navigator.credentials.create` takes it. */
export function creationOptions(json: Json): PublicKeyCredentialCreationOptions {
  return native()?.parseCreationOptionsFromJSON?.(json)
    ?? { ...json, challenge: bytes(json.challenge), user: { ...json.user, id: bytes(json.user.id) }, excludeCredentials: withIds(json.excludeCredentials) };
}

/** `PublicKeyCredentialRequestOptionsJSON` as `navigator.credentials.get` takes it. */
export function requestOptions(json: Json): PublicKeyCredentialRequestOptions {
  return native()?.parseRequestOptionsFromJSON?.(json)
    ?? { ...json, challenge: bytes(json.challenge), allowCredentials: withIds(json.allowCredentials) };
}

/** A new credential or an assertion as `RegistrationResponseJSON` / `AuthenticationResponseJSON`. */
export function credentialJson(credential: Json): Json {
  if (typeof credential.toJSON === 'function') return credential.toJSON();
  const r = credential.response;
  const response: Json = { clientDataJSON: text(r.clientDataJSON) };
  if (r.attestationObject) {
    response.attestationObject = text(r.attestationObject);
    response.transports = r.getTransports?.() ?? [];
  } else {
    response.authenticatorData = text(r.authenticatorData);
    response.signature = text(r.signature);
    if (r.userHandle) response.userHandle = text(r.userHandle);
  }
  return { id: credential.id, rawId: text(credential.rawId), type: credential.type, response, clientExtensionResults: {} };
}
