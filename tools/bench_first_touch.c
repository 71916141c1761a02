// What fresh memory costs on this machine: maps N MB, touches one byte per 4 KB page (the
// kernel's page faults and clearing, and on a VM the host's backing), then writes it all again
// (recycled memory), three rounds per process; with HUGE=1 the mapping is advised onto
// transparent huge pages first (as Diffuse's BufferPool does for buffers of 4 MB or more).
//   cc -O2 -o /tmp/first_touch tools/bench_first_touch.c && /tmp/first_touch 2048 0 && /tmp/first_touch 2048 1
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: %s MEGABYTES HUGE(0|1)\n", argv[0]); return 2; }
    size_t n = (size_t)atol(argv[1]) << 20;
    int huge = atoi(argv[2]);
    for (int round = 0; round < 3; round++) {
        double t0 = now();
        char *p = mmap(0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED) { perror("mmap"); return 1; }
        if (huge) madvise(p, n, MADV_HUGEPAGE);
        for (size_t i = 0; i < n; i += 4096) p[i] = 1;
        double t1 = now();
        memset(p, 2, n);
        double t2 = now();
        munmap(p, n);
        printf("%zu MB, huge pages %d, round %d: first touch %.3f s (%.2f GB/s), written again %.3f s (%.2f GB/s)\n",
               n >> 20, huge, round, t1 - t0, n / 1e9 / (t1 - t0), t2 - t1, n / 1e9 / (t2 - t1));
    }
    return 0;
}
