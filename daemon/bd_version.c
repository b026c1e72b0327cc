/* Version string shared by the daemon's modules. */
const char *bd_version(void) { return "0.1.0"; }
