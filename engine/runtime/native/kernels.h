// The engine's own ONNX Runtime kernels (domain ai.ratchet), registered on every session the native runner opens.
#pragma once
#include "onnxruntime_c_api.h"

#define RATCHET_DOMAIN "ai.ratchet"
/** The C API version the runner asks for: the oldest with every call used here (1.20's in-place outputs). */
#define RATCHET_ORT_API 20

OrtStatus* ratchet_add_kernels(const OrtApi* api, OrtSessionOptions* options);
