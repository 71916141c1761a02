#define _GNU_SOURCE
#include "CDiffuseDNNL.h"
#include "dnnl_common.h"

#include <dlfcn.h>
#include <pthread.h>

static dnnl_engine_t engine;
static dnnl_stream_t stream;
/// Every primitive takes its scratchpad from the caller (`dnnl_scratchpad_mode_user`). In the
/// default library mode oneDNN 2.x keeps one scratchpad per *thread*, sized when a primitive is
/// created and looked up again on the thread that executes it: a primitive built on one thread and
/// run on another wrote into that thread's smaller (or absent) buffer — heap corruption, or a
/// memset through NULL, whenever Swift's tasks moved between threads.
static dnnl_primitive_attr_t user_scratchpad;
static int engine_ok;
static pthread_once_t engine_once = PTHREAD_ONCE_INIT;

static void engine_init(void) {
    if (dnnl_engine_create(&engine, dnnl_cpu, 0) != dnnl_success) return;
    if (dnnl_stream_create(&stream, engine, dnnl_stream_default_flags) != dnnl_success) return;
    if (dnnl_primitive_attr_create(&user_scratchpad) != dnnl_success) return;
    if (dnnl_primitive_attr_set_scratchpad_mode(user_scratchpad, dnnl_scratchpad_mode_user) != dnnl_success) return;
    engine_ok = 1;
}

int dd_engine_ready(void) {
    pthread_once(&engine_once, engine_init);
    return engine_ok;
}
dnnl_engine_t dd_engine(void) { return engine; }
dnnl_stream_t dd_stream(void) { return stream; }
const_dnnl_primitive_attr_t dd_user_scratchpad(void) { return user_scratchpad; }

void dd_region_reserve(dd_region *r, const dnnl_memory_desc_t *md, size_t *scratch) {
    size_t bytes = md ? dnnl_memory_desc_get_size(md) : 0;
    r->used = bytes > 0;
    if (!r->used) return;
    r->md = *md;
    r->offset = *scratch;
    size_t floats = (bytes + sizeof(float) - 1) / sizeof(float);
    *scratch += (floats + 15) & ~(size_t)15;
}

void dd_scratchpad_reserve(dd_region *r, const_dnnl_primitive_desc_t pd, size_t *scratch) {
    dd_region_reserve(r, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), scratch);
}

dnnl_memory_t dd_region_memory(const dd_region *r, float *scratch) {
    dnnl_memory_t m = NULL;
    if (r->used && dnnl_memory_create(&m, &r->md, engine, scratch + r->offset) != dnnl_success) return NULL;
    return m;
}

dnnl_status_t dd_execute(dnnl_primitive_t primitive, int count, dnnl_exec_arg_t *args, const dd_region *scratchpad,
                         float *scratch) {
    dnnl_memory_t pad = dd_region_memory(scratchpad, scratch);
    if (scratchpad->used && !pad) return dnnl_out_of_memory;
    if (pad) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pad};
    dnnl_status_t status = dnnl_primitive_execute(primitive, stream, count, args);
    if (pad) dnnl_memory_destroy(pad);
    return status;
}

/// Copies `from` (described by `from_md`) into `to` (`to_md`) through a reorder made for the call.
int dd_reorder_once(const dnnl_memory_desc_t *from_md, const void *from, const dnnl_memory_desc_t *to_md, void *to) {
    dnnl_primitive_desc_t pd;
    if (dnnl_reorder_primitive_desc_create(&pd, from_md, dd_engine(), to_md, dd_engine(), NULL) != dnnl_success) return -1;
    dnnl_primitive_t primitive = NULL;
    dnnl_memory_t src = NULL, dst = NULL;
    dnnl_status_t status = dnnl_primitive_create(&primitive, pd);
    dnnl_primitive_desc_destroy(pd);
    if (status == dnnl_success) status = dnnl_memory_create(&src, from_md, dd_engine(), (void *)from);
    if (status == dnnl_success) status = dnnl_memory_create(&dst, to_md, dd_engine(), to);
    if (status == dnnl_success) {
        dnnl_exec_arg_t args[2] = {{DNNL_ARG_FROM, src}, {DNNL_ARG_TO, dst}};
        status = dnnl_primitive_execute(primitive, dd_stream(), 2, args);
    }
    if (status == dnnl_success) status = dnnl_stream_wait(dd_stream());
    if (dst) dnnl_memory_destroy(dst);
    if (src) dnnl_memory_destroy(src);
    if (primitive) dnnl_primitive_destroy(primitive);
    return status == dnnl_success ? 0 : (int)status;
}

