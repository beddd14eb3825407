/* The result parser, and the round trip through the encoder: whatever
 * ol_result_from_json accepts, ol_result_to_json writes as a document that
 * parses to the same result and encodes to the same bytes again. And its
 * two paths: whatever the flat fast path takes, jansson's general path
 * takes too, to the same bytes of ol_result. */
#include "fuzz.h"

#include <string.h>

#include "ol_result.h"

static void check_same(const ol_result *a, const ol_result *b, const char *json) {
    FUZZ_CHECK(strcmp(a->order_id, b->order_id) == 0, "order_id '%s' vs '%s' (%s)", a->order_id, b->order_id, json);
    FUZZ_CHECK(a->has_order == b->has_order, "has_order (%s)", json);
    FUZZ_CHECK(strcmp(a->item, b->item) == 0, "item '%s' vs '%s' (%s)", a->item, b->item, json);
    FUZZ_CHECK(a->type == b->type && a->quantity == b->quantity, "type or quantity (%s)", json);
    FUZZ_CHECK(a->status == b->status && a->reason == b->reason, "status or reason (%s)", json);
    FUZZ_CHECK(a->has_remaining == b->has_remaining && a->remaining == b->remaining, "remaining (%s)", json);
    FUZZ_CHECK(a->duplicate == b->duplicate, "duplicate (%s)", json);
    FUZZ_CHECK(a->partition == b->partition && a->offset == b->offset, "partition or offset (%s)", json);
    FUZZ_CHECK(a->processed_at_us == b->processed_at_us, "processed_at %lld vs %lld (%s)",
               (long long)a->processed_at_us, (long long)b->processed_at_us, json);
    FUZZ_CHECK(strcmp(a->error, b->error) == 0, "error '%s' vs '%s' (%s)", a->error, b->error, json);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ol_result first, second;
    char err[OL_ERROR_MAX];
    if (ol_result_parse_flat((const char *)data, size, &first)) {
        bool general = ol_result_parse_general((const char *)data, size, &second, err, sizeof err);
        FUZZ_CHECK(general, "the fast path took what the general path refuses: %s", err);
        FUZZ_CHECK(memcmp(&first, &second, sizeof first) == 0, "the two paths read a result differently");
    }
    if (!ol_result_from_json((const char *)data, size, &first, err, sizeof err)) return 0;
    char *json = ol_result_to_json(&first);
    FUZZ_CHECK(json, "the encoder failed");
    bool ok = ol_result_from_json(json, strlen(json), &second, err, sizeof err);
    FUZZ_CHECK(ok, "the encoder's output does not parse: %s (%s)", err, json);
    check_same(&first, &second, json);
    char *again = ol_result_to_json(&second);
    FUZZ_CHECK(again && strcmp(again, json) == 0, "re-encoding differs: %s vs %s", json, again ? again : "(null)");
    free(again);
    free(json);
    return 0;
}
