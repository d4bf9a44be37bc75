// A software WebAuthn authenticator for the HTTP tests: it answers Tollgate's options with the
// Level 3 JSON forms, signing with node's own crypto (OpenSSL), never with Tollgate's code.
// ES256 signatures come out DER-encoded, as real authenticators send them. The browser tests
// use Chromium's virtual authenticator instead; this one can also misbehave on purpose
// (flags, counters, origins) where a browser would not let a page ask for that.
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto';

const b64u = (b) => Buffer.from(b).toString('base64url');
const sha256 = (b) => createHash('sha256').update(b).digest();

/** A CBOR encoding (RFC 8949) of integers, byte strings (Buffer), text and Maps. */
export function cbor(value) {
  const head = (major, n) => {
    if (n < 24) return Buffer.from([(major << 5) | n]);
    if (n < 0x100) return Buffer.from([(major << 5) | 24, n]);
    if (n < 0x10000) return Buffer.from([(major << 5) | 25, n >> 8, n & 0xff]);
    const b = Buffer.alloc(5);
    b[0] = (major << 5) | 26;
    b.writeUInt32BE(n, 1);
    return b;
  };
  if (typeof value === 'number') return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === 'string') return Buffer.concat([head(3, Buffer.byteLength(value)), Buffer.from(value)]);
  if (Buffer.isBuffer(value)) return Buffer.concat([head(2, value.length), value]);
  if (value instanceof Map) return Buffer.concat([head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)])]);
  throw new TypeError(`cbor: ${typeof value}`);
}

const UP = 0x01;
const UV = 0x04;
const AT = 0x40;

export class SoftAuthenticator {
  /** `alg` -7 (ES256, P-256) or -8 (EdDSA, Ed25519). */
  constructor({ alg = -7 } = {}) {
    this.alg = alg;
    const { privateKey, publicKey } = alg === -7
      ? generateKeyPairSync('ec', { namedCurve: 'P-256' })
      : generateKeyPairSync('ed25519');
    this.privateKey = privateKey;
    this.publicKey = publicKey;
    this.credentialId = randomBytes(16);
    this.counter = 0;
    this.userHandle = null;
  }

  get id() {
    return b64u(this.credentialId);
  }

  coseKey() {
    const jwk = this.publicKey.export({ format: 'jwk' });
    const x = Buffer.from(jwk.x, 'base64url');
    return cbor(this.alg === -7
      ? new Map([[1, 2], [3, -7], [-1, 1], [-2, x], [-3, Buffer.from(jwk.y, 'base64url')]])
      : new Map([[1, 1], [3, -8], [-1, 6], [-2, x]]));
  }

  authData(rpId, flags, attested) {
    const count = Buffer.alloc(4);
    count.writeUInt32BE(this.counter);
    const parts = [sha256(rpId), Buffer.from([flags | (attested ? AT : 0)]), count];
    if (attested) {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(this.credentialId.length);
      parts.push(Buffer.alloc(16), len, this.credentialId, this.coseKey());
    }
    return Buffer.concat(parts);
  }

  static clientData(type, challenge, origin) {
    return Buffer.from(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** A `RegistrationResponseJSON` for creation `options`, run at `origin`. */
  register(options, { origin, rpId = options.rp.id, flags = UP | UV } = {}) {
    this.userHandle = options.user.id;
    const clientDataJSON = SoftAuthenticator.clientData('webauthn.create', options.challenge, origin);
    const attestationObject = cbor(new Map([['fmt', 'none'], ['attStmt', new Map()], ['authData', this.authData(rpId, flags, true)]]));
    return {
      id: this.id, rawId: this.id, type: 'public-key', clientExtensionResults: {}, authenticatorAttachment: 'platform',
      response: { clientDataJSON: b64u(clientDataJSON), attestationObject: b64u(attestationObject), transports: ['internal'] },
    };
  }

  /**
   * An `AuthenticationResponseJSON` for request `options`, run at `origin`; the counter goes
   * up by one unless `counter` is given.
   */
  assert(options, { origin, rpId = options.rpId, flags = UP | UV, counter } = {}) {
    this.counter = counter ?? this.counter + 1;
    const clientDataJSON = SoftAuthenticator.clientData('webauthn.get', options.challenge, origin);
    const authenticatorData = this.authData(rpId, flags, false);
    const signed = Buffer.concat([authenticatorData, sha256(clientDataJSON)]);
    const signature = sign(this.alg === -7 ? 'sha256' : null, signed, this.privateKey);
    return {
      id: this.id, rawId: this.id, type: 'public-key', clientExtensionResults: {},
      response: {
        clientDataJSON: b64u(clientDataJSON), authenticatorData: b64u(authenticatorData),
        signature: b64u(signature), userHandle: this.userHandle,
      },
    };
  }
}
