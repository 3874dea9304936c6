/**
 * The argument-slot layouts of the GEMM, convolution and pooling kernels, which the WASM kernels (assembly/) and the
 * native addon (native/src) read alike: one writer each, for both backends.
 */
import type { Conv2dParams, GemmParams, Pool2dParams } from '../backend.js';

/** Slots 0–15: transposes, sizes, operands with their leading dimensions, accumulate, batch and batch strides. */
export function writeGemmArgs(a: Float64Array, p: GemmParams): void {
  a[0] = p.transA ? 1 : 0; a[1] = p.transB ? 1 : 0;
  a[2] = p.m; a[3] = p.n; a[4] = p.k;
  a[5] = p.a; a[6] = p.lda; a[7] = p.b; a[8] = p.ldb; a[9] = p.c; a[10] = p.ldc;
  a[11] = p.accumulate ? 1 : 0;
  a[12] = p.batch; a[13] = p.strideA; a[14] = p.strideB; a[15] = p.strideC;
}

/** Slots 0–15: the convolution's geometry; 16–19: its four tensor operands (−1 for none). */
export function writeConvArgs(a: Float64Array, p: Conv2dParams, t0: number, t1: number, t2: number, t3: number): void {
  a[0] = p.n; a[1] = p.c; a[2] = p.h; a[3] = p.w; a[4] = p.oc; a[5] = p.kh; a[6] = p.kw;
  a[7] = p.sh; a[8] = p.sw; a[9] = p.ph; a[10] = p.pw; a[11] = p.dh; a[12] = p.dw;
  a[13] = p.groups; a[14] = p.oh; a[15] = p.ow;
  a[16] = t0; a[17] = t1; a[18] = t2; a[19] = t3;
}

/** Slots 0–12: the pooling geometry; 13–15: its tensor operands. */
export function writePoolArgs(a: Float64Array, p: Pool2dParams, t0: number, t1: number, t2: number): void {
  a[0] = p.n; a[1] = p.c; a[2] = p.h; a[3] = p.w; a[4] = p.kh; a[5] = p.kw; a[6] = p.sh; a[7] = p.sw;
  a[8] = p.ph; a[9] = p.pw; a[10] = p.oh; a[11] = p.ow; a[12] = p.countIncludePad ? 1 : 0;
  a[13] = t0; a[14] = t1; a[15] = t2;
}

/** Floating-point operations of one pass of the convolution (each pass costs the same). */
export const convFlops = (p: Conv2dParams): number => 2 * p.n * p.oc * p.oh * p.ow * (p.c / p.groups) * p.kh * p.kw;
