import { describe, expect, it } from 'vitest';
import { creationOptions, credentialJson, requestOptions } from '../src/passkeys.js';

// Node has no PublicKeyCredential: these are the fallbacks older browsers get.
const buf = (...b: number[]) => new Uint8Array(b).buffer;
const hex = (b: ArrayBuffer | BufferSource) => Buffer.from(b as ArrayBuffer).toString('hex');

describe('the WebAuthn JSON forms without the Level 3 statics', () => {
  it('decodes the base64url fields of creation and request options', () => {
    const created = creationOptions({
      challenge: '-_8', rp: { id: 'example.com', name: 'example.com' },
      user: { id: 'AAEC', name: 'sam', displayName: 'sam' },
      excludeCredentials: [{ type: 'public-key', id: '_w' }], pubKeyCredParams: [{ type: 'public-key', alg: -8 }],
    });
    expect(hex(created.challenge)).toBe('fbff');
    expect(hex(created.user.id)).toBe('000102');
    expect(hex(created.excludeCredentials![0].id)).toBe('ff');
    expect(created.rp.id).toBe('example.com');
    const requested = requestOptions({ challenge: 'AQ', rpId: 'example.com', allowCredentials: [] });
    expect(hex(requested.challenge)).toBe('01');
    expect(requested.allowCredentials).toEqual([]);
  });

  it('encodes a credential as unpadded base64url, registration and assertion alike', () => {
    const registration = credentialJson({
      id: '-_8', rawId: buf(0xfb, 0xff), type: 'public-key',
      response: { clientDataJSON: buf(1), attestationObject: buf(2, 3), getTransports: () => ['internal'] },
    });
    expect(registration).toEqual({
      id: '-_8', rawId: '-_8', type: 'public-key', clientExtensionResults: {},
      response: { clientDataJSON: 'AQ', attestationObject: 'AgM', transports: ['internal'] },
    });
    const assertion = credentialJson({
      id: 'AA', rawId: buf(0), type: 'public-key',
      response: { clientDataJSON: buf(1), authenticatorData: buf(2), signature: buf(3), userHandle: buf(4) },
    });
    expect(assertion.response).toEqual({ clientDataJSON: 'AQ', authenticatorData: 'Ag', signature: 'Aw', userHandle: 'BA' });
  });

  it('uses toJSON where the credential has it', () => {
    expect(credentialJson({ toJSON: () => ({ id: 'x' }) })).toEqual({ id: 'x' });
  });
});
