/* cart_outbox: a batch's rows go straight to librdkafka only when nothing
 * earlier is owed from the table, and RETURNING's ids map to staging order. */
#include <criterion/criterion.h>

#include "cart_outbox.h"

Test(cart_outbox, nothing_is_handed_directly_before_the_first_read) {
    cart_outbox_cursor c;
    cart_outbox_reread(&c);
    cr_assert_not(cart_outbox_may_hand(&c));
    cr_assert_eq(c.after, 0);
}

Test(cart_outbox, a_finished_read_lets_batches_hand_over) {
    cart_outbox_cursor c;
    cart_outbox_reread(&c);
    cart_outbox_read_start(&c);
    cart_outbox_handed(&c, 7);
    cart_outbox_handed(&c, 9);
    cr_assert(cart_outbox_may_hand(&c));
    cr_assert_eq(c.after, 9);
    cart_outbox_handed(&c, 12); /* a batch's own row */
    cr_assert_eq(c.after, 12);
}

/* A refused produce or a lost delivery mid-way: the rows after it must wait
 * for the table read, which starts again from the first row. */
Test(cart_outbox, a_loss_stops_direct_hand_over_until_the_table_is_read) {
    cart_outbox_cursor c;
    cart_outbox_reread(&c);
    cart_outbox_read_start(&c);
    cart_outbox_handed(&c, 20);
    cart_outbox_reread(&c);
    cart_outbox_handed(&c, 21); /* already in flight: does not move the cursor */
    cr_assert_not(cart_outbox_may_hand(&c));
    cr_assert_eq(c.after, 0);
    cart_outbox_read_start(&c);
    cart_outbox_handed(&c, 20);
    cart_outbox_handed(&c, 21);
    cr_assert(cart_outbox_may_hand(&c));
    cr_assert_eq(c.after, 21);
}

Test(cart_outbox, a_loss_during_a_read_keeps_it_due) {
    cart_outbox_cursor c;
    cart_outbox_reread(&c);
    cart_outbox_read_start(&c);
    cart_outbox_handed(&c, 3);
    cart_outbox_reread(&c); /* a delivery report said it failed */
    cart_outbox_handed(&c, 4);
    cr_assert_not(cart_outbox_may_hand(&c));
    cr_assert_eq(c.after, 0);
}

Test(cart_outbox, returned_ids_are_put_in_staging_order) {
    int64_t ids[] = {105, 101, 104, 102, 103};
    cr_assert(cart_outbox_ids_in_order(ids, 5, 5));
    for (int i = 0; i < 5; i++) cr_assert_eq(ids[i], 101 + i);
}

Test(cart_outbox, gaps_from_other_writers_are_fine) {
    int64_t ids[] = {40, 10, 31};
    cr_assert(cart_outbox_ids_in_order(ids, 3, 3));
    cr_assert_eq(ids[0], 10);
    cr_assert_eq(ids[2], 40);
}

Test(cart_outbox, a_count_or_duplicate_mismatch_is_refused) {
    int64_t ids[] = {1, 2, 2};
    cr_assert_not(cart_outbox_ids_in_order(ids, 2, 3));
    cr_assert_not(cart_outbox_ids_in_order(ids, 3, 3));
    cr_assert(cart_outbox_ids_in_order(ids, 0, 0));
}
