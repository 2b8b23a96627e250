// AdamW's per-element update in one pass, the chain engine/optim/adamw.ts otherwise builds from eleven ONNX ops:
//   M' = M·β1 + g    V' = V·β2 + g·g    p' = p·decay - (M' / (sqrt(V') + eps)) · stepSize
// Every float32 operation is the one the chain's op performs, in the same order and rounding (built with
// -ffp-contract=off, so no multiply-add is fused): the outputs are bit-identical to the chain's.
// Inputs: param, grad, M, V (same shape), then β1, β2, stepSize, eps, decay (scalars). Outputs: param', M', V'.
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include "kernels.h"

static const OrtApi* ort;

typedef struct {
  const float *p, *g, *m, *v;
  float *p2, *m2, *v2;
  float beta1, beta2, step_size, eps, decay;
  size_t n, block;
} AdamWWork;

static void adamw_block(void* data, size_t index) {
  const AdamWWork* w = data;
  size_t start = index * w->block, end = start + w->block < w->n ? start + w->block : w->n;
  const float *p = w->p, *g = w->g, *m = w->m, *v = w->v;
  float *p2 = w->p2, *m2 = w->m2, *v2 = w->v2;
  const float beta1 = w->beta1, beta2 = w->beta2, step_size = w->step_size, eps = w->eps, decay = w->decay;
  // Outputs may be their inputs' buffers (in place), but element i only ever reads and writes index i: no
  // dependence between iterations, so the loop may run in vector lanes.
#pragma GCC ivdep
  for (size_t i = start; i < end; i++) {
    float mi = m[i] * beta1 + g[i];
    float vi = v[i] * beta2 + g[i] * g[i];
    p2[i] = p[i] * decay - mi / (sqrtf(vi) + eps) * step_size;
    m2[i] = mi;
    v2[i] = vi;
  }
}

static float scalar_input(OrtKernelContext* context, size_t index) {
  const OrtValue* value = NULL;
  const float* data = NULL;
  ort->KernelContext_GetInput(context, index, &value);
  ort->GetTensorMutableData((OrtValue*)value, (void**)&data);
  return data[0];
}

static OrtStatus* adamw_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  OrtStatus* status = NULL;
  const OrtValue* in[4];
  const float* data[4];
  for (size_t i = 0; i < 4; i++) {
    if ((status = ort->KernelContext_GetInput(context, i, &in[i]))) return status;
    if ((status = ort->GetTensorMutableData((OrtValue*)in[i], (void**)&data[i]))) return status;
  }
  OrtTensorTypeAndShapeInfo* info = NULL;
  if ((status = ort->GetTensorTypeAndShape(in[0], &info))) return status;
  size_t rank = 0, n = 0;
  ort->GetDimensionsCount(info, &rank);
  ort->GetTensorShapeElementCount(info, &n);
  int64_t dims[16];
  if (rank > 16) {
    ort->ReleaseTensorTypeAndShapeInfo(info);
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "AdamW: parameters of rank above 16");
  }
  ort->GetDimensions(info, dims, rank);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  for (size_t i = 1; i < 4; i++) {
    OrtTensorTypeAndShapeInfo* other = NULL;
    size_t count = 0;
    if ((status = ort->GetTensorTypeAndShape(in[i], &other))) return status;
    ort->GetTensorShapeElementCount(other, &count);
    ort->ReleaseTensorTypeAndShapeInfo(other);
    if (count != n) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "AdamW: param, grad, M and V differ in size");
  }
  OrtValue* out[3];
  float* written[3];
  for (size_t i = 0; i < 3; i++) {
    if ((status = ort->KernelContext_GetOutput(context, i, dims, rank, &out[i]))) return status;
    if ((status = ort->GetTensorMutableData(out[i], (void**)&written[i]))) return status;
  }
  AdamWWork work = {
      .p = data[0], .g = data[1], .m = data[2], .v = data[3],
      .p2 = written[0], .m2 = written[1], .v2 = written[2],
      .beta1 = scalar_input(context, 4), .beta2 = scalar_input(context, 5), .step_size = scalar_input(context, 6),
      .eps = scalar_input(context, 7), .decay = scalar_input(context, 8),
      .n = n,
      // Blocks of 16 K values (448 KB over the seven streams) keep ORT's scheduling cost small against the work.
      .block = 16384,
  };
  size_t blocks = (n + work.block - 1) / work.block;
  if (blocks <= 1) {
    if (n > 0) adamw_block(&work, 0);
    return NULL;
  }
  return ort->KernelContext_ParallelFor(context, adamw_block, blocks, 0, &work);
}

static OrtStatus* adamw_create(const OrtCustomOp* op, const OrtApi* api, const OrtKernelInfo* info, void** kernel) {
  (void)op, (void)api, (void)info;
  *kernel = (void*)&ort;  // stateless: any non-null handle
  return NULL;
}
static void adamw_destroy(void* kernel) { (void)kernel; }
static const char* adamw_name(const OrtCustomOp* op) { (void)op; return "AdamW"; }
static const char* cpu_provider(const OrtCustomOp* op) { (void)op; return "CPUExecutionProvider"; }
static ONNXTensorElementDataType float_type(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}
static size_t nine(const OrtCustomOp* op) { (void)op; return 9; }
static size_t three(const OrtCustomOp* op) { (void)op; return 3; }
static OrtCustomOpInputOutputCharacteristic required(const OrtCustomOp* op, size_t index) {
  (void)op, (void)index;
  return INPUT_OUTPUT_REQUIRED;
}
static OrtMemType cpu_memory(const OrtCustomOp* op, size_t index) { (void)op, (void)index; return OrtMemTypeDefault; }
static int one_arity(const OrtCustomOp* op) { (void)op; return 1; }
static int homogeneous(const OrtCustomOp* op) { (void)op; return 1; }
static int since_version_1(const OrtCustomOp* op) { (void)op; return 1; }
static int any_version(const OrtCustomOp* op) { (void)op; return INT32_MAX; }

// param', M' and V' may take the buffers of param, M and V when nothing else reads those after the update.
static size_t adamw_inplace(int** input_index, int** output_index) {
  *input_index = malloc(3 * sizeof(int));
  *output_index = malloc(3 * sizeof(int));
  if (!*input_index || !*output_index) return 0;
  const int inputs[3] = {0, 2, 3};
  for (int i = 0; i < 3; i++) (*input_index)[i] = inputs[i], (*output_index)[i] = i;
  return 3;
}
static void release_pairs(int* input_index, int* output_index) {
  free(input_index);
  free(output_index);
}
static size_t no_alias(int** input_index, int** output_index) {
  *input_index = NULL, *output_index = NULL;
  return 0;
}

static OrtCustomOp adamw_op;
// The domain must outlive every session that uses it: made on the first session, kept for the process.
static OrtCustomOpDomain* domain;

OrtStatus* ratchet_add_kernels(const OrtApi* api, OrtSessionOptions* options) {
  if (domain) return api->AddCustomOpDomain(options, domain);
  ort = api;
  adamw_op = (OrtCustomOp){
      .version = RATCHET_ORT_API,
      .GetName = adamw_name,
      .GetExecutionProviderType = cpu_provider,
      .GetInputType = float_type,
      .GetInputTypeCount = nine,
      .GetOutputType = float_type,
      .GetOutputTypeCount = three,
      .KernelDestroy = adamw_destroy,
      .GetInputCharacteristic = required,
      .GetOutputCharacteristic = required,
      .GetInputMemoryType = cpu_memory,
      .GetVariadicInputMinArity = one_arity,
      .GetVariadicInputHomogeneity = homogeneous,
      .GetVariadicOutputMinArity = one_arity,
      .GetVariadicOutputHomogeneity = homogeneous,
      .CreateKernelV2 = adamw_create,
      .KernelComputeV2 = adamw_compute,
      .GetStartVersion = since_version_1,
      .GetEndVersion = any_version,
      .GetMayInplace = adamw_inplace,
      .ReleaseMayInplace = release_pairs,
      .GetAliasMap = no_alias,
      .ReleaseAliasMap = release_pairs,
  };
  OrtStatus* status = api->CreateCustomOpDomain(RATCHET_DOMAIN, &domain);
  if (!status) status = api->CustomOpDomain_Add(domain, &adamw_op);
  if (status) {
    domain = NULL;
    return status;
  }
  return api->AddCustomOpDomain(options, domain);
}
