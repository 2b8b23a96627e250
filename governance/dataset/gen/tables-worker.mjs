// Generated from tables-worker.ts by `npm run gen:tables-worker` (tables-worker.build.ts): do not edit.

// governance/dataset/tables-worker.ts
import { workerData } from "node:worker_threads";

// governance/dataset/spilled-hashes.ts
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
var BUCKETS = 1 << 16;
var CHUNK_WORDS = 1 << 18;
var SpilledHashes = class {
  /** `valueBytes`: 0 for a set without values; `bloomBytes`: a power of two, at least 64. */
  constructor(valueBytes, bloomBytes) {
    this.valueBytes = valueBytes;
    this.bloom = new Int32Array(bloomBytes / 4);
    this.blockMask = bloomBytes / 64 - 1;
    this.blockShift = Math.clz32(this.blockMask);
    this.stride = valueBytes === 4 ? 3 : 2;
  }
  valueBytes;
  count = 0;
  fd = -1;
  bucketStart = new Uint32Array(BUCKETS + 1);
  bloom;
  blockMask;
  /** The shift that leaves a high word's top log2(blocks) bits. */
  blockShift;
  /** Words an entry takes. */
  stride;
  words = new Uint32Array(CHUNK_WORDS);
  probe = new Int32Array(8);
  /** The value kept with (hi, lo) (0 in a set without values), or -1 when it was not spilled. */
  find(hi, lo) {
    if (!this.mayHold(hi, lo)) return -1;
    const bucket = hi >>> 16;
    const mid = hi & 65535;
    const first = this.bucketStart[bucket];
    const entries = this.bucketStart[bucket + 1] - first;
    if (entries === 0) return -1;
    const { stride } = this;
    if (this.words.length < entries * stride) this.words = new Uint32Array(entries * stride);
    const words2 = this.words;
    readWords(this.fd, words2, entries * stride, first * stride);
    let low = 0;
    let high = entries;
    while (low < high) {
      const m = low + high >>> 1;
      const order = (words2[m * stride + 1] & 65535) - mid || words2[m * stride] - lo;
      if (order === 0) return stride === 3 ? words2[m * 3 + 2] : words2[m * 2 + 1] >>> 16;
      if (order < 0) low = m + 1;
      else high = m;
    }
    return -1;
  }
  /** Merges the store's entries (none of which is spilled already) into the run, a new file replacing the old. */
  absorb(store) {
    const old = { fd: this.fd, start: this.bucketStart.slice() };
    const reader = old.fd >= 0 ? new SequentialReader(old.fd, this.stride) : void 0;
    this.fd = openUnlinked();
    const { stride } = this;
    const out = new Uint32Array(CHUNK_WORDS - CHUNK_WORDS % stride);
    let used = 0;
    const flush = () => {
      writeWords(this.fd, out, used);
      used = 0;
    };
    const { bucketStart, mid, lo, values } = store;
    let written = 0;
    for (let b = 0; b < BUCKETS; b++) {
      this.bucketStart[b] = written;
      const oldEntries = old.start[b + 1] - old.start[b];
      const run = reader && oldEntries > 0 ? reader.entries(old.start[b], old.start[b + 1]) : EMPTY;
      let w = run === EMPTY ? 0 : reader.offset;
      const runEnd = w + oldEntries * stride;
      for (let i = bucketStart[b], end = bucketStart[b + 1]; i <= end; i++) {
        const last = i === end;
        for (; w < runEnd && (last || ((run[w + 1] & 65535) - mid[i] || run[w] - lo[i]) < 0); w += stride) {
          if (used + stride > out.length) flush();
          out[used] = run[w];
          out[used + 1] = run[w + 1];
          if (stride === 3) out[used + 2] = run[w + 2];
          used += stride;
          written++;
        }
        if (last) break;
        if (used + stride > out.length) flush();
        const value = values ? values[i] : 0;
        out[used] = lo[i];
        if (stride === 3) {
          out[used + 1] = mid[i];
          out[used + 2] = value;
        } else out[used + 1] = mid[i] | value << 16;
        used += stride;
        written++;
        this.remember(b * 65536 + mid[i], lo[i]);
      }
    }
    this.bucketStart[BUCKETS] = written;
    flush();
    if (old.fd >= 0) closeSync(old.fd);
    this.count = written;
  }
  /** Closes (and so deletes) the run. */
  close() {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    this.count = 0;
  }
  // A blocked Bloom filter: a hash's four bits all lie in one 64-byte block, so a lookup costs one cache miss, not one
  // a bit. The block is chosen by the hash's top bits, the store's order, so that absorb sets the bits of a store in
  // one sweep through the filter (at random it took about 50 ns a hash); the bits within it come from the low word.
  // bloomBits is the one place that says where they are: set and tested alike.
  mayHold(hi, lo) {
    const { bloom, probe } = this;
    this.bloomBits(hi, lo);
    for (let k = 0; k < 8; k += 2) if ((bloom[probe[k]] & probe[k + 1]) === 0) return false;
    return true;
  }
  remember(hi, lo) {
    const { bloom, probe } = this;
    this.bloomBits(hi, lo);
    for (let k = 0; k < 8; k += 2) bloom[probe[k]] |= probe[k + 1];
  }
  /** The hash's four filter bits into `probe`: [word, mask] pairs. */
  bloomBits(hi, lo) {
    const block = (hi >>> this.blockShift & this.blockMask) << 4;
    const { probe } = this;
    probe[0] = block + (lo & 15);
    probe[1] = 1 << (lo >>> 4 & 31);
    probe[2] = block + (lo >>> 9 & 15);
    probe[3] = 1 << (lo >>> 13 & 31);
    probe[4] = block + (lo >>> 18 & 15);
    probe[5] = 1 << (lo >>> 22 & 31);
    probe[6] = block + (lo >>> 27 & 15);
    probe[7] = 1 << (hi & 31);
  }
};
var EMPTY = new Uint32Array(0);
var SequentialReader = class {
  constructor(fd, stride) {
    this.fd = fd;
    this.stride = stride;
  }
  fd;
  stride;
  chunk = new Uint32Array(CHUNK_WORDS);
  // The chunk holds entries [first, first + held).
  first = 0;
  held = 0;
  /** Where the entries of the last `entries` call start in the chunk (in words). */
  offset = 0;
  /** The chunk, holding entries [start, end) from `offset` on; asked for in increasing order. */
  entries(start, end) {
    if (end > this.first + this.held) {
      const wanted = (end - start) * this.stride;
      if (this.chunk.length < wanted) this.chunk = new Uint32Array(wanted);
      const entries = Math.floor(this.chunk.length / this.stride);
      this.held = readWords(this.fd, this.chunk, entries * this.stride, start * this.stride, true) / this.stride;
      this.first = start;
    }
    this.offset = (start - this.first) * this.stride;
    return this.chunk;
  }
};
function openUnlinked() {
  try {
    const directory = mkdtempSync(join(tmpdir(), "ratchet-hashes-"));
    try {
      return openSync(join(directory, "run"), "w+");
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  } catch (e) {
    throw spillError(e);
  }
}
function spillError(e) {
  const reason = e instanceof Error ? e.message : String(e);
  return new Error(
    `a file this large keeps its duplicate tables on disk, in ${tmpdir()} (TMPDIR; about 8 bytes a record a table), and writing there failed: ${reason}`
  );
}
function readWords(fd, words2, count, position, toEnd = false) {
  const bytes = new Uint8Array(words2.buffer, words2.byteOffset, count * 4);
  let done = 0;
  while (done < bytes.length) {
    const n = readSync(fd, bytes, done, bytes.length - done, position * 4 + done);
    if (n === 0) {
      if (toEnd) break;
      throw new Error(`spilled hashes: the run ended ${bytes.length - done} bytes early`);
    }
    done += n;
  }
  return done / 4;
}
function writeWords(fd, words2, count) {
  const bytes = new Uint8Array(words2.buffer, words2.byteOffset, count * 4);
  try {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done);
  } catch (e) {
    throw spillError(e);
  }
}

// governance/dataset/hash64-set.ts
var BUCKET_BITS = 16;
var BUCKETS2 = 1 << BUCKET_BITS;
var MAX_STORED = 2 ** 30;
var BLOCK_BUCKETS = 64;
var ResizableBuffer = ArrayBuffer;
function largestPending(pendingLimit) {
  let words2 = 2 * 1024;
  while (words2 < 4 * pendingLimit) words2 *= 2;
  return words2;
}
function limitsOf(options2) {
  const storeLimit = options2.storeLimit ?? MAX_STORED;
  return { storeLimit, pendingLimit: Math.min(options2.pendingLimit ?? 1 << 18, storeLimit) };
}
function workspaceBytes(options2) {
  const { pendingLimit } = limitsOf(options2);
  const values = options2.maxValue !== void 0;
  const pending = largestPending(pendingLimit) * (values ? 1.5 : 1);
  const sorting = BUCKETS2 + 1 + pendingLimit * (values ? 2 : 1);
  return 4 * (pending + sorting) + 2 * pendingLimit;
}
var Hash64Set = class {
  // Recent additions: interleaved [hi, lo] pairs, at most half full; [0, 0] marks an empty slot, so the hash 0 is
  // stored as [0, 1] (a 2^-64 merge).
  pending = new Uint32Array(2 * 1024);
  pendingValues;
  pendingCount = 0;
  pendingLimit;
  // The sorted store: bucket b holds entries [bucketStart[b], bucketStart[b + 1]).
  bucketStart = new Uint32Array(BUCKETS2 + 1);
  mid;
  lo;
  values;
  stored = 0;
  storeLimit;
  bloomBytes;
  /** What the store held when it reached storeLimit, on disk. */
  spilled;
  scratch = { mid: new Uint16Array(0), lo: new Uint32Array(0), value: new Uint32Array(0) };
  /** A merge's pending hashes sorted by bucket, kept from merge to merge. */
  sorting;
  workspace;
  constructor(options2 = {}) {
    ({ storeLimit: this.storeLimit, pendingLimit: this.pendingLimit } = limitsOf(options2));
    this.bloomBytes = options2.bloomBytes ?? 1 << 23;
    this.mid = new Uint16Array(new ResizableBuffer(0, { maxByteLength: 2 * MAX_STORED }));
    this.lo = new Uint32Array(new ResizableBuffer(0, { maxByteLength: 4 * MAX_STORED }));
    const { maxValue } = options2;
    if (maxValue !== void 0) {
      this.pendingValues = new Uint32Array(this.pending.length / 2);
      const width = maxValue < 2 ** 8 ? 1 : maxValue < 2 ** 16 ? 2 : 4;
      const buffer = new ResizableBuffer(0, { maxByteLength: width * MAX_STORED });
      this.values = width === 1 ? new Uint8Array(buffer) : width === 2 ? new Uint16Array(buffer) : new Uint32Array(buffer);
    }
    this.workspace = options2.workspace;
    if (this.workspace) this.carveWorkspace(this.workspace, workspaceBytes(options2));
  }
  /** The pending table at its largest, its values and the merge's arrays, as views of `workspace`. */
  carveWorkspace(workspace, bytes) {
    if (workspace.byteLength < bytes) {
      throw new RangeError(`a Hash64Set workspace of ${workspace.byteLength} bytes is too small`);
    }
    let at = 0;
    const u32 = (length) => new Uint32Array(workspace, (at += 4 * length) - 4 * length, length);
    const n = this.pendingLimit;
    const pendingWords = largestPending(n);
    this.pending = u32(pendingWords);
    if (this.values) this.pendingValues = u32(pendingWords / 2);
    const before = u32(BUCKETS2 + 1);
    const lo = u32(n);
    const values = u32(this.values ? n : 0);
    this.sorting = { before, lo, values, mid: new Uint16Array(workspace, at, n) };
  }
  get size() {
    return this.stored + this.pendingCount + (this.spilled?.count ?? 0);
  }
  /** Whether the set holds hashes on disk. */
  get spills() {
    return this.spilled !== void 0;
  }
  has(hash) {
    return this.isPending(this.probe(hash)) || this.storedIndex(hash) >= 0 || this.spilledValue(hash) >= 0;
  }
  /** Adds `hash`; false when it was already there. */
  add(hash, value = 0) {
    const slot = this.probe(hash);
    if (this.isPending(slot) || this.storedIndex(hash) >= 0 || this.spilledValue(hash) >= 0) return false;
    this.pending[slot] = hash.hi;
    this.pending[slot + 1] = hash.lo === 0 && hash.hi === 0 ? 1 : hash.lo;
    if (this.pendingValues) this.pendingValues[slot / 2] = value;
    this.pendingCount += 1;
    if (this.pendingCount >= this.pendingLimit) this.merge();
    else if (this.pendingCount * 4 > this.pending.length) this.growPending();
    return true;
  }
  /** The value stored with `hash` (a set made with `maxValue`), or undefined when `hash` is not in the set. */
  valueOf(hash) {
    const slot = this.probe(hash);
    if (this.isPending(slot)) return this.pendingValues?.[slot / 2];
    const index = this.storedIndex(hash);
    if (index >= 0) return this.values?.[index];
    const spilled = this.values ? this.spilledValue(hash) : -1;
    return spilled >= 0 ? spilled : void 0;
  }
  /** Empties the set and gives its memory back at once (shrinking a resizable buffer needs no garbage collection). */
  clear() {
    this.spilled?.close();
    this.spilled = void 0;
    this.resize(0);
    this.bucketStart.fill(0);
    this.stored = 0;
    this.pendingCount = 0;
    if (this.workspace) {
      this.pending.fill(0);
      return;
    }
    this.pending = new Uint32Array(2 * 1024);
    if (this.pendingValues) this.pendingValues = new Uint32Array(1024);
    this.sorting = void 0;
  }
  /** The pending slot holding `hash`, or the empty slot where it would go. */
  probe({ hi, lo }) {
    if (hi === 0 && lo === 0) lo = 1;
    const slots = this.pending;
    const mask = slots.length - 1;
    let slot = (hi >>> Math.clz32(slots.length) + 2) * 2;
    for (; slots[slot] !== 0 || slots[slot + 1] !== 0; slot = slot + 2 & mask) {
      if (slots[slot] === hi && slots[slot + 1] === lo) break;
    }
    return slot;
  }
  isPending(slot) {
    return this.pending[slot] !== 0 || this.pending[slot + 1] !== 0;
  }
  growPending() {
    const old = this.pending;
    const oldValues = this.pendingValues;
    this.pending = new Uint32Array(old.length * 2);
    if (oldValues) this.pendingValues = new Uint32Array(old.length);
    for (let i = 0; i < old.length; i += 2) {
      if (old[i] === 0 && old[i + 1] === 0) continue;
      const slot = this.probe({ hi: old[i], lo: old[i + 1] });
      this.pending[slot] = old[i];
      this.pending[slot + 1] = old[i + 1];
      if (oldValues) this.pendingValues[slot / 2] = oldValues[i / 2];
    }
  }
  /** The value kept on disk with `hash` (0 without values), or -1 when it is not there. */
  spilledValue({ hi, lo }) {
    if (!this.spilled) return -1;
    return this.spilled.find(hi, hi === 0 && lo === 0 ? 1 : lo);
  }
  /** Moves the store into the file on disk. */
  spill() {
    const width = this.values ? this.values.BYTES_PER_ELEMENT : 0;
    this.spilled ??= new SpilledHashes(width, this.bloomBytes);
    const { bucketStart, mid, lo, values } = this;
    this.spilled.absorb({ bucketStart, mid, lo, values });
    this.resize(0);
    this.bucketStart.fill(0);
    this.stored = 0;
  }
  /** The store's index of `hash`, or -1. */
  storedIndex({ hi, lo }) {
    if (hi === 0 && lo === 0) lo = 1;
    const bucket = hi >>> BUCKET_BITS;
    const mid = hi & 65535;
    let low = this.bucketStart[bucket];
    let high = this.bucketStart[bucket + 1];
    while (low < high) {
      const m = low + high >>> 1;
      const order = this.mid[m] - mid || this.lo[m] - lo;
      if (order === 0) return m;
      if (order < 0) low = m + 1;
      else high = m;
    }
    return -1;
  }
  /** Moves the pending hashes into the store. */
  merge() {
    const n = this.pendingCount;
    if (this.stored + n > MAX_STORED) throw new RangeError(`more than ${MAX_STORED} distinct hashes`);
    this.sorting ??= {
      before: new Uint32Array(BUCKETS2 + 1),
      mid: new Uint16Array(this.pendingLimit),
      lo: new Uint32Array(this.pendingLimit),
      values: new Uint32Array(this.values ? this.pendingLimit : 0)
    };
    const { before, mid, lo, values } = this.sorting;
    const slots = this.pending;
    const slotValues = this.pendingValues;
    let packed = 0;
    for (let i = 0; i < slots.length; i += 2) {
      if (slots[i] === 0 && slots[i + 1] === 0) continue;
      slots[packed] = slots[i];
      slots[packed + 1] = slots[i + 1];
      if (slotValues) slotValues[packed / 2] = slotValues[i / 2];
      packed += 2;
    }
    for (let i = 2; i < packed; i += 2) {
      const h = slots[i];
      const l = slots[i + 1];
      const v = slotValues ? slotValues[i / 2] : 0;
      let j = i - 2;
      for (; j >= 0 && (slots[j] - h || slots[j + 1] - l) > 0; j -= 2) {
        slots[j + 2] = slots[j];
        slots[j + 3] = slots[j + 1];
        if (slotValues) slotValues[j / 2 + 1] = slotValues[j / 2];
      }
      slots[j + 2] = h;
      slots[j + 3] = l;
      if (slotValues) slotValues[j / 2 + 1] = v;
    }
    before.fill(0);
    for (let e = 0; e < n; e++) {
      before[(slots[2 * e] >>> BUCKET_BITS) + 1] += 1;
      mid[e] = slots[2 * e] & 65535;
      lo[e] = slots[2 * e + 1];
      if (slotValues) values[e] = slotValues[e];
    }
    for (let b = 0; b < BUCKETS2; b++) before[b + 1] += before[b];
    this.resize(this.stored + n);
    const { bucketStart, mid: mids, lo: los, values: vals } = this;
    for (let b0 = BUCKETS2 - BLOCK_BUCKETS; b0 >= 0; b0 -= BLOCK_BUCKETS) {
      const b1 = b0 + BLOCK_BUCKETS;
      if (before[b1] === 0) break;
      const first = bucketStart[b0];
      const stored = bucketStart[b1] - first;
      const merged = stored + before[b1] - before[b0];
      const { mid: sMid, lo: sLo, value: sValue } = this.scratchOf(stored + merged);
      sMid.set(mids.subarray(first, first + stored));
      sLo.set(los.subarray(first, first + stored));
      if (vals) sValue.set(vals.subarray(first, first + stored));
      let out = stored;
      for (let b = b0; b < b1; b++) {
        let i = bucketStart[b] - first;
        const end = bucketStart[b + 1] - first;
        for (let p = before[b]; p < before[b + 1]; p++, out++) {
          for (; i < end && (sMid[i] - mid[p] || sLo[i] - lo[p]) < 0; i++, out++) {
            sMid[out] = sMid[i];
            sLo[out] = sLo[i];
            sValue[out] = sValue[i];
          }
          sMid[out] = mid[p];
          sLo[out] = lo[p];
          sValue[out] = vals ? values[p] : 0;
        }
        for (; i < end; i++, out++) {
          sMid[out] = sMid[i];
          sLo[out] = sLo[i];
          sValue[out] = sValue[i];
        }
      }
      const at = first + before[b0];
      mids.set(sMid.subarray(stored, out), at);
      los.set(sLo.subarray(stored, out), at);
      if (vals) vals.set(sValue.subarray(stored, out), at);
    }
    for (let b = 0; b <= BUCKETS2; b++) this.bucketStart[b] += before[b];
    this.stored += n;
    this.pending.fill(0);
    this.pendingCount = 0;
    if (this.stored >= this.storeLimit) this.spill();
  }
  /** Plain scratch arrays of at least `entries` entries, kept from merge to merge. */
  scratchOf(entries) {
    if (this.scratch.lo.length < entries) {
      const size = Math.max(entries, 2 * this.scratch.lo.length);
      this.scratch = { mid: new Uint16Array(size), lo: new Uint32Array(size), value: new Uint32Array(size) };
    }
    return this.scratch;
  }
  resize(entries) {
    for (const array of [this.mid, this.lo, this.values]) {
      if (array) array.buffer.resize(array.BYTES_PER_ELEMENT * entries);
    }
  }
};

// governance/dataset/duplicate-tables.ts
function trainTableOptions({ storeLimit, maxLabelId }) {
  return { storeLimit, maxValue: maxLabelId };
}
var DuplicateTables = class {
  constructor(options2) {
    this.options = options2;
  }
  options;
  train;
  current;
  counts = /* @__PURE__ */ new Map();
  conflicts = [];
  startFile(held) {
    const { storeLimit, workspaces } = this.options;
    if (held) {
      const limits2 = {
        storeLimit: Math.max(1, Math.floor(storeLimit / 8)),
        pendingLimit: 1 << 16,
        bloomBytes: 1 << 21
      };
      this.current = { exact: new Hash64Set(limits2), near: new Hash64Set(limits2), held };
      return;
    }
    const limits = trainTableOptions(this.options);
    this.current = {
      exact: new Hash64Set({ ...limits, workspace: workspaces?.exact }),
      near: new Hash64Set({ ...limits, workspace: workspaces?.near }),
      held
    };
    this.train = this.current;
  }
  check(line, exact2, near2, labelId) {
    const tables2 = this.current;
    const { train } = this;
    if (tables2.held && train && (train.exact.has(exact2) || near2 && train.near.has(near2))) {
      this.count("contamination", line);
    }
    if (!tables2.exact.add(exact2, labelId)) {
      this.count("exact_duplicate", line);
      this.conflict(line, labelId, tables2.exact.valueOf(exact2));
    } else if (near2 && !tables2.near.add(near2, labelId)) {
      this.count("near_duplicate", line);
      this.conflict(line, labelId, tables2.near.valueOf(near2));
    }
  }
  endFile() {
    const findings = { counts: [...this.counts.values()], conflicts: this.conflicts };
    this.counts = /* @__PURE__ */ new Map();
    this.conflicts = [];
    if (this.current?.held) clearTables(this.current);
    this.current = void 0;
    return findings;
  }
  release() {
    if (this.current) clearTables(this.current);
    if (this.train) clearTables(this.train);
    this.current = this.train = void 0;
  }
  count(code, line) {
    let entry = this.counts.get(code);
    if (!entry) this.counts.set(code, entry = { code, count: 0, examples: [] });
    entry.count += 1;
    if (entry.examples.length < this.options.maxExamples) entry.examples.push(line);
  }
  conflict(line, labelId, earlier) {
    if (this.options.maxLabelId === void 0 || labelId === void 0 || earlier === void 0) return;
    if (labelId !== earlier) this.conflicts.push(line, labelId, earlier);
  }
};
function clearTables(tables2) {
  tables2.exact.clear();
  tables2.near.clear();
}

// governance/dataset/tables-ring.ts
var SLOTS = 16;
var SLOT_RECORDS = 8192;
var RECORD_WORDS = 7;
var HEADER_WORDS = 2;
var SLOT_WORDS = HEADER_WORDS + SLOT_RECORDS * RECORD_WORDS;
var NEAR = 1;
var LABEL = 2;
var Command = { Records: 0, StartTrain: 1, StartHeld: 2, EndFile: 3, Release: 4 };
var WRITTEN = 0;
var DONE = 1;
var FAILED = 2;

// governance/dataset/tables-worker.ts
var { control: controlBuffer, slots: slotsBuffer, port, options } = workerData;
var control = new Int32Array(controlBuffer);
var words = new Uint32Array(slotsBuffer);
var tables = new DuplicateTables(options);
var exact = { hi: 0, lo: 0 };
var near = { hi: 0, lo: 0 };
try {
  for (let done = 0; ; ) {
    while (Atomics.load(control, WRITTEN) === done) Atomics.wait(control, WRITTEN, done);
    const slot = done % SLOTS * SLOT_WORDS;
    const command = words[slot];
    if (command === Command.Records) checkRecords(slot + HEADER_WORDS, words[slot + 1]);
    else if (command === Command.StartTrain || command === Command.StartHeld)
      tables.startFile(command === Command.StartHeld);
    else if (command === Command.EndFile)
      port.postMessage({ findings: tables.endFile() });
    else tables.release();
    Atomics.store(control, DONE, ++done);
    Atomics.notify(control, DONE);
    if (command === Command.Release) break;
  }
} catch (error) {
  port.postMessage({ error });
  Atomics.store(control, FAILED, 1);
  Atomics.notify(control, DONE);
  try {
    tables.release();
  } catch {
  }
}
port.close();
function checkRecords(first, count) {
  for (let at = first, end = first + count * RECORD_WORDS; at < end; at += RECORD_WORDS) {
    const flags = words[at + 1];
    exact.hi = words[at + 2];
    exact.lo = words[at + 3];
    near.hi = words[at + 4];
    near.lo = words[at + 5];
    tables.check(
      words[at],
      exact,
      flags & NEAR ? near : void 0,
      flags & LABEL ? words[at + 6] : void 0
    );
  }
}
