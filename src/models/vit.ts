/**
 * Vision Transformer (Dosovitskiy et al., 2021, "An Image is Worth 16x16 Words: Transformers for Image Recognition
 * at Scale").
 *
 * vit_b_16, vit_b_32: torchvision 0.14's torchvision/models/vision_transformer.py, with its state_dict keys
 *   (conv_proj, class_token, encoder.pos_embedding, encoder.layers.encoder_layer_N.{ln_1, self_attention, ln_2,
 *   mlp.0, mlp.3}, encoder.ln, heads.head): pre-norm encoder blocks, LayerNorm eps 1e-6, exact GELU, dropout 0.
 *   Parameters at 1000 classes: vit_b_16 86,567,656; vit_b_32 88,224,232. Any image size divisible by the patch
 *   works; `adaptStateDict` resizes a checkpoint's position embeddings as torchvision's interpolate_embeddings.
 * vit-cifar: the ViT of omihub777/ViT-CIFAR (README: "6.3 M" parameters, 91.01 % on CIFAR-10 with AutoAugment and
 *   label smoothing): 32×32 input, 4×4 patches, 7 layers, hidden 384, 12 heads, MLP 384. Built from torchvision's
 *   blocks here (its MLP has no GELU after the second linear, and the final LayerNorm sits in encoder.ln), which
 *   keeps the count the same: 6,268,810 parameters at 10 classes.
 */
import * as E from '../engine/index.js';
import type { Tensor } from '../engine/index.js';
import { init } from '../engine/index.js';
import { Conv2d, Dropout, GELU, LayerNorm, Linear, Module, MultiheadAttention, Sequential, type StateEntry } from '../nn/index.js';
import { interpolatePosEmbedding } from './vit-embeddings.js';
import type { ModelSpec } from './registry.js';

export { interpolatePosEmbedding } from './vit-embeddings.js';

const LN_EPS = 1e-6;

/** torchvision's MLPBlock: Linear → GELU → Dropout → Linear → Dropout, so its linears are mlp.0 and mlp.3. */
export class MLPBlock extends Sequential {
  constructor(inDim: number, mlpDim: number, dropout: number) {
    const fc1 = new Linear(inDim, mlpDim), fc2 = new Linear(mlpDim, inDim);
    super(fc1, GELU(), Dropout(dropout), fc2, Dropout(dropout));
    for (const fc of [fc1, fc2]) {
      init.xavierUniform_(fc.weight);
      init.normal_(fc.bias!, 0, 1e-6);
    }
  }
}

/** Pre-norm transformer block: x + Dropout(MHA(LN(x))), then + MLP(LN(·)). */
export class EncoderBlock extends Module {
  readonly ln1: LayerNorm;
  readonly selfAttention: MultiheadAttention;
  readonly dropout: Module;
  readonly ln2: LayerNorm;
  readonly mlp: MLPBlock;

  constructor(numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number) {
    super();
    this.ln1 = this.child('ln_1', new LayerNorm(hiddenDim, LN_EPS));
    this.selfAttention = this.child('self_attention', new MultiheadAttention(hiddenDim, numHeads, { dropout: attentionDropout }));
    this.dropout = this.child('dropout', Dropout(dropout));
    this.ln2 = this.child('ln_2', new LayerNorm(hiddenDim, LN_EPS));
    this.mlp = this.child('mlp', new MLPBlock(hiddenDim, mlpDim, dropout));
  }

  forward(input: Tensor): Tensor {
    const x = E.add(this.dropout.forward(this.selfAttention.forward(this.ln1.forward(input))), input);
    return E.add(x, this.mlp.forward(this.ln2.forward(x)));
  }
}

/** A container whose children carry given names (torch's nn.Sequential built from an OrderedDict). */
class NamedSequential extends Module {
  constructor(readonly layers: [string, Module][]) {
    super();
    for (const [name, m] of layers) this.child(name, m);
  }

  forward(x: Tensor): Tensor {
    return this.layers.reduce((y, [, m]) => m.forward(y), x);
  }
}

export class Encoder extends Module {
  readonly posEmbedding: Tensor;
  readonly dropout: Module;
  readonly layers: NamedSequential;
  readonly ln: LayerNorm;

  constructor(seqLength: number, numLayers: number, numHeads: number, hiddenDim: number, mlpDim: number, dropout: number, attentionDropout: number) {
    super();
    this.posEmbedding = init.normal_(this.param('pos_embedding', [1, seqLength, hiddenDim]), 0, 0.02); // from BERT
    this.dropout = this.child('dropout', Dropout(dropout));
    this.layers = this.child('layers', new NamedSequential(Array.from({ length: numLayers }, (_, i) =>
      [`encoder_layer_${i}`, new EncoderBlock(numHeads, hiddenDim, mlpDim, dropout, attentionDropout)])));
    this.ln = this.child('ln', new LayerNorm(hiddenDim, LN_EPS));
  }

  forward(input: Tensor): Tensor {
    return this.ln.forward(this.layers.forward(this.dropout.forward(E.add(input, this.posEmbedding))));
  }
}

export interface VisionTransformerOptions {
  imageSize: number;
  patchSize: number;
  numLayers: number;
  numHeads: number;
  hiddenDim: number;
  mlpDim: number;
  dropout?: number;
  attentionDropout?: number;
  numClasses?: number;
  inChannels?: number;
}

export class VisionTransformer extends Module {
  readonly classToken: Tensor;
  readonly convProj: Conv2d;
  readonly encoder: Encoder;
  readonly heads: NamedSequential;
  readonly head: Linear;
  readonly imageSize: number;
  readonly patchSize: number;
  readonly hiddenDim: number;

  constructor(o: VisionTransformerOptions) {
    super();
    const { imageSize, patchSize, hiddenDim } = o;
    if (!(Number.isInteger(imageSize) && Number.isInteger(patchSize) && patchSize > 0 && imageSize >= patchSize && imageSize % patchSize === 0)) {
      throw new Error(`VisionTransformer: image size ${imageSize} must be a positive multiple of the patch size ${patchSize}`);
    }
    this.imageSize = imageSize; this.patchSize = patchSize; this.hiddenDim = hiddenDim;
    this.classToken = init.constant_(this.param('class_token', [1, 1, hiddenDim]), 0);
    this.convProj = this.child('conv_proj', new Conv2d(o.inChannels ?? 3, hiddenDim, patchSize, { stride: patchSize }));
    const seqLength = (imageSize / patchSize) ** 2 + 1;
    this.encoder = this.child('encoder', new Encoder(seqLength, o.numLayers, o.numHeads, hiddenDim, o.mlpDim, o.dropout ?? 0, o.attentionDropout ?? 0));
    this.head = new Linear(hiddenDim, o.numClasses ?? 1000);
    this.heads = this.child('heads', new NamedSequential([['head', this.head]]));
    // torchvision: truncated-normal patch projection with std √(1/fan_in), zero bias; zero classifier.
    const fanIn = this.convProj.weight.shape.slice(1).reduce((a, b) => a * b, 1);
    init.truncNormal_(this.convProj.weight, { std: Math.sqrt(1 / fanIn) });
    init.constant_(this.convProj.bias!, 0);
    init.constant_(this.head.weight, 0);
    init.constant_(this.head.bias!, 0);
  }

  forward(x: Tensor): Tensor {
    const [n, , h, w] = x.shape as [number, number, number, number];
    if (x.rank !== 4 || h !== this.imageSize || w !== this.imageSize) {
      throw new Error(`VisionTransformer: expected input [n, c, ${this.imageSize}, ${this.imageSize}], got [${x.shape.join(', ')}] ` +
        '(construct the model with this image size; adaptStateDict resizes a checkpoint\'s position embeddings)');
    }
    const patches = this.convProj.forward(x); // [n, hidden, h/p, w/p]
    const tokens = E.permute(E.reshape(patches, [n, this.hiddenDim, -1]), [0, 2, 1]);
    const withClass = E.concat([E.expand(this.classToken, [n, 1, this.hiddenDim]), tokens], 1);
    const encoded = this.encoder.forward(withClass);
    return this.heads.forward(E.reshape(E.slice(encoded, 1, 0, 1), [n, this.hiddenDim]));
  }

  /**
   * A checkpoint for this model from one trained at another image size: `encoder.pos_embedding` is resized with
   * torchvision's interpolate_embeddings (bicubic, align_corners=True over the patch grid; the class token's
   * embedding is kept). Everything else passes through unchanged.
   */
  override adaptStateDict(entries: Map<string, StateEntry>, prefix: string): void {
    const key = `${prefix}encoder.pos_embedding`;
    const pos = entries.get(key);
    const want = this.encoder.posEmbedding.size;
    if (!pos || pos.data.length === want) return;
    if (pos.data.length % this.hiddenDim !== 0) {
      throw new Error(`adaptStateDict: ${key} has ${pos.data.length} values, not a whole number of ${this.hiddenDim}-wide embeddings`);
    }
    const oldSeq = pos.data.length / this.hiddenDim;
    const resized = interpolatePosEmbedding(pos.data, this.hiddenDim, oldSeq, this.imageSize / this.patchSize);
    entries.set(key, { data: resized, shape: [...this.encoder.posEmbedding.shape] });
  }
}

interface VitExtra { dropout?: number; attentionDropout?: number }

const vitSpec = (name: string, description: string, defaultInput: [number, number, number],
  arch: Omit<VisionTransformerOptions, 'imageSize'>): ModelSpec => ({
  name, description, defaultInput,
  extraOptions: ['dropout', 'attentionDropout'],
  create: (o) => new VisionTransformer({
    ...arch, ...(o.extra as VitExtra), imageSize: o.imageSize, numClasses: o.numClasses, inChannels: o.inChannels,
  }),
});

export const vitModels: ModelSpec[] = [
  vitSpec('vit_b_16', "ViT-B/16 (2021), torchvision's: 12 layers, hidden 768, 12 heads, MLP 3072; 86,567,656 params at 1000 classes",
    [3, 224, 224], { patchSize: 16, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 }),
  vitSpec('vit_b_32', "ViT-B/32 (2021), torchvision's: as ViT-B/16 with 32×32 patches; 88,224,232 params at 1000 classes",
    [3, 224, 224], { patchSize: 32, numLayers: 12, numHeads: 12, hiddenDim: 768, mlpDim: 3072 }),
  vitSpec('vit-cifar', 'ViT for 32×32 inputs (omihub777/ViT-CIFAR): 4×4 patches, 7 layers, hidden 384, 12 heads, MLP 384; 6,268,810 params',
    [3, 32, 32], { patchSize: 4, numLayers: 7, numHeads: 12, hiddenDim: 384, mlpDim: 384 }),
];
