/* Internal to server/: the jobs that travel between the service thread and the DB
 * workers. Not a public header; other modules never include it. */
#ifndef KAOCHANG_SRV_INT_H
#define KAOCHANG_SRV_INT_H

#include "srv.h"
#include "../bank/bank.h"
#include "../proctoring/proct.h"

_Static_assert(sizeof(((srv_msg *)0)->response) == BANK_RESPONSE_MAX + 1,
               "a parsed response must fit a stored one");

/* ---- the exam (srv_exam.c): handlers of the candidate's messages ----
 * Worker side: each runs one job on db and fills its reply. KC_ELOST: the connection was
 * lost before the outcome was known (the pool reconnects and runs it again). */
int srv_exam_login(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_exam_resume(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_exam_start(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_exam_submit_msg(kc_db *db, const srv_ctx *x, srv_job *j);
/* Answers of many candidates in one transaction (the answers pool takes them in batches). */
int srv_exam_answer(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_exam_answers(kc_db *db, const srv_ctx *x, srv_job **jobs, int n);
/* How srv_exam_answers commits a batch, apart from the database (so it is tested without
 * one). It sorts jobs by attempt, then seq (the order every transaction locks attempts
 * in); tx runs jobs[0..n) so sorted in one transaction: 0 once it
 * committed (every job has its ack or refusal), KC_ELOST, KC_ERETRY, or another error with
 * [*bad_lo, *bad_hi) the jobs whose statement failed (0..n when it cannot tell). A transient
 * error runs the same jobs again (3 tries, then each gets "internal"); any other splits
 * them, the suspects from the rest (or in halves when all are suspect), until a bad answer
 * fails on its own: that one gets "not_saved", logged with why(). Only what committed is
 * acked. 0 when every job has its reply; KC_ELOST at once (the pool reconnects and runs the
 * batch again: a seq that is not newer changes nothing, so what committed is acked again). */
typedef struct srv_answers_ops {
    void *arg;
    int (*tx)(void *arg, srv_job **jobs, int n, int *bad_lo, int *bad_hi);
    const char *(*why)(void *arg);    /* the last failure, for the log */
} srv_answers_ops;
int srv__answers_run(const srv_answers_ops *ops, srv_job **jobs, int n);
/* Submits an attempt (reason "candidate" or "deadline") in its own transaction and scores
 * it. *already: 0 submitted now, 1 it was submitted before, 2 it was never started. */
int srv_exam_submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now_ms,
                    int64_t req_id, char **reply, int *already);
/* The server's own jobs: attempts past their deadline; event batches; papers due. */
int srv_exam_sweep(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_exam_events(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_exam_prepare_due(kc_db *db, const srv_ctx *x, srv_job *j);
/* Service-thread side, from the connection's attempt only (no database): */
char *srv_exam_time(srv_live *l, const srv_msg *m, int64_t now_ms, struct proct_buffer *ev);
char *srv_exam_heartbeat(srv_live *l, const srv_msg *m, int64_t now_ms, struct proct_buffer *ev);
/* An answer is checked against the attempt's state and paper, and normalised, before it
 * costs a worker anything. */
int srv_exam_admit_answer(const srv_live *l, srv_msg *m, int64_t now_ms, srv_msg_error *e);
/* What a finished job changes in the connection's attempt: login/resume bind it, start and
 * submit move its status (only when the job is for the attempt the connection holds). */
void srv_live_apply(srv_live *l, srv_job *j);
void srv_live_clear(srv_live *l);

/* ---- worker pools by class (srv_pool.c): threads, a queue and a bound per class ---- */
typedef struct srv_pools srv_pools;
typedef struct srv_pool_ops {
    void *arg;
    /* Per worker thread: e.g. its database connection. */
    void *(*thread_begin)(void *arg, int pool, int worker);
    void (*thread_end)(void *arg, void *state);
    /* Runs jobs[0..n) (n > 1 only for the answers pool, up to its batch). */
    void (*run)(void *arg, int pool, void *state, srv_job **jobs, int n);
    /* Hands finished jobs back (e.g. to the service thread's result queue). */
    void (*done)(void *arg, srv_job **jobs, int n);
    void (*exited)(void *arg);        /* a worker thread ended (optional) */
} srv_pool_ops;
typedef struct srv_pool_stats { int workers, bound, queued, running; unsigned long long done; } srv_pool_stats;
/* Starts every pool's workers. err is empty on success; otherwise the pools that started
 * are stopping (srv_pools_free them). */
srv_pools *srv_pools_start(const srv_pool_conf conf[SRV_POOLS], int answer_batch,
                           const srv_pool_ops *ops, char *err, size_t errlen);
/* Queues j on pool; KC_EBUSY when a message would pass the pool's bound, or stopping. */
int srv_pools_push(srv_pools *ps, int pool, srv_job *j);
int srv_pools_full(srv_pools *ps, int pool);
void srv_pools_stats(srv_pools *ps, int pool, srv_pool_stats *st);
/* Workers finish what is queued, then end; srv_pools_alive counts those still running. */
void srv_pools_stop(srv_pools *ps);
int srv_pools_alive(srv_pools *ps);
void srv_pools_free(srv_pools *ps);      /* stops, joins, frees what was never run */

/* ---- staff (srv_staff.c) ---- */
/* "author,reviewer" -> bits; 0, or -1 naming the unknown role in bad. */
int srv_roles_parse(const char *csv, unsigned *out, char *bad, size_t badlen);
void srv_roles_format(unsigned roles, char *out, size_t outlen);   /* "author,reviewer" */
/* The staff key is derived from the candidate token secret under its own label, so a
 * candidate token can never pass as a staff token or the other way round. */
void srv_staff_key_derive(const unsigned char token_key[32], unsigned char staff_key[32]);
void srv_staff_token_make(const unsigned char key[32], uint64_t staff_id, unsigned roles,
                          int64_t expires_ms, char *out, size_t outlen);
int srv_staff_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                          uint64_t *staff_id, unsigned *roles);
/* staff_login and staff_resume (worker side). */
int srv_staff_login(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_staff_resume(kc_db *db, const srv_ctx *x, srv_job *j);
/* Before any other staff job: the account as it is now (a disabled account or a role taken
 * away stops working at once) must hold one of the roles in need. *allowed 0: the refusal
 * is in j's reply. */
int srv_staff_authorize(kc_db *db, srv_job *j, unsigned need, int *allowed);
/* A staff job's reply: o (consumed) with the request id, or an error; 0 or KC_ENOMEM
 * (srv_bank.c, shared by srv_affairs.c). */
struct json_t;
int srv__job_reply(srv_job *j, struct json_t *o);
int srv__job_refuse(srv_job *j, const char *code, const char *field, const char *msg);
/* The bank's messages (srv_bank.c), and POST /api/bank/import. */
int srv_bank_catalog(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_bank_list(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_bank_item(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_bank_review(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_bank_save(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_bank_health(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_bank_import(kc_db *db, const srv_ctx *x, srv_job *j);
#define SRV_BANK_IMPORT_ROLES (SRV_ROLE_AUTHOR | SRV_ROLE_ADMIN)
/* The exam-affairs messages (srv_affairs.c): templates, session prepare, verify and report. */
int srv_affairs_templates(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_template(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_check(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_import(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_sessions(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_prepare(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_verify(kc_db *db, const srv_ctx *x, srv_job *j);
int srv_affairs_report(kc_db *db, const srv_ctx *x, srv_job *j);
/* Opens the CLI's connection; on failure prints "kaochang: why" and returns 1. */
int srv__cli_db_open(kc_db *db, const srv_config *cfg);
/* `kaochang user …` (srv_cli_user.c). */
int srv__cli_user(srv_config *cfg, int argc, char **argv);
extern const char srv__cli_user_help[];
/* `kaochang paper template …` and `session prepare|verify|report|paper` (srv_cli_paper.c). */
int srv__cli_template(srv_config *cfg, int argc, char **argv);
int srv__cli_prepare(srv_config *cfg, const char *sub, int argc, char **argv);
extern const char srv__cli_template_help[];
extern const char srv__cli_prepare_help[];
/* `kaochang media url` (srv_cli_media.c). */
int srv__cli_media(srv_config *cfg, int argc, char **argv);
extern const char srv__cli_media_help[];
/* `kaochang session practical|schedule` (srv_cli_practical.c); argv[0] names which. Its help
 * follows the session help. */
int srv__cli_practical(srv_config *cfg, int argc, char **argv);
extern const char srv__cli_practical_help[];

/* ---- media URLs (srv_media.c) ----
 * Rich text names media as src="media:NAME"; where items leave the server that becomes
 * /media/<sha256 hex>?e=<expiry ms>&s=<HMAC-SHA256 hex of "sha.expiry">. */
#define SRV_MEDIA_URL_MAX 176
#define SRV_MEDIA_STAFF_TTL_MS (12LL * 3600 * 1000)
#define SRV_MEDIA_AFTER_DEADLINE_MS (3600LL * 1000)
void srv_media_key_derive(const unsigned char token_key[32], unsigned char media_key[32]);
int srv_media_sha_ok(const char *s);          /* 64 lower-case hex digits */
void srv_media_url(const unsigned char key[32], const char *sha, int64_t expires_ms, char *out,
                   size_t cap);
/* 0 when s signs (sha, e) and e is still ahead of now, else -1. Cheap: service thread. */
int srv_media_check(const unsigned char key[32], const char *sha, const char *e, const char *s,
                    int64_t now_ms);
typedef struct srv_media_ref { uint64_t item_id; char name[256], sha[65], mime[101]; } srv_media_ref;
typedef struct srv_media_map { srv_media_ref *refs; int n, cap; } srv_media_map;
/* The media of a paper's items and sub-items, or of one item and its sub-items: one query. */
int srv_media_load_attempt(kc_db *db, uint64_t attempt_id, srv_media_map *m);
int srv_media_load_item(kc_db *db, uint64_t item_id, srv_media_map *m);
void srv_media_map_free(srv_media_map *m);
/* html with each src/href "media:NAME" of item_id signed; unknown names stay. malloc'd,
 * NULL on OOM. */
char *srv_media_rewrite(const char *html, uint64_t item_id, const srv_media_map *m,
                        const unsigned char key[32], int64_t expires_ms);
/* [{name, sha256, mime, url}] of item_id (json_t *; jansson is included by the caller). */
struct json_t;
struct json_t *srv_media_list(const srv_media_map *m, uint64_t item_id, const unsigned char key[32],
                              int64_t expires_ms);
/* SRV_JOB_MEDIA on a worker: j->text/text_len/mime and http_status 200, or 404. */
int srv_media_run(kc_db *db, const srv_ctx *x, srv_job *j);

#endif
