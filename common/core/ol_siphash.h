/* ol_siphash: SipHash-2-4 (Aumasson and Bernstein, 2012), a keyed hash for
 * tables whose keys a client chooses: without the key, nobody can make
 * many keys collide on purpose and turn lookups into linear scans. Pure. */
#ifndef OL_SIPHASH_H
#define OL_SIPHASH_H

#include <stddef.h>
#include <stdint.h>

#define OL_SIPHASH_KEY_SIZE 16

/* The 64-bit tag of data under key (16 bytes, read as two little-endian
 * words, as the reference implementation does). */
uint64_t ol_siphash24(const uint8_t key[OL_SIPHASH_KEY_SIZE], const void *data, size_t len);

#endif
