/* Scratch memory for the temporaries of compiled host programs.
 *
 * The host pipeline lowers memref.alloc / dealloc to calls of
 * _mlir_memref_to_llvm_alloc / _free (finalize-memref-to-llvm
 * {use-generic-functions}), defined here. Large blocks (the matmul
 * schedule's packed operands: megabytes) are kept per thread after they are
 * freed and handed out again by the next call, instead of going back to the
 * kernel: glibc returns such blocks with munmap, and the next call then page
 * faults on fresh zeroed pages (measured: a quarter of a 1024^3 matmul's time).
 *
 * At most SLOTS blocks are kept per thread; they are freed when the thread
 * exits. Reentrant and thread-safe: each thread has its own cache, and a block
 * freed by another thread than the one that allocated it simply joins that
 * thread's cache.
 */
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

enum { ALIGN = 64, SLOTS = 8 };
#define MIN_KEPT ((size_t)64 << 10) /* smaller blocks: malloc's own free lists do well */

typedef struct {
  void *raw;       /* what malloc returned */
  size_t capacity; /* usable bytes from the user pointer on */
} header;

typedef struct {
  header *kept[SLOTS];
  int count;
} cache;

static pthread_key_t cache_key;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void release(void *p) {
  cache *c = p;
  for (int i = 0; i < c->count; i++)
    free(c->kept[i]->raw);
  free(c);
}

static void make_key(void) { pthread_key_create(&cache_key, release); }

static cache *this_thread(void) {
  pthread_once(&cache_once, make_key);
  cache *c = pthread_getspecific(cache_key);
  if (!c && (c = calloc(1, sizeof *c)))
    pthread_setspecific(cache_key, c);
  return c;
}

static void *user(header *h) { return (char *)h + ALIGN; }
static header *of(void *p) { return (header *)((char *)p - ALIGN); }

void *_mlir_memref_to_llvm_alloc(size_t size) {
  if (size >= MIN_KEPT) {
    cache *c = this_thread();
    int best = -1;
    for (int i = 0; c && i < c->count; i++) {
      size_t cap = c->kept[i]->capacity;
      /* the smallest kept block that fits, and not more than twice the need */
      if (cap >= size && cap / 2 <= size && (best < 0 || cap < c->kept[best]->capacity))
        best = i;
    }
    if (best >= 0) {
      header *h = c->kept[best];
      c->kept[best] = c->kept[--c->count];
      return user(h);
    }
  }
  /* ALIGN bytes in front of the user pointer hold the header (and keep the
   * user pointer as aligned as malloc's). */
  void *raw = malloc(size + ALIGN);
  if (!raw)
    return NULL;
  header *h = raw;
  h->raw = raw;
  h->capacity = size;
  return user(h);
}

void _mlir_memref_to_llvm_free(void *p) {
  if (!p)
    return;
  header *h = of(p);
  if (h->capacity >= MIN_KEPT) {
    cache *c = this_thread();
    if (c && c->count < SLOTS) {
      c->kept[c->count++] = h;
      return;
    }
    if (c) { /* full: keep the larger of the newcomer and the smallest kept */
      int small = 0;
      for (int i = 1; i < c->count; i++)
        if (c->kept[i]->capacity < c->kept[small]->capacity)
          small = i;
      if (c->kept[small]->capacity < h->capacity) {
        header *out = c->kept[small];
        c->kept[small] = h;
        h = out;
      }
    }
  }
  free(h->raw);
}
