/* proctoring: client and connection events for the proctors. Events are high-rate, so
 * they are kept in memory and written to the database in batches. Never includes server/. */
#ifndef KAOCHANG_PROCT_H
#define KAOCHANG_PROCT_H

#include <stddef.h>
#include <stdint.h>
#include "../lib/kc.h"

typedef struct proct_event {
    uint64_t attempt_id;
    int64_t at_ms;          /* server clock, UTC ms */
    char kind[24];          /* connect, disconnect, blur, focus, ... */
    char detail[64];
} proct_event;

typedef struct proct_batch {
    size_t n, cap;
    proct_event *ev;
} proct_batch;

/* A bounded buffer filled by one thread (the service thread). When it is full new events
 * are dropped and counted, so a stalled database cannot exhaust memory or stall the loop. */
typedef struct proct_buffer {
    proct_batch *cur;
    size_t limit;
    uint64_t dropped;
} proct_buffer;

int proct_buffer_init(proct_buffer *b, size_t limit);
void proct_buffer_free(proct_buffer *b);
/* client_at_ms is the browser's clock; it goes into detail for the record, the event is
 * stamped with at_ms from the server. Returns 0 or KC_ENOMEM. */
int proct_buffer_add(proct_buffer *b, uint64_t attempt_id, int64_t at_ms, const char *kind,
                     const char *detail);
/* Takes everything buffered so far (NULL when empty); the caller owns the batch. */
proct_batch *proct_buffer_take(proct_buffer *b);
void proct_batch_free(proct_batch *batch);

/* Writes a batch in one transaction, many rows per statement. Returns 0, or a kc error with
 * the message in db->err and nothing written (KC_ELOST: reconnect and write it again). */
int proct_store_batch(kc_db *db, const proct_batch *batch);

#endif
