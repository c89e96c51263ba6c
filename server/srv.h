/* server: the kaochang binary — configuration, logging, the database layer, the
 * libwebsockets front end, exam logic and the command line. Public header of server/. */
#ifndef KAOCHANG_SRV_H
#define KAOCHANG_SRV_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>
#include <stdarg.h>
#include <mysql.h>

/* ---- errors ---- */
enum {
    SRV_OK = 0,
    SRV_ERR = -1,        /* generic, message given */
    SRV_ENOMEM = -2,
    SRV_EDB = -3,        /* database error */
    SRV_ELOST = -4,      /* database connection lost: reconnect and retry */
    SRV_ENOTFOUND = -5,
    SRV_EINVAL = -6,
};

/* ---- logging: "2026-11-24T10:00:00.123Z INFO  db: msg key=value" ---- */
enum srv_log_level { SRV_LOG_DEBUG, SRV_LOG_INFO, SRV_LOG_WARN, SRV_LOG_ERROR };
void srv_log_set_level(enum srv_log_level lvl);
int srv_log_level_parse(const char *s, enum srv_log_level *out);
void srv_log(enum srv_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define SRV_DEBUG(m, ...) srv_log(SRV_LOG_DEBUG, m, __VA_ARGS__)
#define SRV_INFO(m, ...)  srv_log(SRV_LOG_INFO, m, __VA_ARGS__)
#define SRV_WARN(m, ...)  srv_log(SRV_LOG_WARN, m, __VA_ARGS__)
#define SRV_ERROR(m, ...) srv_log(SRV_LOG_ERROR, m, __VA_ARGS__)

/* ---- time ---- */
int64_t srv_now_ms(void);                 /* wall clock, UTC, ms since the epoch */
int srv_format_iso(int64_t ms, char *buf, size_t len);   /* 2026-11-24T10:00:00.000Z */
int srv_parse_time(const char *s, int64_t now_ms, int64_t *out); /* ISO UTC, "now", "+90m" */
int srv_parse_duration(const char *s, int64_t *seconds);  /* "90m", "1h30m", "45s", "5400" */

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
    char db_host[256];
    int db_port;
    char db_socket[512];
    char db_user[128];
    char db_password[256];
    char db_name[128];
    int db_timeout_s;
    char schema_dir[512];
} srv_config;

void srv_config_defaults(srv_config *c);
/* Loads FILE over the current values. err names FILE:LINE on failure. */
int srv_config_load(srv_config *c, const char *path, char *err, size_t errlen);
/* Sets "section.key" = value (used by the file and by --set / flags). */
int srv_config_set(srv_config *c, const char *key, const char *value, char *err, size_t errlen);
void srv_config_print(const srv_config *c, FILE *out);

/* ---- database ---- */
typedef struct srv_stmt_cache srv_stmt_cache;
typedef struct srv_db {
    MYSQL *my;
    const srv_config *cfg;
    srv_stmt_cache *stmts;
    unsigned last_errno;      /* of a failed prepare, which closing the statement clears */
    char err[1024];
} srv_db;

int srv_db_open(srv_db *db, const srv_config *cfg);   /* connect + utf8mb4 + UTC */
void srv_db_close(srv_db *db);
int srv_db_reconnect(srv_db *db);
/* A statement prepared once per connection and cached by its SQL text pointer. */
MYSQL_STMT *srv_db_stmt(srv_db *db, const char *sql);
/* Bind parameters by format and execute:
 *   'i' int64_t   'u' uint64_t   's' const char * (NULL = SQL NULL)   't' int64_t ms (0 = NULL)
 * Returns 0, SRV_ELOST for a lost connection, SRV_EDB otherwise (db->err set). */
int srv_db_exec(srv_db *db, const char *sql, const char *in, ...);
int srv_db_vexec(srv_db *db, const char *sql, const char *in, va_list ap);
/* Execute and bind results ('i' int64_t*, 'u' uint64_t*, 't' int64_t* ms, 's' char *, size_t);
 * then call srv_db_fetch until it returns 0 (1 = row). NULL gives 0 / "". */
int srv_db_query(srv_db *db, const char *sql, const char *in, const char *out, ...);
int srv_db_fetch(srv_db *db, const char *sql);
void srv_db_done(srv_db *db, const char *sql);     /* free the result set */
uint64_t srv_db_affected(srv_db *db, const char *sql);
uint64_t srv_db_insert_id(srv_db *db, const char *sql);
int srv_db_begin(srv_db *db);
int srv_db_commit(srv_db *db);
void srv_db_rollback(srv_db *db);
int srv_db_is_lost(unsigned err);                  /* 2006, 2013, ... */

/* Migrations: applies deploy/schema/NNN_*.sql in order, records schema_version. */
int srv_migrate(srv_db *db, const char *schema_dir, int verbose);

/* ---- resume tokens (HMAC-SHA256 over attempt id and expiry) ---- */
int srv_token_secret_load(srv_db *db, unsigned char key[32]);   /* created on first use */
void srv_token_make(const unsigned char key[32], uint64_t attempt_id, int64_t expires_ms,
                    char *out, size_t outlen);
int srv_token_check(const unsigned char key[32], const char *tok, int64_t now_ms,
                    uint64_t *attempt_id);
/* A key for one use (label) derived from the token secret: HMAC-SHA256(root, label). */
void srv_key_derive(const unsigned char root[32], const char *label, unsigned char out[32]);
void srv_hex(const unsigned char *in, size_t n, char *out);     /* 2n hex digits and a NUL */

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
