/**
 * A minimal protobuf encoder: just the wire types ONNX uses (varint, 32-bit float, length-delimited). A message
 * is a list of chunks plus its length, so that embedding a 300 MB initialiser in a graph in a model never copies
 * it: the chunks are written to the file one by one.
 */

export class ProtoMessage {
  private readonly chunks: Uint8Array[] = [];
  private flushed = 0;
  /** Small fields gather here until a large one (or the end) makes a chunk of them. */
  private scratch: number[] = [];

  /** Encoded bytes so far. */
  get length(): number {
    return this.flushed + this.scratch.length;
  }

  private flushScratch(): void {
    if (this.scratch.length === 0) return;
    this.chunks.push(Uint8Array.from(this.scratch));
    this.flushed += this.scratch.length;
    this.scratch = [];
  }

  private pushBytes(bytes: Uint8Array): void {
    this.flushScratch();
    this.chunks.push(bytes);
    this.flushed += bytes.length;
  }

  private varint(value: number | bigint): void {
    // Negative int64s are ten bytes of two's complement, as protobuf encodes them.
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.scratch.push(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.scratch.push(Number(v));
  }

  private tag(field: number, wireType: 0 | 2 | 5): void {
    this.varint((field << 3) | wireType);
  }

  int(field: number, value: number): this {
    if (!Number.isSafeInteger(value)) throw new Error(`protobuf: field ${field} needs an integer, got ${value}`);
    this.tag(field, 0);
    this.varint(value);
    return this;
  }

  /** Repeated integers, one tag each (unpacked: every proto2 and proto3 parser accepts it). */
  ints(field: number, values: readonly number[]): this {
    for (const v of values) this.int(field, v);
    return this;
  }

  float(field: number, value: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.scratch.push(...b);
    return this;
  }

  bytes(field: number, value: Uint8Array): this {
    this.tag(field, 2);
    this.varint(value.length);
    this.pushBytes(value);
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }

  message(field: number, value: ProtoMessage): this {
    this.tag(field, 2);
    this.varint(value.length);
    for (const c of value.finish()) this.pushBytes(c);
    return this;
  }

  /** The finished chunks, in order; their lengths add up to `length`. */
  finish(): Uint8Array[] {
    this.flushScratch();
    return this.chunks;
  }
}
