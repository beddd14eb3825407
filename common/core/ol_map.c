#include "ol_map.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "ol_siphash.h"

typedef struct map_slot {
    char *key; /* NULL when empty */
    void *value;
    uint64_t hash;
} map_slot;

struct ol_map {
    map_slot *slots;
    size_t cap; /* power of two */
    size_t size;
    bool borrowing; /* keys are the caller's: never copied or freed */
    uint8_t key[OL_MAP_KEY_SIZE];
};

static uint64_t map_hash(const ol_map *map, const char *key) { return ol_siphash24(map->key, key, strlen(key)); }

/* getrandom(2) without flags blocks only until the kernel's pool is first
 * initialised, early in boot; a signal may interrupt it. */
static bool random_key(uint8_t *key) {
    size_t got = 0;
    while (got < OL_MAP_KEY_SIZE) {
        ssize_t n = getrandom(key + got, OL_MAP_KEY_SIZE - got, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        got += (size_t)n;
    }
    return true;
}

static ol_map *map_new(const uint8_t *key, bool borrowing) {
    ol_map *map = calloc(1, sizeof *map);
    if (!map) return NULL;
    if (key) memcpy(map->key, key, OL_MAP_KEY_SIZE);
    else if (!random_key(map->key)) {
        free(map);
        return NULL;
    }
    map->cap = 64;
    map->borrowing = borrowing;
    map->slots = calloc(map->cap, sizeof *map->slots);
    if (!map->slots) {
        free(map);
        return NULL;
    }
    return map;
}

ol_map *ol_map_new(void) { return map_new(NULL, false); }
ol_map *ol_map_new_borrowing(void) { return map_new(NULL, true); }
ol_map *ol_map_new_keyed(const uint8_t key[OL_MAP_KEY_SIZE], bool borrowing) { return map_new(key, borrowing); }

void ol_map_clear(ol_map *map) {
    if (!map) return;
    for (size_t i = 0; i < map->cap; i++) {
        if (!map->borrowing) free(map->slots[i].key);
        map->slots[i].key = NULL;
    }
    map->size = 0;
}

void ol_map_destroy(ol_map *map) {
    if (!map) return;
    ol_map_clear(map);
    free(map->slots);
    free(map);
}

static map_slot *map_find(const ol_map *map, const char *key, uint64_t hash) {
    size_t mask = map->cap - 1;
    for (size_t i = (size_t)hash & mask;; i = (i + 1) & mask) {
        map_slot *slot = &map->slots[i];
        if (!slot->key) return slot;
        if (slot->hash == hash && strcmp(slot->key, key) == 0) return slot;
    }
}

void *ol_map_get(const ol_map *map, const char *key) {
    map_slot *slot = map_find(map, key, map_hash(map, key));
    return slot->key ? slot->value : NULL;
}

static bool map_grow(ol_map *map) {
    size_t cap = map->cap * 2;
    map_slot *slots = calloc(cap, sizeof *slots);
    if (!slots) return false;
    for (size_t i = 0; i < map->cap; i++) {
        map_slot *old = &map->slots[i];
        if (!old->key) continue;
        size_t j = (size_t)old->hash & (cap - 1);
        while (slots[j].key) j = (j + 1) & (cap - 1);
        slots[j] = *old;
    }
    free(map->slots);
    map->slots = slots;
    map->cap = cap;
    return true;
}

bool ol_map_put(ol_map *map, const char *key, void *value) {
    /* Keep the load factor under 1/2 so probes stay short. */
    if ((map->size + 1) * 2 > map->cap && !map_grow(map)) return false;
    uint64_t hash = map_hash(map, key);
    map_slot *slot = map_find(map, key, hash);
    if (slot->key) {
        if (map->borrowing) slot->key = (char *)key; /* the new value's, if it holds its key */
        slot->value = value;
        return true;
    }
    char *copy = map->borrowing ? (char *)key : strdup(key);
    if (!copy) return false;
    slot->key = copy;
    slot->value = value;
    slot->hash = hash;
    map->size++;
    return true;
}

/* Linear probing without tombstones: after emptying a slot, later entries of
 * the same probe run move back so that every lookup still finds them. */
void *ol_map_remove(ol_map *map, const char *key) {
    map_slot *slot = map_find(map, key, map_hash(map, key));
    if (!slot->key) return NULL;
    void *value = slot->value;
    if (!map->borrowing) free(slot->key);
    slot->key = NULL;
    map->size--;
    size_t mask = map->cap - 1;
    size_t hole = (size_t)(slot - map->slots);
    for (size_t i = (hole + 1) & mask; map->slots[i].key; i = (i + 1) & mask) {
        size_t home = (size_t)map->slots[i].hash & mask;
        /* Move it back unless its home lies cyclically in (hole, i]. */
        bool stays = hole <= i ? (hole < home && home <= i) : (hole < home || home <= i);
        if (stays) continue;
        map->slots[hole] = map->slots[i];
        map->slots[i].key = NULL;
        hole = i;
    }
    return value;
}

size_t ol_map_size(const ol_map *map) { return map->size; }

bool ol_map_next(const ol_map *map, size_t *pos, const char **key, void **value) {
    while (*pos < map->cap) {
        map_slot *slot = &map->slots[(*pos)++];
        if (slot->key) {
            *key = slot->key;
            *value = slot->value;
            return true;
        }
    }
    return false;
}
