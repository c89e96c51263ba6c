/* server/exam: the candidate's exam (prefix exam_). Worker handlers of the candidate's
 * messages (login, resume, start, answers, submit), the deadline sweep, resume tokens, the
 * connection's attempt on the service thread (exam_live.c), and the exam's rules without
 * the database or the transport (exam_logic.c): the stored layout
 * of a paper (option orders, section titles), the candidate's view of an item, the paper
 * the service thread checks answers against, the points of a composite's sub-items,
 * scoring a response given in the letters the candidate saw, and the deadline.
 * srv_exam.c runs the SQL and calls these; tests/unit/test_exam_logic.c tests them without
 * MariaDB. Internal to server/. Functions return 0 or a negative kc_ error (KC_EINVAL,
 * KC_ENOMEM) unless they say otherwise. */
#ifndef KAOCHANG_EXAM_H
#define KAOCHANG_EXAM_H

#include <jansson.h>
#include <stdint.h>

#include "../srv.h"
#include "../../bank/bank.h"
#include "../../proctoring/proct.h"


/* ---- the stored layout of a paper ----
 * What paper_instance.items says beyond its item rows: the option order shown for each item
 * and sub-item (by id), and the section titles of the template the paper was made from. */
typedef struct exam_layout_entry {
    uint64_t id;
    char perm[BANK_MAX_OPTIONS + 1];   /* "CADB": the candidate's A is the item's C; "" none */
} exam_layout_entry;
typedef struct exam_layout {
    int n, n_titles;
    exam_layout_entry *v;
    char **titles;
} exam_layout;
/* items: paper_instance.items ([{"i":ID,"p":PTS,"s":SEC,"o":"CADB","c":[[ID,"BA"],...]},
 * ...]); spec: the template the build used ({"sections":[{"title":...},...]}; NULL: no
 * titles). l starts zeroed; exam_layout_free it whatever the outcome. KC_EINVAL when items
 * is not a JSON array; KC_ENOMEM. */
int exam_layout_parse(const char *items, const char *spec, exam_layout *l);
void exam_layout_free(exam_layout *l);
/* The option order shown for item (or sub-item) id; "" when the layout does not name it. */
const char *exam_layout_perm(const exam_layout *l, uint64_t id);
/* The title of section sec; "" when there is none. */
const char *exam_layout_title(const exam_layout *l, int64_t sec);

/* ---- the candidate's view of an item ---- */
/* Rich text as it leaves the server (srv_exam.c signs media references): a JSON string, or
 * NULL when html is not valid UTF-8 (or on OOM). A NULL function sends the text as it is. */
typedef json_t *(*exam_text_fn)(const void *arg, uint64_t item_id, const char *html);
/* One item (or sub-item) row as stored, with what the paper gives it. */
typedef struct exam_item_row {
    uint64_t id;
    const char *type;          /* item.type: "single", "multi", "tf", "fill", ... */
    const char *stem;
    const char *options;       /* item.options: a JSON array of the option texts */
    const char *key;           /* item.answer_key: read only to count a fill item's blanks */
    const char *perm;          /* the option order shown (exam_layout_perm); "" the item's own */
    int64_t points_centi;      /* as the paper gives it */
} exam_item_row;
/* What the service thread needs to know of an answerable item. */
typedef struct exam_item_info {
    enum bank_item_type type;
    int n_options;             /* single/multi: options shown, else 0 */
    int n_blanks;              /* fill: blanks, else 0 */
} exam_item_info;
/* The candidate's view of one item: {"item","type","stem","points"} and for single/multi
 * "options":[{"key":"A","text":...},...] in the order shown (the candidate's letters), for
 * fill "blanks":N. Never the key, the explanation or the scoring rule. KC_EINVAL when the
 * item cannot be delivered (*why says why: an unknown type, a practical task, a stem that
 * is not valid UTF-8, an option order that does not fit the options, options that cannot be
 * rendered, a fill key that does not parse); KC_ENOMEM. info is filled either way as far as
 * it is known. */
int exam_item_view(const exam_item_row *r, exam_text_fn text, const void *arg, json_t **out,
                   exam_item_info *info, const char **why);
/* A composite's view: {"item","type","stem","points","children":[]}; its sub-items' views go
 * into "children". KC_EINVAL when the stem is not valid UTF-8. */
int exam_composite_view(const exam_item_row *r, exam_text_fn text, const void *arg, json_t **out);
/* A stored response as the paper gives it back: a fill item's blanks (separated by
 * BANK_BLANK_SEP) as an array of strings, anything else as the string. KC_ENOMEM. */
int exam_response_view(enum bank_item_type t, const char *response, json_t **out);

/* ---- the paper the service thread checks answers against ----
 * Its answerable items (a composite's sub-items, never the composite itself), sorted by id
 * for srv_paper_find. */
typedef struct exam_paper_build {
    struct srv_paper *p;
    int cap;
} exam_paper_build;
int exam_paper_begin(exam_paper_build *b, uint64_t attempt_id);
int exam_paper_add(exam_paper_build *b, uint64_t item_id, const exam_item_info *info);
/* Sorts the items by id and hands the paper over (*out; srv_paper_free it); b is empty. */
int exam_paper_finish(exam_paper_build *b, struct srv_paper **out);
void exam_paper_abort(exam_paper_build *b);   /* frees what was built; nothing after finish */

/* ---- points and scoring ---- */
/* A composite's sub-items are shown at the points the paper gives the composite: each
 * sub-item's own points x paper / whole (whole: the composite's own points, the sum of its
 * sub-items'), rounded by the running sum so the shown points add up exactly to the
 * paper's (three sub-items of 1.00 over 10.00: 3.33, 3.33, 3.34). Feed the sub-items in
 * order; another parent starts a new sum. whole <= 0: the sub-item's own points. */
typedef struct exam_scale {
    uint64_t parent;
    int64_t cum;
} exam_scale;
int64_t exam_scale_child(exam_scale *s, uint64_t parent, int64_t own_centi, int64_t whole_centi,
                         int64_t paper_centi);
/* Scores one stored response (in the letters the candidate saw) at own_centi: the letters
 * go back through perm to the item's own keys (bank_response_unshuffle), then bank_score
 * with policy ("all", "half", "ratio"; anything else: all). *got: points x 100 awarded, 0
 * for a type examiners score. KC_EINVAL (*got 0): an unknown type, or a letter the shown
 * order does not have. */
int exam_score_response(const char *type, const char *policy, const char *key, const char *perm,
                        const char *response, int own_centi, int *got);
/* The objective score of an attempt from its scored rows in group order: group 0 is an item
 * on the paper itself (got at the paper's points, added as it is); any other group is a
 * composite whose sub-items' points (at their own points) are summed and scaled once by
 * paper / whole, so full marks stay reachable whatever the ratio. */
typedef struct exam_tally {
    uint64_t group;
    int64_t raw, paper, whole, total;
} exam_tally;
void exam_tally_add(exam_tally *t, uint64_t group, int64_t paper_centi, int64_t whole_centi,
                    int got);
int64_t exam_tally_total(exam_tally *t);   /* closes the last group: the score x 100 */

/* ---- time: the server owns it ---- */
/* An attempt that has not started may start while its session is open (opens <= now <
 * closes); its deadline is now + duration + extra time, cut short by the session's close.
 * KC_EINVAL when the session is not open (nothing starts; *deadline untouched). */
int exam_start_deadline(int64_t now_ms, int64_t opens_ms, int64_t closes_ms, int64_t duration_s,
                        int64_t extra_s, int64_t *deadline_ms);
/* When a submit asked for at now takes effect: now, or the deadline once it has passed
 * (*late 1: the attempt ended at its deadline, whoever asks). */
int64_t exam_submit_at(int64_t now_ms, int64_t deadline_ms, int *late);

/* ---- handlers of the candidate's messages ----
 * Worker side: each runs one job on db and fills its reply. KC_ELOST: the connection was
 * lost before the outcome was known (the pool reconnects and runs it again). */
int exam_login(kc_db *db, const srv_ctx *x, srv_job *j);
int exam_resume(kc_db *db, const srv_ctx *x, srv_job *j);
int exam_start(kc_db *db, const srv_ctx *x, srv_job *j);
int exam_submit_msg(kc_db *db, const srv_ctx *x, srv_job *j);
/* Answers of many candidates in one transaction (the answers pool takes them in batches).
 * Each gets an ack (applied or not, and the seq the server holds for its item) or an error;
 * j->ok is 1 for an answer applied (now what the server holds). An applied change is also a
 * row of answer_history, with x->node_id and the job's conn, in the same transaction. */
int exam_answer(kc_db *db, const srv_ctx *x, srv_job *j);
int exam_answers(kc_db *db, const srv_ctx *x, srv_job **jobs, int n);
/* Requests the answer transactions sent to the database since start (prepares, statements,
 * BEGIN, COMMIT, rollbacks; retries and splits included): /healthz shows it beside the
 * answers stored, so the round trips per answer can be watched. */
uint64_t exam_answers_round_trips(void);

/* ---- what each answer of a batch comes to, decided under the attempts' locks ----
 * (exam__answers_decide: no database, so it is tested without one) */
/* A seq more than this beyond the attempt's last_seq is refused (bad_seq): one bad message
 * must not raise last_seq towards 2^53 - 1 and leave the attempt no seq to go on with. */
#define EXAM_SEQ_AHEAD INT64_C(1000000)
enum exam_answer_fate {
    EXAM_ANSWER_APPLIED = 1,   /* now what the server holds for the item: ack, applied */
    EXAM_ANSWER_SUPERSEDED,    /* the server holds a newer seq for the item (or another change
                                  with this seq): ack, not applied */
    EXAM_ANSWER_SUBMITTED,     /* refused: the attempt is submitted */
    EXAM_ANSWER_NOT_STARTED,   /* refused: not started, or no such attempt */
    EXAM_ANSWER_TIME_OVER,     /* refused: the deadline has passed */
    EXAM_ANSWER_BAD_SEQ,       /* refused: seq > last_seq + EXAM_SEQ_AHEAD */
};
typedef struct exam_answer_attempt {   /* an attempt of the batch as its locked row says */
    uint64_t id;
    enum srv_attempt_status status;   /* SRV_ST_NONE: there is no such attempt */
    int64_t deadline_ms, last_seq;
    int64_t new_last_seq;             /* out: last_seq once the batch's changes are written */
} exam_answer_attempt;
typedef struct exam_answer_held {      /* an answer row the database holds */
    uint64_t attempt_id;
    int64_t item, seq;
    const char *response;
} exam_answer_held;
typedef struct exam_answer_out {
    enum exam_answer_fate fate;
    int64_t held_seq;          /* APPLIED, SUPERSEDED: the seq the item holds after the batch */
    int write;                 /* 1: this change is written (answer row and history row) */
} exam_answer_out;
/* jobs[0..n) sorted by attempt then seq (as exam__answers_run gives them to tx); att[0..na)
 * their attempts in id order, one each; held[0..nh) the answer rows the database holds for
 * the batch's (attempt, item) pairs (any order; reordered here); now_ms the server's clock
 * once the locks are held. For every (attempt, item) only the newest change can be applied:
 * it is written when its seq is above the held one; the same seq and response as held is
 * applied already (a replay: nothing written); everything else is superseded. Fills
 * out[0..n) and att[].new_last_seq; returns how many changes are written, or KC_ENOMEM. */
int exam__answers_decide(srv_job *const *jobs, int n, exam_answer_attempt *att, int na,
                         exam_answer_held *held, int nh, int64_t now_ms, exam_answer_out *out);
/* The reply of one answer for its fate (an ack, or the error naming why), malloc'd JSON. */
char *exam__answer_reply(const srv_job *j, const exam_answer_out *o);
/* How exam_answers commits a batch, apart from the database (so it is tested without
 * one). It sorts jobs by attempt, then seq (the order every transaction locks attempts
 * in); tx runs jobs[0..n) so sorted in one transaction: 0 once it
 * committed (every job has its ack or refusal), KC_ELOST, KC_ERETRY, or another error with
 * [*bad_lo, *bad_hi) the jobs whose statement failed (0..n when it cannot tell). A transient
 * error runs the same jobs again (3 tries, then each gets "internal"); any other splits
 * them, the suspects from the rest (or in halves when all are suspect), until a bad answer
 * fails on its own: that one gets "not_saved", logged with why(). Only what committed is
 * acked. 0 when every job has its reply; KC_ELOST at once (the pool reconnects and runs the
 * batch again: a seq that is not newer changes nothing, so what committed is acked again). */
typedef struct exam_answers_ops {
    void *arg;
    int (*tx)(void *arg, srv_job **jobs, int n, int *bad_lo, int *bad_hi);
    const char *(*why)(void *arg);    /* the last failure, for the log */
} exam_answers_ops;
int exam__answers_run(const exam_answers_ops *ops, srv_job **jobs, int n);
/* Submits an attempt (reason "candidate" or "deadline") in its own transaction and scores
 * it. *already: 0 submitted now, 1 it was submitted before, 2 it was never started. */
int exam_submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now_ms,
                    int64_t req_id, char **reply, int *already);
/* The server's own jobs: attempts past their deadline; event batches; papers due. */
int exam_sweep(kc_db *db, const srv_ctx *x, srv_job *j);   /* j->m.offset of j->m.limit parts */
int exam_expire(kc_db *db, const srv_ctx *x, srv_job *j);
/* Deadlines changed since j->m.offset (ms) into j->changes. */
int exam_changes(kc_db *db, const srv_ctx *x, srv_job *j);
/* Extra time for the attempt of ticket (minutes 1..600): a running attempt's deadline moves
 * now (stamped, so every node pushes it to the candidate); a later start adds it. Recorded
 * as an extra_time event. *deadline_ms: the new deadline, 0 when not started. KC_ENOTFOUND /
 * KC_EINVAL with err; a kc_ error of the database. */
int exam_extra_time(kc_db *db, const char *ticket, int minutes, const char *actor, const char *reason,
                    int64_t *deadline_ms, char *err, size_t errlen);
int exam_events(kc_db *db, const srv_ctx *x, srv_job *j);
int exam_prepare_due(kc_db *db, const srv_ctx *x, srv_job *j);
/* Service-thread side, from the connection's attempt only (no database): */
char *exam_time(srv_live *l, const srv_msg *m, int64_t now_ms, struct proct_buffer *ev);
char *exam_heartbeat(srv_live *l, const srv_msg *m, int64_t now_ms, struct proct_buffer *ev);
/* An answer is checked against the attempt's state and paper, and normalised, before it
 * costs a worker anything. */
int exam_admit_answer(const srv_live *l, srv_msg *m, int64_t now_ms, srv_msg_error *e);
/* What a finished job changes in the attempt's entry: login/resume set status and
 * deadline, start and submit move its status, a stored answer its seq (only when the job is
 * for this attempt). */
void exam_live_apply(srv_live *l, srv_job *j);
void exam_live_clear(srv_live *l);

/* ---- the node's live attempt table (exam_live.c), on the service thread ----
 * One entry per attempt this node serves, found by attempt id in O(1); entries have stable
 * numbers (a connection keeps its entry's number). A per-second wheel holds each running
 * attempt's deadline, so the node acts on it from memory. An entry nobody holds is kept
 * for keep_ms (a reconnect finds it) and then freed; when the table is full the oldest such
 * entry makes room. */
typedef struct exam_lives {
    srv_live *v;
    uint32_t cap, used;        /* used: entries handed out so far (free ones are reused first) */
    uint32_t *free_list;
    uint32_t nfree;
    uint32_t count;            /* entries in use */
    kc_map by_attempt;         /* attempt id -> entry number + 1 */
    kc_wheel deadlines;        /* per entry: the second after its deadline */
    int64_t keep_ms;
    uint32_t cursor;           /* where the next tick's look for stale entries starts */
} exam_lives;
int exam_lives_init(exam_lives *t, uint32_t cap, int64_t keep_ms, int64_t now_ms);
void exam_lives_free(exam_lives *t);
/* The entry of attempt_id, or NULL. */
srv_live *exam_lives_find(exam_lives *t, uint64_t attempt_id, uint32_t *idx);
/* The entry of attempt_id, made when there is none. KC_EBUSY when the table is full of
 * entries that connections hold; KC_ENOMEM. */
int exam_lives_get(exam_lives *t, uint64_t attempt_id, int64_t now_ms, uint32_t *idx);
static inline srv_live *exam_lives_at(exam_lives *t, uint32_t idx) { return &t->v[idx]; }
/* The entry's deadline or status changed: its place in the deadline wheel follows. */
void exam_lives_touch(exam_lives *t, uint32_t idx);
/* A connection let go of it (conn 0, released now). */
void exam_lives_release(exam_lives *t, uint32_t idx, int64_t now_ms);
/* Calls due(arg, idx) for each running attempt whose deadline has passed (by now_ms), then
 * frees entries nobody has held for keep_ms. Call it about every second. */
void exam_lives_tick(exam_lives *t, int64_t now_ms, void (*due)(void *arg, uint32_t idx), void *arg);

/* Shared inside exam/: a reply's JSON text (consumes o), an error reply, a stored status. */
char *exam__dump(json_t *o);
char *exam__error_reply(int64_t id, const char *code, const char *message);
enum srv_attempt_status exam__status_parse(const char *s);

/* ---- resume tokens and the token secret (exam_token.c) ---- */
int exam_token_secret_load(kc_db *db, unsigned char key[32]);   /* created on first use */
void exam_token_make(const unsigned char key[32], uint64_t attempt_id, int64_t expires_ms,
                    char *out, size_t outlen);
int exam_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                    uint64_t *attempt_id);

_Static_assert(sizeof(((srv_msg *)0)->response) == BANK_RESPONSE_MAX + 1,
               "a parsed response must fit a stored one");

#endif
