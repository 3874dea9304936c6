export * from './registry.js';
export { LeNet5 } from './lenet.js';
export { AlexNet, AlexNetCifar } from './alexnet.js';
export { MobileNetV1, MobileNetV1Cifar } from './mobilenet.js';
export { MobileNetV2, MobileNetV2Cifar } from './mobilenetv2.js';
export { MobileNetV3 } from './mobilenetv3.js';
export { Airbench94, whiteningWeights, patchCovariance, activationFloatsPerImage, AIRBENCH_WIDTHS } from './airbench.js';
