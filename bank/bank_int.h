/* bank: internal declarations shared by the storage files (not a public header). */
#ifndef KAOCHANG_BANK_INT_H
#define KAOCHANG_BANK_INT_H

#include "bank.h"

/* err = "what: msg" (err may be NULL). Returns KC_ERR. */
int bank__err(char *err, size_t errlen, const char *what, const char *msg);
/* err = "what: " and the database's message; returns its kc error (KC_ELOST for a lost
 * connection, so the caller reconnects and runs the whole transaction again). */
int bank__db_err(kc_db *db, char *err, size_t errlen, const char *what);
/* Ends a transaction: rolls back when rc is not 0 (and returns it), else commits; a failed
 * COMMIT is rolled back and reported in err. */
int bank__tx_end(kc_db *db, int rc, char *err, size_t errlen);

#endif
