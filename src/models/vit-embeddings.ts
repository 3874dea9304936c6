/**
 * Position-embedding resizing for ViT checkpoints, as torchvision's interpolate_embeddings
 * (torchvision/models/vision_transformer.py): the class token's embedding is kept, the patch embeddings are laid
 * out on their square grid and resized with torch's bicubic interpolation (A = −0.75, align_corners=True,
 * border samples clamped), then flattened back in row-major order.
 */

const A = -0.75;
const cubicNear = (x: number): number => ((A + 2) * x - (A + 3)) * x * x + 1; // |x| ≤ 1
const cubicFar = (x: number): number => ((A * x - 5 * A) * x + 8 * A) * x - 4 * A; // 1 < |x| < 2

/** The four tap weights for a sample at fractional offset t from its left neighbour. */
function cubicWeights(t: number): [number, number, number, number] {
  return [cubicFar(t + 1), cubicNear(t), cubicNear(1 - t), cubicFar(2 - t)];
}

/** For each output index: the clamped input indices of its four taps and their weights (align_corners=True). */
function taps(inSize: number, outSize: number): { index: number[]; weight: number[] }[] {
  const scale = outSize > 1 ? (inSize - 1) / (outSize - 1) : 0;
  return Array.from({ length: outSize }, (_, o) => {
    const src = scale * o, base = Math.floor(src);
    const clamp = (i: number): number => Math.min(Math.max(i, 0), inSize - 1);
    return { index: [-1, 0, 1, 2].map((d) => clamp(base + d)), weight: cubicWeights(src - base) };
  });
}

/**
 * pos [1, oldSeq, hidden] (flat, oldSeq = 1 + g²) → [1, 1 + newGrid², hidden] (flat Float32Array).
 * Throws when oldSeq − 1 is not a perfect square, as torchvision does.
 */
export function interpolatePosEmbedding(pos: ArrayLike<number>, hidden: number, oldSeq: number, newGrid: number): Float32Array {
  if (pos.length !== oldSeq * hidden) throw new Error(`interpolatePosEmbedding: ${pos.length} values are not ${oldSeq} × ${hidden}`);
  const oldGrid = Math.round(Math.sqrt(oldSeq - 1));
  if (oldGrid * oldGrid !== oldSeq - 1) {
    throw new Error(`interpolatePosEmbedding: ${oldSeq - 1} patch embeddings do not form a square grid`);
  }
  if (!(Number.isInteger(newGrid) && newGrid >= 1)) throw new Error(`interpolatePosEmbedding: new grid size must be a positive integer, got ${newGrid}`);
  const out = new Float32Array((1 + newGrid * newGrid) * hidden);
  for (let c = 0; c < hidden; c++) out[c] = pos[c]!; // the class token's embedding is not interpolated
  const rows = taps(oldGrid, newGrid), cols = rows; // a square grid: the same taps along both axes
  // Patch (y, x) of the old grid holds its embedding at token 1 + y·g + x.
  const at = (y: number, x: number, c: number): number => pos[(1 + y * oldGrid + x) * hidden + c]!;
  for (let oy = 0; oy < newGrid; oy++) {
    const ry = rows[oy]!;
    for (let ox = 0; ox < newGrid; ox++) {
      const rx = cols[ox]!;
      const dst = (1 + oy * newGrid + ox) * hidden;
      for (let c = 0; c < hidden; c++) {
        let v = 0;
        for (let j = 0; j < 4; j++) {
          const y = ry.index[j]!;
          let row = 0;
          for (let i = 0; i < 4; i++) row += rx.weight[i]! * at(y, rx.index[i]!, c);
          v += ry.weight[j]! * row;
        }
        out[dst + c] = v;
      }
    }
  }
  return out;
}
