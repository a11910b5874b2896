/* Links against edgeq through its public header only. */
#include "edgeq.h"
#include <stdio.h>

int main(void) {
    printf("%s\n", eq_status_str(EQ_OK));
    return 0;
}
