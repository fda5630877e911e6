import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { spkiKind } from '../src/util/spki.js';

// The kind of a token's key is read from its SPKI bytes (src/util/spki.ts): node:crypto's key details
// abort the process on an EC point that is not on its curve, which libp11 builds when a private key
// without a CKA_ID is paired with another key's public half.

const spki = (k: ReturnType<typeof generateKeyPairSync>['publicKey']) => k.export({ type: 'spki', format: 'der' });

describe('spkiKind', () => {
  it('reads RSA sizes and the two curves', () => {
    for (const bits of [2048, 3072, 4096]) expect(spkiKind(spki(generateKeyPairSync('rsa', { modulusLength: bits }).publicKey))).toEqual({ algorithm: 'rsa', bits });
    expect(spkiKind(spki(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey))).toEqual({ algorithm: 'ec', curve: 'P-256', pointFits: true });
    expect(spkiKind(spki(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey))).toEqual({ algorithm: 'ec', curve: 'P-384', pointFits: true });
    expect(spkiKind(spki(generateKeyPairSync('ed25519').publicKey))).toEqual({ algorithm: 'other' });
  });

  it('finds a P-384 key whose point is a P-256 one (another key\'s public half), and refuses garbage', () => {
    const p384 = spki(generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey);
    const p256Point = spki(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey).subarray(-65);
    // SEQUENCE { SEQUENCE { ecPublicKey, secp384r1 }, BIT STRING { 0, 65-byte point } }
    const algorithm = p384.subarray(2, 2 + 2 + p384[3]!);
    const bitString = Buffer.concat([Buffer.from([0x03, 66, 0x00]), p256Point]);
    const body = Buffer.concat([algorithm, bitString]);
    const forged = Buffer.concat([Buffer.from([0x30, body.length]), body]);
    expect(spkiKind(forged)).toEqual({ algorithm: 'ec', curve: 'P-384', pointFits: false });
    expect(spkiKind(Buffer.from('not der'))).toBeNull();
    expect(spkiKind(Buffer.alloc(0))).toBeNull();
  });
});
