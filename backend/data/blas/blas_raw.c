/* Scalar-argument entry to the BLAS shim (backend/schedules/blas_shim.c).
 * The backend's pipelines lower functions with the bare-pointer memref calling
 * convention, which cannot pass the shim's strided, dynamic memref descriptors;
 * the `blas` step instead passes each operand's aligned pointer, offset, sizes
 * and strides as integers, and this function rebuilds the descriptors. */
#include <stdint.h>

#define DESC(T) struct { T *allocated, *aligned; int64_t offset, sizes[2], strides[2]; }
typedef DESC(float) desc_f32;
typedef DESC(double) desc_f64;

void _mlir_ciface_mlirboot_blas_sgemm(desc_f32 *a, desc_f32 *b, desc_f32 *c);
void _mlir_ciface_mlirboot_blas_dgemm(desc_f64 *a, desc_f64 *b, desc_f64 *c);

#define FIELDS(X) int64_t X##p, int64_t X##o, int64_t X##s0, int64_t X##s1, int64_t X##t0, int64_t X##t1
#define MAKE(T, X) {(T *)(intptr_t)X##p, (T *)(intptr_t)X##p, X##o, {X##s0, X##s1}, {X##t0, X##t1}}

#define RAW(NAME, T, DESC_T, CIFACE)                                                 \
  void NAME(FIELDS(a), FIELDS(b), FIELDS(c)) {                                       \
    DESC_T da = MAKE(T, a), db = MAKE(T, b), dc = MAKE(T, c);                        \
    CIFACE(&da, &db, &dc);                                                           \
  }

RAW(mlirboot_blas_sgemm_raw, float, desc_f32, _mlir_ciface_mlirboot_blas_sgemm)
RAW(mlirboot_blas_dgemm_raw, double, desc_f64, _mlir_ciface_mlirboot_blas_dgemm)
