// OpenBLAS's CBLAS interface as Debian installs it (libopenblas-dev):
// /usr/include/x86_64-linux-gnu/cblas.h, with openblas_set_num_threads and friends.
#include <x86_64-linux-gnu/cblas.h>

// Exported by OpenBLAS (pthreads build) but not declared in cblas.h: re-read the OPENBLAS_*
// environment variables, and stop / start the worker threads (which apply the thread timeout).
void openblas_read_env(void);
int blas_thread_init(void);
int blas_thread_shutdown_(void);
