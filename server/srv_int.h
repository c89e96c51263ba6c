/* Internal to server/: the jobs that travel between the service thread and the DB
 * workers. Not a public header; other modules never include it. */
#ifndef KAOCHANG_SRV_INT_H
#define KAOCHANG_SRV_INT_H

#include "srv.h"
#include "../bank/bank.h"
#include "../proctoring/proct.h"

/* A paper as the service thread needs it to validate answers: immutable once built,
 * cached per paper id for the life of the process. */
_Static_assert(sizeof(((srv_msg *)0)->response) == BANK_RESPONSE_MAX + 1,
               "a parsed response must fit a stored one");

/* The answerable items of a paper (a composite's sub-items, not the composite itself). */
typedef struct srv_paper {
    uint64_t paper_id;
    int n;
    uint64_t *item_ids;        /* sorted */
    unsigned char *n_options;  /* parallel to item_ids */
    unsigned char *types;      /* enum bank_item_type, parallel */
    unsigned char *n_blanks;   /* fill items: number of blanks, parallel */
    struct srv_paper *next;
} srv_paper;
void srv_paper_free(srv_paper *p);
int srv_paper_find(const srv_paper *p, uint64_t item_id);    /* index or -1 */

enum srv_job_kind {
    SRV_JOB_LOGIN = 1, SRV_JOB_RESUME, SRV_JOB_START, SRV_JOB_ANSWER, SRV_JOB_SUBMIT,
    SRV_JOB_SWEEP, SRV_JOB_EVENTS,
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
    srv_paper *paper;          /* start: handed to the service thread's cache */
    /* sweep: attempts submitted at their deadline and what to push to them */
    int n_swept;
    uint64_t *swept;
    char **swept_replies;
} srv_job;

void srv_job_free(srv_job *j);

/* Worker side (srv_exam.c): runs one job, or a batch of answer jobs, on db. Returns
 * SRV_ELOST when the connection was lost before the outcome was known (the caller
 * reconnects and runs it again); otherwise fills the replies. */
typedef struct srv_exam_ctx {
    const unsigned char *token_key;
    int answer_batch;
} srv_exam_ctx;
int srv_exam_run(srv_db *db, const srv_exam_ctx *x, srv_job *j);
int srv_exam_answers(srv_db *db, const srv_exam_ctx *x, srv_job **jobs, int n);
/* Submits an attempt (reason "candidate" or "deadline") in its own transaction and scores
 * it. *already: 0 submitted now, 1 it was submitted before, 2 it was never started. */
int srv_exam_submit(srv_db *db, uint64_t attempt_id, const char *reason, int64_t now_ms,
                    int64_t req_id, char **reply, int *already);

#endif
