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
    int sub;                           /* 1: a sub-item of the last item before it */
    int64_t points_centi;              /* an item: the points the paper gives it */
    int64_t section;                   /* an item: its section (index into titles) */
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
/* The parts of an item's view that do not depend on the paper, made once (exam_view_prepare)
 * and written for any paper (exam_view_write): so rendering thousands of papers escapes every
 * text once, not once per paper. */
typedef struct exam_view_parts {
    const char *why;           /* NULL, or why the item cannot be delivered whatever the paper */
    exam_item_info info;       /* its type; n_blanks for fill (n_options: see n_opts) */
    const char *head;          /* {"item":ID,"type":"…","stem":"…"  (JSON text, not closed) */
    size_t head_len;
    int n_opts;                /* single/multi: the item's options */
    const char **opts;         /* each as a JSON string literal, the item's order; NULL: none */
    size_t *opt_len;
} exam_view_parts;
/* r's parts in a (r->perm and r->points_centi are not used); text as for exam_item_view. 0
 * (v->why set when the item cannot be delivered) or KC_ENOMEM. */
int exam_view_prepare(const exam_item_row *r, exam_text_fn text, const void *arg, kc_arena *a,
                      exam_view_parts *v);
/* Appends the view's members for the option order perm and the points to b, without the
 * closing brace (a composite's children, "no" and "section" may follow). KC_EINVAL with *why
 * when the item cannot be delivered on this paper (b unchanged). *info as for exam_item_view. */
int exam_view_write(const exam_view_parts *v, const char *perm, int64_t points_centi, kc_buf *b,
                    exam_item_info *info, const char **why);
/* A number of points (x 100) as the JSON writer spells a real: 2.0, 3.33, 0.5. */
void exam_points_text(int64_t centi, char out[32]);
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

/* ---- a whole paper as the candidate sees it, rendered once (exam_logic.c) ----
 * What `start` sends is made when the session is prepared (exam_render.c) from the stored
 * paper and the item rows: an item (or sub-item) as the renderer gets it. */
typedef struct exam_src_item {
    uint64_t id;
    int64_t points_centi;                      /* the item's own points */
    exam_view_parts view;                      /* exam_view_prepare of its row, links signed */
    int n_children;
    const struct exam_src_item *const *children;   /* a composite's sub-items, in order */
} exam_src_item;
/* The item (not sub-item) with this id, or NULL when there is none. */
typedef const exam_src_item *(*exam_src_find)(const void *arg, uint64_t id);
/* The `paper` object of one paper_instance row: {"title","total_points","items":[...]} with
 * the items of lay (exam_layout_parse of paper_instance.items and its build's spec) in the
 * order shown, each as exam_item_view / exam_composite_view gives it plus "no" and
 * "section", sub-items at the points the paper gives their composite. Its compact JSON text
 * is appended to out (*len bytes from where out ended: a page of papers shares one buffer),
 * the same bytes for the same input; *check: the answerable items, sorted. KC_EINVAL with
 * *why (and *bad_item, 0 for the paper itself) when an item is missing or cannot be
 * delivered; KC_ENOMEM. On failure out is as it was and *check NULL. */
int exam_paper_render(const exam_layout *lay, const char *title, exam_src_find find,
                      const void *arg, kc_buf *out, size_t *len, struct srv_paper **check,
                      const char **why, uint64_t *bad_item);
/* The SHA-256 of text as 64 lower-case hex digits and a NUL. */
void exam_paper_hash(const char *text, size_t len, char out[65]);
int exam_paper_hash_ok(const char *s);     /* 1: exactly 64 lower-case hex digits */
/* paper_render.answer_check: "ID,TYPE,OPTIONS,BLANKS;" per answerable item, in the order of
 * p (sorted by id). malloc'd; NULL on OOM. */
char *exam_check_encode(const struct srv_paper *p);
/* The srv_paper of an answer_check text (*out; srv_paper_free it). KC_EINVAL when the text is
 * not what exam_check_encode writes (ids ascending, a known type, counts in range);
 * KC_ENOMEM. */
int exam_check_decode(const char *s, uint64_t attempt_id, struct srv_paper **out);
struct srv_paper *exam_paper_copy(const struct srv_paper *p);   /* NULL on OOM */

/* ---- rendered papers and their cache (exam_cache.c) ----
 * A rendered paper as the exam workers share it: immutable once made, reference-counted so
 * the cache may drop it while a start still splices it into a reply. */
typedef struct exam_rendered {
    uint64_t attempt_id;
    char hash[65];             /* SHA-256 hex of json */
    char *json;                /* the `paper` object; NULL when only hash and check were read */
    size_t json_len;
    struct srv_paper *check;   /* what the service thread checks answers against */
    /* the cache's: */
    size_t bytes;
    _Atomic int refs;
    struct exam_rendered *prev, *next;
} exam_rendered;
/* Takes json (may be NULL) and check; NULL on OOM (and then frees them). One reference. */
exam_rendered *exam_rendered_new(uint64_t attempt_id, const char *hash, char *json,
                                 size_t json_len, struct srv_paper *check);
void exam_rendered_release(exam_rendered *r);     /* drops one reference; NULL is fine */
exam_rendered *exam_rendered_ref(exam_rendered *r);   /* one more reference; r */
/* At most cap bytes of rendered papers (json, check and bookkeeping) by attempt, the least
 * recently used dropped first; safe to share between threads (one mutex). */
typedef struct exam_cache exam_cache;
typedef struct exam_cache_stats {
    size_t entries, bytes, cap;
    uint64_t hits, misses, evictions, too_big;
} exam_cache_stats;
exam_cache *exam_cache_new(size_t cap_bytes);    /* NULL on OOM */
void exam_cache_free(exam_cache *c);             /* references handed out stay valid */
/* The attempt's paper with a reference for the caller (exam_rendered_release it), or NULL. */
exam_rendered *exam_cache_get(exam_cache *c, uint64_t attempt_id);
/* Caches r in place of what the attempt had (the cache takes a reference of its own) and
 * drops the least recently used papers until the rest fit: 1. 0 when r alone is larger than
 * the cache (nothing changes) or on OOM. */
int exam_cache_put(exam_cache *c, exam_rendered *r);
void exam_cache_drop(exam_cache *c, uint64_t attempt_id);
void exam_cache_stats_get(exam_cache *c, exam_cache_stats *s);
/* The cache every exam worker of this process shares (`serve`: server.paper_cache_mb);
 * NULL (no caching) until set. Set before the workers start and not changed while they run;
 * exam_paper_cache_set(0) frees it after they stopped. */
int exam_paper_cache_set(size_t cap_bytes);
exam_cache *exam_paper_cache(void);

/* ---- rendering and storing papers (exam_render.c) ----
 * Every function renders with exam_paper_render and stores paper_render rows in multi-row
 * statements, a transaction per batch of papers. Media links are signed until the session's
 * closes_at + MEDIA_AFTER_DEADLINE_MS: no deadline passes closes_at. */
typedef struct exam_render_report {
    int papers;                /* papers rendered */
    int stored;                /* rows written: new, or different from what was stored */
    int failed;                /* papers that cannot be rendered (a diag line each) */
    int64_t bytes;             /* JSON rendered, in all */
    int64_t ms;
} exam_render_report;
/* Every paper of the session (stale_only: only those without a row or whose links no longer
 * fit closes_at). A paper that cannot be rendered is a line in d and is left out; the others
 * are stored. 0 then, or a database error (KC_ELOST: run it again). */
int exam_render_session(kc_db *db, const unsigned char media_key[32], uint64_t session_id,
                        int stale_only, kc_diag *d, exam_render_report *r);
/* One attempt's paper, rendered and stored now (a paper made by an older version, or one
 * whose row went missing): *out with a reference. KC_ENOTFOUND: the attempt has no paper;
 * KC_EINVAL: it cannot be rendered (logged). */
int exam_render_attempt(kc_db *db, const unsigned char media_key[32], uint64_t attempt_id,
                        exam_rendered **out);
/* serve's pass after its automatic prepare: every session opening within prepare_before_min
 * (or open) with a paper that has no row or whose links no longer fit the session's closes_at
 * (it changed after rendering) is rendered again; logged. */
int exam_render_due(kc_db *db, const unsigned char media_key[32], int prepare_before_min);

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
/* Many starts (and re-entries with the paper's hash) in one transaction: a few multi-row
 * statements and one commit for the batch, the papers from the cache or read in multi-row
 * statements. Every job gets its reply; a batch the database refuses is run again one job
 * at a time, so one broken attempt fails only itself. KC_ELOST: run again after
 * reconnecting (jobs that have their reply are skipped). */
int exam_starts(kc_db *db, const srv_ctx *x, srv_job **jobs, int n);
/* A candidate's paper, sealed, before the start (paper_fetch): the rendered view encrypted
 * (ChaCha20) with a key only `start` gives out (exam_seal_key), as a binary reply "KCP1",
 * the paper's hash (64 hex digits), the ciphertext. Sent while candidates log in, so the
 * start itself carries a key instead of the whole paper. not_prepared without a rendered
 * paper. The batch reads the papers missing from the cache in multi-row reads. */
int exam_paper_fetch(kc_db *db, const srv_ctx *x, srv_job *j);
int exam_paper_fetches(kc_db *db, const srv_ctx *x, srv_job **jobs, int n);
/* The key of an attempt's paper with this hash: HMAC of both under a key derived from the
 * installation's secret, so every node derives it and nothing is stored. */
void exam_seal_key(const unsigned char secret[32], uint64_t attempt_id, const char *hash,
                   unsigned char key[32]);
/* out[0..n) = plain[0..n) under ChaCha20 with key (nonce 0, block counter from 0: a key
 * seals one text only, since it is bound to the text's hash). 0, or KC_ERR. */
int exam_seal(const unsigned char key[32], const void *plain, size_t n, unsigned char *out);
#define EXAM_SEAL_MAGIC "KCP1"
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
/* This node's lease in node_alive; then, in one transaction, j->ids: the first n_release
 * attempts are no longer held here (cleared where this run of this node holds them), the
 * next n_reclaim are held here again (where nobody else took them meanwhile). */
int exam_holders(kc_db *db, const srv_ctx *x, srv_job *j);
/* This node's lease alone (serve writes it before it listens, so that its first holdings
 * are seen as alive). */
int exam_lease(kc_db *db, const srv_ctx *x);
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
/* paper_fetch, before queueing: only while the attempt has not started (after it, start
 * sends the paper and a sealed copy would be bytes for nothing): "started". */
int exam_admit_fetch(const srv_live *l, srv_msg *m, int64_t now_ms, srv_msg_error *e);
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
json_t *exam__time_or_null(int64_t ms);     /* a time in ms, or null for 0 */
enum srv_attempt_status exam__status_parse(const char *s);
/* A paper_render row (attempt_id, hash, paper_json or '', answer_check) as a rendered paper
 * with one reference: *out NULL when the row is broken. 0, or KC_ENOMEM. */
int exam__rendered_row(kc_stmt *s, int with_json, exam_rendered **out);
/* Multi-row statements: rows go in a few fixed sizes (1, 4, 16, 64, EXAM_ROWS_MAX), the last
 * row repeated to fill them (every statement using them changes nothing for a copy), so a
 * statement is prepared once per size and cached by its text. */
#define EXAM_ROWS_MAX 256
int exam__rows_size(int n);
/* head, then row k times joined by sep, then tail; in A. NULL on OOM. */
char *exam__rows_sql(kc_arena *A, int k, const char *head, const char *row, const char *sep,
                     const char *tail);
/* Copies row cnt-1 of p (per parameters a row) into rows cnt..k-1. */
void exam__pad_rows(kc_param *p, int cnt, int k, int per);
/* Sorts v[0..n) ascending and drops repeats (ids for an IN list in lock order): the count. */
int exam__sort_unique(uint64_t *v, int n);
/* The cached statement of sql executed with p: NULL with *rc on failure. */
kc_stmt *exam__run(kc_db *db, const char *sql, const kc_param *p, int n, int *rc);
#define EXAM_P_U(v) ((kc_param){'u', (int64_t)(v), NULL, 0})
#define EXAM_P_I(v) ((kc_param){'i', (v), NULL, 0})
#define EXAM_P_T(v) ((kc_param){'t', (v), NULL, 0})
#define EXAM_P_S(v) ((kc_param){'s', 0, (v), 0})

/* ---- resume tokens and the token secret (exam_token.c) ---- */
int exam_token_secret_load(kc_db *db, unsigned char key[32]);   /* created on first use */
void exam_token_make(const unsigned char key[32], uint64_t attempt_id, int64_t expires_ms,
                    char *out, size_t outlen);
int exam_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                    uint64_t *attempt_id);

#endif
