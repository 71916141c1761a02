// What the oneDNN primitives of this shim share: one CPU engine and stream, the attribute that
// makes every primitive take its scratchpad from the caller, and scratch-buffer regions.
#ifndef CDIFFUSE_DNNL_COMMON_H
#define CDIFFUSE_DNNL_COMMON_H

#include <oneapi/dnnl/dnnl.h>
#include <stddef.h>

/// Creates the engine, stream and attribute once; 0 when oneDNN is unusable.
int dd_engine_ready(void);
dnnl_engine_t dd_engine(void);
dnnl_stream_t dd_stream(void);
/// Primitive attributes with `dnnl_scratchpad_mode_user`: pass to every primitive descriptor.
const_dnnl_primitive_attr_t dd_user_scratchpad(void);

/// A region of the caller's scratch buffer: `offset` floats in, described by `md` (zero size: none).
typedef struct {
    dnnl_memory_desc_t md;
    size_t offset;
    int used;
} dd_region;

/// Reserves `md` at the end of the scratch buffer (`*scratch` floats so far; 64-byte aligned offsets).
void dd_region_reserve(dd_region *r, const dnnl_memory_desc_t *md, size_t *scratch);
/// Reserves the scratchpad `pd` asks for.
void dd_scratchpad_reserve(dd_region *r, const_dnnl_primitive_desc_t pd, size_t *scratch);
/// Memory over a region of `scratch` (NULL when the region is unused or the memory cannot be made).
dnnl_memory_t dd_region_memory(const dd_region *r, float *scratch);
/// Executes `primitive` with `args` (room for one more) plus its scratchpad region, when it has one.
dnnl_status_t dd_execute(dnnl_primitive_t primitive, int count, dnnl_exec_arg_t *args, const dd_region *scratchpad,
                         float *scratch);

/// Copies `from` (described by `from_md`) into `to` (`to_md`) through a reorder made for this call
/// (weights packed once, or unpacked: not on a hot path). 0 on success, else the oneDNN status.
int dd_reorder_once(const dnnl_memory_desc_t *from_md, const void *from, const dnnl_memory_desc_t *to_md, void *to);

#endif
