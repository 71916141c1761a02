#define _GNU_SOURCE
#include "CDiffuseDNNL.h"

#include <dlfcn.h>
#include <pthread.h>

// The OpenMP runtime oneDNN was built with (Debian's libdnnl links GCC's libgomp), found at run
// time so that this file needs no OpenMP compiler support: `omp_set_num_threads`,
// `omp_get_thread_num` and libgomp's `GOMP_parallel` (its ABI for `#pragma omp parallel`).
static void (*omp_set_threads)(int);
static int (*omp_thread_number)(void);
static int (*omp_team_size)(void);
static void (*gomp_parallel)(void (*)(void *), void *, unsigned, unsigned);
static pthread_once_t omp_once = PTHREAD_ONCE_INIT;

static void omp_init(void) {
    omp_set_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads");
    omp_thread_number = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_thread_num");
    omp_team_size = (int (*)(void))dlsym(RTLD_DEFAULT, "omp_get_num_threads");
    gomp_parallel = (void (*)(void (*)(void *), void *, unsigned, unsigned))dlsym(RTLD_DEFAULT, "GOMP_parallel");
}

void dd_set_num_threads(int threads) {
    pthread_once(&omp_once, omp_init);
    if (omp_set_threads && threads > 0) omp_set_threads(threads);
}

int dd_parallel_available(void) {
    pthread_once(&omp_once, omp_init);
    return gomp_parallel != NULL && omp_thread_number != NULL && omp_team_size != NULL;
}

typedef struct {
    void (*body)(void *context, int part);
    void *context;
    int parts;
} dd_parallel_task;

// Each thread of the team takes the parts t ≡ its number (mod the team's size): one part each
// normally, all of them on one thread when the runtime gave fewer threads (a nested region).
static void dd_parallel_trampoline(void *data) {
    dd_parallel_task *task = (dd_parallel_task *)data;
    int team = omp_team_size(), self = omp_thread_number();
    if (team < 1) team = 1;
    for (int part = self; part < task->parts; part += team) task->body(task->context, part);
}

int dd_parallel(int parts, void (*body)(void *context, int part), void *context) {
    if (!dd_parallel_available() || parts < 1) return -1;
    dd_parallel_task task = {body, context, parts};
    gomp_parallel(dd_parallel_trampoline, &task, (unsigned)parts, 0);
    return 0;
}
