/* ol_map: a string-keyed hash map (open addressing, FNV-1a). Keys are copied
 * and owned by the map, unless it was made by ol_map_new_borrowing; values
 * are borrowed pointers the caller owns. */
#ifndef OL_MAP_H
#define OL_MAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct ol_map ol_map;

ol_map *ol_map_new(void);
/* A map that borrows its keys instead of copying them: each key must stay
 * alive and unchanged while it is in the map (typically it lives in the
 * value). Saves an allocation per entry. */
ol_map *ol_map_new_borrowing(void);
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
