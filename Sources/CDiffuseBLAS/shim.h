// OpenBLAS's CBLAS interface as Debian installs it (libopenblas-dev):
// /usr/include/x86_64-linux-gnu/cblas.h, with openblas_set_num_threads and friends.
#include <x86_64-linux-gnu/cblas.h>
