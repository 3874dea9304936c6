// The Node-API surface (plain C API, node_api.h): setHeap(view) binds the heap's memory, run(id, argsByte, isa,
// threads) runs one kernel synchronously on the calling thread plus pool workers, and isa* describe the kernel sets.
#include <node_api.h>

#include <cstdint>
#include <string>

#include "call.h"

namespace {

using namespace convlab;

struct HeapBinding {
  uint8_t* base = nullptr;
  size_t bytes = 0;
};

constexpr size_t kArgSlots = 192;

void throw_line(napi_env env, const std::string& line) { napi_throw_error(env, nullptr, line.c_str()); }

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value* argv, HeapBinding** heap) {
  size_t argc = want;
  void* data = nullptr;
  if (napi_get_cb_info(env, info, &argc, argv, nullptr, &data) != napi_ok || argc < want) {
    throw_line(env, "native backend: wrong number of arguments");
    return false;
  }
  if (heap && napi_get_instance_data(env, reinterpret_cast<void**>(heap)) != napi_ok) return false;
  return true;
}

// A whole-number argument (int64: heap byte addresses reach 4 GiB); -1 when it is not a number.
int64_t int_arg(napi_env env, napi_value v) {
  int64_t out = -1;
  if (napi_get_value_int64(env, v, &out) != napi_ok) return -1;
  return out;
}

// setHeap(view: Float32Array over the whole memory). Called again whenever the memory grows.
napi_value set_heap(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  HeapBinding* heap = nullptr;
  if (!get_args(env, info, 1, argv, &heap)) return nullptr;
  napi_typedarray_type type;
  size_t length = 0, offset = 0;
  void* data = nullptr;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_float32_array) {
    throw_line(env, "native backend: setHeap needs a Float32Array over the heap's memory");
    return nullptr;
  }
  heap->base = static_cast<uint8_t*>(data);
  heap->bytes = length * sizeof(float);
  return nullptr;
}

// run(kernelId, argsByteAddress, isa, threads)
napi_value run(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  HeapBinding* heap = nullptr;
  if (!get_args(env, info, 4, argv, &heap)) return nullptr;
  int64_t id = int_arg(env, argv[0]), args_at = int_arg(env, argv[1]), isa = int_arg(env, argv[2]), nth = int_arg(env, argv[3]);
  if (!heap->base) { throw_line(env, "native backend: run() before setHeap()"); return nullptr; }
  if (args_at < 0 || args_at % 8 != 0 || static_cast<size_t>(args_at) + kArgSlots * 8 > heap->bytes) {
    throw_line(env, "native backend: argument block outside the heap");
    return nullptr;
  }
  if (isa < 0 || isa >= ISA_COUNT || !isa_supported(static_cast<int>(isa))) { throw_line(env, "native backend: kernel set not available on this CPU"); return nullptr; }
  Call call{reinterpret_cast<const double*>(heap->base + args_at), reinterpret_cast<float*>(heap->base),
            static_cast<long>(heap->bytes / sizeof(float)), static_cast<int>(nth < 1 ? 1 : nth > 64 ? 64 : nth),
            kernel_set(static_cast<int>(isa)), {}};
  int kernel = static_cast<int>(id);
  bool known = run_conv_gemm(kernel, call) || run_pool(kernel, call) || run_elementwise(kernel, call) ||
               run_norm(kernel, call) || run_optim(kernel, call);
  if (!known) call.error = "native backend: unknown kernel id " + std::to_string(kernel);
  if (!call.error.empty()) throw_line(env, call.error);
  return nullptr;
}

napi_value isa_info(napi_env env, napi_callback_info info) {
  // isaInfo() → [{ name, supported }] in preference order (AVX-512, AVX2, generic).
  napi_value list;
  napi_create_array_with_length(env, ISA_COUNT, &list);
  static const char* names[ISA_COUNT] = {"avx512", "avx2", "generic"};
  for (int isa = 0; isa < ISA_COUNT; isa++) {
    napi_value entry, name, supported;
    napi_create_object(env, &entry);
    napi_create_string_utf8(env, names[isa], NAPI_AUTO_LENGTH, &name);
    napi_get_boolean(env, isa_supported(isa), &supported);
    napi_set_named_property(env, entry, "name", name);
    napi_set_named_property(env, entry, "supported", supported);
    napi_set_element(env, list, isa, entry);
  }
  (void)info;
  return list;
}

void free_heap(napi_env, void* data, void*) { delete static_cast<HeapBinding*>(data); }

}  // namespace

NAPI_MODULE_INIT() {
  napi_set_instance_data(env, new HeapBinding(), free_heap, nullptr);
  struct { const char* name; napi_callback fn; } fns[] = {{"setHeap", set_heap}, {"run", run}, {"isaInfo", isa_info}};
  for (auto& f : fns) {
    napi_value value;
    napi_create_function(env, f.name, NAPI_AUTO_LENGTH, f.fn, nullptr, &value);
    napi_set_named_property(env, exports, f.name, value);
  }
  return exports;
}
