import { inflateSync } from 'node:zlib';
import { PngDecodeError } from './eval-errors.js';

/**
 * Just enough PNG reading to check a screenshot really shows something: the header, and a decoder for the
 * non-interlaced 8-bit images Chromium writes. No dependency; node's zlib does the inflating.
 */

export const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export interface PngInfo {
  width: number;
  height: number;
  bitDepth: number;
  /** 0 gray, 2 RGB, 3 palette, 4 gray+alpha, 6 RGBA. */
  colorType: number;
  interlaced: boolean;
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width * height * 4 bytes, row-major RGBA. */
  data: Uint8Array;
}

interface Chunk { type: string; data: Buffer }

function chunks(buf: Buffer): Chunk[] {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new PngDecodeError('not a PNG (bad signature)');
  const out: Chunk[] = [];
  let off = 8;
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    if (off + 12 + len > buf.length) throw new PngDecodeError(`truncated PNG: chunk ${type} runs past the end`);
    out.push({ type, data: buf.subarray(off + 8, off + 8 + len) });
    off += 12 + len;
    if (type === 'IEND') return out;
  }
  throw new PngDecodeError('truncated PNG: no IEND chunk');
}

/** Signature and IHDR only (cheap; does not inflate). */
export function readPngInfo(buf: Buffer): PngInfo {
  if (buf.length < 33 || !buf.subarray(0, 8).equals(PNG_SIGNATURE)) throw new PngDecodeError('not a PNG (bad signature)');
  if (buf.toString('latin1', 12, 16) !== 'IHDR') throw new PngDecodeError('PNG without IHDR first');
  return {
    width: buf.readUInt32BE(16), height: buf.readUInt32BE(20), bitDepth: buf[24]!, colorType: buf[25]!, interlaced: buf[28] === 1,
  };
}

const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export function decodePng(buf: Buffer): RgbaImage {
  const info = readPngInfo(buf);
  const all = chunks(buf);
  const channels = CHANNELS[info.colorType];
  if (info.bitDepth !== 8 || channels === undefined || info.interlaced) {
    throw new PngDecodeError(`unsupported PNG variant (bit depth ${info.bitDepth}, colour type ${info.colorType}, interlaced ${info.interlaced})`);
  }
  const palette = all.find((c) => c.type === 'PLTE')?.data;
  const trns = all.find((c) => c.type === 'tRNS')?.data;
  if (info.colorType === 3 && !palette) throw new PngDecodeError('palette PNG without PLTE');
  const raw = inflateSync(Buffer.concat(all.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = info.width * channels;
  if (raw.length < (stride + 1) * info.height) throw new PngDecodeError('PNG pixel data shorter than its size says');
  const px = new Uint8Array(stride * info.height);
  for (let y = 0; y < info.height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const src = y * (stride + 1) + 1;
    const row = y * stride, prev = row - stride;
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? px[row + x - channels]! : 0;
      const b = y > 0 ? px[prev + x]! : 0;
      const c = x >= channels && y > 0 ? px[prev + x - channels]! : 0;
      const v = raw[src + x]!;
      let out: number;
      switch (filter) {
        case 0: out = v; break;
        case 1: out = v + a; break;
        case 2: out = v + b; break;
        case 3: out = v + ((a + b) >> 1); break;
        case 4: out = v + paeth(a, b, c); break;
        default: throw new PngDecodeError(`bad PNG filter type ${filter} on row ${y}`);
      }
      px[row + x] = out & 0xff;
    }
  }
  const data = new Uint8Array(info.width * info.height * 4);
  for (let i = 0, n = info.width * info.height; i < n; i++) {
    const s = i * channels, d = i * 4;
    switch (info.colorType) {
      case 0: data[d] = data[d + 1] = data[d + 2] = px[s]!; data[d + 3] = 255; break;
      case 4: data[d] = data[d + 1] = data[d + 2] = px[s]!; data[d + 3] = px[s + 1]!; break;
      case 2: data[d] = px[s]!; data[d + 1] = px[s + 1]!; data[d + 2] = px[s + 2]!; data[d + 3] = 255; break;
      case 6: data.set(px.subarray(s, s + 4), d); break;
      case 3: {
        const k = px[s]!;
        data[d] = palette![k * 3]!; data[d + 1] = palette![k * 3 + 1]!; data[d + 2] = palette![k * 3 + 2]!;
        data[d + 3] = trns && k < trns.length ? trns[k]! : 255;
        break;
      }
    }
  }
  return { width: info.width, height: info.height, data };
}

export interface ImageStats {
  /** Distinct RGB colours (a blank page has one). */
  distinctColors: number;
  /** Share of pixels that are not (near) white. */
  inkFraction: number;
}

export function imageStats(img: RgbaImage): ImageStats {
  const colors = new Set<number>();
  let ink = 0;
  const n = img.width * img.height;
  for (let i = 0; i < n; i++) {
    const r = img.data[i * 4]!, g = img.data[i * 4 + 1]!, b = img.data[i * 4 + 2]!;
    colors.add((r << 16) | (g << 8) | b);
    if (r < 240 || g < 240 || b < 240) ink++;
  }
  return { distinctColors: colors.size, inkFraction: n ? ink / n : 0 };
}

/** Pixels within `tolerance` (per channel) of a colour. */
export function countColor(img: RgbaImage, color: { r: number; g: number; b: number }, tolerance = 2): number {
  let count = 0;
  for (let i = 0, n = img.width * img.height; i < n; i++) {
    if (Math.abs(img.data[i * 4]! - color.r) <= tolerance && Math.abs(img.data[i * 4 + 1]! - color.g) <= tolerance
      && Math.abs(img.data[i * 4 + 2]! - color.b) <= tolerance) count++;
  }
  return count;
}
