/* Fresh random numbers for what must differ from run to run (default sampling seeds, response
 * ids, temporary file names): uniqueness, not secrecy, is the goal. */
#ifndef EQ_ENTROPY_H
#define EQ_ENTROPY_H
#include <stdint.h>

/* splitmix64's step: a 64-bit mix with every input bit reaching every output bit */
uint64_t eq_mix64(uint64_t x);
/* The OS's randomness (getentropy, else /dev/urandom) mixed with the clock and a stack
 * address, so it still differs between calls where the OS gives none. */
uint64_t eq_entropy64(void);

#endif
