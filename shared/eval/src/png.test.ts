import assert from 'node:assert/strict';
import { deflateSync } from 'node:zlib';
import { describe, it } from 'node:test';
import { PngDecodeError } from './eval-errors.js';
import { countColor, decodePng, imageStats, PNG_SIGNATURE, readPngInfo } from './png.js';

function chunk(type: string, data: Buffer): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  return Buffer.concat([len, Buffer.from(type, 'latin1'), data, Buffer.alloc(4)]); // CRC unchecked by the reader
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Encodes 8-bit pixels, row y filtered with type y % 5, so every filter is exercised. */
function encode(width: number, height: number, colorType: number, channels: number, px: Uint8Array, extra: Buffer[] = []): Buffer {
  const stride = width * channels;
  const raw = Buffer.alloc((stride + 1) * height);
  for (let y = 0; y < height; y++) {
    const f = y % 5;
    raw[y * (stride + 1)] = f;
    for (let x = 0; x < stride; x++) {
      const cur = px[y * stride + x]!;
      const a = x >= channels ? px[y * stride + x - channels]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + x]! : 0;
      const c = x >= channels && y > 0 ? px[(y - 1) * stride + x - channels]! : 0;
      const pred = [0, a, b, (a + b) >> 1, paeth(a, b, c)][f]!;
      raw[y * (stride + 1) + 1 + x] = (cur - pred) & 0xff;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; ihdr[9] = colorType; ihdr[10] = 0; ihdr[11] = 0; ihdr[12] = 0;
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), ...extra, chunk('IDAT', deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

describe('PNG reader', () => {
  it('decodes RGBA through all five filter types exactly', () => {
    const w = 7, h = 10;
    const px = new Uint8Array(w * h * 4);
    for (let i = 0; i < px.length; i++) px[i] = (i * 37 + (i >> 3) * 11) & 0xff;
    const img = decodePng(encode(w, h, 6, 4, px));
    assert.equal(img.width, w);
    assert.equal(img.height, h);
    assert.deepEqual([...img.data], [...px]);
  });

  it('expands RGB, gray and palette to RGBA', () => {
    const rgb = new Uint8Array([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
    const a = decodePng(encode(2, 2, 2, 3, rgb));
    assert.deepEqual([...a.data], [255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 255, 255, 255, 255, 255]);
    assert.deepEqual(imageStats(a), { distinctColors: 4, inkFraction: 0.75 });
    assert.equal(countColor(a, { r: 254, g: 1, b: 0 }), 1);
    const gray = decodePng(encode(3, 1, 0, 1, new Uint8Array([0, 128, 255])));
    assert.deepEqual([...gray.data], [0, 0, 0, 255, 128, 128, 128, 255, 255, 255, 255, 255]);
    const pal = decodePng(encode(2, 1, 3, 1, new Uint8Array([1, 0]), [chunk('PLTE', Buffer.from([10, 20, 30, 40, 50, 60])), chunk('tRNS', Buffer.from([0]))]));
    assert.deepEqual([...pal.data], [40, 50, 60, 255, 10, 20, 30, 0]);
  });

  it('reads the header and refuses what it cannot read', () => {
    const png = encode(5, 3, 2, 3, new Uint8Array(45));
    assert.deepEqual(readPngInfo(png), { width: 5, height: 3, bitDepth: 8, colorType: 2, interlaced: false });
    assert.throws(() => readPngInfo(Buffer.from('GIF89a...........................')), PngDecodeError);
    assert.throws(() => decodePng(png.subarray(0, png.length - 20)), /truncated/);
    const sixteen = Buffer.from(png);
    sixteen[24] = 16;
    assert.throws(() => decodePng(sixteen), /unsupported PNG variant/);
  });
});
