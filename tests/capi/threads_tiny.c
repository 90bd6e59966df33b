/* Two instances of one model train at once in two threads, on different data, and each ends with the
 * very weights that the same steps give when run one instance after the other in one thread. Each thread
 * also makes its own instance fail now and then and must read its own error message back, never the other
 * thread's. Exit status 0 when all checks pass. */
#define _POSIX_C_SOURCE 200809L
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

#include "capi_test.h"
#include "tiny.h"

#define BATCH 32
static int steps = 5000; /* per job; the first argument overrides it */

typedef struct {
  uint64_t init_seed;       /* of the instance's weights */
  unsigned data_seed;       /* of its batches */
  int bad_batch;            /* the error this job makes: a bad batch size, or else a NULL input */
  pthread_barrier_t* start; /* NULL when run alone */
  float w[12], b[3];        /* the weights at the end */
  sinter_metrics metrics;   /* of a held-out batch, at the end */
  int failed_steps, wrong_messages;
} job;

/* Creates an instance (in the job's thread, so that one thread's sinter_create may run while the other
 * thread's instance computes), trains it, and keeps its final weights. */
static void* run(void* arg) {
  job* j = arg;
  float x[BATCH * 4], loss = 0;
  int32_t y[BATCH];
  if (j->start) pthread_barrier_wait(j->start);
  sinter_instance* m = Tiny_create(j->init_seed);
  if (!m) {
    j->failed_steps = steps;
    return NULL;
  }
  for (int step = 0; step < steps; ++step) {
    /* A failing call, then its message read back after some work and now and then a yield, so that other
     * threads' calls, which set and clear their own instance's message, run in between even on a busy
     * machine. (Yielding at every step would line the threads up at call boundaries.) */
    const sinter_status s =
        j->bad_batch ? Tiny_train_step(m, 0, x, y, &loss) : Tiny_train_step(m, BATCH, NULL, y, &loss);
    make_batch(j->data_seed + (unsigned)step, BATCH, x, y);
    if (j->start && step % 8 == 0) sched_yield();
    if (s != SINTER_ERROR_ARGUMENT || !strstr(sinter_last_error(m), j->bad_batch ? "batch must be" : "'x'"))
      j->wrong_messages++;
    if (Tiny_train_step(m, BATCH, x, y, &loss) != SINTER_OK) j->failed_steps++;
  }
  make_batch(99999, BATCH, x, y);
  if (Tiny_evaluate(m, BATCH, x, y, &j->metrics) != SINTER_OK) j->failed_steps++;
  memcpy(j->w, sinter_param_data(m, Tiny_PARAM_w), sizeof j->w);
  memcpy(j->b, sinter_param_data(m, Tiny_PARAM_b), sizeof j->b);
  sinter_destroy(m);
  return NULL;
}

static void check_same(const job* alone, const job* together, const char* name) {
  CHECK(together->failed_steps == 0 && alone->failed_steps == 0, "%s: %d failed steps", name, together->failed_steps);
  CHECK(together->wrong_messages == 0, "%s: %d calls read a message not their own", name, together->wrong_messages);
  CHECK(memcmp(alone->w, together->w, sizeof alone->w) == 0, "%s: w differs from the single-threaded run", name);
  CHECK(memcmp(alone->b, together->b, sizeof alone->b) == 0, "%s: b differs from the single-threaded run", name);
  CHECK(alone->metrics.loss == together->metrics.loss && alone->metrics.correct == together->metrics.correct,
        "%s: loss %f / %f", name, alone->metrics.loss, together->metrics.loss);
  CHECK(together->metrics.accuracy >= 0.9, "%s: accuracy %f", name, together->metrics.accuracy);
}

int main(int argc, char** argv) {
  if (argc > 1) steps = atoi(argv[1]);
  job alone[2] = {{.init_seed = 1, .data_seed = 0, .bad_batch = 1},
                  {.init_seed = 2, .data_seed = 50000, .bad_batch = 0}};
  job together[2] = {alone[0], alone[1]};

  /* One after the other, in this thread. */
  run(&alone[0]);
  run(&alone[1]);
  CHECK(memcmp(alone[0].w, alone[1].w, sizeof alone[0].w) != 0, "the two jobs trained the same weights");

  /* At once, in two threads that start together. */
  pthread_barrier_t start;
  pthread_barrier_init(&start, NULL, 2);
  pthread_t threads[2];
  for (int i = 0; i < 2; ++i) {
    together[i].start = &start;
    CHECK(pthread_create(&threads[i], NULL, run, &together[i]) == 0, "cannot start thread %d", i);
  }
  for (int i = 0; i < 2; ++i) pthread_join(threads[i], NULL);
  pthread_barrier_destroy(&start);

  check_same(&alone[0], &together[0], "thread 0");
  check_same(&alone[1], &together[1], "thread 1");
  printf("threads: accuracy %.2f and %.2f\n", together[0].metrics.accuracy, together[1].metrics.accuracy);
  return finish("two instances in two threads");
}
