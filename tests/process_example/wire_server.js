#!/usr/bin/env node
// The `wire` profile (Q-layer, tiling, container) written in JavaScript from spec/qlayer.md, spec/tiling.md and
// spec/container.md alone, answering the JSON-lines process protocol of spec/conformance.md C-2.5 with Node's own
// JSON.parse and JSON.stringify. It shares no code with cfc_ref; CI runs the suite against it:
//
//     cfc-ref conformance --impl-cmd "node tests/process_example/wire_server.js" --profile wire
//
// JavaScript numbers are IEEE-754 binary64 and every operation below is rounded on its own (spec O-1.2), so the
// Q-layer's arithmetic is written exactly as the spec writes it; Math.fround is f32().
"use strict";

const readline = require("readline");

class Rejection extends Error {
  constructor(category, message) {
    super(message);
    this.category = category;
  }
}
const qlayerError = (m) => new Rejection("QLayerError", m);
const tilingError = (m) => new Rejection("TilingError", m);
const containerError = (m) => new Rejection("ContainerError", m);

// ---------------------------------------------------------------- arrays ($array, C-2.5)

function parseDtype(text) {
  const match = /^([<>|=])([fiub])(\d+)$/.exec(String(text));
  if (!match) throw new Error(`unknown dtype ${text}`);
  return { little: match[1] !== ">", kind: match[2], size: Number(match[3]) };
}

function half(bits) {  // binary16 → number
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function decodeArray(value) {
  const bytes = Buffer.from(value.$array, "base64");
  const dtype = parseDtype(value.dtype);
  const shape = value.shape.map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const data = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * dtype.size;
    const { kind, size, little } = dtype;
    if (kind === "f") data[i] = size === 4 ? view.getFloat32(at, little) : size === 8 ? view.getFloat64(at, little)
      : half(view.getUint16(at, little));
    else if (kind === "b") data[i] = view.getUint8(at) !== 0;
    else if (size === 1) data[i] = kind === "u" ? view.getUint8(at) : view.getInt8(at);
    else if (size === 2) data[i] = kind === "u" ? view.getUint16(at, little) : view.getInt16(at, little);
    else if (size === 4) data[i] = kind === "u" ? view.getUint32(at, little) : view.getInt32(at, little);
    else data[i] = Number(kind === "u" ? view.getBigUint64(at, little) : view.getBigInt64(at, little));
  }
  return { array: true, dtype, shape, data };
}

function encodeArray(data, shape, dtype) {  // dtype: "|u1", "<u2" or "<f4"
  const size = Number(dtype.slice(2));
  const bytes = Buffer.alloc(data.length * size);
  for (let i = 0; i < data.length; i++) {
    if (dtype === "|u1") bytes.writeUInt8(data[i], i);
    else if (dtype === "<u2") bytes.writeUInt16LE(data[i], 2 * i);
    else bytes.writeFloatLE(data[i], 4 * i);
  }
  return { $array: bytes.toString("base64"), dtype, shape };
}

function fromJson(value) {
  if (Array.isArray(value)) return value.map(fromJson);
  if (value !== null && typeof value === "object") {
    if ("$bytes" in value) return { bytes: Buffer.from(value.$bytes, "base64") };
    if ("$array" in value) return decodeArray(value);
    const out = {};
    for (const key of Object.keys(value)) out[key] = fromJson(value[key]);
    return out;
  }
  return value;
}

const isInt = (v) => typeof v === "number" && Number.isInteger(v);
const isArray = (v) => v !== null && typeof v === "object" && v.array === true;
const isBytes = (v) => v !== null && typeof v === "object" && Buffer.isBuffer(v.bytes);

// ---------------------------------------------------------------- Q-layer (spec Q-1..Q-4)

function checkBitDepth(n) {
  if (!isInt(n) || n < 1 || n > 16) throw qlayerError(`bit depth must be an integer 1..16, got ${JSON.stringify(n)}`);
  return n;
}

function checkMode(mode) {
  if (mode !== "minmax" && mode !== "relu") throw qlayerError(`mode must be minmax or relu, got ${mode}`);
  return mode;
}

function sideInfoBytes(lo, hi, mode) {  // +0.0 for a zero
  const values = mode === "minmax" ? [lo, hi] : [hi];
  const bytes = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => bytes.writeFloatLE(v === 0 ? 0 : v, 4 * i));
  return bytes;
}

function sideInfoValues(bytes, mode, makeError) {
  const size = mode === "minmax" ? 8 : 4;
  if (!Buffer.isBuffer(bytes) || bytes.length !== size) {
    throw makeError(`side info of mode ${mode} is ${size} bytes, got ${Buffer.isBuffer(bytes) ? bytes.length : "none"}`);
  }
  const lo = mode === "minmax" ? bytes.readFloatLE(0) : 0;
  const hi = bytes.readFloatLE(size - 4);
  if (!Number.isFinite(lo) || !Number.isFinite(hi) || lo > hi || (mode === "relu" && hi < 0)) {
    throw makeError(`side info lo=${lo} hi=${hi} is not finite and ordered`);
  }
  return { lo, hi };
}

function quantize(v, n, mode) {
  if (!isArray(v) || v.dtype.kind !== "f") throw qlayerError("the tensor must be a floating-point array (Q-1.1)");
  if (v.data.length === 0) throw qlayerError("the tensor is empty (Q-1.4)");
  checkBitDepth(n);
  checkMode(mode);
  const values = v.data.map(Math.fround);  // binary32 values only
  let lo = Infinity;
  let hi = -Infinity;
  for (const x of values) {
    if (!Number.isFinite(x)) throw qlayerError("the tensor holds NaN or an infinity (Q-1.2)");
    if (x < lo || (x === lo && Object.is(x, -0))) lo = x;
    if (x > hi) hi = x;
  }
  if (mode === "relu") {
    if (lo < 0) throw qlayerError("relu mode with a negative element (Q-2.2)");
    lo = 0;
  }
  const levels = 2 ** n - 1;
  const d = hi - lo;
  const q = new Array(values.length).fill(0);
  if (d > 0) {
    const s = levels / d;
    for (let i = 0; i < values.length; i++) {
      const t = (values[i] - lo) * s;
      const f = Math.floor(t);
      const up = t - f >= 0.5 ? 1 : 0;  // round half up, not floor(t + 0.5)
      q[i] = Math.min(Math.max(f + up, 0), levels);
    }
  }
  return [encodeArray(q, v.shape, n <= 8 ? "|u1" : "<u2"), { $bytes: sideInfoBytes(lo, hi, mode).toString("base64") }];
}

function dequantize(q, side, n, mode) {
  checkBitDepth(n);
  checkMode(mode);
  if (!isArray(q) || (q.dtype.kind !== "u" && q.dtype.kind !== "i")) throw qlayerError("samples must be integers");
  if (!isBytes(side)) throw qlayerError("side info must be bytes");
  const { lo, hi } = sideInfoValues(side.bytes, mode, qlayerError);
  const levels = 2 ** n - 1;
  const step = (hi - lo) / levels;
  const out = q.data.map((x) => {
    if (x < 0 || x > levels) throw qlayerError(`sample ${x} outside 0..${levels} (Q-4.2)`);
    return Math.fround(x * step + lo);
  });
  return encodeArray(out, q.shape, "<f4");
}

// ---------------------------------------------------------------- tiling (spec T-1..T-5)

const MAX_SIDE = 16888;

function geometry(shape, align) {  // T-1.1, T-4.2, T-4.3
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((x) => isInt(x) && x >= 1)) {
    throw tilingError(`shape must be 3 integers >= 1, got ${JSON.stringify(shape)}`);
  }
  if (!isInt(align) || align < 1 || align > 64) throw tilingError(`alignment must be 1..64, got ${align}`);
  const [C, H, W] = shape;
  let k = 0;  // floor(log2 C), the bit length of C less one, exactly
  while (2 ** (k + 1) <= C) k++;
  const R = 2 ** Math.floor(k / 2);
  const K = Math.ceil(C / R);
  const g = { C, H, W, R, K, ch: R * H, cw: K * W };
  g.ph = Math.ceil(g.ch / align) * align;
  g.pw = Math.ceil(g.cw / align) * align;
  if (g.ph > MAX_SIDE || g.pw > MAX_SIDE) throw tilingError(`picture ${g.ph}x${g.pw} exceeds ${MAX_SIDE} (T-4.3)`);
  return g;
}

function checkLayout(layout) {
  if (layout !== "tile" && layout !== "quilt") throw tilingError(`layout must be tile or quilt, got ${layout}`);
}

function checkSamples(a, dims, what) {  // T-2.2
  if (!isArray(a) || a.dtype.kind !== "u" || (a.dtype.size !== 1 && a.dtype.size !== 2)) {
    throw tilingError(`${what} must hold uint8 or uint16 samples`);
  }
  if (a.shape.length !== dims) throw tilingError(`${what} must be ${dims}-d`);
}

function position(g, layout, c, y, x) {  // T-2.1, T-3.1
  const row = Math.floor(c / g.K);
  const col = c % g.K;
  return layout === "tile" ? [row * g.H + y, col * g.W + x] : [y * g.R + row, x * g.K + col];
}

function tile(q, layout, align) {
  checkLayout(layout);
  checkSamples(q, 3, "the tensor");
  const g = geometry(q.shape, align);
  const content = new Array(g.ch * g.cw).fill(0);  // T-4.1
  for (let c = 0; c < g.C; c++) {
    for (let y = 0; y < g.H; y++) {
      for (let x = 0; x < g.W; x++) {
        const [py, px] = position(g, layout, c, y, x);
        content[py * g.cw + px] = q.data[(c * g.H + y) * g.W + x];
      }
    }
  }
  const picture = new Array(g.ph * g.pw);  // T-4.2: last row down, then last column right
  for (let y = 0; y < g.ph; y++) {
    for (let x = 0; x < g.pw; x++) {
      picture[y * g.pw + x] = content[Math.min(y, g.ch - 1) * g.cw + Math.min(x, g.cw - 1)];
    }
  }
  return encodeArray(picture, [g.ph, g.pw], q.dtype.size === 1 ? "|u1" : "<u2");
}

function untile(picture, shape, layout, align) {
  checkLayout(layout);
  checkSamples(picture, 2, "the picture");
  const g = geometry(shape, align);
  if (picture.shape[0] !== g.ph || picture.shape[1] !== g.pw) {
    throw tilingError(`picture ${picture.shape} is not ${g.ph}x${g.pw} (T-5.2)`);
  }
  const out = new Array(g.C * g.H * g.W);
  for (let c = 0; c < g.C; c++) {
    for (let y = 0; y < g.H; y++) {
      for (let x = 0; x < g.W; x++) {
        const [py, px] = position(g, layout, c, y, x);
        out[(c * g.H + y) * g.W + x] = picture.data[py * g.pw + px];
      }
    }
  }
  return encodeArray(out, [g.C, g.H, g.W], picture.dtype.size === 1 ? "|u1" : "<u2");
}

// ---------------------------------------------------------------- container (spec W-1..W-4)

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(bytes) {
  let c = 0xffffffff;
  for (const b of bytes) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

const MODES = ["minmax", "relu"];
const LAYOUTS = ["tile", "quilt"];
const CODECS = ["raw", "hevc"];

function parseContainer(data) {
  if (!Buffer.isBuffer(data)) throw containerError("a container is bytes");
  if (data.length < 12) throw containerError("truncated container");
  if (data.subarray(0, 4).toString("latin1") !== "CFCR") throw containerError("wrong magic");
  const end = data.length - 4;
  if (crc32(data.subarray(0, end)) !== data.readUInt32LE(end)) throw containerError("crc mismatch (W-4.2)");
  if (data[4] !== 1) throw containerError(`unsupported version ${data[4]}`);
  if (data[5] !== 0) throw containerError("flags must be 0");
  const count = data.readUInt16LE(6);
  if (count < 1 || count > 255) throw containerError(`tensor_count ${count} out of range`);
  let at = 8;
  const take = (size) => {
    if (size > end - at) throw containerError(`offset ${at}: truncated`);
    const chunk = data.subarray(at, at + size);
    at += size;
    return chunk;
  };
  const names = new Set();
  const records = [];
  for (let i = 0; i < count; i++) {
    const length = take(1)[0];
    if (length < 1 || length > 64) throw containerError(`name_length ${length} out of range`);
    const rawName = take(length);
    if (!/^[A-Za-z0-9_.-]+$/.test(rawName.toString("latin1"))) throw containerError("name has a disallowed byte");
    const name = rawName.toString("latin1");
    if (names.has(name)) throw containerError(`duplicate tensor name ${name}`);
    const f = take(18);
    const [C, H, W] = [f.readUInt32LE(0), f.readUInt32LE(4), f.readUInt32LE(8)];
    const [n, modeId, layoutId, align, codecId, reserved] = [f[12], f[13], f[14], f[15], f[16], f[17]];
    if ([C, H, W].some((x) => x < 1 || x > 65535)) throw containerError("a dimension out of range 1..65535");
    if (n < 1 || n > 16 || modeId > 1 || layoutId > 1 || align < 1 || align > 64 || codecId > 1 || reserved !== 0) {
      throw containerError("a field out of its range");
    }
    let g;
    try {
      g = geometry([C, H, W], align);
    } catch (err) {
      throw containerError(err.message);
    }
    const mode = MODES[modeId];
    const side = Buffer.from(take(mode === "minmax" ? 8 : 4));
    sideInfoValues(side, mode, containerError);
    const payloadLength = take(4).readUInt32LE(0);
    if (payloadLength < 1) throw containerError("payload_length is 0");
    const payload = Buffer.from(take(payloadLength));
    if (CODECS[codecId] === "raw") {  // W-3.1
      const bytesPer = n <= 8 ? 1 : 2;
      if (payloadLength !== g.ph * g.pw * bytesPer) throw containerError("raw payload of the wrong length");
      for (let k = 0; k < g.ph * g.pw; k++) {
        const sample = bytesPer === 1 ? payload[k] : payload.readUInt16LE(2 * k);
        if (sample > 2 ** n - 1) throw containerError("raw payload has a sample above 2^n - 1");
      }
    }
    names.add(name);
    records.push({ name, shape: [C, H, W], bit_depth: n, mode, layout: LAYOUTS[layoutId], align,
      codec: CODECS[codecId], side_info: side, payload });
  }
  if (at !== end) throw containerError("bytes left over after the last record");
  return records;
}

function recordsJson(records) {
  return records.map((r) => ({ ...r, side_info: { $bytes: r.side_info.toString("base64") },
    payload: { $bytes: r.payload.toString("base64") } }));
}

function parse(data) {
  if (!isBytes(data)) throw containerError("a container is bytes");
  return recordsJson(parseContainer(data.bytes));
}

function pack(records) {  // W-4.3: written, then read back by our own parser, or refused
  if (!Array.isArray(records) || records.length < 1 || records.length > 255) {
    throw containerError("a container holds 1..255 records");
  }
  const parts = [];
  const header = Buffer.alloc(8);
  header.write("CFCR", 0, "latin1");
  header[4] = 1;
  header.writeUInt16LE(records.length, 6);
  parts.push(header);
  records.forEach((r, i) => {
    const where = `record ${i}`;
    if (r === null || typeof r !== "object" || Array.isArray(r)) throw containerError(`${where}: not an object`);
    if (typeof r.name !== "string" || !/^[\x00-\x7f]*$/.test(r.name)) throw containerError(`${where}: bad name`);
    if (!Array.isArray(r.shape) || r.shape.length !== 3 || !r.shape.every((x) => isInt(x) && x >= 0 && x < 2 ** 32)) {
      throw containerError(`${where}: shape must be 3 integers`);
    }
    for (const key of ["bit_depth", "align"]) {
      if (!isInt(r[key]) || r[key] < 0 || r[key] > 255) throw containerError(`${where}: ${key} must be an integer`);
    }
    const modeId = MODES.indexOf(r.mode);
    const layoutId = LAYOUTS.indexOf(r.layout);
    const codecId = CODECS.indexOf(r.codec);
    if (modeId < 0 || layoutId < 0 || codecId < 0) throw containerError(`${where}: unknown mode, layout or codec`);
    if (!isBytes(r.side_info) || !isBytes(r.payload)) throw containerError(`${where}: side_info and payload are bytes`);
    if (r.side_info.bytes.length !== (modeId === 0 ? 8 : 4)) throw containerError(`${where}: side info length`);
    const name = Buffer.from(r.name, "latin1");
    const fields = Buffer.alloc(18);
    fields.writeUInt32LE(r.shape[0], 0);
    fields.writeUInt32LE(r.shape[1], 4);
    fields.writeUInt32LE(r.shape[2], 8);
    [fields[12], fields[13], fields[14], fields[15], fields[16]] = [r.bit_depth, modeId, layoutId, r.align, codecId];
    const length = Buffer.alloc(4);
    length.writeUInt32LE(r.payload.bytes.length, 0);
    if (name.length > 255) throw containerError(`${where}: name too long`);
    parts.push(Buffer.from([name.length]), name, fields, r.side_info.bytes, length, r.payload.bytes);
  });
  const body = Buffer.concat(parts);
  const crc = Buffer.alloc(4);
  crc.writeUInt32LE(crc32(body), 0);
  const data = Buffer.concat([body, crc]);
  const back = parseContainer(data);
  const same = back.every((b, i) => {
    const r = records[i];
    return b.name === r.name && b.shape.every((x, k) => x === r.shape[k]) && b.bit_depth === r.bit_depth
      && b.mode === r.mode && b.layout === r.layout && b.align === r.align && b.codec === r.codec
      && b.side_info.equals(r.side_info.bytes) && b.payload.equals(r.payload.bytes);
  });
  if (!same) throw containerError("records do not survive a round trip");
  return { $bytes: data.toString("base64") };
}

// ---------------------------------------------------------------- the protocol (C-2.5)

const FUNCTIONS = { quantize, dequantize, tile, untile, pack, parse };

function answer(request) {
  if (request.function === "profiles") {  // the profiles, and the implementation's name and version (C-2.5)
    return { result: { profiles: ["wire"], name: "wire_server.js (JavaScript from the spec)", version: "1" } };
  }
  const fn = FUNCTIONS[request.function];
  if (!fn) return { error: { category: "UnknownFunction", message: request.function } };
  try {
    return { result: fn(...fromJson(request.args)) };
  } catch (err) {
    if (err instanceof Rejection) return { error: { category: err.category, message: err.message } };
    return { error: { category: "InternalError", message: String(err && err.stack || err) } };
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on("line", (line) => {
  let request;
  try {
    request = JSON.parse(line);
  } catch (err) {  // C-2.5: a line that is not a request
    request = null;
  }
  if (request === null || typeof request !== "object" || !Array.isArray(request.args)) {
    const id = request && typeof request === "object" && "id" in request ? request.id : null;
    const error = { category: "MalformedRequest", message: String(line).slice(0, 200) };
    process.stdout.write(JSON.stringify({ id, error }) + "\n");
    return;
  }
  process.stdout.write(JSON.stringify({ id: request.id, ...answer(request) }) + "\n");
});
