/* The tensor view the ops work on: a weight as stored in the file. It lives here, below the
 * models, so that the ops need nothing from the layer that calls them. */
#ifndef EQ_WEIGHT_H
#define EQ_WEIGHT_H

#include <stddef.h>
#include <stdint.h>

/* A weight as stored in the file: ne1 rows of ne0 values, each row nb1 bytes. */
typedef struct {
    const void *data;   /* host bytes; NULL when the tensor is absent */
    int type;
    int64_t ne0, ne1;
    size_t nb1;
    void *dev;          /* where a backend placed a copy (backend/backend.h's upload hook);
                           NULL: the ops read `data` in place (the CPU) */
    int packed;         /* rows interleaved eight at a time (quant/repack.h): only the packed
                           kernels may read `data` */
} eq_weight;

/* Whether the model has this (optional) tensor: its bytes on the host, or only on a device
 * (a model loaded for the GPU without a host copy). */
static inline int eq_weight_present(const eq_weight *w) { return w->data != NULL || w->dev != NULL; }

#endif
