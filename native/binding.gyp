# The optional native backend (src/engine/backends/native.ts). Built by scripts/build-native.mjs at npm install.
# One build runs on any x86-64 CPU: only the micro-kernel files use AVX2/AVX-512, through per-function target
# attributes, and isa.cc picks a kernel set at run time. No -march=native.
{
  "targets": [
    {
      "target_name": "convlab_native",
      "sources": [
        "src/binding.cc",
        "src/threadpool.cc",
        "src/isa.cc",
        "src/gemm.cc",
        "src/ukernel_generic.cc",
        "src/ukernel_avx2.cc",
        "src/ukernel_avx512.cc",
        "src/conv.cc",
        "src/conv_depthwise.cc",
        "src/conv_direct.cc",
        "src/conv_cl.cc",
        "src/run_gemm_conv.cc",
        "src/pool.cc",
        "src/elementwise.cc",
        "src/norm.cc",
        "src/optim.cc",
        "src/vec_generic.cc",
        "src/vec_avx2.cc",
        "src/vec_avx512.cc"
      ],
      "cflags_cc": ["-std=c++17", "-O3", "-fno-exceptions", "-fno-math-errno", "-fno-trapping-math", "-fopenmp-simd", "-pthread"],
      "ldflags": ["-pthread"],
      "xcode_settings": {
        "OTHER_CPLUSPLUSFLAGS": ["-std=c++17", "-O3"]
      }
    }
  ]
}
