// One instruction set's copy of the attention kernels: attention.c includes this once per target
// (inside a `#pragma clang attribute` that sets it) after defining DK_W, DK_R, DK_CV, DK_BR,
// DK_FN, DK_VNATIVE and DK_MAXPS (see attention_kernel.h and attention_backward_kernel.h), and
// this file undefines them all for the next copy.
#include "attention_kernel.h"
#include "attention_backward_kernel.h"
#undef DK_V
#undef DK_VI
#undef DK_W
#undef DK_R
#undef DK_CV
#undef DK_BR
#undef DK_FN
#undef DK_VNATIVE
#undef DK_MAXPS
