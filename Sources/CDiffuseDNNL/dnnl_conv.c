#define _GNU_SOURCE
#include "CDiffuseDNNL.h"

#include <dlfcn.h>
#include <oneapi/dnnl/dnnl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

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

/// A region of the caller's scratch buffer: `offset` floats in, described by `md` (zero size: none).
typedef struct {
    dnnl_memory_desc_t md;
    size_t offset;
    int used;
} dd_region;

/// Reserves `md` at the end of the scratch buffer (64-byte aligned offsets).
static void region_reserve(dd_region *r, const dnnl_memory_desc_t *md, size_t *scratch) {
    size_t bytes = md ? dnnl_memory_desc_get_size(md) : 0;
    r->used = bytes > 0;
    if (!r->used) return;
    r->md = *md;
    r->offset = *scratch;
    size_t floats = (bytes + sizeof(float) - 1) / sizeof(float);
    *scratch += (floats + 15) & ~(size_t)15;
}

/// The primitive's own scratchpad, as it asks for it.
static void scratchpad_reserve(dd_region *r, const_dnnl_primitive_desc_t pd, size_t *scratch) {
    region_reserve(r, dnnl_primitive_desc_query_md(pd, dnnl_query_scratchpad_md, 0), scratch);
}

static void (*omp_set_threads)(int);
static pthread_once_t omp_once = PTHREAD_ONCE_INIT;
static void omp_init(void) { omp_set_threads = (void (*)(int))dlsym(RTLD_DEFAULT, "omp_set_num_threads"); }

void dd_set_num_threads(int threads) {
    pthread_once(&omp_once, omp_init);
    if (omp_set_threads && threads > 0) omp_set_threads(threads);
}

/// A tensor argument: the caller's plain layout, the layout the primitive wants, and (when they
/// differ) a reorder between them through `offset` floats into the scratch buffer.
typedef struct {
    dnnl_memory_desc_t user, internal;
    int needs_reorder;
    dnnl_primitive_t reorder;  // user -> internal for inputs, internal -> user for outputs
    size_t offset;             // in floats, into scratch
    dd_region reorder_scratchpad;
} dd_arg;

struct dd_conv {
    dd_conv_kind kind;
    dnnl_primitive_t primitive;
    dd_arg args[3];  // forward: src, weights, dst; backward data: diff_dst, weights, diff_src;
                     // backward weights: src, diff_dst, diff_weights
    dnnl_memory_desc_t bias;
    int has_bias;
    dd_region scratchpad;
    size_t scratch_floats;
    char implementation[64];
};

static int arg_init(dd_arg *a, const dnnl_memory_desc_t *user, const dnnl_memory_desc_t *internal, int is_output,
                    size_t *scratch) {
    a->user = *user;
    a->internal = *internal;
    a->needs_reorder = !dnnl_memory_desc_equal(user, internal);
    a->reorder = NULL;
    a->offset = 0;
    a->reorder_scratchpad.used = 0;
    if (!a->needs_reorder) return 1;
    dnnl_primitive_desc_t pd;
    const dnnl_memory_desc_t *from = is_output ? internal : user, *to = is_output ? user : internal;
    if (dnnl_reorder_primitive_desc_create(&pd, from, engine, to, engine, user_scratchpad) != dnnl_success) return 0;
    scratchpad_reserve(&a->reorder_scratchpad, pd, scratch);
    dnnl_status_t s = dnnl_primitive_create(&a->reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return 0;
    dd_region copy;
    region_reserve(&copy, internal, scratch);
    a->offset = copy.offset;
    return 1;
}

void dd_conv_destroy(dd_conv *conv) {
    if (!conv) return;
    if (conv->primitive) dnnl_primitive_destroy(conv->primitive);
    for (int i = 0; i < 3; i++)
        if (conv->args[i].reorder) dnnl_primitive_destroy(conv->args[i].reorder);
    free(conv);
}

dd_conv *dd_conv_create(dd_conv_kind kind, const dd_conv_shape *s) {
    pthread_once(&engine_once, engine_init);
    if (!engine_ok) return NULL;
    int grouped = s->groups > 1;
    dnnl_dims_t src_dims = {s->n, s->cin, s->h, s->w};
    dnnl_dims_t dst_dims = {s->n, s->cout, s->oh, s->ow};
    dnnl_dims_t w_dims = {s->cout, s->cin, s->kh, s->kw};
    dnnl_dims_t gw_dims = {s->groups, s->cout / s->groups, s->cin / s->groups, s->kh, s->kw};
    dnnl_dims_t bias_dims = {s->cout};
    dnnl_dims_t strides = {s->stride_y, s->stride_x};
    dnnl_dims_t dilates = {s->dilation_y - 1, s->dilation_x - 1};
    dnnl_dims_t pad_l = {s->pad_top, s->pad_left}, pad_r = {s->pad_bottom, s->pad_right};

    dnnl_memory_desc_t src_user, dst_user, w_user, src_any, dst_any, w_any, bias_md;
    if (dnnl_memory_desc_init_by_tag(&src_user, 4, src_dims, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_init_by_tag(&dst_user, 4, dst_dims, dnnl_f32, dnnl_nchw) ||
        dnnl_memory_desc_init_by_tag(&w_user, grouped ? 5 : 4, grouped ? gw_dims : w_dims, dnnl_f32,
                                     grouped ? dnnl_goihw : dnnl_oihw) ||
        dnnl_memory_desc_init_by_tag(&src_any, 4, src_dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&dst_any, 4, dst_dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&w_any, grouped ? 5 : 4, grouped ? gw_dims : w_dims, dnnl_f32,
                                     dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&bias_md, 1, bias_dims, dnnl_f32, dnnl_x))
        return NULL;

    // The forward descriptor: the primitive itself, or the hint the backward ones need.
    dnnl_convolution_desc_t forward_desc;
    if (dnnl_dilated_convolution_forward_desc_init(&forward_desc, dnnl_forward_training, dnnl_convolution_direct,
                                                   &src_any, &w_any, s->has_bias ? &bias_md : NULL, &dst_any,
                                                   strides, dilates, pad_l, pad_r) != dnnl_success)
        return NULL;
    dnnl_primitive_desc_t forward_pd;
    if (dnnl_primitive_desc_create(&forward_pd, &forward_desc, user_scratchpad, engine, NULL) != dnnl_success) return NULL;

    dnnl_primitive_desc_t pd = forward_pd;
    if (kind == DD_CONV_BACKWARD_DATA) {
        dnnl_convolution_desc_t d;
        if (dnnl_dilated_convolution_backward_data_desc_init(&d, dnnl_convolution_direct, &src_any, &w_any, &dst_any,
                                                             strides, dilates, pad_l, pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &d, user_scratchpad, engine, forward_pd) != dnnl_success) {
            dnnl_primitive_desc_destroy(forward_pd);
            return NULL;
        }
    } else if (kind == DD_CONV_BACKWARD_WEIGHTS) {
        dnnl_convolution_desc_t d;
        if (dnnl_dilated_convolution_backward_weights_desc_init(&d, dnnl_convolution_direct, &src_any, &w_any,
                                                                s->has_bias ? &bias_md : NULL, &dst_any, strides,
                                                                dilates, pad_l, pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &d, user_scratchpad, engine, forward_pd) != dnnl_success) {
            dnnl_primitive_desc_destroy(forward_pd);
            return NULL;
        }
    }

    dd_conv *conv = calloc(1, sizeof(dd_conv));
    if (!conv) goto fail;
    conv->kind = kind;
    conv->bias = bias_md;
    conv->has_bias = s->has_bias;
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    strncpy(conv->implementation, impl ? impl : "?", sizeof(conv->implementation) - 1);

    size_t scratch = 0;
    scratchpad_reserve(&conv->scratchpad, pd, &scratch);
    int ok = 1;
    switch (kind) {
    case DD_CONV_FORWARD:
        ok = arg_init(&conv->args[0], &src_user, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 0, &scratch) &&
             arg_init(&conv->args[1], &w_user, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 0, &scratch) &&
             arg_init(&conv->args[2], &dst_user, dnnl_primitive_desc_query_md(pd, dnnl_query_dst_md, 0), 1, &scratch);
        break;
    case DD_CONV_BACKWARD_DATA:
        ok = arg_init(&conv->args[0], &dst_user, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), 0, &scratch) &&
             arg_init(&conv->args[1], &w_user, dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0), 0, &scratch) &&
             arg_init(&conv->args[2], &src_user, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_src_md, 0), 1, &scratch);
        break;
    case DD_CONV_BACKWARD_WEIGHTS:
        ok = arg_init(&conv->args[0], &src_user, dnnl_primitive_desc_query_md(pd, dnnl_query_src_md, 0), 0, &scratch) &&
             arg_init(&conv->args[1], &dst_user, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_dst_md, 0), 0, &scratch) &&
             arg_init(&conv->args[2], &w_user, dnnl_primitive_desc_query_md(pd, dnnl_query_diff_weights_md, 0), 1, &scratch);
        break;
    }
    conv->scratch_floats = scratch;
    if (!ok || dnnl_primitive_create(&conv->primitive, pd) != dnnl_success) goto fail;
    if (pd != forward_pd) dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_desc_destroy(forward_pd);
    return conv;
fail:
    dd_conv_destroy(conv);
    if (pd != forward_pd) dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_desc_destroy(forward_pd);
    return NULL;
}

size_t dd_conv_scratch_floats(const dd_conv *conv) { return conv->scratch_floats; }
const char *dd_conv_implementation(const dd_conv *conv) { return conv->implementation; }

/// Wraps `data` (user layout) and, when the primitive wants another layout, its scratch copy.
typedef struct {
    dnnl_memory_t user, internal;  // internal == user when no reorder
} dd_mem;

static int mem_open(dd_mem *m, const dd_arg *a, void *data, float *scratch) {
    m->user = m->internal = NULL;
    if (dnnl_memory_create(&m->user, &a->user, engine, data) != dnnl_success) return 0;
    if (!a->needs_reorder) {
        m->internal = m->user;
        return 1;
    }
    return dnnl_memory_create(&m->internal, &a->internal, engine, scratch + a->offset) == dnnl_success;
}

static void mem_close(dd_mem *m) {
    if (m->internal && m->internal != m->user) dnnl_memory_destroy(m->internal);
    if (m->user) dnnl_memory_destroy(m->user);
}

/// Memory for a scratch region (NULL when the region is unused or the memory cannot be made).
static dnnl_memory_t region_memory(const dd_region *r, float *scratch) {
    dnnl_memory_t m = NULL;
    if (r->used && dnnl_memory_create(&m, &r->md, engine, scratch + r->offset) != dnnl_success) return NULL;
    return m;
}

/// Executes `primitive` with `args` plus its scratchpad region, when it has one.
static dnnl_status_t execute(dnnl_primitive_t primitive, int count, dnnl_exec_arg_t *args, const dd_region *scratchpad,
                             float *scratch) {
    dnnl_memory_t pad = region_memory(scratchpad, scratch);
    if (scratchpad->used && !pad) return dnnl_out_of_memory;
    if (pad) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_SCRATCHPAD, pad};
    dnnl_status_t status = dnnl_primitive_execute(primitive, stream, count, args);
    if (pad) dnnl_memory_destroy(pad);
    return status;
}

static dnnl_status_t reorder(const dd_arg *a, const dd_mem *m, int is_output, float *scratch) {
    if (!a->needs_reorder) return dnnl_success;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, is_output ? m->internal : m->user},
                               {DNNL_ARG_TO, is_output ? m->user : m->internal}};
    return execute(a->reorder, 2, args, &a->reorder_scratchpad, scratch);
}

/// Runs the primitive with `inputs` 0 and 1 and output 2 bound to `arg_ids`, plus an optional bias.
static int run(const dd_conv *conv, const int arg_ids[3], void *data[3], int bias_id, void *bias, float *scratch) {
    dd_mem mems[3] = {{0}};
    dnnl_memory_t bias_mem = NULL;
    dnnl_status_t status = dnnl_out_of_memory;
    int opened = mem_open(&mems[0], &conv->args[0], data[0], scratch) &&
                 mem_open(&mems[1], &conv->args[1], data[1], scratch) &&
                 mem_open(&mems[2], &conv->args[2], data[2], scratch);
    if (opened && bias && conv->has_bias && dnnl_memory_create(&bias_mem, &conv->bias, engine, bias) != dnnl_success)
        opened = 0;
    if (opened) {
        status = reorder(&conv->args[0], &mems[0], 0, scratch);
        if (status == dnnl_success) status = reorder(&conv->args[1], &mems[1], 0, scratch);
        if (status == dnnl_success) {
            dnnl_exec_arg_t args[5] = {{arg_ids[0], mems[0].internal},
                                       {arg_ids[1], mems[1].internal},
                                       {arg_ids[2], mems[2].internal},
                                       {bias_id, bias_mem}};
            status = execute(conv->primitive, bias_mem ? 4 : 3, args, &conv->scratchpad, scratch);
        }
        if (status == dnnl_success) status = reorder(&conv->args[2], &mems[2], 1, scratch);
        if (status == dnnl_success) status = dnnl_stream_wait(stream);
    }
    if (bias_mem) dnnl_memory_destroy(bias_mem);
    for (int i = 0; i < 3; i++) mem_close(&mems[i]);
    return status == dnnl_success ? 0 : (int)status;
}

int dd_conv_forward(const dd_conv *conv, const float *src, const float *weights, const float *bias, float *dst,
                    float *scratch) {
    if (conv->kind != DD_CONV_FORWARD) return -1;
    const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    void *data[3] = {(void *)src, (void *)weights, dst};
    return run(conv, ids, data, DNNL_ARG_BIAS, (void *)bias, scratch);
}

int dd_conv_backward_data(const dd_conv *conv, const float *diff_dst, const float *weights, float *diff_src,
                          float *scratch) {
    if (conv->kind != DD_CONV_BACKWARD_DATA) return -1;
    const int ids[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    void *data[3] = {(void *)diff_dst, (void *)weights, diff_src};
    return run(conv, ids, data, DNNL_ARG_DIFF_BIAS, NULL, scratch);
}

int dd_conv_backward_weights(const dd_conv *conv, const float *src, const float *diff_dst, float *diff_weights,
                             float *diff_bias, float *scratch) {
    if (conv->kind != DD_CONV_BACKWARD_WEIGHTS) return -1;
    const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
    void *data[3] = {(void *)src, (void *)diff_dst, diff_weights};
    return run(conv, ids, data, DNNL_ARG_DIFF_BIAS, diff_bias, scratch);
}
