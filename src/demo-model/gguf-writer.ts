/**
 * A small, dependency-free GGUF v3 writer (little-endian), enough to produce test models.
 *
 * Layout: header, metadata key/values, tensor infos, padding to `general.alignment`,
 * then the tensor data, every tensor starting at an aligned offset.
 * Tensor dimensions are given the ggml way: innermost (fastest-varying) first.
 */
import { promises as fs } from "node:fs";
import path from "node:path";

/** A typed metadata value. */
export type GgufValue =
  | { type: "uint32"; value: number }
  | { type: "int32"; value: number }
  | { type: "uint64"; value: number | bigint }
  | { type: "float32"; value: number }
  | { type: "bool"; value: boolean }
  | { type: "string"; value: string }
  | { type: "stringArray"; value: readonly string[] }
  | { type: "int32Array"; value: ArrayLike<number> }
  | { type: "float32Array"; value: ArrayLike<number> };

/** Shorthand constructors for metadata values. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: "uint32", value }),
  i32: (value: number): GgufValue => ({ type: "int32", value }),
  u64: (value: number | bigint): GgufValue => ({ type: "uint64", value }),
  f32: (value: number): GgufValue => ({ type: "float32", value }),
  bool: (value: boolean): GgufValue => ({ type: "bool", value }),
  str: (value: string): GgufValue => ({ type: "string", value }),
  strings: (value: readonly string[]): GgufValue => ({ type: "stringArray", value }),
  i32s: (value: ArrayLike<number>): GgufValue => ({ type: "int32Array", value }),
  f32s: (value: ArrayLike<number>): GgufValue => ({ type: "float32Array", value }),
};

export type GgufTensorType = "F32" | "F16";

export interface GgufTensor {
  name: string;
  /** ggml order: innermost dimension first (e.g. token_embd is [n_embd, n_vocab]). */
  dims: readonly number[];
  type: GgufTensorType;
  /** Row-major values, innermost dimension fastest; length must equal the product of dims. */
  data: Float32Array;
}

export interface GgufFile {
  /** Written in this order. `general.alignment` is added when absent and alignment !== 32. */
  metadata: ReadonlyArray<readonly [string, GgufValue]>;
  tensors: readonly GgufTensor[];
  /** Tensor data alignment in bytes; defaults to 32 (or to `general.alignment` when given). */
  alignment?: number;
}

// gguf_type
const T = { UINT32: 4, INT32: 5, FLOAT32: 6, BOOL: 7, STRING: 8, ARRAY: 9, UINT64: 10 } as const;
// ggml_type
const GGML_TYPE = { F32: 0, F16: 1 } as const;
const BYTES_PER_ELEMENT = { F32: 4, F16: 2 } as const;

/** Little-endian byte sink that grows as needed. */
class ByteWriter {
  private buf = Buffer.alloc(1 << 16);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.length + n) size *= 2;
    const next = Buffer.alloc(size);
    this.buf.copy(next, 0, 0, this.length);
    this.buf = next;
  }
  u32(v: number): void {
    this.ensure(4);
    this.buf.writeUInt32LE(v >>> 0, this.length);
    this.length += 4;
  }
  i32(v: number): void {
    this.ensure(4);
    this.buf.writeInt32LE(v | 0, this.length);
    this.length += 4;
  }
  u64(v: number | bigint): void {
    this.ensure(8);
    this.buf.writeBigUInt64LE(BigInt(v), this.length);
    this.length += 8;
  }
  f32(v: number): void {
    this.ensure(4);
    this.buf.writeFloatLE(v, this.length);
    this.length += 4;
  }
  u8(v: number): void {
    this.ensure(1);
    this.buf.writeUInt8(v, this.length);
    this.length += 1;
  }
  u16(v: number): void {
    this.ensure(2);
    this.buf.writeUInt16LE(v, this.length);
    this.length += 2;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  str(s: string): void {
    const b = Buffer.from(s, "utf8");
    this.u64(b.length);
    this.bytes(b);
  }
  padTo(alignment: number): void {
    while (this.length % alignment !== 0) this.u8(0);
  }
  result(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

function writeValue(w: ByteWriter, v: GgufValue): void {
  switch (v.type) {
    case "uint32":
      w.u32(T.UINT32);
      w.u32(v.value);
      return;
    case "int32":
      w.u32(T.INT32);
      w.i32(v.value);
      return;
    case "uint64":
      w.u32(T.UINT64);
      w.u64(v.value);
      return;
    case "float32":
      w.u32(T.FLOAT32);
      w.f32(v.value);
      return;
    case "bool":
      w.u32(T.BOOL);
      w.u8(v.value ? 1 : 0);
      return;
    case "string":
      w.u32(T.STRING);
      w.str(v.value);
      return;
    case "stringArray":
      w.u32(T.ARRAY);
      w.u32(T.STRING);
      w.u64(v.value.length);
      for (const s of v.value) w.str(s);
      return;
    case "int32Array":
      w.u32(T.ARRAY);
      w.u32(T.INT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.i32(v.value[i]!);
      return;
    case "float32Array":
      w.u32(T.ARRAY);
      w.u32(T.FLOAT32);
      w.u64(v.value.length);
      for (let i = 0; i < v.value.length; i++) w.f32(v.value[i]!);
      return;
  }
}

/** IEEE 754 binary32 -> binary16 bits, round-to-nearest-even (no transcendental maths: deterministic). */
export function float32ToFloat16Bits(value: number): number {
  const f = new Float32Array([value]);
  const x = new Uint32Array(f.buffer)[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0); // Inf / NaN
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00; // overflow -> Inf
  if (e <= 0) {
    // subnormal half (or zero)
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rem > halfway || (rem === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++; // may carry into the exponent: still correct
  return sign | half;
}

/** Serialises a GGUF v3 file into one Buffer. */
export function buildGguf(file: GgufFile): Buffer {
  const declared = file.metadata.find(([k]) => k === "general.alignment")?.[1];
  const alignment = file.alignment ?? (declared?.type === "uint32" ? declared.value : 32);
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment % 8 !== 0) {
    throw new Error(`invalid GGUF alignment ${alignment}`);
  }
  const metadata = [...file.metadata];
  if (!declared && alignment !== 32) metadata.push(["general.alignment", gguf.u32(alignment)]);

  const names = new Set<string>();
  const offsets: number[] = [];
  let dataSize = 0;
  for (const t of file.tensors) {
    if (names.has(t.name)) throw new Error(`duplicate tensor ${t.name}`);
    names.add(t.name);
    const n = t.dims.reduce((a, b) => a * b, 1);
    if (t.dims.length < 1 || t.dims.length > 4 || n !== t.data.length) {
      throw new Error(`tensor ${t.name}: dims [${t.dims.join(", ")}] do not match ${t.data.length} values`);
    }
    offsets.push(dataSize);
    dataSize += n * BYTES_PER_ELEMENT[t.type];
    dataSize = Math.ceil(dataSize / alignment) * alignment;
  }

  const w = new ByteWriter();
  w.bytes(Buffer.from("GGUF", "ascii"));
  w.u32(3); // version
  w.u64(file.tensors.length);
  w.u64(metadata.length);
  for (const [key, value] of metadata) {
    w.str(key);
    writeValue(w, value);
  }
  file.tensors.forEach((t, i) => {
    w.str(t.name);
    w.u32(t.dims.length);
    for (const d of t.dims) w.u64(d);
    w.u32(GGML_TYPE[t.type]);
    w.u64(offsets[i]!);
  });
  w.padTo(alignment);
  const dataStart = w.length;
  file.tensors.forEach((t, i) => {
    while (w.length < dataStart + offsets[i]!) w.u8(0);
    if (t.type === "F32") for (let j = 0; j < t.data.length; j++) w.f32(t.data[j]!);
    else for (let j = 0; j < t.data.length; j++) w.u16(float32ToFloat16Bits(t.data[j]!));
  });
  w.padTo(alignment);
  return w.result();
}

/** Serialises and writes atomically (temp file + rename), creating the parent directory. */
export async function writeGguf(outPath: string, file: GgufFile): Promise<number> {
  const buf = buildGguf(file);
  await fs.mkdir(path.dirname(outPath), { recursive: true });
  const tmp = `${outPath}.${process.pid}.${Date.now()}.tmp`;
  await fs.writeFile(tmp, buf);
  await fs.rename(tmp, outPath);
  return buf.length;
}
