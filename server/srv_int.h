/* Internal to server/: the jobs that travel between the service thread and the DB
 * workers. Not a public header; other modules never include it. */
#ifndef KAOCHANG_SRV_INT_H
#define KAOCHANG_SRV_INT_H

#include "srv.h"
#include "../bank/bank.h"
#include "../proctoring/proct.h"

/* A paper as the service thread needs it to validate answers: built by the start job from
 * the attempt's paper_instance, owned by the connection. */
_Static_assert(sizeof(((srv_msg *)0)->response) == BANK_RESPONSE_MAX + 1,
               "a parsed response must fit a stored one");

/* The answerable items of a paper (a composite's sub-items, not the composite itself). */
typedef struct srv_paper {
    uint64_t attempt_id;
    int n;
    uint64_t *item_ids;        /* sorted */
    unsigned char *n_options;  /* parallel to item_ids */
    unsigned char *types;      /* enum bank_item_type, parallel */
    unsigned char *n_blanks;   /* fill items: number of blanks, parallel */
} srv_paper;
void srv_paper_free(srv_paper *p);
int srv_paper_find(const srv_paper *p, uint64_t item_id);    /* index or -1 */

enum srv_job_kind {
    SRV_JOB_LOGIN = 1, SRV_JOB_RESUME, SRV_JOB_START, SRV_JOB_ANSWER, SRV_JOB_SUBMIT,
    SRV_JOB_SWEEP, SRV_JOB_EVENTS,
    SRV_JOB_PREPARE,           /* papers of sessions opening soon (srv_paper.c) */
    /* staff (srv_staff.c, srv_bank.c): from here on */
    SRV_JOB_STAFF_LOGIN, SRV_JOB_STAFF_RESUME, SRV_JOB_BANK_CATALOG, SRV_JOB_BANK_LIST,
    SRV_JOB_BANK_ITEM, SRV_JOB_BANK_REVIEW, SRV_JOB_BANK_SAVE, SRV_JOB_BANK_HEALTH,
    SRV_JOB_BANK_IMPORT,
    SRV_JOB_MEDIA,             /* GET /media/<sha256> (srv_media.c) */
    /* exam affairs (srv_affairs.c): from here on */
    SRV_JOB_PAPER_TEMPLATES, SRV_JOB_PAPER_TEMPLATE, SRV_JOB_PAPER_TEMPLATE_CHECK,
    SRV_JOB_PAPER_TEMPLATE_IMPORT, SRV_JOB_EXAM_SESSIONS, SRV_JOB_SESSION_PREPARE,
    SRV_JOB_SESSION_VERIFY, SRV_JOB_SESSION_REPORT,
};
enum srv_attempt_status { SRV_ST_NONE = 0, SRV_ST_NOT_STARTED, SRV_ST_IN_PROGRESS, SRV_ST_SUBMITTED };

typedef struct srv_job {
    struct srv_job *next;
    enum srv_job_kind kind;
    uint64_t conn;             /* (slot << 32) | generation of the requesting connection */
    int64_t req_id;            /* the client's "id", -1 when absent */
    uint64_t attempt_id;
    /* inputs */
    char ticket[33], id_number[33];
    int64_t item, seq;
    char response[BANK_RESPONSE_MAX + 1];
    proct_batch *events;       /* SRV_JOB_EVENTS */
    /* outputs, filled by the worker */
    char *reply;               /* JSON text to send back, malloc'd, or NULL */
    int ok;                    /* login/resume/start/answer succeeded */
    enum srv_attempt_status status;
    int64_t deadline_ms;
    uint64_t session_id;
    char token[160];           /* login: resume token, made by the worker */
    srv_paper *paper;          /* start: handed to the connection */
    /* sweep: attempts submitted at their deadline and what to push to them */
    int n_swept;
    uint64_t *swept;
    char **swept_replies;
    /* staff: who asks (set by the service thread from the connection, or by the worker on
     * login) and the request's strings */
    uint64_t staff_id;
    unsigned roles;
    char login[65];
    char password[257];        /* staff_login only; wiped by the worker */
    char uid[65], action[16], part[16], occupation[17];
    int64_t level, offset, limit;
    char *text;                /* malloc'd: filters / item JSON / comment / import body */
    size_t text_len;
    char format[16];
    int dry_run;
    int http;                  /* the reply goes to an HTTP request (import) */
    int http_status;           /* its status code, set by the worker */
    char mime[101];            /* media: the stored type; uid holds the sha256 in hex */
    char file[129];            /* paper_template_import: the file's name */
} srv_job;

void srv_job_free(srv_job *j);

/* Worker side (srv_exam.c): runs one job, or a batch of answer jobs, on db. Returns
 * KC_ELOST when the connection was lost before the outcome was known (the caller
 * reconnects and runs it again); otherwise fills the replies. */
typedef struct srv_exam_ctx {
    const unsigned char *token_key;
    const unsigned char *staff_key;   /* staff tokens: a key of their own */
    const unsigned char *media_key;   /* signed media URLs: another one */
    int answer_batch;
    int prepare_before_min;           /* the automatic session prepare */
    int max_message;                  /* server.max_message: the largest import a page may send */
} srv_exam_ctx;
int srv_exam_run(kc_db *db, const srv_exam_ctx *x, srv_job *j);
int srv_exam_answers(kc_db *db, const srv_exam_ctx *x, srv_job **jobs, int n);
/* Submits an attempt (reason "candidate" or "deadline") in its own transaction and scores
 * it. *already: 0 submitted now, 1 it was submitted before, 2 it was never started. */
int srv_exam_submit(kc_db *db, uint64_t attempt_id, const char *reason, int64_t now_ms,
                    int64_t req_id, char **reply, int *already);

/* ---- staff (srv_staff.c) ---- */
enum {
    SRV_ROLE_ADMIN = 1, SRV_ROLE_AUTHOR = 2, SRV_ROLE_REVIEWER = 4, SRV_ROLE_AFFAIRS = 8,
    SRV_ROLE_PROCTOR = 16, SRV_ROLE_EXAMINER = 32, SRV_ROLE_SUPERVISOR = 64,
};
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
/* Runs a staff job (kind >= SRV_JOB_STAFF_LOGIN) on a worker; same contract as srv_exam_run. */
int srv_staff_run(kc_db *db, const srv_exam_ctx *x, srv_job *j);
/* A staff job's reply: o (consumed) with the request id, or an error; 0 or KC_ENOMEM
 * (srv_bank.c, shared by srv_affairs.c). */
struct json_t;
int srv__job_reply(srv_job *j, struct json_t *o);
int srv__job_refuse(srv_job *j, const char *code, const char *field, const char *msg);
/* The bank jobs (srv_bank.c). */
int srv_bank_run(kc_db *db, const srv_exam_ctx *x, srv_job *j);
/* The exam-affairs jobs (srv_affairs.c): templates, session prepare, verify and report. */
int srv_affairs_run(kc_db *db, const srv_exam_ctx *x, srv_job *j);
/* Roles that may send an affairs message (service thread and worker alike). */
unsigned srv_affairs_roles(enum srv_msg_type t);
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
int srv_media_run(kc_db *db, srv_job *j);

#endif
