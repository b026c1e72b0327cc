/* BN_VERSION and BN_COMMIT are set by CMakeLists.txt on this file alone, so a new commit
 * recompiles one file and relinks, not the whole tree. */
#include "bn_version.h"

#include <stdio.h>
#include <string.h>

#ifndef BN_VERSION
#define BN_VERSION "0.0.0"
#endif
#ifndef BN_COMMIT
#define BN_COMMIT ""
#endif

const char *bn_version(void) { return BN_VERSION; }

const char *bn_version_long(void)
{
    return BN_COMMIT[0] ? BN_VERSION " (git " BN_COMMIT ")" : BN_VERSION;
}

void bn_version_print(const char *prog)
{
    const char *base = strrchr(prog, '/');
    printf("%s %s\n", base ? base + 1 : prog, bn_version_long());
}
