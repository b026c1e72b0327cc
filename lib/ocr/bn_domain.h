/* bn_domain — domain names and the data a domain certificate is checked against.
 *
 * Pure string functions (normalise a domain, its TLD, IDN labels in punycode or Chinese compared
 * alike) and three dated, documented tables in data/ (docs/VALIDATION.md "Domain certificates"):
 *   tlds.tsv            TLDs that can be filed (tld_not_filable)
 *   registrars.tsv      registrars and whether they are Mainland ones (registrar_not_mainland)
 *   province-rules.tsv  provinces that require a Mainland registrar
 * The tables are loaded once, lazily, from ocr.domain_data_dir, else $BEIAN_DATA, else the
 * source tree's data/ (as data/regions.tsv is). A missing table is logged once and its check
 * is skipped (checks say "unknown"), never a stage failure. */
#ifndef BN_DOMAIN_H
#define BN_DOMAIN_H
#include <stddef.h>

#include "core/bn_config.h"

#define BN_DOMAIN_MAX 256

/* A printed domain as the stage reports it: ASCII lower-cased, full-width letters, digits and
 * dots (．。｡) folded, spaces and a trailing dot removed, a leading scheme (http://) and path
 * dropped; Chinese labels kept as printed. Returns out ("" when nothing domain-like is left). */
char *bn_domain_norm(const char *raw, char *out, size_t size);

/* Does s look like a domain (two or more labels of letters, digits, '-' or CJK, joined by dots,
 * after bn_domain_norm)? */
int bn_domain_plausible(const char *s);

/* The canonical form for comparing two domains: normalised, every "xn--" label decoded from
 * punycode (RFC 3492) to UTF-8, so 例子.中国 and xn--fsqu00a.xn--fiqs8s compare equal.
 * Returns out, or "" when a punycode label does not decode. */
char *bn_domain_canonical(const char *raw, char *out, size_t size);

/* The last label of the canonical domain (UTF-8 for an IDN), into out. Returns out. */
char *bn_domain_tld(const char *raw, char *out, size_t size);

/* Decode one punycode label (without "xn--") to UTF-8. Returns 0, -1 on bad input. */
int bn_punycode_decode(const char *in, char *out, size_t size);

/* Choose the data directory before first use (ocr.domain_data_dir; only the first call
 * counts); bn_domain_load_dir loads from dir now (tests). Returns the number of rows, -1. */
void bn_domain_configure(const bn_config_t *cfg);
int bn_domain_load_dir(const char *dir);

/* Is the TLD of domain filable? 1 yes, 0 no, -1 the table is unavailable. */
int bn_domain_tld_filable(const char *domain);

/* Is the registrar (as printed) a Mainland one? 1 yes, 0 no (a known foreign registrar),
 * -1 not in the table (or the table is unavailable). */
int bn_registrar_mainland(const char *registrar);

/* The province of a form value: a GB/T 2260 code ("11", "110000") or a name with or without its
 * suffix (北京, 北京市, 内蒙古自治区). Returns the 2-digit code in code3 and whether it requires a
 * Mainland registrar (1 yes, 0 no), or -1 when the province is not in the table. */
int bn_province_requires_mainland(const char *province, char code3[3]);

#endif
