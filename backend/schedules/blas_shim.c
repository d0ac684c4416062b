/* BLAS replacement shim: MLIR calls these through its C interface
 * (`_mlir_ciface_<name>`, memref descriptors by pointer) after a linalg.matmul
 * on memrefs was rewritten into a func.call (backend/schedules/blas.py).
 * C += A * B, row major. Views whose innermost stride is not 1 (never produced
 * by the rewrite's callers today) take a plain loop, so the call is always correct. */
#include <stdint.h>
#include <cblas.h>

#define DESC(T) struct { T *allocated, *aligned; int64_t offset, sizes[2], strides[2]; }
typedef DESC(float) desc_f32;
typedef DESC(double) desc_f64;

#define GEMM(NAME, T, DESC_T, CBLAS)                                                  \
  void NAME(DESC_T *a, DESC_T *b, DESC_T *c) {                                        \
    int64_t m = a->sizes[0], k = a->sizes[1], n = b->sizes[1];                        \
    T *pa = a->aligned + a->offset, *pb = b->aligned + b->offset;                     \
    T *pc = c->aligned + c->offset;                                                   \
    if (m == 0 || n == 0) return;                                                     \
    if (a->strides[1] == 1 && b->strides[1] == 1 && c->strides[1] == 1 &&             \
        a->strides[0] >= (k > 1 ? k : 1) && b->strides[0] >= (n > 1 ? n : 1) &&       \
        c->strides[0] >= (n > 1 ? n : 1)) {                                           \
      CBLAS(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)m, (int)n, (int)k, 1,     \
            pa, (int)a->strides[0], pb, (int)b->strides[0], 1, pc, (int)c->strides[0]); \
      return;                                                                         \
    }                                                                                 \
    for (int64_t i = 0; i < m; ++i)                                                   \
      for (int64_t p = 0; p < k; ++p)                                                 \
        for (int64_t j = 0; j < n; ++j)                                               \
          pc[i * c->strides[0] + j * c->strides[1]] +=                                \
              pa[i * a->strides[0] + p * a->strides[1]] *                             \
              pb[p * b->strides[0] + j * b->strides[1]];                              \
  }

GEMM(_mlir_ciface_mlirboot_blas_sgemm, float, desc_f32, cblas_sgemm)
GEMM(_mlir_ciface_mlirboot_blas_dgemm, double, desc_f64, cblas_dgemm)
