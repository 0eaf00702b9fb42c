/*  fdslots.c - a table with a slot per file descriptor; see fdslots.h. */

#include "fdslots.h"

#include <stdlib.h>
#include <string.h>

void *
fdslots_grow (void **slots, size_t *size, size_t slot_size, int fd)
{
    if (fd < 0)
        return NULL;
    size_t index = (size_t) fd;
    if (index >= *size) {
        size_t wanted = *size ? *size : 64;
        while (wanted <= index)
            wanted *= 2;
        char *grown = realloc (*slots, wanted * slot_size);
        if (!grown)
            return NULL;
        memset (grown + *size * slot_size, 0, (wanted - *size) * slot_size);
        *slots = grown;
        *size = wanted;
    }
    return (char *) *slots + index * slot_size;
}
