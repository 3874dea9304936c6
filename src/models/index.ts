export * from './registry.js';
export { LeNet5 } from './lenet.js';
export { AlexNet, AlexNetCifar } from './alexnet.js';
