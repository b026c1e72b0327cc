/* BN_VERSION and BN_COMMIT come from bn_version_gen.h, which CMakeLists.txt writes into the
 * build tree at configure time: a new commit recompiles this file and relinks, nothing else. */
#include "bn_version.h"
#include "bn_version_gen.h"

#include <stdio.h>
#include <string.h>

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
