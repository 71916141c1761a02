#include "CDiffuseDNNL.h"
#include "dnnl_common.h"

#include <stdlib.h>
#include <string.h>

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
    if (dnnl_reorder_primitive_desc_create(&pd, from, dd_engine(), to, dd_engine(), dd_user_scratchpad()) != dnnl_success) return 0;
    dd_scratchpad_reserve(&a->reorder_scratchpad, pd, scratch);
    dnnl_status_t s = dnnl_primitive_create(&a->reorder, pd);
    dnnl_primitive_desc_destroy(pd);
    if (s != dnnl_success) return 0;
    dd_region copy;
    dd_region_reserve(&copy, internal, scratch);
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

static dd_conv *create_with(dd_conv_kind kind, const dd_conv_shape *s, dnnl_alg_kind_t alg) {
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
    if (s->src_rows > 0 || s->dst_rows > 0) {
        // Bands of larger NCHW tensors: the same plain layout with the whole tensors' strides.
        if (kind != DD_CONV_FORWARD || s->src_rows < s->h || s->dst_rows < s->oh) return NULL;
        dnnl_dims_t src_strides = {s->cin * s->src_rows * s->w, s->src_rows * s->w, s->w, 1};
        dnnl_dims_t dst_strides = {s->cout * s->dst_rows * s->ow, s->dst_rows * s->ow, s->ow, 1};
        if (dnnl_memory_desc_init_by_strides(&src_user, 4, src_dims, dnnl_f32, src_strides) ||
            dnnl_memory_desc_init_by_strides(&dst_user, 4, dst_dims, dnnl_f32, dst_strides))
            return NULL;
    }

    // The forward descriptor: the primitive itself, or the hint the backward ones need.
    dnnl_convolution_desc_t forward_desc;
    if (dnnl_dilated_convolution_forward_desc_init(&forward_desc, dnnl_forward_training, alg,
                                                   &src_any, &w_any, s->has_bias ? &bias_md : NULL, &dst_any,
                                                   strides, dilates, pad_l, pad_r) != dnnl_success)
        return NULL;
    dnnl_primitive_desc_t forward_pd;
    if (dnnl_primitive_desc_create(&forward_pd, &forward_desc, dd_user_scratchpad(), dd_engine(), NULL) != dnnl_success) return NULL;

    dnnl_primitive_desc_t pd = forward_pd;
    if (kind == DD_CONV_BACKWARD_DATA) {
        dnnl_convolution_desc_t d;
        if (dnnl_dilated_convolution_backward_data_desc_init(&d, alg, &src_any, &w_any, &dst_any,
                                                             strides, dilates, pad_l, pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &d, dd_user_scratchpad(), dd_engine(), forward_pd) != dnnl_success) {
            dnnl_primitive_desc_destroy(forward_pd);
            return NULL;
        }
    } else if (kind == DD_CONV_BACKWARD_WEIGHTS) {
        dnnl_convolution_desc_t d;
        if (dnnl_dilated_convolution_backward_weights_desc_init(&d, alg, &src_any, &w_any,
                                                                s->has_bias ? &bias_md : NULL, &dst_any, strides,
                                                                dilates, pad_l, pad_r) != dnnl_success ||
            dnnl_primitive_desc_create(&pd, &d, dd_user_scratchpad(), dd_engine(), forward_pd) != dnnl_success) {
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
    dd_scratchpad_reserve(&conv->scratchpad, pd, &scratch);
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

/// With `packed`, `data` is already in the primitive's layout: no user memory, no reorder.
static int mem_open(dd_mem *m, const dd_arg *a, void *data, float *scratch, int packed) {
    m->user = m->internal = NULL;
    if (packed) {
        if (dnnl_memory_create(&m->internal, &a->internal, dd_engine(), data) != dnnl_success) return 0;
        m->user = m->internal;
        return 1;
    }
    if (dnnl_memory_create(&m->user, &a->user, dd_engine(), data) != dnnl_success) return 0;
    if (!a->needs_reorder) {
        m->internal = m->user;
        return 1;
    }
    return dnnl_memory_create(&m->internal, &a->internal, dd_engine(), scratch + a->offset) == dnnl_success;
}

static void mem_close(dd_mem *m) {
    if (m->internal && m->internal != m->user) dnnl_memory_destroy(m->internal);
    if (m->user) dnnl_memory_destroy(m->user);
}

static dnnl_status_t reorder(const dd_arg *a, const dd_mem *m, int is_output, float *scratch) {
    if (!a->needs_reorder || m->user == m->internal) return dnnl_success;
    dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, is_output ? m->internal : m->user},
                               {DNNL_ARG_TO, is_output ? m->user : m->internal}};
    return dd_execute(a->reorder, 2, args, &a->reorder_scratchpad, scratch);
}

/// Runs the primitive with `inputs` 0 and 1 and output 2 bound to `arg_ids`, plus an optional bias;
/// with `packed_weights`, input 1 is already in the primitive's layout.
static int run(const dd_conv *conv, const int arg_ids[3], void *data[3], int bias_id, void *bias, float *scratch,
               int packed_weights) {
    dd_mem mems[3] = {{0}};
    dnnl_memory_t bias_mem = NULL;
    dnnl_status_t status = dnnl_out_of_memory;
    int opened = mem_open(&mems[0], &conv->args[0], data[0], scratch, 0) &&
                 mem_open(&mems[1], &conv->args[1], data[1], scratch, packed_weights) &&
                 mem_open(&mems[2], &conv->args[2], data[2], scratch, 0);
    if (opened && bias && conv->has_bias && dnnl_memory_create(&bias_mem, &conv->bias, dd_engine(), bias) != dnnl_success)
        opened = 0;
    if (opened) {
        status = reorder(&conv->args[0], &mems[0], 0, scratch);
        if (status == dnnl_success) status = reorder(&conv->args[1], &mems[1], 0, scratch);
        if (status == dnnl_success) {
            dnnl_exec_arg_t args[5] = {{arg_ids[0], mems[0].internal},
                                       {arg_ids[1], mems[1].internal},
                                       {arg_ids[2], mems[2].internal},
                                       {bias_id, bias_mem}};
            status = dd_execute(conv->primitive, bias_mem ? 4 : 3, args, &conv->scratchpad, scratch);
        }
        if (status == dnnl_success) status = reorder(&conv->args[2], &mems[2], 1, scratch);
        if (status == dnnl_success) status = dnnl_stream_wait(dd_stream());
    }
    if (bias_mem) dnnl_memory_destroy(bias_mem);
    for (int i = 0; i < 3; i++) mem_close(&mems[i]);
    return status == dnnl_success ? 0 : (int)status;
}

static int forward(const dd_conv *conv, const float *src, const float *weights, const float *bias, float *dst,
                   float *scratch, int packed_weights) {
    if (conv->kind != DD_CONV_FORWARD) return -1;
    const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_WEIGHTS, DNNL_ARG_DST};
    void *data[3] = {(void *)src, (void *)weights, dst};
    return run(conv, ids, data, DNNL_ARG_BIAS, (void *)bias, scratch, packed_weights);
}

int dd_conv_forward(const dd_conv *conv, const float *src, const float *weights, const float *bias, float *dst,
                    float *scratch) {
    return forward(conv, src, weights, bias, dst, scratch, 0);
}

int dd_conv_forward_packed(const dd_conv *conv, const float *src, const float *packed, const float *bias, float *dst,
                           float *scratch) {
    return forward(conv, src, packed, bias, dst, scratch, 1);
}

size_t dd_conv_packed_weight_floats(const dd_conv *conv) {
    if (conv->kind != DD_CONV_FORWARD) return 0;
    return (dnnl_memory_desc_get_size(&conv->args[1].internal) + sizeof(float) - 1) / sizeof(float);
}

int dd_conv_same_weight_layout(const dd_conv *a, const dd_conv *b) {
    return a->kind == DD_CONV_FORWARD && b->kind == DD_CONV_FORWARD &&
           dnnl_memory_desc_equal(&a->args[1].internal, &b->args[1].internal);
}

int dd_conv_pack_weights(const dd_conv *conv, const float *weights, float *packed) {
    if (conv->kind != DD_CONV_FORWARD) return -1;
    return dd_reorder_once(&conv->args[1].user, weights, &conv->args[1].internal, packed);
}

int dd_conv_unpack_weights(const dd_conv *conv, const float *packed, float *weights) {
    if (conv->kind != DD_CONV_FORWARD) return -1;
    return dd_reorder_once(&conv->args[1].internal, packed, &conv->args[1].user, weights);
}

int dd_conv_backward_data(const dd_conv *conv, const float *diff_dst, const float *weights, float *diff_src,
                          float *scratch) {
    if (conv->kind != DD_CONV_BACKWARD_DATA) return -1;
    const int ids[3] = {DNNL_ARG_DIFF_DST, DNNL_ARG_WEIGHTS, DNNL_ARG_DIFF_SRC};
    void *data[3] = {(void *)diff_dst, (void *)weights, diff_src};
    return run(conv, ids, data, DNNL_ARG_DIFF_BIAS, NULL, scratch, 0);
}

int dd_conv_backward_weights(const dd_conv *conv, const float *src, const float *diff_dst, float *diff_weights,
                             float *diff_bias, float *scratch) {
    if (conv->kind != DD_CONV_BACKWARD_WEIGHTS) return -1;
    const int ids[3] = {DNNL_ARG_SRC, DNNL_ARG_DIFF_DST, DNNL_ARG_DIFF_WEIGHTS};
    void *data[3] = {(void *)src, (void *)diff_dst, diff_weights};
    return run(conv, ids, data, DNNL_ARG_DIFF_BIAS, diff_bias, scratch, 0);
}

dd_conv *dd_conv_create(dd_conv_kind kind, const dd_conv_shape *s) {
    if (!dd_engine_ready()) return NULL;
    // Winograd where oneDNN has it for the shape (3×3, stride 1, channels in whole blocks), else direct.
    dd_conv *conv = s->winograd ? create_with(kind, s, dnnl_convolution_winograd) : NULL;
    return conv ? conv : create_with(kind, s, dnnl_convolution_direct);
}
