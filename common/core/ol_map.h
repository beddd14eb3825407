/* ol_map: a string-keyed hash map (open addressing, SipHash-2-4). Keys are
 * copied and owned by the map, unless it was made by ol_map_new_borrowing;
 * values are borrowed pointers the caller owns.
 *
 * Keys come from clients (order ids, item names), so the hash is keyed:
 * each map draws its own random key (getrandom(2)) when made, and nobody
 * outside can pick keys that collide. Iteration order therefore differs
 * from one map (and run) to the next. */
#ifndef OL_MAP_H
#define OL_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OL_MAP_KEY_SIZE 16

typedef struct ol_map ol_map;

/* NULL when memory ran out, or the kernel gave no random key (getrandom). */
ol_map *ol_map_new(void);
/* A map that borrows its keys instead of copying them: each key must stay
 * alive and unchanged while it is in the map (typically it lives in the
 * value). Saves an allocation per entry. */
ol_map *ol_map_new_borrowing(void);
/* A map with a fixed hash key (tests: a known layout). */
ol_map *ol_map_new_keyed(const uint8_t key[OL_MAP_KEY_SIZE], bool borrowing);
void ol_map_destroy(ol_map *map);
/* Removes every entry, keeping the allocation for reuse. */
void ol_map_clear(ol_map *map);
/* Returns the value stored for key, or NULL. */
void *ol_map_get(const ol_map *map, const char *key);
/* Inserts or replaces (a borrowing map then keeps the new key pointer);
 * false only when memory ran out (map unchanged). */
bool ol_map_put(ol_map *map, const char *key, void *value);
/* Removes key; returns its value, or NULL when it was not there. */
void *ol_map_remove(ol_map *map, const char *key);
size_t ol_map_size(const ol_map *map);

/* Iteration: *pos starts at 0; returns false when done. */
bool ol_map_next(const ol_map *map, size_t *pos, const char **key, void **value);

#endif
