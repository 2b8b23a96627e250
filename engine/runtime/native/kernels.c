// The engine's own kernels, each replacing a chain of ONNX ops that onnxruntime-node can only run pass by pass.
//
// AdamW: the per-element update in one pass, the chain engine/optim/adamw.ts otherwise builds from eleven ONNX ops:
//   M' = M·β1 + g    V' = V·β2 + g·g    p' = p·decay - (M' / (sqrt(V') + eps)) · stepSize
// Every float32 operation is the one the chain's op performs, in the same order and rounding (built with
// -ffp-contract=off, so no multiply-add is fused): the outputs are bit-identical to the chain's.
// Inputs: param, grad, M, V (same shape), then β1, β2, stepSize, eps, decay (scalars). Outputs: param', M', V'.
#include <math.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "kernels.h"

static const OrtApi* ort;

// Element-wise kernels work in blocks of 16 K values, dealt out to ORT's intra-op threads: big enough that the
// scheduling costs little against the work, small enough that a parameter of 70 K values spans both threads.
#define BLOCK 16384

/** The values block `index` covers: [start, end) within n. */
#define BLOCK_RANGE(index, n, start, end) \
  size_t start = (index) * BLOCK, end = start + BLOCK < (n) ? start + BLOCK : (n)

/** The end of the part of a row of `row` values, from value i on, that lies before `end`. */
static inline size_t row_part_end(size_t i, size_t row, size_t end) {
  size_t row_end = (i / row + 1) * row;
  return row_end < end ? row_end : end;
}

/** Output `index`, of `dims`, and its float32 data to write. */
static OrtStatus* writable_output(OrtKernelContext* context, size_t index, const int64_t* dims, size_t rank,
                                  float** data) {
  OrtValue* out = NULL;
  OrtStatus* status = ort->KernelContext_GetOutput(context, index, dims, rank, &out);
  return status ? status : ort->GetTensorMutableData(out, (void**)data);
}

/** Runs `block` over the blocks covering n values: on this thread when there is one. */
static OrtStatus* for_blocks(OrtKernelContext* context, void (*block)(void*, size_t), size_t n, void* work) {
  size_t blocks = (n + BLOCK - 1) / BLOCK;
  if (blocks <= 1) {
    if (n > 0) block(work, 0);
    return NULL;
  }
  return ort->KernelContext_ParallelFor(context, block, blocks, 0, work);
}

typedef struct {
  const float *p, *g, *m, *v;
  float *p2, *m2, *v2;
  float beta1, beta2, step_size, eps, decay;
  size_t n;
} AdamWWork;

static void adamw_block(void* data, size_t index) {
  const AdamWWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
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
  float* written[3];
  for (size_t i = 0; i < 3; i++) {
    if ((status = writable_output(context, i, dims, rank, &written[i]))) return status;
  }
  AdamWWork work = {
      .p = data[0], .g = data[1], .m = data[2], .v = data[3],
      .p2 = written[0], .m2 = written[1], .v2 = written[2],
      .beta1 = scalar_input(context, 4), .beta2 = scalar_input(context, 5), .step_size = scalar_input(context, 6),
      .eps = scalar_input(context, 7), .decay = scalar_input(context, 8),
      .n = n,
  };
  return for_blocks(context, adamw_block, n, &work);
}

// ScatterAddRows: the gradient of a row lookup (Gather on axis 0), out[index[i], :] += updates[i, :] into zeros of
// `shape`. Each output row takes its entries in index order, from +0, as ScatterElements and ScatterND add them: the
// same bits. The rows are dealt out to threads in ranges, every thread reading all entries, so no two threads add
// into one row and the sum is the same on any number of threads.
// Inputs: index (int32 or int64, any shape, n values; negative counts from the end), updates (float32, n × width),
// shape (int64: rows, then dims whose product is width). Output: float32 of `shape`.
typedef struct {
  const void* index;
  int index64;
  const float* updates;
  float* out;
  size_t n, width;
  int64_t rows, rows_per_block;
} ScatterWork;

static int64_t entry_row(const ScatterWork* w, size_t i) {
  int64_t r = w->index64 ? ((const int64_t*)w->index)[i] : ((const int32_t*)w->index)[i];
  return r < 0 ? r + w->rows : r;
}

static void scatter_block(void* data, size_t block) {
  const ScatterWork* w = data;
  int64_t first = (int64_t)block * w->rows_per_block;
  int64_t last = first + w->rows_per_block < w->rows ? first + w->rows_per_block : w->rows;
  if (first >= last) return;
  memset(w->out + first * w->width, 0, (size_t)(last - first) * w->width * sizeof(float));
  for (size_t i = 0; i < w->n; i++) {
    int64_t r = entry_row(w, i);
    if (r < first || r >= last) continue;
    float* row = w->out + r * w->width;
    const float* add = w->updates + i * w->width;
    for (size_t j = 0; j < w->width; j++) row[j] += add[j];
  }
}

static OrtStatus* element_count(const OrtValue* value, size_t* count, ONNXTensorElementDataType* type) {
  OrtTensorTypeAndShapeInfo* info = NULL;
  OrtStatus* status = ort->GetTensorTypeAndShape(value, &info);
  if (status) return status;
  ort->GetTensorShapeElementCount(info, count);
  if (type) ort->GetTensorElementType(info, type);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  return NULL;
}

static OrtStatus* scatter_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  const OrtValue *index, *updates, *shape;
  OrtStatus* status = NULL;
  if ((status = ort->KernelContext_GetInput(context, 0, &index)) ||
      (status = ort->KernelContext_GetInput(context, 1, &updates)) ||
      (status = ort->KernelContext_GetInput(context, 2, &shape)))
    return status;
  size_t n = 0, values = 0, rank = 0;
  ONNXTensorElementDataType index_type;
  if ((status = element_count(index, &n, &index_type)) || (status = element_count(updates, &values, NULL)) ||
      (status = element_count(shape, &rank, NULL)))
    return status;
  if (index_type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64 && index_type != ONNX_TENSOR_ELEMENT_DATA_TYPE_INT32)
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ScatterAddRows: the index must be int32 or int64");
  if (rank < 1 || rank > 16) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ScatterAddRows: shape of rank 1 to 16");
  int64_t dims[16];
  const int64_t* shape_values = NULL;
  ort->GetTensorMutableData((OrtValue*)shape, (void**)&shape_values);
  size_t width = 1;
  for (size_t i = 0; i < rank; i++) {
    dims[i] = shape_values[i];
    if (dims[i] < 0) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ScatterAddRows: a negative dimension");
    if (i > 0) width *= (size_t)dims[i];
  }
  if (values != n * width) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ScatterAddRows: updates are not index × row");
  ScatterWork work = {.n = n, .width = width, .rows = dims[0], .index64 = index_type == ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64};
  ort->GetTensorMutableData((OrtValue*)index, (void**)&work.index);
  ort->GetTensorMutableData((OrtValue*)updates, (void**)&work.updates);
  for (size_t i = 0; i < n; i++) {
    int64_t r = entry_row(&work, i);
    if (r < 0 || r >= work.rows) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ScatterAddRows: an index out of range");
  }
  if ((status = writable_output(context, 0, dims, rank, &work.out))) return status;
  // Four ranges: enough for the intra-op threads, few enough that re-reading the index stays cheap.
  size_t blocks = work.rows * width >= 65536 ? 4 : 1;
  work.rows_per_block = (work.rows + (int64_t)blocks - 1) / (int64_t)blocks;
  if (blocks == 1) {
    scatter_block(&work, 0);
    return NULL;
  }
  return ort->KernelContext_ParallelFor(context, scatter_block, blocks, 0, &work);
}

// ReluGrad: Relu's gradient, dy · (x > 0 ? 1 : 0), in one pass where the ONNX rule takes three (Greater, Cast,
// Mul); the multiply is kept, so a negative dy where x <= 0 gives -0 as the chain does. Inputs: dy, x (same size).
typedef struct {
  const float *dy, *x;
  float* dx;
  size_t n;
} ReluWork;

static void relu_block(void* data, size_t index) {
  const ReluWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  const float *dy = w->dy, *x = w->x;
  float* dx = w->dx;
#pragma GCC ivdep
  for (size_t i = start; i < end; i++) dx[i] = dy[i] * (x[i] > 0.0f ? 1.0f : 0.0f);
}

static OrtStatus* relu_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  const OrtValue *dy, *x;
  OrtStatus* status = NULL;
  if ((status = ort->KernelContext_GetInput(context, 0, &dy)) || (status = ort->KernelContext_GetInput(context, 1, &x)))
    return status;
  OrtTensorTypeAndShapeInfo* info = NULL;
  if ((status = ort->GetTensorTypeAndShape(dy, &info))) return status;
  size_t rank = 0, n = 0, n_x = 0;
  int64_t dims[16];
  ort->GetDimensionsCount(info, &rank);
  ort->GetTensorShapeElementCount(info, &n);
  if (rank <= 16) ort->GetDimensions(info, dims, rank);
  ort->ReleaseTensorTypeAndShapeInfo(info);
  if (rank > 16) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ReluGrad: rank above 16");
  if ((status = element_count(x, &n_x, NULL))) return status;
  if (n_x != n) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "ReluGrad: dy and x differ in size");
  ReluWork work = {.n = n};
  ort->GetTensorMutableData((OrtValue*)dy, (void**)&work.dy);
  ort->GetTensorMutableData((OrtValue*)x, (void**)&work.x);
  if ((status = writable_output(context, 0, dims, rank, &work.dx))) return status;
  return for_blocks(context, relu_block, n, &work);
}

// Shapes of element-wise kernels: every input of the same size as input 0, whose dims the output takes.
static OrtStatus* same_sized(OrtKernelContext* context, size_t inputs, const char* name, const float** data,
                             int64_t* dims, size_t* rank, size_t* n) {
  OrtStatus* status = NULL;
  for (size_t i = 0; i < inputs; i++) {
    const OrtValue* value = NULL;
    size_t count = 0;
    if ((status = ort->KernelContext_GetInput(context, i, &value)) || (status = element_count(value, &count, NULL)))
      return status;
    if (i == 0) {
      OrtTensorTypeAndShapeInfo* info = NULL;
      if ((status = ort->GetTensorTypeAndShape(value, &info))) return status;
      ort->GetDimensionsCount(info, rank);
      if (*rank <= 16) ort->GetDimensions(info, dims, *rank);
      ort->ReleaseTensorTypeAndShapeInfo(info);
      if (*rank > 16) return ort->CreateStatus(ORT_INVALID_ARGUMENT, name);
      *n = count;
    } else if (count != *n) {
      return ort->CreateStatus(ORT_INVALID_ARGUMENT, name);
    }
    ort->GetTensorMutableData((OrtValue*)value, (void**)&data[i]);
  }
  return NULL;
}

// GeluGrad: exact Gelu's gradient from the parts ORT computes (its Erf and Exp, whose approximations a kernel here
// could not match): dx = dy/2 · ((erf(u) + x·k / e^(u²)) + 1), u = x/√2, k = √(2/π), the arithmetic of the rule's
// chain in its order (engine/autodiff/rules/activations.ts), one pass where it took five.
// Inputs: dy, x, erf(u), e^(u²) (same size), k (scalar).
typedef struct {
  const float *dy, *x, *erf_u, *exp_uu;
  float* dx;
  float k;
  size_t n;
} GeluWork;

static void gelu_block(void* data, size_t index) {
  const GeluWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  const float *dy = w->dy, *x = w->x, *erf_u = w->erf_u, *exp_uu = w->exp_uu;
  float* dx = w->dx;
  const float k = w->k;
#pragma GCC ivdep
  for (size_t i = start; i < end; i++) dx[i] = dy[i] * 0.5f * ((erf_u[i] + x[i] * k / exp_uu[i]) + 1.0f);
}

static OrtStatus* gelu_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  GeluWork work = {0};
  const float* in[4];
  int64_t dims[16];
  size_t rank = 0;
  OrtStatus* status = same_sized(context, 4, "GeluGrad: dy, x, erf(u) and exp(u²) must be of one size", in, dims,
                                 &rank, &work.n);
  if (status) return status;
  work.dy = in[0], work.x = in[1], work.erf_u = in[2], work.exp_uu = in[3];
  work.k = scalar_input(context, 4);
  if ((status = writable_output(context, 0, dims, rank, &work.dx))) return status;
  return for_blocks(context, gelu_block, work.n, &work);
}

// ScaleSquare: u = x·s and u·u in one pass, the two Muls of Gelu's gradient before ORT's Erf and Exp (u = x/√2:
// erf(u), e^(u²)), where ORT ran them as two passes, the second reading u back. Inputs: x, s (scalar). Outputs: u, u².
typedef struct {
  const float* x;
  float *u, *uu;
  float s;
  size_t n;
} ScaleSquareWork;

static void scale_square_block(void* data, size_t index) {
  const ScaleSquareWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  const float* x = w->x;
  float *u = w->u, *uu = w->uu;
  const float s = w->s;
#pragma GCC ivdep
  for (size_t i = start; i < end; i++) {
    const float ui = x[i] * s;
    u[i] = ui;
    uu[i] = ui * ui;
  }
}

static OrtStatus* scale_square_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  ScaleSquareWork work = {0};
  int64_t dims[16];
  size_t rank = 0;
  OrtStatus* status = same_sized(context, 1, "ScaleSquare: x of rank above 16", &work.x, dims, &rank, &work.n);
  if (status) return status;
  work.s = scalar_input(context, 1);
  if ((status = writable_output(context, 0, dims, rank, &work.u))) return status;
  if ((status = writable_output(context, 1, dims, rank, &work.uu))) return status;
  return for_blocks(context, scale_square_block, work.n, &work);
}

// SoftmaxGrad: y · (dy - dot) for y = softmax over the last axis, dot [..., 1] the rule's Σ (one per row), in one
// pass where Sub (broadcasting dot along each row, slow in ORT) and Mul took two. Inputs: y, dy, dot.
typedef struct {
  const float *y, *dy, *dot;
  float* dx;
  size_t n, row;
} SoftmaxWork;

static void softmax_block(void* data, size_t index) {
  const SoftmaxWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  const float *y = w->y, *dy = w->dy;
  float* dx = w->dx;
  for (size_t i = start, to; i < end; i = to) {
    to = row_part_end(i, w->row, end);
    const float dot = w->dot[i / w->row];
#pragma GCC ivdep
    for (size_t j = i; j < to; j++) dx[j] = y[j] * (dy[j] - dot);
  }
}

/**
 * Two inputs of one size (`full`) in rows along their last axis, and input 2 holding one value a row (`per_row`):
 * their data, the first one's dims, and the sizes; an error saying `unequal` or `not_per_row` when they do not fit.
 */
static OrtStatus* rows_and_values(OrtKernelContext* context, const char* unequal, const char* not_per_row,
                                  const float** full, const float** per_row, int64_t* dims, size_t* rank, size_t* n,
                                  size_t* row) {
  const OrtValue* value = NULL;
  size_t rows = 0;
  OrtStatus* status = same_sized(context, 2, unequal, full, dims, rank, n);
  if (status || (status = ort->KernelContext_GetInput(context, 2, &value)) ||
      (status = element_count(value, &rows, NULL)))
    return status;
  *row = *rank > 0 ? (size_t)dims[*rank - 1] : 1;
  if (*row == 0 || rows * *row != *n) return ort->CreateStatus(ORT_INVALID_ARGUMENT, not_per_row);
  return ort->GetTensorMutableData((OrtValue*)value, (void**)per_row);
}

static OrtStatus* softmax_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  SoftmaxWork work = {0};
  const float* in[2];
  int64_t dims[16];
  size_t rank = 0;
  OrtStatus* status = rows_and_values(context, "SoftmaxGrad: y and dy must be of one size",
                                      "SoftmaxGrad: dot must hold one value per row of y", in, &work.dot, dims, &rank,
                                      &work.n, &work.row);
  if (status) return status;
  work.y = in[0], work.dy = in[1];
  if ((status = writable_output(context, 0, dims, rank, &work.dx))) return status;
  return for_blocks(context, softmax_block, work.n, &work);
}

// CenterRows: LayerNorm's backward pass starts from xc = x - μ (μ one a row) and p = dy·xc; one pass where ORT's Sub
// (broadcasting μ) and Mul took two, the second reading xc back. Inputs: x, dy (same size), μ [rows]. Outputs: xc, p.
typedef struct {
  const float *x, *dy, *mean;
  float *xc, *p;
  size_t n, row;
} CenterWork;

static void center_block(void* data, size_t index) {
  const CenterWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  const float *x = w->x, *dy = w->dy;
  float *xc = w->xc, *p = w->p;
  for (size_t i = start, to; i < end; i = to) {
    to = row_part_end(i, w->row, end);
    const float mean = w->mean[i / w->row];
#pragma GCC ivdep
    for (size_t j = i; j < to; j++) {
      const float c = x[j] - mean;
      xc[j] = c;
      p[j] = dy[j] * c;
    }
  }
}

static OrtStatus* center_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  CenterWork work = {0};
  const float* in[2];
  int64_t dims[16];
  size_t rank = 0;
  OrtStatus* status = rows_and_values(context, "CenterRows: x and dy must be of one size",
                                      "CenterRows: the mean must hold one value per row of x", in, &work.mean, dims,
                                      &rank, &work.n, &work.row);
  if (status) return status;
  work.x = in[0], work.dy = in[1];
  if ((status = writable_output(context, 0, dims, rank, &work.xc))) return status;
  if ((status = writable_output(context, 1, dims, rank, &work.p))) return status;
  return for_blocks(context, center_block, work.n, &work);
}

// LayerNormGradX: the input gradient of LayerNormalization from the rule's per-row factors (engine/autodiff/rules/
// norm.ts): dx = (dy·scale·σ⁻¹ + xc·xcFactor) + shift, in that order, one pass where the rule took five. With a
// seventh input (engine/train/fold-adds.ts), dx + addend: the residual stream's other gradient, the Add after it.
// Inputs: dy [rows × N], scale [N], σ⁻¹ [rows], xc [rows × N], xcFactor [rows], shift [rows], addend (optional,
// as dy).
typedef struct {
  const float *dy, *scale, *inv_std, *xc, *xc_factor, *shift, *addend;
  float* dx;
  size_t n, row;
} LayerNormWork;

static void layer_norm_block(void* data, size_t index) {
  const LayerNormWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  for (size_t i = start, to; i < end; i = to) {
    to = row_part_end(i, w->row, end);
    size_t r = i / w->row, base = r * w->row;
    const float inv_std = w->inv_std[r], xc_factor = w->xc_factor[r], shift = w->shift[r];
    const float *dy = w->dy + base, *xc = w->xc + base, *scale = w->scale;
    float* dx = w->dx + base;
    if (w->addend) {
      const float* addend = w->addend + base;
#pragma GCC ivdep
      for (size_t j = i - base; j < to - base; j++) {
        const float own = (dy[j] * scale[j] * inv_std + xc[j] * xc_factor) + shift;
        dx[j] = own + addend[j];
      }
      continue;
    }
#pragma GCC ivdep
    for (size_t j = i - base; j < to - base; j++) dx[j] = (dy[j] * scale[j] * inv_std + xc[j] * xc_factor) + shift;
  }
}

static OrtStatus* layer_norm_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  LayerNormWork work = {0};
  const OrtValue* value = NULL;
  const float** per_row[] = {&work.inv_std, &work.xc_factor, &work.shift};
  const size_t per_row_input[] = {2, 4, 5};
  int64_t dims[16];
  size_t rank = 0, count = 0;
  OrtStatus* status = NULL;
  const float* full[2];
  // dy and xc (inputs 0 and 3) of one size; same_sized reads inputs 0..k-1, so xc is read on its own below.
  if ((status = same_sized(context, 1, "LayerNormGradX: dy of rank above 16", full, dims, &rank, &work.n))) return status;
  work.dy = full[0];
  if ((status = ort->KernelContext_GetInput(context, 3, &value)) || (status = element_count(value, &count, NULL)))
    return status;
  if (count != work.n) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "LayerNormGradX: dy and xc differ in size");
  ort->GetTensorMutableData((OrtValue*)value, (void**)&work.xc);
  if ((status = ort->KernelContext_GetInput(context, 1, &value)) || (status = element_count(value, &work.row, NULL)))
    return status;
  if (work.row == 0 || work.n % work.row != 0)
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "LayerNormGradX: scale must divide dy into rows");
  ort->GetTensorMutableData((OrtValue*)value, (void**)&work.scale);
  for (size_t k = 0; k < 3; k++) {
    if ((status = ort->KernelContext_GetInput(context, per_row_input[k], &value)) ||
        (status = element_count(value, &count, NULL)))
      return status;
    if (count != work.n / work.row)
      return ort->CreateStatus(ORT_INVALID_ARGUMENT, "LayerNormGradX: σ⁻¹, xcFactor and shift need one value a row");
    ort->GetTensorMutableData((OrtValue*)value, (void**)per_row[k]);
  }
  size_t inputs = 0;
  ort->KernelContext_GetInputCount(context, &inputs);
  value = NULL;
  if (inputs > 6 && (status = ort->KernelContext_GetInput(context, 6, &value))) return status;
  if (value) {
    if ((status = element_count(value, &count, NULL))) return status;
    if (count != work.n) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "LayerNormGradX: dy and addend differ in size");
    ort->GetTensorMutableData((OrtValue*)value, (void**)&work.addend);
  }
  if ((status = writable_output(context, 0, dims, rank, &work.dx))) return status;
  return for_blocks(context, layer_norm_block, work.n, &work);
}

// AddRowBias: x + bias where bias repeats along x's rows: x [rows × L], bias [groups × L], each run of rows/groups
// consecutive rows adding one bias row (a layer's bias: one group; attention's key mask [batch, 1, 1, L] over the
// scores [batch, H, L', L]: a group a text). The same float32 sums as Add, in one pass where ORT's broadcasting Add
// of [32, 4, 64, 64] took 0.24-0.28 ms. Inputs: x, bias.
typedef struct {
  const float *x, *bias;
  float* y;
  size_t n, row, rows_per_group;
} RowBiasWork;

static void row_bias_block(void* data, size_t index) {
  const RowBiasWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  for (size_t i = start, to; i < end; i = to) {
    to = row_part_end(i, w->row, end);
    size_t r = i / w->row, base = r * w->row;
    const float *x = w->x + base, *bias = w->bias + (r / w->rows_per_group) * w->row;
    float* y = w->y + base;
#pragma GCC ivdep
    for (size_t j = i - base; j < to - base; j++) y[j] = x[j] + bias[j];
  }
}

static OrtStatus* row_bias_compute(void* kernel, OrtKernelContext* context) {
  (void)kernel;
  RowBiasWork work = {0};
  const float* in[1];
  int64_t dims[16];
  size_t rank = 0, n_bias = 0;
  const OrtValue* bias = NULL;
  OrtStatus* status = same_sized(context, 1, "AddRowBias: x of rank above 16", in, dims, &rank, &work.n);
  if (status || (status = ort->KernelContext_GetInput(context, 1, &bias)) ||
      (status = element_count(bias, &n_bias, NULL)))
    return status;
  work.x = in[0];
  work.row = rank > 0 ? (size_t)dims[rank - 1] : 1;
  size_t rows = work.row ? work.n / work.row : 0, groups = work.row ? n_bias / work.row : 0;
  if (work.row == 0 || groups == 0 || n_bias % work.row != 0 || rows % groups != 0)
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "AddRowBias: bias must be whole rows, an equal share of x's");
  work.rows_per_group = rows / groups;
  ort->GetTensorMutableData((OrtValue*)bias, (void**)&work.bias);
  if ((status = writable_output(context, 0, dims, rank, &work.y))) return status;
  return for_blocks(context, row_bias_block, work.n, &work);
}

// DropoutKeep: training-time dropout's mask and its product in one pass, where engine/train/dropout.ts builds the
// mask from a dozen ONNX ops (its hash in uint32 ops, a compare, a Cast) over the activation and multiplies by it:
// y = x · (kept ? scale : 0), the element's draw the same uint32 arithmetic as those ops (exact in any order).
// Element e of n, with N = n / draws: counter = (e mod N + key + offset)·COUNTER_MUL, h = xs(xs(counter)·MIX_MUL)
// with xs(v) = v ^ v >> 16, kept when h·DRAW_MULS[e div N] ≥ threshold. Inputs: x (float32), key (int64 scalar).
// Attributes: offset (the node's share of the counter), draws (1, 2 or 4), threshold, scale (1 where a product reads
// y and takes the scale as its alpha). The gradient is the same kernel on dy.
static const uint32_t DRAW_MULS[4] = {0x846ca68bu, 0x9e3779b9u, 0x915f77f5u, 0xae3cc725u};

typedef struct {
  uint32_t offset, threshold;
  size_t draws;
  float scale;
} DropoutAttrs;

typedef struct {
  const float* x;
  float* y;
  size_t n, per_draw;
  uint32_t base;  // key + offset
  DropoutAttrs a;
} DropoutWork;

static void dropout_block(void* data, size_t index) {
  const DropoutWork* w = data;
  BLOCK_RANGE(index, w->n, start, end);
  const float scale = w->a.scale;
  for (size_t e = start, to; e < end; e = to) {
    const size_t j = e / w->per_draw, first = j * w->per_draw;
    to = first + w->per_draw < end ? first + w->per_draw : end;
    const uint32_t mul = DRAW_MULS[j], threshold = w->a.threshold, base = w->base;
    const float* x = w->x;
    float* y = w->y;
    for (size_t i = e; i < to; i++) {
      uint32_t c = ((uint32_t)(i - first) + base) * 0x9e3779b1u;
      c ^= c >> 16;
      c *= 0x7feb352du;
      c ^= c >> 16;
      y[i] = x[i] * (c * mul >= threshold ? scale : 0.0f);
    }
  }
}

static OrtStatus* dropout_create(const OrtCustomOp* op, const OrtApi* api, const OrtKernelInfo* info, void** kernel) {
  (void)op;
  DropoutAttrs* a = calloc(1, sizeof *a);
  if (!a) return api->CreateStatus(ORT_FAIL, "DropoutKeep: out of memory");
  int64_t offset = 0, draws = 0, threshold = 0;
  OrtStatus* status = api->KernelInfoGetAttribute_int64(info, "offset", &offset);
  if (!status) status = api->KernelInfoGetAttribute_int64(info, "draws", &draws);
  if (!status) status = api->KernelInfoGetAttribute_int64(info, "threshold", &threshold);
  if (!status) status = api->KernelInfoGetAttribute_float(info, "scale", &a->scale);
  if (!status && (draws < 1 || draws > 4 || offset < 0 || offset > UINT32_MAX || threshold < 0 || threshold > UINT32_MAX))
    status = api->CreateStatus(ORT_INVALID_ARGUMENT, "DropoutKeep: draws 1 to 4, offset and threshold uint32");
  if (status) {
    free(a);
    return status;
  }
  a->offset = (uint32_t)offset, a->threshold = (uint32_t)threshold, a->draws = (size_t)draws;
  *kernel = a;
  return NULL;
}

static OrtStatus* dropout_compute(void* kernel, OrtKernelContext* context) {
  DropoutWork work = {.a = *(const DropoutAttrs*)kernel};
  const float* in[1];
  int64_t dims[16];
  size_t rank = 0, count = 0;
  const OrtValue* key = NULL;
  const int64_t* key_data = NULL;
  OrtStatus* status = same_sized(context, 1, "DropoutKeep: x of rank above 16", in, dims, &rank, &work.n);
  if (status || (status = ort->KernelContext_GetInput(context, 1, &key)) ||
      (status = element_count(key, &count, NULL)))
    return status;
  if (count != 1) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "DropoutKeep: the key is one int64");
  if (work.n % work.a.draws != 0)
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "DropoutKeep: x's size is not a multiple of its draws");
  ort->GetTensorMutableData((OrtValue*)key, (void**)&key_data);
  work.x = in[0];
  work.per_draw = work.n / work.a.draws;
  work.base = (uint32_t)key_data[0] + work.a.offset;
  if ((status = writable_output(context, 0, dims, rank, &work.y))) return status;
  return for_blocks(context, dropout_block, work.n, &work);
}

// SplitHeads and MergeHeads: attention's heads in and out of the [rows, L, width] activations, where the ONNX
// graph takes a Split, a Reshape and a Transpose for each of Q, K and V (and an Add of their bias before): one pass
// where that took five. Attributes: `heads` (H) and `transposed`, one entry a part of the width, 1 where that
// part's heads are laid out [rows, H, dh, L] (K, for the scores' product), 0 for [rows, H, L, dh]; attributes, not
// inputs, so that ORT's shape inference knows the parts' shapes (shape_of_heads).
// SplitHeads: x [rows…, L, width], bias [width] (optional) → parts y_p = (x + bias)[…, p·H·dh + h·dh + j], each
// x + bias the float32 sum Add makes. MergeHeads: y₀, y₁, … → x [rows…, L, width] (copies only).
typedef struct {
  float* x;  // SplitHeads reads it, MergeHeads writes it
  const float* bias;
  float* parts[16];
  int64_t transposed[16];
  size_t n_parts, heads, dh, length, width;
  int split;
} HeadsWork;

/** Text `index` (one of rows): its L × width values to and from the parts' heads. */
static void heads_block(void* data, size_t index) {
  const HeadsWork* w = data;
  const size_t L = w->length, dh = w->dh, W = w->width, part_width = w->heads * dh;
  float* x = w->x + index * L * W;
  for (size_t p = 0; p < w->n_parts; p++) {
    float* y = w->parts[p] + index * L * part_width;
    const float* bias = w->bias ? w->bias + p * part_width : NULL;
    float* xp = x + p * part_width;
    // Loops in the order that walks the heads' side contiguously, each a loop the compiler can vectorise.
    for (size_t h = 0; h < w->heads; h++) {
      float* head = y + h * L * dh;
      float* at = xp + h * dh;
      const float* b = bias ? bias + h * dh : NULL;
      if (!w->transposed[p]) {
        for (size_t l = 0; l < L; l++) {
          float *restrict hv = head + l * dh, *restrict xv = at + l * W;
          if (!w->split) {
            for (size_t j = 0; j < dh; j++) xv[j] = hv[j];
          } else if (b) {
            for (size_t j = 0; j < dh; j++) hv[j] = xv[j] + b[j];
          } else {
            for (size_t j = 0; j < dh; j++) hv[j] = xv[j];
          }
        }
      } else {
        for (size_t j = 0; j < dh; j++) {
          float *restrict hv = head + j * L, *restrict xv = at + j;
          const float bj = b ? b[j] : 0.0f;
          if (!w->split) {
            for (size_t l = 0; l < L; l++) xv[l * W] = hv[l];
          } else if (b) {
            for (size_t l = 0; l < L; l++) hv[l] = xv[l * W] + bj;
          } else {
            for (size_t l = 0; l < L; l++) hv[l] = xv[l * W];
          }
        }
      }
    }
  }
}

/** A heads node's attributes, read once when ORT makes its kernel. */
typedef struct {
  size_t heads, n_parts;
  int64_t transposed[16];
} HeadsLayout;

static OrtStatus* heads_create(const OrtCustomOp* op, const OrtApi* api, const OrtKernelInfo* info, void** kernel) {
  (void)op;
  HeadsLayout* layout = calloc(1, sizeof *layout);
  if (!layout) return api->CreateStatus(ORT_FAIL, "heads kernel: out of memory");
  int64_t heads = 0;
  size_t parts = 16;
  OrtStatus* status = api->KernelInfoGetAttribute_int64(info, "heads", &heads);
  if (!status) status = api->KernelInfoGetAttributeArray_int64(info, "transposed", layout->transposed, &parts);
  if (!status && (heads < 1 || parts < 1 || parts > 16))
    status = api->CreateStatus(ORT_INVALID_ARGUMENT, "heads kernel: heads ≥ 1 and 1 to 16 parts");
  for (size_t p = 0; !status && p < parts; p++)
    if (layout->transposed[p] != 0 && layout->transposed[p] != 1)
      status = api->CreateStatus(ORT_INVALID_ARGUMENT, "heads kernel: each part's `transposed` is 0 or 1");
  if (status) {
    free(layout);
    return status;
  }
  layout->heads = (size_t)heads, layout->n_parts = parts;
  *kernel = layout;
  return NULL;
}

static void heads_layout(const void* kernel, HeadsWork* work) {
  const HeadsLayout* layout = kernel;
  work->heads = layout->heads, work->n_parts = layout->n_parts;
  memcpy(work->transposed, layout->transposed, sizeof work->transposed);
}

/** The dims of a part, [rows…, H, L, dh] or [rows…, H, dh, L], from the activations' [rows…, L, width]. */
static void part_dims(const HeadsWork* w, const int64_t* dims, size_t rank, size_t p, int64_t* out) {
  for (size_t i = 0; i + 2 < rank; i++) out[i] = dims[i];
  out[rank - 2] = (int64_t)w->heads;
  out[rank - 1] = (int64_t)(w->transposed[p] ? w->dh : w->length);
  out[rank] = (int64_t)(w->transposed[p] ? w->length : w->dh);
}

static OrtStatus* split_heads_compute(void* kernel, OrtKernelContext* context) {
  HeadsWork work = {.split = 1};
  heads_layout(kernel, &work);
  int64_t dims[16], part[17];
  size_t rank = 0, n = 0, outputs = 0;
  const float* in[1];
  const OrtValue* bias = NULL;
  OrtStatus* status = same_sized(context, 1, "SplitHeads: x of rank above 16", in, dims, &rank, &n);
  if (status || (status = ort->KernelContext_GetOutputCount(context, &outputs)))
    return status;
  if (rank < 2 || outputs != work.n_parts)
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "SplitHeads: x [rows, L, width] and one output a part");
  work.x = (float*)in[0];
  work.length = (size_t)dims[rank - 2], work.width = (size_t)dims[rank - 1];
  if (work.width % (work.n_parts * work.heads) != 0)
    return ort->CreateStatus(ORT_INVALID_ARGUMENT, "SplitHeads: the width is not parts × heads × head size");
  work.dh = work.width / (work.n_parts * work.heads);
  size_t inputs = 0;
  ort->KernelContext_GetInputCount(context, &inputs);
  if (inputs > 1 && (status = ort->KernelContext_GetInput(context, 1, &bias))) return status;
  if (bias) {
    size_t count = 0;
    if ((status = element_count(bias, &count, NULL))) return status;
    if (count != work.width) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "SplitHeads: bias must be [width]");
    ort->GetTensorMutableData((OrtValue*)bias, (void**)&work.bias);
  }
  for (size_t p = 0; p < work.n_parts; p++) {
    part_dims(&work, dims, rank, p, part);
    if ((status = writable_output(context, p, part, rank + 1, &work.parts[p]))) return status;
  }
  size_t texts = work.length && work.width ? n / (work.length * work.width) : 0;
  return texts ? ort->KernelContext_ParallelFor(context, heads_block, texts, 0, &work) : NULL;
}

static OrtStatus* merge_heads_compute(void* kernel, OrtKernelContext* context) {
  HeadsWork work = {.split = 0};
  heads_layout(kernel, &work);
  size_t inputs = 0;
  OrtStatus* status = ort->KernelContext_GetInputCount(context, &inputs);
  if (status) return status;
  if (inputs != work.n_parts) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "MergeHeads: one input a part");
  int64_t dims[17], first[17];
  size_t rank = 0;
  for (size_t p = 0; p < work.n_parts; p++) {
    const OrtValue* value = NULL;
    OrtTensorTypeAndShapeInfo* info = NULL;
    size_t r = 0;
    if ((status = ort->KernelContext_GetInput(context, p, &value)) ||
        (status = ort->GetTensorTypeAndShape(value, &info)))
      return status;
    ort->GetDimensionsCount(info, &r);
    if (r >= 3 && r <= 17) ort->GetDimensions(info, dims, r);
    ort->ReleaseTensorTypeAndShapeInfo(info);
    if (r < 3 || r > 17) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "MergeHeads: parts [rows, H, L, dh]");
    if (p == 0) {
      rank = r - 1;
      work.length = (size_t)dims[work.transposed[0] ? r - 1 : r - 2];
      work.dh = (size_t)dims[work.transposed[0] ? r - 2 : r - 1];
      if ((size_t)dims[r - 3] != work.heads) return ort->CreateStatus(ORT_INVALID_ARGUMENT, "MergeHeads: not H heads");
      memcpy(first, dims, r * sizeof(int64_t));
      work.width = work.heads * work.dh * work.n_parts;
    }
    int64_t want[17];
    part_dims(&work, first, rank, p, want);
    if (r != rank + 1 || memcmp(want, dims, r * sizeof(int64_t)) != 0)
      return ort->CreateStatus(ORT_INVALID_ARGUMENT, "MergeHeads: the parts differ in shape");
    ort->GetTensorMutableData((OrtValue*)value, (void**)&work.parts[p]);
  }
  first[rank - 2] = (int64_t)work.length, first[rank - 1] = (int64_t)work.width;
  if ((status = writable_output(context, 0, first, rank, &work.x))) return status;
  size_t texts = 1;
  for (size_t i = 0; i + 2 < rank; i++) texts *= (size_t)first[i];
  return work.length && work.width && texts ? ort->KernelContext_ParallelFor(context, heads_block, texts, 0, &work)
                                            : NULL;
}

// Every kernel is described by one entry of KERNELS: the callbacks below read it back through the OrtCustomOp that
// heads it.
typedef struct {
  OrtCustomOp op;  // first: ORT passes &op, which is the entry's address
  const char* name;
  OrtStatus* (*compute)(void*, OrtKernelContext*);
  size_t inputs, outputs;
  const ONNXTensorElementDataType* input_types;  // ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED: any, checked in compute
  size_t (*may_inplace)(int**, int**);
  OrtStatus* (*infer_shape)(const OrtCustomOp*, OrtShapeInferContext*);  // NULL: ORT knows no output shape
  OrtStatus* (*create)(const OrtCustomOp*, const OrtApi*, const OrtKernelInfo*, void**);  // NULL: stateless
  void (*destroy)(void*);
  unsigned optional_inputs;             // a bit an input
  int variadic_inputs, variadic_outputs;  // the last input (output) repeats, one or more times
} Kernel;

#define KERNEL(op) ((const Kernel*)(op))
static const char* kernel_name(const OrtCustomOp* op) { return KERNEL(op)->name; }
static const char* cpu_provider(const OrtCustomOp* op) { (void)op; return "CPUExecutionProvider"; }
static size_t input_count(const OrtCustomOp* op) { return KERNEL(op)->inputs; }
static size_t output_count(const OrtCustomOp* op) { return KERNEL(op)->outputs; }
static ONNXTensorElementDataType input_type(const OrtCustomOp* op, size_t i) { return KERNEL(op)->input_types[i]; }
static ONNXTensorElementDataType float_output(const OrtCustomOp* op, size_t i) {
  (void)op, (void)i;
  return ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT;
}
static OrtCustomOpInputOutputCharacteristic input_kind(const OrtCustomOp* op, size_t i) {
  const Kernel* k = KERNEL(op);
  if (k->variadic_inputs && i + 1 == k->inputs) return INPUT_OUTPUT_VARIADIC;
  return k->optional_inputs >> i & 1 ? INPUT_OUTPUT_OPTIONAL : INPUT_OUTPUT_REQUIRED;
}
static OrtCustomOpInputOutputCharacteristic output_kind(const OrtCustomOp* op, size_t i) {
  const Kernel* k = KERNEL(op);
  return k->variadic_outputs && i + 1 == k->outputs ? INPUT_OUTPUT_VARIADIC : INPUT_OUTPUT_REQUIRED;
}
static OrtMemType cpu_memory(const OrtCustomOp* op, size_t i) { (void)op, (void)i; return OrtMemTypeDefault; }
static int one(const OrtCustomOp* op) { (void)op; return 1; }
static int any_version(const OrtCustomOp* op) { (void)op; return INT32_MAX; }
static OrtStatus* stateless(const OrtCustomOp* op, const OrtApi* api, const OrtKernelInfo* info, void** kernel) {
  (void)api, (void)info;
  *kernel = (void*)op;  // any non-null handle
  return NULL;
}
static void no_state(void* kernel) { (void)kernel; }

// Output shapes for ORT's graph optimisations: a rewrite that needs to know a value's shape (MatMulScaleFusion, which
// moves a scalar Mul into a product as its alpha) passes over the values after a node whose outputs it cannot infer,
// and the step's arithmetic would then differ from the ONNX ops' step. Every output of these kernels has input 0's.
static unsigned long unknown_dims;  // sessions are opened one at a time (runner.c's open is synchronous)

/** Output `index` as float32 of `dims` (-1 unknown) with `names` (NULL or "" where none). */
static OrtStatus* set_output_shape(OrtShapeInferContext* context, size_t index, const int64_t* dims,
                                   const char** names, size_t rank) {
  // Unknown dims read -1 in an input's info, which ORT would write back as the dim value -1 (a Reshape downstream
  // then saw two -1s in a shape): each gets a name used nowhere else, as two dims of one name would read as equal.
  char unknown[17][24];
  const char* named[17];
  for (size_t i = 0; i < rank; i++) {
    named[i] = names[i] ? names[i] : "";
    if (dims[i] >= 0 || named[i][0]) continue;
    snprintf(unknown[i], sizeof unknown[i], "ratchet_unknown_%lu", ++unknown_dims);
    named[i] = unknown[i];
  }
  OrtTensorTypeAndShapeInfo* out = NULL;
  OrtStatus* status = ort->CreateTensorTypeAndShapeInfo(&out);
  if (!status) status = ort->SetTensorElementType(out, ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT);
  if (!status) status = ort->SetDimensions(out, dims, rank);
  if (!status) status = ort->SetSymbolicDimensions(out, named, rank);
  if (!status) status = ort->ShapeInferContext_SetOutputTypeShape(context, index, out);
  if (out) ort->ReleaseTensorTypeAndShapeInfo(out);
  return status;
}

/**
 * Input `index`'s dims and their names (up to 16; the context owns the info); rank 0 where larger, or where ORT knows
 * none: an input of unknown shape reads as rank 0, as a scalar would, so callers then set no output shape.
 */
static OrtStatus* input_shape(OrtShapeInferContext* context, size_t index, int64_t* dims, const char** names,
                              size_t* rank) {
  OrtTensorTypeAndShapeInfo* in = NULL;
  OrtStatus* status = ort->ShapeInferContext_GetInputTypeShape(context, index, &in);
  if (!status) status = ort->GetDimensionsCount(in, rank);
  if (!status && *rank > 16) *rank = 0;
  for (size_t i = 0; i < *rank; i++) names[i] = NULL;
  if (!status) status = ort->GetDimensions(in, dims, *rank);
  if (!status) status = ort->GetSymbolicDimensions(in, names, *rank);
  return status;
}

// Every output with input 0's shape (all float32 kernels of one shape in, one out).
static OrtStatus* like_input0(const OrtCustomOp* op, OrtShapeInferContext* context) {
  int64_t dims[16];
  const char* names[16];
  size_t rank = 0;
  OrtStatus* status = input_shape(context, 0, dims, names, &rank);
  for (size_t i = 0; !status && rank > 0 && i < KERNEL(op)->outputs; i++)
    status = set_output_shape(context, i, dims, names, rank);
  return status;
}

static OrtStatus* heads_attributes(OrtShapeInferContext* context, HeadsLayout* layout) {
  const OrtOpAttr* attr = NULL;
  int64_t heads = 0;
  size_t size = 0;
  OrtStatus* status = ort->ShapeInferContext_GetAttribute(context, "heads", &attr);
  if (!status) status = ort->ReadOpAttr(attr, ORT_OP_ATTR_INT, &heads, sizeof heads, &size);
  if (!status) status = ort->ShapeInferContext_GetAttribute(context, "transposed", &attr);
  if (!status) status = ort->ReadOpAttr(attr, ORT_OP_ATTR_INTS, layout->transposed, sizeof layout->transposed, &size);
  layout->heads = heads > 0 ? (size_t)heads : 0, layout->n_parts = size / sizeof(int64_t);
  if (!status && (heads < 1 || layout->n_parts < 1))
    status = ort->CreateStatus(ORT_INVALID_ARGUMENT, "heads kernel: heads ≥ 1 and 1 to 16 parts");
  return status;
}

/** SplitHeads' parts from x [rows…, L, width]; MergeHeads' x from part 0 [rows…, H, L, dh] (or [.., dh, L]). */
static OrtStatus* shape_of_heads(const OrtCustomOp* op, OrtShapeInferContext* context) {
  HeadsLayout layout = {0};
  int64_t dims[16], out[17];
  const char *names[16], *named[17];
  size_t rank = 0;
  OrtStatus* status = heads_attributes(context, &layout);
  if (!status) status = input_shape(context, 0, dims, names, &rank);
  const int split = KERNEL(op)->variadic_outputs;
  if (status || rank < (split ? 2u : 3u)) return status;
  const int64_t H = (int64_t)layout.heads, P = (int64_t)layout.n_parts;
  for (size_t i = 0; i < rank; i++) out[i] = dims[i], named[i] = names[i];
  if (split) {
    const int64_t L = dims[rank - 2], width = dims[rank - 1];
    const char* L_name = names[rank - 2];
    const int64_t dh = width >= 0 && width % (P * H) == 0 ? width / (P * H) : -1;
    for (size_t p = 0; !status && p < layout.n_parts; p++) {
      out[rank - 2] = H, named[rank - 2] = NULL;
      out[rank - 1] = layout.transposed[p] ? dh : L, named[rank - 1] = layout.transposed[p] ? NULL : L_name;
      out[rank] = layout.transposed[p] ? L : dh, named[rank] = layout.transposed[p] ? L_name : NULL;
      status = set_output_shape(context, p, out, named, rank + 1);
    }
    return status;
  }
  const size_t l = layout.transposed[0] ? rank - 1 : rank - 2, d = layout.transposed[0] ? rank - 2 : rank - 1;
  out[rank - 3] = dims[l], named[rank - 3] = names[l];
  out[rank - 2] = dims[d] >= 0 ? dims[d] * H * P : -1, named[rank - 2] = NULL;
  return set_output_shape(context, 0, out, named, rank - 1);
}

// param', M' and V' may take the buffers of param, M and V when nothing else reads those after the update.
static size_t adamw_inplace(int** input_index, int** output_index) {
  *input_index = malloc(3 * sizeof(int));
  *output_index = malloc(3 * sizeof(int));
  if (!*input_index || !*output_index) return 0;
  const int inputs[3] = {0, 2, 3};
  for (int i = 0; i < 3; i++) (*input_index)[i] = inputs[i], (*output_index)[i] = i;
  return 3;
}
// dx may take dy's buffer.
static size_t first_inplace(int** input_index, int** output_index) {
  *input_index = malloc(sizeof(int));
  *output_index = malloc(sizeof(int));
  if (!*input_index || !*output_index) return 0;
  **input_index = 0, **output_index = 0;
  return 1;
}
// dx may take dy's buffer, the second input.
static size_t second_inplace(int** input_index, int** output_index) {
  *input_index = malloc(sizeof(int));
  *output_index = malloc(sizeof(int));
  if (!*input_index || !*output_index) return 0;
  **input_index = 1, **output_index = 0;
  return 1;
}
static size_t none_inplace(int** input_index, int** output_index) {
  *input_index = NULL, *output_index = NULL;
  return 0;
}
static void release_pairs(int* input_index, int* output_index) {
  free(input_index);
  free(output_index);
}

#define F ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT
static const ONNXTensorElementDataType ADAMW_INPUTS[] = {F, F, F, F, F, F, F, F, F};
static const ONNXTensorElementDataType RELU_INPUTS[] = {F, F};
static const ONNXTensorElementDataType GELU_INPUTS[] = {F, F, F, F, F};
static const ONNXTensorElementDataType SCALE_SQUARE_INPUTS[] = {F, F};
static const ONNXTensorElementDataType CENTER_INPUTS[] = {F, F, F};
static const ONNXTensorElementDataType SOFTMAX_INPUTS[] = {F, F, F};
static const ONNXTensorElementDataType LAYER_NORM_INPUTS[] = {F, F, F, F, F, F, F};
static const ONNXTensorElementDataType ROW_BIAS_INPUTS[] = {F, F};
static const ONNXTensorElementDataType DROPOUT_INPUTS[] = {F, ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64};
static const ONNXTensorElementDataType SPLIT_HEADS_INPUTS[] = {F, F};
static const ONNXTensorElementDataType MERGE_HEADS_INPUTS[] = {F};
static const ONNXTensorElementDataType SCATTER_INPUTS[] = {ONNX_TENSOR_ELEMENT_DATA_TYPE_UNDEFINED, F,
                                                           ONNX_TENSOR_ELEMENT_DATA_TYPE_INT64};
#undef F

static Kernel KERNELS[] = {
    {.name = "AdamW", .infer_shape = like_input0, .compute = adamw_compute, .inputs = 9, .outputs = 3, .input_types = ADAMW_INPUTS,
     .may_inplace = adamw_inplace},
    {.name = "ReluGrad", .infer_shape = like_input0, .compute = relu_compute, .inputs = 2, .outputs = 1, .input_types = RELU_INPUTS,
     .may_inplace = first_inplace},
    {.name = "GeluGrad", .infer_shape = like_input0, .compute = gelu_compute, .inputs = 5, .outputs = 1, .input_types = GELU_INPUTS,
     .may_inplace = first_inplace},
    {.name = "ScaleSquare", .infer_shape = like_input0, .compute = scale_square_compute, .inputs = 2, .outputs = 2,
     .input_types = SCALE_SQUARE_INPUTS, .may_inplace = first_inplace},
    {.name = "SoftmaxGrad", .infer_shape = like_input0, .compute = softmax_compute, .inputs = 3, .outputs = 1, .input_types = SOFTMAX_INPUTS,
     .may_inplace = second_inplace},
    {.name = "CenterRows", .infer_shape = like_input0, .compute = center_compute, .inputs = 3, .outputs = 2,
     .input_types = CENTER_INPUTS, .may_inplace = first_inplace},
    {.name = "LayerNormGradX", .infer_shape = like_input0, .compute = layer_norm_compute, .inputs = 7, .outputs = 1,
     .input_types = LAYER_NORM_INPUTS, .may_inplace = first_inplace, .optional_inputs = 1u << 6},
    {.name = "AddRowBias", .infer_shape = like_input0, .compute = row_bias_compute, .inputs = 2, .outputs = 1, .input_types = ROW_BIAS_INPUTS,
     .may_inplace = first_inplace},
    {.name = "DropoutKeep", .compute = dropout_compute, .inputs = 2, .outputs = 1, .input_types = DROPOUT_INPUTS,
     .may_inplace = first_inplace, .infer_shape = like_input0, .create = dropout_create, .destroy = free},
    {.name = "SplitHeads", .compute = split_heads_compute, .inputs = 2, .outputs = 1,
     .input_types = SPLIT_HEADS_INPUTS, .may_inplace = none_inplace, .optional_inputs = 1u << 1,
     .variadic_outputs = 1, .infer_shape = shape_of_heads, .create = heads_create, .destroy = free},
    {.name = "MergeHeads", .compute = merge_heads_compute, .inputs = 1, .outputs = 1,
     .input_types = MERGE_HEADS_INPUTS, .may_inplace = none_inplace, .variadic_inputs = 1,
     .infer_shape = shape_of_heads, .create = heads_create, .destroy = free},
    {.name = "ScatterAddRows", .compute = scatter_compute, .inputs = 3, .outputs = 1, .input_types = SCATTER_INPUTS,
     .may_inplace = none_inplace},
};

// The domain must outlive every session that uses it: made on the first session, kept for the process.
static OrtCustomOpDomain* domain;

OrtStatus* ratchet_add_kernels(const OrtApi* api, OrtSessionOptions* options) {
  if (domain) return api->AddCustomOpDomain(options, domain);
  ort = api;
  OrtStatus* status = api->CreateCustomOpDomain(RATCHET_DOMAIN, &domain);
  for (size_t i = 0; !status && i < sizeof KERNELS / sizeof KERNELS[0]; i++) {
    KERNELS[i].op = (OrtCustomOp){
        .version = RATCHET_ORT_API,
        .GetName = kernel_name,
        .GetExecutionProviderType = cpu_provider,
        .GetInputType = input_type,
        .GetInputTypeCount = input_count,
        .GetOutputType = float_output,
        .GetOutputTypeCount = output_count,
        .KernelDestroy = KERNELS[i].destroy ? KERNELS[i].destroy : no_state,
        .GetInputCharacteristic = input_kind,
        .GetOutputCharacteristic = output_kind,
        .GetInputMemoryType = cpu_memory,
        .GetVariadicInputMinArity = one,
        .GetVariadicInputHomogeneity = one,
        .GetVariadicOutputMinArity = one,
        .GetVariadicOutputHomogeneity = one,
        .CreateKernelV2 = KERNELS[i].create ? KERNELS[i].create : stateless,
        .KernelComputeV2 = KERNELS[i].compute,
        .GetStartVersion = one,
        .GetEndVersion = any_version,
        .GetMayInplace = KERNELS[i].may_inplace,
        .ReleaseMayInplace = release_pairs,
        .InferOutputShapeFn = KERNELS[i].infer_shape,
        .GetAliasMap = none_inplace,
        .ReleaseAliasMap = release_pairs,
    };
    status = api->CustomOpDomain_Add(domain, &KERNELS[i].op);
  }
  if (status) {
    domain = NULL;
    return status;
  }
  return api->AddCustomOpDomain(options, domain);
}
