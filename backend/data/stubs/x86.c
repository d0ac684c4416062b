// x86-64 as the offload device: the OpenMP device runtime entry points that
// MLIR's omp.target lowering calls (with omp.is_target_device = true it calls
// the GPU DeviceRTL's entries even for a CPU device), mapped onto the host's
// libomp. The offload runtime's host plugin launches every kernel once, on
// one thread, in Generic mode; the kernel's omp.parallel regions fork libomp
// teams (OMP_NUM_THREADS threads; libomp's default: one per core).
//
// Compiled by the backend with the toolchain's clang to bitcode and linked
// into the device IR (backend/steps/offload.py linked_device_ir); the device
// image is linked against libomp by clang-linker-wrapper (the host link's
// -lomp), which defines __kmpc_fork_call, omp_get_thread_num, ...
//
// MLIRBOOT_OFFLOAD_THREADS (environment, any value): when the device image is
// unloaded (at exit), print to stderr how many distinct threads ran
// worksharing-loop iterations in its kernels (the tests use this to prove the
// kernels ran on >1 thread).
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct ident ident_t;
typedef void (*microtask_t)(int32_t *gtid, int32_t *btid, ...);
extern void __kmpc_fork_call(ident_t *loc, int32_t argc, microtask_t task, ...);
extern void __kmpc_push_num_threads(ident_t *loc, int32_t gtid, int32_t n);
extern void __kmpc_serialized_parallel(ident_t *loc, int32_t gtid);
extern void __kmpc_end_serialized_parallel(ident_t *loc, int32_t gtid);
extern int omp_get_thread_num(void);
extern int omp_get_num_threads(void);

// Threads (by number in their team, up to 64) that ran loop iterations in the
// image's kernels.
static uint64_t ran_iterations;

int32_t __kmpc_target_init(void *kernel_env, void *launch_env) {
  (void)kernel_env, (void)launch_env;
  return -1;  // "this thread runs the target region" (the Generic-mode main thread)
}

void __kmpc_target_deinit(void) {}

__attribute__((destructor)) static void report_threads(void) {
  if (getenv("MLIRBOOT_OFFLOAD_THREADS"))
    fprintf(stderr, "mlirboot-device: loop iterations ran on %d threads\n",
            __builtin_popcountll(__atomic_load_n(&ran_iterations, __ATOMIC_RELAXED)));
}

// An outlined parallel region gets (gtid*, btid*, args[0], ..., args[nargs-1]).
struct region {
  void *fn;
  void **args;
  int64_t nargs;
};

typedef void (*fn0)(int32_t *, int32_t *);
typedef void (*fn1)(int32_t *, int32_t *, void *);
typedef void (*fn2)(int32_t *, int32_t *, void *, void *);
typedef void (*fn3)(int32_t *, int32_t *, void *, void *, void *);
typedef void (*fn4)(int32_t *, int32_t *, void *, void *, void *, void *);

static void run_region(int32_t *gtid, int32_t *btid, struct region *r) {
  void **a = r->args;
  switch (r->nargs) {
  case 0: ((fn0)r->fn)(gtid, btid); return;
  case 1: ((fn1)r->fn)(gtid, btid, a[0]); return;
  case 2: ((fn2)r->fn)(gtid, btid, a[0], a[1]); return;
  case 3: ((fn3)r->fn)(gtid, btid, a[0], a[1], a[2]); return;
  case 4: ((fn4)r->fn)(gtid, btid, a[0], a[1], a[2], a[3]); return;
  }
  fprintf(stderr, "mlirboot-device: a parallel region with %lld arguments\n", (long long)r->nargs);
  abort();
}

void __kmpc_parallel_60(ident_t *loc, int32_t gtid, int32_t if_expr, int32_t num_threads,
                        int proc_bind, void *fn, void *wrapper_fn, void **args, int64_t nargs,
                        int32_t nt_strict) {
  (void)proc_bind, (void)wrapper_fn, (void)nt_strict;
  struct region r = {fn, args, nargs};
  if (!if_expr) {
    int32_t zero = 0;
    __kmpc_serialized_parallel(loc, gtid);
    run_region(&gtid, &zero, &r);
    __kmpc_end_serialized_parallel(loc, gtid);
    return;
  }
  if (num_threads > 0)
    __kmpc_push_num_threads(loc, gtid, num_threads);
  __kmpc_fork_call(loc, 1, (microtask_t)run_region, &r);
}

// Worksharing loops (omp.wsloop): the body runs for iv in [0, n) (normalized);
// each thread of the current team takes one contiguous block (a chunk size,
// when given, deals chunks round-robin instead). No barrier: the region's join
// follows. The composite form's entries (omp.teams + omp.distribute around
// omp.parallel + omp.wsloop; one kernel per parallel loop nest, see
// backend/passes/OffloadNests.cpp) run on the host plugin's one team: the
// device-side omp.teams is a no-op (the team count is the launch's, one), so
// distribute + for splits [0, n) among the threads of the parallel region
// exactly as for does (the thread chunk, when given, deals chunks), and a
// bare distribute runs every iteration on the calling thread.
#define STATIC_LOOPS(SUFFIX, T)                                                       \
  static void for_##SUFFIX(void (*body)(T, void *), void *arg, T n, T chunk) {        \
    T tid = (T)omp_get_thread_num(), nt = (T)omp_get_num_threads();                  \
    if (tid * (chunk > 0 ? chunk : 1) < n && tid < 64) /* it runs an iteration */     \
      __atomic_fetch_or(&ran_iterations, 1ull << tid, __ATOMIC_RELAXED);              \
    if (chunk > 0) {                                                                  \
      for (T lo = tid * chunk; lo < n; lo += nt * chunk)                              \
        for (T iv = lo; iv < n && iv < lo + chunk; ++iv)                              \
          body(iv, arg);                                                              \
      return;                                                                         \
    }                                                                                 \
    T base = n / nt, extra = n % nt;                                                  \
    T lo = tid * base + (tid < extra ? tid : extra);                                  \
    T hi = lo + base + (tid < extra ? 1 : 0);                                         \
    for (T iv = lo; iv < hi; ++iv)                                                    \
      body(iv, arg);                                                                  \
  }                                                                                   \
  void __kmpc_for_static_loop##SUFFIX(ident_t *loc, void (*body)(T, void *), void *arg, \
                                      T n, T nthreads, T chunk, uint8_t one_each) {   \
    (void)loc, (void)nthreads, (void)one_each;                                        \
    for_##SUFFIX(body, arg, n, chunk);                                                \
  }                                                                                   \
  void __kmpc_distribute_for_static_loop##SUFFIX(ident_t *loc, void (*body)(T, void *), \
                                                 void *arg, T n, T nthreads,          \
                                                 T block_chunk, T thread_chunk,       \
                                                 uint8_t one_each) {                  \
    (void)loc, (void)nthreads, (void)block_chunk, (void)one_each;                     \
    for_##SUFFIX(body, arg, n, thread_chunk);                                         \
  }                                                                                   \
  void __kmpc_distribute_static_loop##SUFFIX(ident_t *loc, void (*body)(T, void *),   \
                                             void *arg, T n, T block_chunk,           \
                                             uint8_t one_each) {                      \
    (void)loc, (void)block_chunk, (void)one_each;                                     \
    for (T iv = 0; iv < n; ++iv)                                                      \
      body(iv, arg);                                                                  \
  }

STATIC_LOOPS(_4, int32_t)
STATIC_LOOPS(_4u, uint32_t)
STATIC_LOOPS(_8, int64_t)
STATIC_LOOPS(_8u, uint64_t)
