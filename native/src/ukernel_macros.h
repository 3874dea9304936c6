// Explicit unrolling for the micro-kernels: GCC keeps an array of vector accumulators in memory unless every
// index is a constant, so each row's accumulators are separate variables named acc<row>_<half>.
#pragma once

#define CONVLAB_REP6(M) M(0) M(1) M(2) M(3) M(4) M(5)
#define CONVLAB_REP14(M) CONVLAB_REP6(M) M(6) M(7) M(8) M(9) M(10) M(11) M(12) M(13)
