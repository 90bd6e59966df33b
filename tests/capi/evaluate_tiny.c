/* sinter_evaluate and the shape queries, from C. Every metric is checked against a value found without
 * evaluate: the loss output of forward() on the same batch, and accuracy and cross-entropy recomputed here
 * from forward()'s probabilities. Exit status 0 when all checks pass. */
#include <math.h>
#include <stdlib.h>

#include "capi_test.h"
#include "tiny.h"

#define TRAIN_BATCH 32
#define MAX_BATCH 100

/* Evaluates n samples of data `seed` and checks the metrics against forward() on the same samples. Returns
 * the number predicted right. */
static int check_evaluate(sinter_instance* m, unsigned seed, int n) {
  float x[MAX_BATCH * 4], probs[MAX_BATCH * 3], loss = 0;
  int32_t y[MAX_BATCH];
  sinter_metrics e;
  make_batch(seed, n, x, y);
  CHECK(Tiny_evaluate(m, n, x, y, &e) == SINTER_OK, "batch %d: %s", n, sinter_last_error(m));
  CHECK(Tiny_forward(m, n, x, y, probs, &loss) == SINTER_OK, "batch %d: %s", n, sinter_last_error(m));
  int correct = 0;
  double cross_entropy = 0;
  for (int i = 0; i < n; ++i) {
    int best = 0; /* the first of equal maxima */
    for (int c = 1; c < 3; ++c)
      if (probs[i * 3 + c] > probs[i * 3 + best]) best = c;
    correct += best == y[i];
    cross_entropy -= log(probs[i * 3 + y[i]]);
  }
  cross_entropy /= n;
  CHECK(e.metrics == (SINTER_METRIC_LOSS | SINTER_METRIC_ACCURACY), "batch %d: metrics %d", n, e.metrics);
  CHECK(e.count == n, "batch %d: count %lld", n, (long long)e.count);
  CHECK(e.loss == (double)loss, "batch %d: evaluate's loss %.9g, forward's %.9g", n, e.loss, (double)loss);
  CHECK(fabs(e.loss - cross_entropy) < 1e-5 * (1 + cross_entropy), "batch %d: loss %.9g, cross-entropy by hand %.9g", n,
        e.loss, cross_entropy);
  CHECK(e.correct == correct, "batch %d: %lld correct, %d by hand", n, (long long)e.correct, correct);
  CHECK(e.accuracy == (double)correct / n, "batch %d: accuracy %f, %d/%d by hand", n, e.accuracy, correct, n);
  return correct;
}

/* Checks the metrics at several batch sizes: one, odd, the train block's, larger than it, then smaller
 * again. Returns the accuracy at MAX_BATCH. */
static double check_batch_sizes(sinter_instance* m) {
  check_evaluate(m, 500, 1);
  check_evaluate(m, 501, 5);
  check_evaluate(m, 502, TRAIN_BATCH);
  const int correct = check_evaluate(m, 503, MAX_BATCH);
  check_evaluate(m, 504, 7);
  return (double)correct / MAX_BATCH;
}

/* A data set evaluated batch by batch gives what one batch of all of it gives (sinter.h's recipe). */
static void check_sums(sinter_instance* m) {
  float x[MAX_BATCH * 4];
  int32_t y[MAX_BATCH];
  sinter_metrics all, part;
  make_batch(600, MAX_BATCH, x, y);
  CHECK(Tiny_evaluate(m, MAX_BATCH, x, y, &all) == SINTER_OK, "%s", sinter_last_error(m));
  double loss_sum = 0;
  int64_t correct = 0, count = 0;
  for (int first = 0; first < MAX_BATCH; first += TRAIN_BATCH) {
    const int n = MAX_BATCH - first < TRAIN_BATCH ? MAX_BATCH - first : TRAIN_BATCH;
    CHECK(Tiny_evaluate(m, n, x + first * 4, y + first, &part) == SINTER_OK, "%s", sinter_last_error(m));
    loss_sum += part.loss * (double)part.count;
    correct += part.correct;
    count += part.count;
  }
  CHECK(count == all.count && correct == all.correct, "%lld/%lld by batches, %lld/%lld at once", (long long)correct,
        (long long)count, (long long)all.correct, (long long)all.count);
  CHECK(fabs(loss_sum / (double)count - all.loss) < 1e-5, "loss %.9g by batches, %.9g at once",
        loss_sum / (double)count, all.loss);
}

/* Two instances train on the same batches; one also evaluates between steps. Evaluate touches neither weights
 * nor optimizer state (Adam's step count and moments), so they end up with the same weights. */
static void check_evaluate_changes_nothing(void) {
  sinter_instance* a = Tiny_create(3);
  sinter_instance* b = Tiny_create(3);
  float x[TRAIN_BATCH * 4], w[12];
  int32_t y[TRAIN_BATCH];
  sinter_metrics e;
  for (int step = 0; step < 40; ++step) {
    make_batch((unsigned)step, TRAIN_BATCH, x, y);
    CHECK(Tiny_train_step(a, TRAIN_BATCH, x, y, NULL) == SINTER_OK, "%s", sinter_last_error(a));
    CHECK(Tiny_train_step(b, TRAIN_BATCH, x, y, NULL) == SINTER_OK, "%s", sinter_last_error(b));
    memcpy(w, sinter_param_data(a, Tiny_PARAM_w), sizeof w);
    CHECK(Tiny_evaluate(a, step % TRAIN_BATCH + 1, x, y, &e) == SINTER_OK, "%s", sinter_last_error(a));
    CHECK(memcmp(w, sinter_param_data(a, Tiny_PARAM_w), sizeof w) == 0, "evaluate changed the weights");
  }
  CHECK(memcmp(sinter_param_data(a, Tiny_PARAM_w), sinter_param_data(b, Tiny_PARAM_w), sizeof w) == 0,
        "evaluating between steps changed training");
  CHECK(memcmp(sinter_param_data(a, Tiny_PARAM_b), sinter_param_data(b, Tiny_PARAM_b), 3 * sizeof(float)) == 0,
        "evaluating between steps changed training");
  sinter_destroy(a);
  sinter_destroy(b);
}

static void check_evaluate_errors(sinter_instance* m) {
  float x[TRAIN_BATCH * 4];
  int32_t y[TRAIN_BATCH];
  sinter_metrics e, untouched;
  make_batch(7, TRAIN_BATCH, x, y);
  memset(&untouched, 0x5a, sizeof untouched);
  e = untouched;
  CHECK(Tiny_evaluate(NULL, TRAIN_BATCH, x, y, &e) == SINTER_ERROR_ARGUMENT, "NULL instance accepted");
  CHECK(Tiny_evaluate(m, TRAIN_BATCH, NULL, y, &e) == SINTER_ERROR_ARGUMENT, "NULL x accepted");
  CHECK_ERROR(m, "'x'");
  CHECK(Tiny_evaluate(m, TRAIN_BATCH, x, NULL, &e) == SINTER_ERROR_ARGUMENT, "NULL y accepted");
  CHECK_ERROR(m, "'y'");
  CHECK(sinter_evaluate(m, TRAIN_BATCH, NULL, &e) == SINTER_ERROR_ARGUMENT, "NULL inputs accepted");
  CHECK_ERROR(m, "inputs is NULL");
  CHECK(Tiny_evaluate(m, TRAIN_BATCH, x, y, NULL) == SINTER_ERROR_ARGUMENT, "NULL metrics accepted");
  CHECK_ERROR(m, "metrics is NULL");
  CHECK(Tiny_evaluate(m, 0, x, y, &e) == SINTER_ERROR_ARGUMENT, "batch 0 accepted");
  CHECK_ERROR(m, "batch");
  CHECK(Tiny_evaluate(m, -5, x, y, &e) == SINTER_ERROR_ARGUMENT, "batch -5 accepted");
  CHECK(Tiny_evaluate(m, ((int64_t)1 << 31) + 1, x, y, &e) == SINTER_ERROR_ARGUMENT, "batch 2^31 + 1 accepted");
  y[2] = 3;
  CHECK(Tiny_evaluate(m, TRAIN_BATCH, x, y, &e) == SINTER_ERROR_ARGUMENT, "label 3 of 3 classes accepted");
  CHECK_ERROR(m, "label 3 of sample 2");
  CHECK_ERROR(m, "'probs' has 3 classes");
  y[2] = -1;
  CHECK(Tiny_evaluate(m, TRAIN_BATCH, x, y, &e) == SINTER_ERROR_ARGUMENT, "label -1 accepted");
  CHECK(memcmp(&e, &untouched, sizeof e) == 0, "a failed evaluate wrote its metrics");
  /* The label counts only up to the batch: sample 2 lies beyond a batch of 2. */
  CHECK(Tiny_evaluate(m, 2, x, y, &e) == SINTER_OK, "%s", sinter_last_error(m));
}

/* Shape queries: counts, names, dtypes and dims at a batch size, and every bad argument. */
static void check_shapes(sinter_instance* m) {
  sinter_tensor_info info, untouched;
  int64_t dims[4] = {-7, -7, -7, -7};
  CHECK(sinter_num_tensors(m, SINTER_INPUT) == Tiny_NUM_INPUTS && Tiny_NUM_INPUTS == 2, "%d inputs", Tiny_NUM_INPUTS);
  CHECK(sinter_num_tensors(m, SINTER_PARAM) == Tiny_NUM_PARAMS && Tiny_NUM_PARAMS == 2, "%d params", Tiny_NUM_PARAMS);
  CHECK(sinter_num_tensors(m, SINTER_OUTPUT) == Tiny_NUM_OUTPUTS && Tiny_NUM_OUTPUTS == 2, "%d outputs",
        Tiny_NUM_OUTPUTS);
  CHECK(sinter_num_tensors(m, 3) == -1, "tensor kind 3 exists");
  CHECK_ERROR(m, "unknown tensor kind 3");
  CHECK(sinter_num_tensors(NULL, SINTER_INPUT) == -1, "a NULL instance has inputs");

  CHECK(sinter_tensor_shape(m, SINTER_INPUT, Tiny_INPUT_x, 5, &info, dims, 4) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(strcmp(info.name, "x") == 0 && info.dtype == SINTER_F32 && info.rank == 2, "x: %s %d %d", info.name, info.dtype,
        info.rank);
  CHECK(dims[0] == 5 && dims[1] == 4 && dims[2] == -7, "x at batch 5: [%lld, %lld], then %lld", (long long)dims[0],
        (long long)dims[1], (long long)dims[2]);
  CHECK(info.elements == 20 && info.bytes == 80, "x at batch 5: %lld elements, %lld bytes", (long long)info.elements,
        (long long)info.bytes);
  CHECK(info.elements == sinter_tensor_elements(&Tiny_model.inputs[Tiny_INPUT_x], 5),
        "disagrees with sinter_tensor_elements");
  CHECK(sinter_tensor_shape(m, SINTER_INPUT, Tiny_INPUT_y, 5, &info, dims, 4) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(strcmp(info.name, "y") == 0 && info.dtype == SINTER_I32 && info.rank == 1 && dims[0] == 5 && info.bytes == 20,
        "y at batch 5: %s %d rank %d [%lld] %lld bytes", info.name, info.dtype, info.rank, (long long)dims[0],
        (long long)info.bytes);
  CHECK(sinter_tensor_shape(m, SINTER_PARAM, Tiny_PARAM_w, 9, &info, dims, 2) == SINTER_OK, "%s", sinter_last_error(m));
  CHECK(strcmp(info.name, "w") == 0 && info.rank == 2 && dims[0] == 4 && dims[1] == 3 && info.bytes == 48,
        "w: %s rank %d [%lld, %lld] %lld bytes", info.name, info.rank, (long long)dims[0], (long long)dims[1],
        (long long)info.bytes);
  CHECK(sinter_tensor_shape(m, SINTER_OUTPUT, Tiny_OUTPUT_probs, 7, &info, dims, 4) == SINTER_OK, "%s",
        sinter_last_error(m));
  CHECK(strcmp(info.name, "probs") == 0 && dims[0] == 7 && dims[1] == 3 && info.elements == 21,
        "probs at batch 7: %s [%lld, %lld]", info.name, (long long)dims[0], (long long)dims[1]);
  /* The loss is a scalar: rank 0, one element, and no dim written (a NULL dims is fine too). */
  dims[0] = -7;
  CHECK(sinter_tensor_shape(m, SINTER_OUTPUT, Tiny_OUTPUT_loss, 7, &info, dims, 0) == SINTER_OK, "%s",
        sinter_last_error(m));
  CHECK(strcmp(info.name, "loss") == 0 && info.rank == 0 && info.elements == 1 && info.bytes == 4 && dims[0] == -7,
        "loss: %s rank %d, %lld elements", info.name, info.rank, (long long)info.elements);
  CHECK(sinter_tensor_shape(m, SINTER_INPUT, Tiny_INPUT_x, 3, &info, NULL, 0) == SINTER_OK && info.elements == 12,
        "NULL dims: %s", sinter_last_error(m));

  memset(&untouched, 0x5a, sizeof untouched);
  info = untouched;
  dims[0] = dims[1] = -7;
  CHECK(sinter_tensor_shape(m, SINTER_INPUT, Tiny_INPUT_x, 5, &info, dims, 1) == SINTER_ERROR_ARGUMENT,
        "capacity 1 for rank 2");
  CHECK_ERROR(m, "rank 2 but dims holds 1");
  CHECK(sinter_tensor_shape(m, SINTER_INPUT, 2, 5, &info, dims, 4) == SINTER_ERROR_ARGUMENT, "input 2 exists");
  CHECK_ERROR(m, "input index 2 is out of range: model 'Tiny' has 2 inputs");
  CHECK(sinter_tensor_shape(m, SINTER_PARAM, -1, 5, &info, dims, 4) == SINTER_ERROR_ARGUMENT, "param -1 exists");
  CHECK_ERROR(m, "param index -1");
  CHECK(sinter_tensor_shape(m, SINTER_OUTPUT, 99, 5, &info, dims, 4) == SINTER_ERROR_ARGUMENT, "output 99 exists");
  CHECK(sinter_tensor_shape(m, 7, 0, 5, &info, dims, 4) == SINTER_ERROR_ARGUMENT, "tensor kind 7 exists");
  CHECK_ERROR(m, "unknown tensor kind 7");
  CHECK(sinter_tensor_shape(m, SINTER_INPUT, 0, 0, &info, dims, 4) == SINTER_ERROR_ARGUMENT, "batch 0 accepted");
  CHECK_ERROR(m, "batch");
  CHECK(memcmp(&info, &untouched, sizeof info) == 0 && dims[0] == -7 && dims[1] == -7, "a failed query wrote");
  CHECK(sinter_tensor_shape(m, SINTER_INPUT, 0, 5, NULL, dims, 4) == SINTER_ERROR_ARGUMENT, "NULL info accepted");
  CHECK_ERROR(m, "info is NULL");
  CHECK(sinter_tensor_shape(NULL, SINTER_INPUT, 0, 5, &info, dims, 4) == SINTER_ERROR_ARGUMENT,
        "NULL instance accepted");
}

/* Buffers sized by the shape queries run forward at a batch size the program did not know in advance. */
static void check_sized_by_queries(sinter_instance* m, int n) {
  sinter_tensor_info info[Tiny_NUM_INPUTS + Tiny_NUM_OUTPUTS];
  void* buffers[Tiny_NUM_INPUTS + Tiny_NUM_OUTPUTS];
  for (int i = 0; i < Tiny_NUM_INPUTS + Tiny_NUM_OUTPUTS; ++i) {
    const int output = i >= Tiny_NUM_INPUTS;
    CHECK(sinter_tensor_shape(m, output ? SINTER_OUTPUT : SINTER_INPUT, output ? i - Tiny_NUM_INPUTS : i, n, &info[i],
                              NULL, 0) == SINTER_OK,
          "%s", sinter_last_error(m));
    buffers[i] = calloc(1, (size_t)info[i].bytes);
  }
  make_batch(700, n, buffers[Tiny_INPUT_x], buffers[Tiny_INPUT_y]);
  CHECK(sinter_forward(m, n, (const void* const*)buffers, buffers + Tiny_NUM_INPUTS) == SINTER_OK, "%s",
        sinter_last_error(m));
  const float* probs = buffers[Tiny_NUM_INPUTS + Tiny_OUTPUT_probs];
  CHECK(fabsf(probs[(n - 1) * 3] + probs[(n - 1) * 3 + 1] + probs[(n - 1) * 3 + 2] - 1.0f) < 1e-5f, "last row of %d",
        n);
  for (int i = 0; i < Tiny_NUM_INPUTS + Tiny_NUM_OUTPUTS; ++i) free(buffers[i]);
}

int main(void) {
  sinter_instance* m = Tiny_create(11);
  CHECK(m != NULL, "create failed: %s", sinter_last_error(NULL));
  if (!m) return 1;

  /* Untrained, the accuracy is neither 0 nor 1, so the count by hand has something to disagree with. */
  const double before = check_batch_sizes(m);
  float x[TRAIN_BATCH * 4];
  int32_t y[TRAIN_BATCH];
  for (int step = 0; step < 300; ++step) {
    make_batch((unsigned)step, TRAIN_BATCH, x, y);
    CHECK(Tiny_train_step(m, TRAIN_BATCH, x, y, NULL) == SINTER_OK, "%s", sinter_last_error(m));
  }
  const double after = check_batch_sizes(m);
  printf("evaluate: held-out accuracy %.2f untrained, %.2f trained\n", before, after);
  CHECK(before > 0.05 && before < 0.8, "untrained accuracy %f", before);
  CHECK(after >= 0.9, "trained accuracy %f", after);

  check_sums(m);
  check_evaluate_changes_nothing();
  check_evaluate_errors(m);
  check_shapes(m);
  check_sized_by_queries(m, 13);
  sinter_destroy(m);
  return finish("evaluate and shapes");
}
