#define _GNU_SOURCE
#include <spawn.h>
#include "cspawn.h"

int medsettle_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd) {
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return posix_spawn_file_actions_addclosefrom_np(actions, lowfd);
#else
    (void)actions; (void)lowfd;
    return 0;
#endif
}
