// A 4-lane shuffle of two float vectors in both compilers' spelling (GCC's __builtin_shuffle takes a mask vector,
// Clang's __builtin_shufflevector the indices), for GEMM packing and the vector kernels. Only a type and a macro:
// no inline function here, since files compiled for different instruction sets include it (an AVX copy of a
// shared inline function could be picked by the linker for the generic code).
#pragma once

typedef int convlab_v4i __attribute__((vector_size(16)));

#if defined(__clang__)
#define CONVLAB_SHUFFLE(a, b, i, j, k, l) __builtin_shufflevector(a, b, i, j, k, l)
#else
#define CONVLAB_SHUFFLE(a, b, i, j, k, l) __builtin_shuffle(a, b, convlab_v4i{i, j, k, l})
#endif
