/* server: the kaochang binary — configuration, the libwebsockets front end, exam logic and
 * the command line. Public header of server/. */
#ifndef KAOCHANG_SRV_H
#define KAOCHANG_SRV_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdarg.h>
#include "../lib/kc.h"

/* ---- configuration (kaochang.conf, INI; see docs and kaochang.conf.example) ---- */
typedef struct srv_config {
    /* [server] */
    char listen[64];          /* interface address, "" = all */
    int port;
    char web_root[512];
    int db_workers;
    int max_message;          /* bytes */
    int max_connections;
    int answer_batch;         /* max answers per transaction */
    int prepare_before_min;   /* serve makes a session's papers this long before it opens */
    char log_level[16];
    /* [db] */
    kc_db_conf db;
    char schema_dir[512];
} srv_config;

void srv_config_defaults(srv_config *c);
/* Loads FILE over the current values. err names FILE:LINE on failure. */
int srv_config_load(srv_config *c, const char *path, char *err, size_t errlen);
/* Sets "section.key" = value (used by the file and by --set / flags). */
int srv_config_set(srv_config *c, const char *key, const char *value, char *err, size_t errlen);
void srv_config_print(const srv_config *c, FILE *out);

/* ---- resume tokens (HMAC-SHA256 over attempt id and expiry) ---- */
int srv_token_secret_load(kc_db *db, unsigned char key[32]);   /* created on first use */
void srv_token_make(const unsigned char key[32], uint64_t attempt_id, int64_t expires_ms,
                    char *out, size_t outlen);
int srv_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                    uint64_t *attempt_id);
/* A key for one use (label) derived from the token secret: HMAC-SHA256(root, label). */
void srv_key_derive(const unsigned char root[32], const char *label, unsigned char out[32]);

/* ---- messages: parsing and validating client requests (no libwebsockets) ---- */
enum srv_msg_type {
    SRV_MSG_LOGIN = 1, SRV_MSG_RESUME, SRV_MSG_START, SRV_MSG_ANSWER, SRV_MSG_SUBMIT,
    SRV_MSG_HEARTBEAT, SRV_MSG_TIME,
    /* staff connections */
    SRV_MSG_STAFF_LOGIN, SRV_MSG_STAFF_RESUME, SRV_MSG_BANK_CATALOG, SRV_MSG_BANK_LIST,
    SRV_MSG_BANK_ITEM, SRV_MSG_BANK_REVIEW, SRV_MSG_BANK_SAVE, SRV_MSG_BANK_HEALTH,
    /* exam affairs (考务): templates and session papers (srv_affairs.c) */
    SRV_MSG_PAPER_TEMPLATES, SRV_MSG_PAPER_TEMPLATE, SRV_MSG_PAPER_TEMPLATE_CHECK,
    SRV_MSG_PAPER_TEMPLATE_IMPORT, SRV_MSG_EXAM_SESSIONS, SRV_MSG_SESSION_PREPARE,
    SRV_MSG_SESSION_VERIFY, SRV_MSG_SESSION_REPORT,
};
#define SRV_MAX_EVENTS 32
typedef struct srv_event { char kind[24]; int64_t at_ms; } srv_event;
typedef struct srv_msg {
    enum srv_msg_type type;
    int64_t id;               /* -1 when absent */
    char ticket[33];
    char id_number[33];
    char token[160];
    int64_t item;
    char response[4001];      /* <= BANK_RESPONSE_MAX bytes; fill blanks joined by 0x1F */
    int64_t seq;
    int n_events;
    srv_event events[SRV_MAX_EVENTS];
    /* staff messages */
    char login[65];
    char password[257];
    char uid[65];
    char action[16];
    char comment[2048];
    char occupation[17];
    char part[16];
    int64_t level, offset, limit;
    char file[129];           /* paper_template_import: the file's name */
    int64_t dry_run;          /* a boolean field */
    char *obj;                /* malloc'd compact JSON of "filters" / "item", or the "text" of an
                                 import; srv_msg_free */
} srv_msg;
typedef struct srv_msg_error {
    const char *code;         /* protocol error code */
    char field[32];
    char message[200];
    int64_t id;
} srv_msg_error;
int srv_msg_parse(const char *buf, size_t len, srv_msg *m, srv_msg_error *e);
void srv_msg_free(srv_msg *m);    /* what parse allocated (obj); m may be parsed again */
/* Builds {"type":"error",...}; returns a malloc'd string. */
char *srv_msg_error_json(int64_t id, const char *code, const char *field, const char *message);

/* ---- the server ---- */
int srv_serve(const srv_config *cfg);

/* ---- command line ---- */
int srv_cli_main(int argc, char **argv);

#endif
