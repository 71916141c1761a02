/* A test hook for KillResumeTests, loaded into `diffuse train` with LD_PRELOAD (the shipped binary
 * has no such hook): after a checkpoint's model.safetensors lands in its `.checkpoint-N.partial/`
 * folder, `rename` pauses for SLOW_CHECKPOINT_SECONDS (default 2) seconds, so that the test can
 * kill the process while the checkpoint is half written. Every other rename runs unchanged. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int rename(const char *from, const char *to) {
    static int (*real_rename)(const char *, const char *);
    if (!real_rename) real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
    int status = real_rename(from, to);
    if (status == 0 && to && strstr(to, ".partial/model.safetensors")) {
        const char *seconds = getenv("SLOW_CHECKPOINT_SECONDS");
        sleep(seconds ? (unsigned)atoi(seconds) : 2);
    }
    return status;
}
