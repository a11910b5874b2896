/* Reading a whole small file, for the converter's inputs (JSON, tokenizer.model). It sits in
 * the runtime so that every format reader can use it without including another. */
#ifndef EQ_READFILE_H
#define EQ_READFILE_H

#include <stddef.h>
#include "edgeq.h"

/* Read a whole small file (JSON, tokenizer.model) into a NUL-terminated buffer; files over
 * max_size are refused. EQ_ERR_IO when it cannot be opened (check exists first if optional). */
eq_status eq_read_file(const char *path, size_t max_size, char **out, size_t *len,
                       char *err, size_t errlen);

#endif
