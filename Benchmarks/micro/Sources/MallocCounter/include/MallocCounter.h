// Counts heap allocations made by this process, for the micro-benchmarks' allocs/op column.
#ifndef MALLOC_COUNTER_H
#define MALLOC_COUNTER_H

#include <stdint.h>

/// Calls to malloc, calloc, realloc, posix_memalign, aligned_alloc and memalign since start.
uint64_t malloc_counter_allocations(void);
/// Bytes requested by those calls since start.
uint64_t malloc_counter_bytes(void);

#endif
