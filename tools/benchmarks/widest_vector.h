/* The widest float vector the compiler targets (-march=native): the unit of work of the machine-limit probes
 * (fma_peak.c, bandwidth.c), so that they measure what the widest instructions can do. */
#ifndef SINTER_BENCH_WIDEST_VECTOR_H
#define SINTER_BENCH_WIDEST_VECTOR_H

#if defined(__AVX512F__)
enum { VECTOR_BYTES = 64 };
#elif defined(__AVX__)
enum { VECTOR_BYTES = 32 };
#else
enum { VECTOR_BYTES = 16 };
#endif
typedef float vec __attribute__((vector_size(VECTOR_BYTES)));

#endif
