/** PyTorch `.pth` files: the reader (zip + restricted unpickler) and the writer torch.load reads. */
export { readPth, sniffWeightsFormat, legacyMessage, CHECKPOINT_KEYS, type PthStateDict, type WeightsFileFormat } from './reader.js';
export { writePth, savePth, statePickle } from './writer.js';
export type { PthDtype } from './storage.js';
