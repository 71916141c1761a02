#include "CDiffuseDNNL.h"
#include "dnnl_common.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct dd_linear {
    dnnl_primitive_t primitive;
    dnnl_primitive_t pack;  // plain [n, k] weights -> the primitive's layout
    dnnl_memory_desc_t src, weights_plain, weights_packed, bias, dst;
    int has_bias, adds_residual;
    dd_activation activation;
    dd_region scratchpad, pack_scratchpad;
    size_t scratch_floats;
    int layout;
    char implementation[64];
};

// The distinct packed-weight layouts seen so far: equal ids mean equal layouts, so one packed copy
// of a weight serves every primitive (every row count) that wants that layout.
#define MAX_LAYOUTS 256
static dnnl_memory_desc_t layouts[MAX_LAYOUTS];
static int layout_count;
static pthread_mutex_t layout_lock = PTHREAD_MUTEX_INITIALIZER;

static int layout_id(const dnnl_memory_desc_t *md) {
    pthread_mutex_lock(&layout_lock);
    int id = -1;
    for (int i = 0; i < layout_count && id < 0; i++)
        if (dnnl_memory_desc_equal(&layouts[i], md)) id = i;
    if (id < 0 && layout_count < MAX_LAYOUTS) {
        layouts[layout_count] = *md;
        id = layout_count++;
    }
    pthread_mutex_unlock(&layout_lock);
    return id;
}

void dd_linear_destroy(dd_linear *linear) {
    if (!linear) return;
    if (linear->primitive) dnnl_primitive_destroy(linear->primitive);
    if (linear->pack) dnnl_primitive_destroy(linear->pack);
    free(linear);
}

// The scratchpad attribute plus the post-ops for `activation` and `adds_residual` (NULL on failure).
static dnnl_primitive_attr_t epilogue_attr(dd_activation activation, int adds_residual, const dnnl_memory_desc_t *dst) {
    dnnl_primitive_attr_t attr = NULL;
    dnnl_post_ops_t ops = NULL;
    if (dnnl_primitive_attr_clone(&attr, dd_user_scratchpad()) || dnnl_post_ops_create(&ops)) goto fail;
    dnnl_status_t status = dnnl_success;
    switch (activation) {
    case DD_ACTIVATION_NONE: break;
    case DD_ACTIVATION_QUICK_GELU: status = dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_swish, 1.702f, 0.f); break;
    case DD_ACTIVATION_GELU: status = dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_gelu_erf, 0.f, 0.f); break;
    case DD_ACTIVATION_GELU_TANH: status = dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_gelu_tanh, 0.f, 0.f); break;
    case DD_ACTIVATION_RELU: status = dnnl_post_ops_append_eltwise(ops, 1.f, dnnl_eltwise_relu, 0.f, 0.f); break;
    default: goto fail;
    }
    if (status || (adds_residual && dnnl_post_ops_append_binary(ops, dnnl_binary_add, dst)) ||
        dnnl_primitive_attr_set_post_ops(attr, ops))
        goto fail;
    dnnl_post_ops_destroy(ops);
    return attr;
fail:
    if (ops) dnnl_post_ops_destroy(ops);
    if (attr) dnnl_primitive_attr_destroy(attr);
    return NULL;
}

dd_linear *dd_linear_create(int64_t m, int64_t k, int64_t n, int has_bias, dd_activation activation, int adds_residual) {
    if (!dd_engine_ready() || m <= 0 || k <= 0 || n <= 0) return NULL;
    dd_linear *linear = calloc(1, sizeof(dd_linear));
    if (!linear) return NULL;
    dnnl_dims_t src_dims = {m, k}, w_dims = {n, k}, bias_dims = {n}, dst_dims = {m, n};
    dnnl_memory_desc_t w_any;
    dnnl_inner_product_desc_t desc;
    dnnl_primitive_desc_t pd = NULL, pack_pd = NULL;
    dnnl_primitive_attr_t attr = NULL;
    if (dnnl_memory_desc_init_by_tag(&linear->src, 2, src_dims, dnnl_f32, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&linear->weights_plain, 2, w_dims, dnnl_f32, dnnl_ab) ||
        dnnl_memory_desc_init_by_tag(&w_any, 2, w_dims, dnnl_f32, dnnl_format_tag_any) ||
        dnnl_memory_desc_init_by_tag(&linear->bias, 1, bias_dims, dnnl_f32, dnnl_a) ||
        dnnl_memory_desc_init_by_tag(&linear->dst, 2, dst_dims, dnnl_f32, dnnl_ab) ||
        dnnl_inner_product_forward_desc_init(&desc, dnnl_forward_inference, &linear->src, &w_any,
                                             has_bias ? &linear->bias : NULL, &linear->dst) ||
        !(attr = epilogue_attr(activation, adds_residual, &linear->dst)) ||
        dnnl_primitive_desc_create(&pd, &desc, attr, dd_engine(), NULL))
        goto fail;
    linear->has_bias = has_bias;
    linear->adds_residual = adds_residual;
    linear->activation = activation;
    linear->weights_packed = *dnnl_primitive_desc_query_md(pd, dnnl_query_weights_md, 0);
    const char *impl = NULL;
    dnnl_primitive_desc_query(pd, dnnl_query_impl_info_str, 0, &impl);
    strncpy(linear->implementation, impl ? impl : "?", sizeof(linear->implementation) - 1);
    size_t scratch = 0;
    dd_scratchpad_reserve(&linear->scratchpad, pd, &scratch);
    if (dnnl_primitive_create(&linear->primitive, pd)) goto fail;
    if (dnnl_reorder_primitive_desc_create(&pack_pd, &linear->weights_plain, dd_engine(), &linear->weights_packed,
                                           dd_engine(), dd_user_scratchpad()))
        goto fail;
    dd_scratchpad_reserve(&linear->pack_scratchpad, pack_pd, &scratch);
    if (dnnl_primitive_create(&linear->pack, pack_pd)) goto fail;
    linear->scratch_floats = scratch;
    linear->layout = layout_id(&linear->weights_packed);
    if (linear->layout < 0) goto fail;
    dnnl_primitive_desc_destroy(pack_pd);
    dnnl_primitive_desc_destroy(pd);
    dnnl_primitive_attr_destroy(attr);
    return linear;
fail:
    if (attr) dnnl_primitive_attr_destroy(attr);
    if (pack_pd) dnnl_primitive_desc_destroy(pack_pd);
    if (pd) dnnl_primitive_desc_destroy(pd);
    dd_linear_destroy(linear);
    return NULL;
}

size_t dd_linear_scratch_floats(const dd_linear *linear) { return linear->scratch_floats; }
size_t dd_linear_packed_floats(const dd_linear *linear) {
    return (dnnl_memory_desc_get_size(&linear->weights_packed) + sizeof(float) - 1) / sizeof(float);
}
int dd_linear_layout(const dd_linear *linear) { return linear->layout; }
int dd_linear_unpack(const dd_linear *linear, const float *packed, float *weights) {
    return dd_reorder_once(&linear->weights_packed, packed, &linear->weights_plain, weights);
}
const char *dd_linear_implementation(const dd_linear *linear) { return linear->implementation; }

int dd_linear_pack(const dd_linear *linear, const float *weights, float *packed, float *scratch) {
    dnnl_memory_t from = NULL, to = NULL;
    dnnl_status_t status = dnnl_out_of_memory;
    if (dnnl_memory_create(&from, &linear->weights_plain, dd_engine(), (void *)weights) == dnnl_success &&
        dnnl_memory_create(&to, &linear->weights_packed, dd_engine(), packed) == dnnl_success) {
        dnnl_exec_arg_t args[3] = {{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}};
        status = dd_execute(linear->pack, 2, args, &linear->pack_scratchpad, scratch);
        if (status == dnnl_success) status = dnnl_stream_wait(dd_stream());
    }
    if (from) dnnl_memory_destroy(from);
    if (to) dnnl_memory_destroy(to);
    return status == dnnl_success ? 0 : (int)status;
}

int dd_linear_forward(const dd_linear *linear, const float *src, const float *packed, const float *bias,
                      const float *residual, float *dst, float *scratch) {
    dnnl_memory_t mems[5] = {NULL, NULL, NULL, NULL, NULL};
    dnnl_status_t status = dnnl_out_of_memory;
    if (!linear->has_bias != !bias || !linear->adds_residual != !residual) return -1;
    if (dnnl_memory_create(&mems[0], &linear->src, dd_engine(), (void *)src) == dnnl_success &&
        dnnl_memory_create(&mems[1], &linear->weights_packed, dd_engine(), (void *)packed) == dnnl_success &&
        dnnl_memory_create(&mems[2], &linear->dst, dd_engine(), dst) == dnnl_success &&
        (!bias || dnnl_memory_create(&mems[3], &linear->bias, dd_engine(), (void *)bias) == dnnl_success) &&
        (!residual || dnnl_memory_create(&mems[4], &linear->dst, dd_engine(), (void *)residual) == dnnl_success)) {
        dnnl_exec_arg_t args[6] = {{DNNL_ARG_SRC, mems[0]}, {DNNL_ARG_WEIGHTS, mems[1]}, {DNNL_ARG_DST, mems[2]}};
        int count = 3;
        if (bias) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_BIAS, mems[3]};
        if (residual) args[count++] = (dnnl_exec_arg_t){DNNL_ARG_ATTR_MULTIPLE_POST_OP(linear->activation ? 1 : 0) | DNNL_ARG_SRC_1, mems[4]};
        status = dd_execute(linear->primitive, count, args, &linear->scratchpad, scratch);
        if (status == dnnl_success) status = dnnl_stream_wait(dd_stream());
    }
    for (int i = 0; i < 5; i++)
        if (mems[i]) dnnl_memory_destroy(mems[i]);
    return status == dnnl_success ? 0 : (int)status;
}
