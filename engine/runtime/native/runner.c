// A Node addon that opens ONNX Runtime sessions with the engine's own kernels (kernels.c) registered, which
// onnxruntime-node cannot do, and runs them off the main thread. It links the libonnxruntime that onnxruntime-node
// ships, so both share one runtime, and it hands outputs to JavaScript without copying them: each output's buffer
// is ORT's own, released when JavaScript collects it.
//   open(model: Uint8Array, threads: number, profilePrefix: string | null) -> session
//   names(session) -> [inputNames, outputNames]
//   run(session, names: string[], tensors: {type, dims, data}[], outputs: string[], into?: ({type, dims, data} | null)[])
//     -> Promise<{type, dims, data}[]>   (an output given in `into` is written there and handed back as given)
//   release(session)   (a session opened with a profile prefix writes its profile then)
#define NAPI_VERSION 8
#include <node_api.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
// Denormal floats flushed to zero (FTZ) and read as zero (DAZ) in the runner's sessions. ONNX Runtime's exp takes a
// slow path for every result below float32's smallest normal: a softmax over padded attention scores (-1e9 added to
// each masked key) spent 1.0 ms where 0.28 did without padding. Such values are 1e-38 of the values they meet.
#define FLUSH_DENORMALS 0x8040
#define SAVE_FP_MODE() unsigned int saved_csr = _mm_getcsr()
#define FLUSH_FP_MODE() _mm_setcsr(saved_csr | FLUSH_DENORMALS)
#define RESTORE_FP_MODE() _mm_setcsr(saved_csr)
#else
#define SAVE_FP_MODE()
#define FLUSH_FP_MODE()
#define RESTORE_FP_MODE()
#endif

static const OrtApi* ort;
static OrtEnv* ort_env;
static OrtMemoryInfo* cpu;
static OrtAllocator* allocator;

typedef struct {
  OrtSession* session;
  int released;  // by release(); the ORT session goes when the last run on it has completed
  int runs;
} Session;

static void close_if_idle(Session* s) {
  if (s->released && s->runs == 0 && s->session) {
    ort->ReleaseSession(s->session);
    s->session = NULL;
  }
}

static const struct {
  const char* name;
  ONNXTensorElementDataType type;
  napi_typedarray_type array;
  size_t size;
} TYPES[] = {
    {"float32", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT, napi_float32_array, 4},
    {"float64", ONNX_TENSOR_ELEMENT_DATA_TYPE_DOUBLE, napi_float64_array, 8},
    {"int64", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64, napi_bigint64_array, 8},
    {"uint64", ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT64, napi_biguint64_array, 8},
    {"int32", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32, napi_int32_array, 4},
    {"uint32", ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT32, napi_uint32_array, 4},
    {"int16", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT16, napi_int16_array, 2},
    {"uint16", ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT16, napi_uint16_array, 2},
    {"float16", ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT16, napi_uint16_array, 2},
    {"int8", ONNX_TENSOR_ELEMENT_DATA_TYPE_INT8, napi_int8_array, 1},
    {"uint8", ONNX_TENSOR_ELEMENT_DATA_TYPE_UINT8, napi_uint8_array, 1},
    {"bool", ONNX_TENSOR_ELEMENT_DATA_TYPE_BOOL, napi_uint8_array, 1},
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

static int type_by_name(const char* name) {
  for (size_t i = 0; i < NTYPES; i++)
    if (strcmp(TYPES[i].name, name) == 0) return (int)i;
  return -1;
}
static int type_by_onnx(ONNXTensorElementDataType type) {
  for (size_t i = 0; i < NTYPES; i++)
    if (TYPES[i].type == type) return (int)i;
  return -1;
}

#define CHECK(call)                                                  \
  do {                                                               \
    if ((call) != napi_ok) {                                         \
      napi_throw_error(e, NULL, "ratchet native runner: " #call);    \
      return NULL;                                                   \
    }                                                                \
  } while (0)

/** Throws ORT's message and releases the status; true when there was one. */
static int thrown(napi_env e, OrtStatus* status) {
  if (!status) return 0;
  napi_throw_error(e, NULL, ort->GetErrorMessage(status));
  ort->ReleaseStatus(status);
  return 1;
}

static char* string_arg(napi_env e, napi_value v) {
  size_t length = 0;
  if (napi_get_value_string_utf8(e, v, NULL, 0, &length) != napi_ok) return NULL;
  char* s = malloc(length + 1);
  napi_get_value_string_utf8(e, v, s, length + 1, &length);
  return s;
}

static Session* session_arg(napi_env e, napi_value v) {
  Session* s = NULL;
  if (napi_get_value_external(e, v, (void**)&s) != napi_ok || !s || s->released) {
    napi_throw_error(e, NULL, "ratchet native runner: not an open session");
    return NULL;
  }
  return s;
}

/** The session a call's first argument names (names, release); NULL with an exception when it names none. */
static Session* session_of_call(napi_env e, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  if (napi_get_cb_info(e, info, &argc, argv, NULL, NULL) != napi_ok || argc < 1) {
    napi_throw_error(e, NULL, "ratchet native runner: a session argument is required");
    return NULL;
  }
  return session_arg(e, argv[0]);
}

static void finalize_session(napi_env e, void* data, void* hint) {
  (void)e, (void)hint;
  Session* s = data;
  s->released = 1;
  close_if_idle(s);
  free(s);
}

static napi_value open_session(napi_env e, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  CHECK(napi_get_cb_info(e, info, &argc, argv, NULL, NULL));
  napi_typedarray_type kind;
  size_t length;
  void* bytes;
  CHECK(napi_get_typedarray_info(e, argv[0], &kind, &length, &bytes, NULL, NULL));
  int32_t threads;
  CHECK(napi_get_value_int32(e, argv[1], &threads));
  napi_valuetype prefix_type;
  CHECK(napi_typeof(e, argv[2], &prefix_type));
  char* prefix = prefix_type == napi_string ? string_arg(e, argv[2]) : NULL;

  OrtSessionOptions* options = NULL;
  OrtSession* session = NULL;
  OrtStatus* status = ort->CreateSessionOptions(&options);
  // The settings of engine/runtime/session.ts: repeatable runs (fixed intra-op threads, sequential), every graph
  // optimisation, no memory pattern (its second-run allocation cost a cold step).
  if (!status) status = ort->SetIntraOpNumThreads(options, threads);
  if (!status) status = ort->SetInterOpNumThreads(options, 1);
  if (!status) status = ort->SetSessionExecutionMode(options, ORT_SEQUENTIAL);
  if (!status) status = ort->SetSessionGraphOptimizationLevel(options, ORT_ENABLE_ALL);
  if (!status) status = ort->DisableMemPattern(options);
  if (!status && prefix) status = ort->EnableProfiling(options, prefix);
  if (!status) status = ratchet_add_kernels(ort, options);
  // ORT's own intra-op threads flush denormals (FLUSH_DENORMALS); the calling thread does in execute_run.
  if (!status) status = ort->AddSessionConfigEntry(options, "session.set_denormal_as_zero", "1");
  if (!status) status = ort->CreateSessionFromArray(ort_env, bytes, length, options, &session);
  if (options) ort->ReleaseSessionOptions(options);
  free(prefix);
  if (thrown(e, status)) return NULL;
  Session* s = calloc(1, sizeof(Session));
  s->session = session;
  napi_value handle;
  CHECK(napi_create_external(e, s, finalize_session, NULL, &handle));
  return handle;
}

static napi_value name_list(napi_env e, OrtSession* session, int outputs) {
  size_t count = 0;
  OrtStatus* status = outputs ? ort->SessionGetOutputCount(session, &count) : ort->SessionGetInputCount(session, &count);
  if (thrown(e, status)) return NULL;
  napi_value list;
  CHECK(napi_create_array_with_length(e, count, &list));
  for (size_t i = 0; i < count; i++) {
    char* name = NULL;
    status = outputs ? ort->SessionGetOutputName(session, i, allocator, &name)
                     : ort->SessionGetInputName(session, i, allocator, &name);
    if (thrown(e, status)) return NULL;
    napi_value v;
    napi_create_string_utf8(e, name, NAPI_AUTO_LENGTH, &v);
    ort->AllocatorFree(allocator, name);
    CHECK(napi_set_element(e, list, (uint32_t)i, v));
  }
  return list;
}

static napi_value names(napi_env e, napi_callback_info info) {
  napi_value both;
  Session* s = session_of_call(e, info);
  if (!s) return NULL;
  napi_value inputs = name_list(e, s->session, 0), outputs;
  if (!inputs || !(outputs = name_list(e, s->session, 1))) return NULL;
  CHECK(napi_create_array_with_length(e, 2, &both));
  CHECK(napi_set_element(e, both, 0, inputs));
  CHECK(napi_set_element(e, both, 1, outputs));
  return both;
}

typedef struct {
  Session* session;
  napi_ref session_ref;
  size_t n_in, n_out;
  char** in_names;
  char** out_names;
  OrtValue** in_values;
  napi_ref* in_refs;  // the inputs' arrays stay alive while ORT reads them on another thread
  OrtValue** out_values;
  napi_ref* out_refs;  // outputs given by the caller: their arrays, alive while ORT writes them
  napi_ref* out_given;  // and the tensor objects handed back as the results
  OrtStatus* status;
  napi_deferred deferred;
  napi_async_work work;
} RunWork;

static void free_run(napi_env e, RunWork* w) {
  for (size_t i = 0; i < w->n_in; i++) {
    free(w->in_names ? w->in_names[i] : NULL);
    if (w->in_values && w->in_values[i]) ort->ReleaseValue(w->in_values[i]);
    if (w->in_refs && w->in_refs[i]) napi_delete_reference(e, w->in_refs[i]);
  }
  for (size_t i = 0; i < w->n_out; i++) {
    free(w->out_names ? w->out_names[i] : NULL);
    if (w->out_values && w->out_values[i]) ort->ReleaseValue(w->out_values[i]);
    if (w->out_refs && w->out_refs[i]) napi_delete_reference(e, w->out_refs[i]);
    if (w->out_given && w->out_given[i]) napi_delete_reference(e, w->out_given[i]);
  }
  if (w->session_ref) napi_delete_reference(e, w->session_ref);
  free(w->in_names), free(w->out_names), free(w->in_values), free(w->in_refs), free(w->out_values);
  free(w->out_refs), free(w->out_given);
  if (w->status) ort->ReleaseStatus(w->status);
  free(w);
}

static void execute_run(napi_env e, void* data) {
  (void)e;
  RunWork* w = data;
  // A libuv worker thread, which works as one of the intra-op threads: flushing for this run only.
  SAVE_FP_MODE();
  FLUSH_FP_MODE();
  w->status = ort->Run(w->session->session, NULL, (const char* const*)w->in_names, (const OrtValue* const*)w->in_values,
                       w->n_in, (const char* const*)w->out_names, w->n_out, w->out_values);
  RESTORE_FP_MODE();
}

static void release_output(napi_env e, void* data, void* value) {
  (void)e, (void)data;
  ort->ReleaseValue(value);
}

/** {type, dims, data} over the output's own buffer; the OrtValue is released when the array is collected. */
static napi_value output_tensor(napi_env e, OrtValue* value) {
  OrtTensorTypeAndShapeInfo* info = NULL;
  if (thrown(e, ort->GetTensorTypeAndShape(value, &info))) return NULL;
  ONNXTensorElementDataType onnx_type;
  size_t rank = 0, count = 0;
  ort->GetTensorElementType(info, &onnx_type);
  ort->GetDimensionsCount(info, &rank);
  ort->GetTensorShapeElementCount(info, &count);
  int64_t* dims = calloc(rank ? rank : 1, sizeof(int64_t));
  ort->GetDimensions(info, dims, rank);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  int t = type_by_onnx(onnx_type);
  if (t < 0) {
    free(dims);
    napi_throw_error(e, NULL, "ratchet native runner: an output of a type the runner does not convert");
    return NULL;
  }
  void* data = NULL;
  ort->GetTensorMutableData(value, &data);
  napi_value buffer, array, dim_list, tensor, v;
  size_t bytes = count * TYPES[t].size;
  if (bytes == 0 || napi_create_external_arraybuffer(e, data, bytes, release_output, value, &buffer) != napi_ok) {
    // An empty output, or a Node built without external buffers: a copy, and the value released here.
    void* copy = NULL;
    CHECK(napi_create_arraybuffer(e, bytes, &copy, &buffer));
    if (bytes) memcpy(copy, data, bytes);
    ort->ReleaseValue(value);
  }
  CHECK(napi_create_typedarray(e, TYPES[t].array, count, buffer, 0, &array));
  CHECK(napi_create_array_with_length(e, rank, &dim_list));
  for (size_t i = 0; i < rank; i++) {
    napi_create_int64(e, dims[i], &v);
    napi_set_element(e, dim_list, (uint32_t)i, v);
  }
  free(dims);
  CHECK(napi_create_object(e, &tensor));
  napi_create_string_utf8(e, TYPES[t].name, NAPI_AUTO_LENGTH, &v);
  napi_set_named_property(e, tensor, "type", v);
  napi_set_named_property(e, tensor, "dims", dim_list);
  napi_set_named_property(e, tensor, "data", array);
  return tensor;
}

static void complete_run(napi_env e, napi_status status, void* data) {
  RunWork* w = data;
  napi_value result = NULL, error_message, error;
  if (status != napi_ok || w->status) {
    const char* message = w->status ? ort->GetErrorMessage(w->status) : "ratchet native runner: run cancelled";
    napi_create_string_utf8(e, message, NAPI_AUTO_LENGTH, &error_message);
    napi_create_error(e, NULL, error_message, &error);
    napi_reject_deferred(e, w->deferred, error);
  } else {
    napi_create_array_with_length(e, w->n_out, &result);
    for (size_t i = 0; i < w->n_out && result; i++) {
      napi_value tensor = NULL;
      if (w->out_given[i]) {
        napi_get_reference_value(e, w->out_given[i], &tensor);  // its OrtValue, over the caller's array, goes below
      } else {
        tensor = output_tensor(e, w->out_values[i]);
        w->out_values[i] = NULL;  // owned by the array now (or released)
      }
      if (!tensor) result = NULL;
      else napi_set_element(e, result, (uint32_t)i, tensor);
    }
    if (result) {
      napi_resolve_deferred(e, w->deferred, result);
    } else {
      napi_value pending;
      napi_get_and_clear_last_exception(e, &pending);
      napi_reject_deferred(e, w->deferred, pending);
    }
  }
  napi_delete_async_work(e, w->work);
  Session* s = w->session;
  s->runs--;
  free_run(e, w);
  close_if_idle(s);
}

/**
 * Reads one {type, dims, data} (an input, or an output to write into) into an OrtValue over its own array; NULL (with
 * an exception) if malformed. `role` names it in errors.
 */
static OrtValue* tensor_over(napi_env e, napi_value tensor, napi_ref* ref, const char* role, const char* name) {
  napi_value type_v, dims_v, data_v;
  char message[512];
  if (napi_get_named_property(e, tensor, "type", &type_v) != napi_ok ||
      napi_get_named_property(e, tensor, "dims", &dims_v) != napi_ok ||
      napi_get_named_property(e, tensor, "data", &data_v) != napi_ok)
    return NULL;
  char* type_name = string_arg(e, type_v);
  int t = type_name ? type_by_name(type_name) : -1;
  free(type_name);
  uint32_t rank = 0;
  napi_typedarray_type kind;
  size_t length = 0;
  void* data = NULL;
  napi_value buffer;
  size_t offset;
  if (t < 0 || napi_get_array_length(e, dims_v, &rank) != napi_ok ||
      napi_get_typedarray_info(e, data_v, &kind, &length, &data, &buffer, &offset) != napi_ok ||
      kind != TYPES[t].array) {
    snprintf(message, sizeof message, "ratchet native runner: %s '%s' is not a tensor of a supported type", role,
             name);
    napi_throw_type_error(e, NULL, message);
    return NULL;
  }
  int64_t dims[16], count = 1;
  if (rank > 16) {
    snprintf(message, sizeof message, "ratchet native runner: %s '%s' has a rank above 16", role, name);
    napi_throw_range_error(e, NULL, message);
    return NULL;
  }
  for (uint32_t i = 0; i < rank; i++) {
    napi_value d;
    napi_get_element(e, dims_v, i, &d);
    napi_get_value_int64(e, d, &dims[i]);
    count *= dims[i];
  }
  if (count != (int64_t)length) {
    snprintf(message, sizeof message, "ratchet native runner: %s '%s' has %zu values for its dims' %lld", role, name,
             length, (long long)count);
    napi_throw_range_error(e, NULL, message);
    return NULL;
  }
  OrtValue* value = NULL;
  // ORT rejects a null data pointer even for an empty tensor.
  static uint64_t empty;
  if (thrown(e, ort->CreateTensorWithDataAsOrtValue(cpu, data ? data : &empty, length * TYPES[t].size, dims, rank,
                                                     TYPES[t].type, &value)))
    return NULL;
  if (napi_create_reference(e, data_v, 1, ref) != napi_ok) {
    ort->ReleaseValue(value);
    return NULL;
  }
  return value;
}

static napi_value run(napi_env e, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  CHECK(napi_get_cb_info(e, info, &argc, argv, NULL, NULL));
  Session* s = session_arg(e, argv[0]);
  if (!s) return NULL;
  uint32_t n_in = 0, n_out = 0;
  CHECK(napi_get_array_length(e, argv[1], &n_in));
  CHECK(napi_get_array_length(e, argv[3], &n_out));
  RunWork* w = calloc(1, sizeof(RunWork));
  w->session = s;
  w->n_in = n_in, w->n_out = n_out;
  w->in_names = calloc(n_in + 1, sizeof(char*));
  w->in_values = calloc(n_in + 1, sizeof(OrtValue*));
  w->in_refs = calloc(n_in + 1, sizeof(napi_ref));
  w->out_names = calloc(n_out + 1, sizeof(char*));
  w->out_values = calloc(n_out + 1, sizeof(OrtValue*));
  w->out_refs = calloc(n_out + 1, sizeof(napi_ref));
  w->out_given = calloc(n_out + 1, sizeof(napi_ref));
  napi_valuetype into_type = napi_undefined;
  if (argc >= 5) CHECK(napi_typeof(e, argv[4], &into_type));
  napi_create_reference(e, argv[0], 1, &w->session_ref);
  for (uint32_t i = 0; i < n_in; i++) {
    napi_value name, tensor;
    napi_get_element(e, argv[1], i, &name);
    napi_get_element(e, argv[2], i, &tensor);
    w->in_names[i] = string_arg(e, name);
    if (!w->in_names[i] || !(w->in_values[i] = tensor_over(e, tensor, &w->in_refs[i], "input", w->in_names[i]))) {
      free_run(e, w);
      return NULL;
    }
  }
  for (uint32_t i = 0; i < n_out; i++) {
    napi_value name;
    napi_get_element(e, argv[3], i, &name);
    if (!(w->out_names[i] = string_arg(e, name))) {
      free_run(e, w);
      return NULL;
    }
    napi_value given;
    napi_valuetype given_type = napi_undefined;
    if (into_type == napi_object && napi_get_element(e, argv[4], i, &given) == napi_ok) napi_typeof(e, given, &given_type);
    if (given_type != napi_object) continue;
    // ORT writes a preallocated output in place when its shape is the output's, and fails the run when not.
    if (!(w->out_values[i] = tensor_over(e, given, &w->out_refs[i], "output", w->out_names[i])) ||
        napi_create_reference(e, given, 1, &w->out_given[i]) != napi_ok) {
      free_run(e, w);
      return NULL;
    }
  }
  napi_value promise, resource;
  CHECK(napi_create_promise(e, &w->deferred, &promise));
  napi_create_string_utf8(e, "ratchet.run", NAPI_AUTO_LENGTH, &resource);
  CHECK(napi_create_async_work(e, NULL, resource, execute_run, complete_run, w, &w->work));
  CHECK(napi_queue_async_work(e, w->work));
  s->runs++;
  return promise;
}

static napi_value release(napi_env e, napi_callback_info info) {
  Session* s = session_of_call(e, info);
  if (!s) return NULL;
  s->released = 1;
  close_if_idle(s);
  return NULL;
}

static napi_value function(napi_env e, napi_value exports, const char* name, napi_callback fn) {
  napi_value f;
  CHECK(napi_create_function(e, name, NAPI_AUTO_LENGTH, fn, NULL, &f));
  CHECK(napi_set_named_property(e, exports, name, f));
  return exports;
}

static napi_value init(napi_env e, napi_value exports) {
  ort = OrtGetApiBase()->GetApi(RATCHET_ORT_API);
  if (!ort) {
    napi_throw_error(e, NULL, "ratchet native runner: this ONNX Runtime lacks the C API version the runner needs");
    return NULL;
  }
  // One environment per process: where onnxruntime-node has made it already, ORT hands back the same one.
  if (!ort_env && thrown(e, ort->CreateEnv(ORT_LOGGING_LEVEL_WARNING, "ratchet", &ort_env))) return NULL;
  if (!cpu && thrown(e, ort->CreateCpuMemoryInfo(OrtArenaAllocator, OrtMemTypeDefault, &cpu))) return NULL;
  if (!allocator && thrown(e, ort->GetAllocatorWithDefaultOptions(&allocator))) return NULL;
  napi_value version;
  CHECK(napi_create_string_utf8(e, OrtGetApiBase()->GetVersionString(), NAPI_AUTO_LENGTH, &version));
  CHECK(napi_set_named_property(e, exports, "ortVersion", version));
  if (!function(e, exports, "open", open_session) || !function(e, exports, "names", names) ||
      !function(e, exports, "run", run) || !function(e, exports, "release", release))
    return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
