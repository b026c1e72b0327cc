/* The project's version (CMake's project(VERSION)) and the git commit it was configured from. */
#ifndef BN_VERSION_H
#define BN_VERSION_H

/* "0.1.0" */
const char *bn_version(void);
/* "0.1.0 (git 44a8b99)", or "0.1.0" when the tree was not a git checkout at configure time. */
const char *bn_version_long(void);
/* `PROG --version`: "PROG 0.1.0 (git 44a8b99)\n" on stdout. */
void bn_version_print(const char *prog);

#endif
