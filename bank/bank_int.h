/* bank: internal declarations shared by the storage files (not a public header). */
#ifndef KAOCHANG_BANK_INT_H
#define KAOCHANG_BANK_INT_H

#include "bank.h"

/* err = "what: msg" (err may be NULL). Returns KC_ERR. */
int bank__err(char *err, size_t errlen, const char *what, const char *msg);
/* err = "what: out of memory" (err may be NULL). Returns KC_ENOMEM. */
int bank__oom(char *err, size_t errlen, const char *what);
/* err = "what: " and the database's message; returns its kc error (KC_ELOST for a lost
 * connection, so the caller reconnects and runs the whole transaction again). */
int bank__db_err(kc_db *db, char *err, size_t errlen, const char *what);
/* Ends a transaction: rolls back when rc is not 0 (and returns it), else commits; a failed
 * COMMIT is rolled back and reported in err. */
int bank__tx_end(kc_db *db, int rc, char *err, size_t errlen);

/* ---- session papers (bank_template_store.c, bank_session.c, bank_session_verify.c,
 * bank_seat.c) ---- */

/* Loads what a template is checked against: the approved pool of its occupation + level,
 * and for 按鉴定点组卷 (or a scope) its blueprint (*bp NULL when it needs none). KC_EINVAL
 * with a diag line when a blueprint template has no blueprint; other failures in db->err. */
int bank__tpl_inputs(kc_db *db, const bank_tpl *t, kc_arena *a, kc_diag *d,
                     bank_blueprint **bp, bank_pool *pool);

/* What a session's papers are made from: the first build's template, blueprint and pool
 * when the session was prepared before (so papers added later follow the same rules and
 * exposure is counted over the same pool), else the session's template now. */
typedef struct bank__source {
    bank_tpl tpl;
    bank_blueprint *bp;
    bank_pool pool;
    uint64_t first_build;
    int forms, cols;
    uint64_t seed;
    const char *tpl_code;
} bank__source;
/* lock: SELECT ... FOR UPDATE on the session row (prepare, inside its transaction). */
int bank__source_load(kc_db *db, uint64_t session_id, int lock, kc_arena *a, kc_diag *d,
                      bank__source *src);
/* The session's parallel forms: form_no, seed, items. */
extern const char bank__sql_forms[];
/* Adds (sign > 0) or takes away a paper's items from the exposure counts. */
void bank__exposure_add(bank_exposure *e, const bank_paper *p, int sign);

/* One attempt of a session being prepared: its seat, form, paper and neighbours. */
typedef struct bank__cand {
    uint64_t attempt_id;
    char room[65];
    int seat;               /* 1-based in its room; 0: not seated */
    int form;               /* 1.. in forms mode; 0: none yet */
    int have;               /* has a stored paper */
    bank_paper paper;
    int nb[4], n_nb;        /* neighbours (indices) */
} bank__cand;
/* Fills each seated candidate's neighbours: the same room and row one seat apart, or one
 * row apart (rows of `cols` seats; cols 0: one long row). 0 or KC_ENOMEM. */
int bank__seat_neighbours(bank__cand *cs, size_t n, int cols);
/* The form for cs[me] (1..forms): none a neighbour already has when possible, then the
 * least used so far (used[f], lowest number on a tie). */
int bank__seat_pick_form(const bank__cand *cs, size_t me, int forms, const int *used);
/* 1 when p is the same paper as one a neighbour of cs[me] already has. */
int bank__seat_same_as_neighbour(const bank__cand *cs, size_t me, const bank_paper *p);

/* The plain text of rich text on one line (tabs and line breaks as spaces), clipped to fit
 * bytes, in a ("" on OOM): task titles in practical plans and schedules. */
const char *bank__text_excerpt(kc_arena *a, const char *html, size_t bytes);

#endif
