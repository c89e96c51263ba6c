// Sealed papers (docs/PROTOCOL.md, paper_fetch): the page fetches its paper before the start
// as "KCP1" + the paper's hash (64 hex digits) + the paper encrypted with ChaCha20 (RFC 8439
// block function, block counter from 0, nonce 0); `start` gives the 32-byte key. Plain JS:
// test centres serve pages over plain http on a LAN, where browsers offer no WebCrypto.

const MAGIC = 'KCP1';

/** {hash, body} of a sealed paper (an ArrayBuffer), or null when it is not one. */
export function parseSealed(buf) {
  const b = new Uint8Array(buf);
  if (b.length <= 68) return null;
  const head = String.fromCharCode(...b.subarray(0, 68));
  if (head.slice(0, 4) !== MAGIC || !/^[0-9a-f]{64}$/.test(head.slice(4))) return null;
  return { hash: head.slice(4), body: b.subarray(68) };
}

const rotl = (x, n) => (x << n) | (x >>> (32 - n));

function quarter(s, a, b, c, d) {
  s[a] = (s[a] + s[b]) | 0; s[d] = rotl(s[d] ^ s[a], 16);
  s[c] = (s[c] + s[d]) | 0; s[b] = rotl(s[b] ^ s[c], 12);
  s[a] = (s[a] + s[b]) | 0; s[d] = rotl(s[d] ^ s[a], 8);
  s[c] = (s[c] + s[d]) | 0; s[b] = rotl(s[b] ^ s[c], 7);
}

/** body XOR the ChaCha20 key stream of key (32 bytes), nonce 0, counter from 0. */
export function chacha20(key, body) {
  if (key.length !== 32) throw new Error('a ChaCha20 key has 32 bytes');
  const init = new Uint32Array(16);
  init.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);   // "expand 32-byte k"
  const kv = new DataView(key.buffer, key.byteOffset, 32);
  for (let i = 0; i < 8; i++) init[4 + i] = kv.getUint32(4 * i, true);
  // init[12] is the block counter, init[13..15] the nonce: all 0
  const out = new Uint8Array(body.length);
  const x = new Uint32Array(16);
  const ks = new Uint8Array(64);
  const ksv = new DataView(ks.buffer);
  for (let off = 0, block = 0; off < body.length; off += 64, block++) {
    init[12] = block;
    x.set(init);
    for (let r = 0; r < 10; r++) {
      quarter(x, 0, 4, 8, 12); quarter(x, 1, 5, 9, 13); quarter(x, 2, 6, 10, 14); quarter(x, 3, 7, 11, 15);
      quarter(x, 0, 5, 10, 15); quarter(x, 1, 6, 11, 12); quarter(x, 2, 7, 8, 13); quarter(x, 3, 4, 9, 14);
    }
    for (let i = 0; i < 16; i++) ksv.setUint32(4 * i, (x[i] + init[i]) >>> 0, true);
    const n = Math.min(64, body.length - off);
    for (let i = 0; i < n; i++) out[off + i] = body[off + i] ^ ks[i];
  }
  return out;
}

/** The paper object inside a sealed paper, opened with the hex key `start` gave. Throws
 *  when the key does not open it. */
export function openSealed(sealed, keyHex) {
  if (!/^[0-9a-f]{64}$/.test(keyHex)) throw new Error('not a key');
  const key = new Uint8Array(32);
  for (let i = 0; i < 32; i++) key[i] = parseInt(keyHex.slice(2 * i, 2 * i + 2), 16);
  const text = new TextDecoder('utf-8', { fatal: true }).decode(chacha20(key, sealed.body));
  const paper = JSON.parse(text);
  if (!paper || typeof paper !== 'object' || !Array.isArray(paper.items)) throw new Error('not a paper');
  return paper;
}
