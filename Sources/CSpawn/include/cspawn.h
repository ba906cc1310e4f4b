#ifndef MEDSETTLE_CSPAWN_H
#define MEDSETTLE_CSPAWN_H
#include <spawn.h>

/// posix_spawn_file_actions_addclosefrom_np (glibc 2.34+), which Swift's Glibc module does not
/// expose: the child closes every descriptor from `lowfd` up.
int medsettle_spawn_addclosefrom(posix_spawn_file_actions_t *actions, int lowfd);

#endif
