/* The database layer: one MYSQL per thread, statements prepared once per connection and
 * cached by their SQL text, parameters bound from a short format string. A lost
 * connection (2006/2013) is reported as SRV_ELOST; callers reconnect and retry — never
 * MYSQL_OPT_RECONNECT, which would silently drop transactions and prepared statements. */
#include "srv.h"

#include <errmsg.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_BIND 24
#define CACHE_SIZE 64

struct cached {
    const char *sql;
    MYSQL_STMT *st;
    /* result binding state, valid between srv_db_query and srv_db_done */
    MYSQL_BIND out[MAX_BIND];
    unsigned long out_len[MAX_BIND];
    my_bool out_null[MAX_BIND];
    MYSQL_TIME out_time[MAX_BIND];
    void *out_ptr[MAX_BIND];
    char out_fmt[MAX_BIND + 1];
};

struct srv_stmt_cache {
    struct cached c[CACHE_SIZE];
    int n;
};

int srv_db_is_lost(unsigned err)
{
    return err == CR_SERVER_GONE_ERROR || err == CR_SERVER_LOST || err == CR_CONNECTION_ERROR ||
           err == CR_CONN_HOST_ERROR || err == CR_SERVER_LOST_EXTENDED ||
           err == ER_CONNECTION_KILLED || err == CR_COMMANDS_OUT_OF_SYNC;
}

static int db_connect(srv_db *db)
{
    const srv_config *cfg = db->cfg;
    db->my = mysql_init(NULL);
    if (!db->my) {
        snprintf(db->err, sizeof db->err, "mysql_init: out of memory");
        return SRV_ENOMEM;
    }
    unsigned int t = (unsigned)cfg->db_timeout_s;
    mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(db->my, MYSQL_INIT_COMMAND,
                  "SET time_zone = '+00:00', tx_isolation = 'READ-COMMITTED'");
    const char *sock = cfg->db_socket[0] ? cfg->db_socket : NULL;
    if (!mysql_real_connect(db->my, sock ? "localhost" : cfg->db_host, cfg->db_user,
                            cfg->db_password, cfg->db_name, (unsigned)cfg->db_port, sock,
                            CLIENT_MULTI_STATEMENTS)) {
        char where[300];
        if (sock)
            snprintf(where, sizeof where, "socket %.280s", sock);
        else
            snprintf(where, sizeof where, "%.250s:%d", cfg->db_host, cfg->db_port);
        snprintf(db->err, sizeof db->err, "connect to MariaDB at %s as %.60s, database %.60s: %.300s",
                 where, cfg->db_user, cfg->db_name, mysql_error(db->my));
        mysql_close(db->my);
        db->my = NULL;
        return SRV_EDB;
    }
    return 0;
}

int srv_db_open(srv_db *db, const srv_config *cfg)
{
    memset(db, 0, sizeof *db);
    db->cfg = cfg;
    db->stmts = calloc(1, sizeof *db->stmts);
    if (!db->stmts)
        return SRV_ENOMEM;
    return db_connect(db);
}

static void cache_clear(srv_db *db)
{
    if (!db->stmts)
        return;
    for (int i = 0; i < db->stmts->n; i++)
        if (db->stmts->c[i].st)
            mysql_stmt_close(db->stmts->c[i].st);
    memset(db->stmts, 0, sizeof *db->stmts);
}

void srv_db_close(srv_db *db)
{
    cache_clear(db);
    free(db->stmts);
    db->stmts = NULL;
    if (db->my)
        mysql_close(db->my);
    db->my = NULL;
}

int srv_db_reconnect(srv_db *db)
{
    cache_clear(db);
    if (db->my)
        mysql_close(db->my);
    db->my = NULL;
    return db_connect(db);
}

static struct cached *lookup(srv_db *db, const char *sql, int create)
{
    srv_stmt_cache *c = db->stmts;
    for (int i = 0; i < c->n; i++)
        if (c->c[i].sql == sql)
            return &c->c[i];
    if (!create)
        return NULL;
    if (!db->my) {
        snprintf(db->err, sizeof db->err, "not connected");
        db->last_errno = CR_SERVER_GONE_ERROR;
        return NULL;
    }
    if (c->n == CACHE_SIZE) {
        /* Entries cannot move: their result buffers are bound into the statement. */
        snprintf(db->err, sizeof db->err, "internal: more than %d distinct statements", CACHE_SIZE);
        db->last_errno = 0;
        return NULL;
    }
    MYSQL_STMT *st = mysql_stmt_init(db->my);
    if (!st || mysql_stmt_prepare(st, sql, strlen(sql))) {
        /* mysql_stmt_close clears the connection's error: classify before closing. */
        db->last_errno = st ? mysql_stmt_errno(st) : mysql_errno(db->my);
        snprintf(db->err, sizeof db->err, "prepare: %s (%u)",
                 st ? mysql_stmt_error(st) : "no memory", db->last_errno);
        if (st) mysql_stmt_close(st);
        return NULL;
    }
    struct cached *e = &c->c[c->n++];
    memset(e, 0, sizeof *e);
    e->sql = sql;
    e->st = st;
    return e;
}

MYSQL_STMT *srv_db_stmt(srv_db *db, const char *sql)
{
    struct cached *e = lookup(db, sql, 1);
    return e ? e->st : NULL;
}

static void ms_to_time(int64_t ms, MYSQL_TIME *t)
{
    time_t s = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&s, &tm);
    memset(t, 0, sizeof *t);
    t->year = (unsigned)tm.tm_year + 1900;
    t->month = (unsigned)tm.tm_mon + 1;
    t->day = (unsigned)tm.tm_mday;
    t->hour = (unsigned)tm.tm_hour;
    t->minute = (unsigned)tm.tm_min;
    t->second = (unsigned)tm.tm_sec;
    t->second_part = (unsigned long)(ms % 1000) * 1000;
    t->time_type = MYSQL_TIMESTAMP_DATETIME;
}

static int64_t time_to_ms(const MYSQL_TIME *t)
{
    struct tm tm = {0};
    tm.tm_year = (int)t->year - 1900;
    tm.tm_mon = (int)t->month - 1;
    tm.tm_mday = (int)t->day;
    tm.tm_hour = (int)t->hour;
    tm.tm_min = (int)t->minute;
    tm.tm_sec = (int)t->second;
    return (int64_t)timegm(&tm) * 1000 + (int64_t)(t->second_part / 1000);
}

static int stmt_fail(srv_db *db, MYSQL_STMT *st, const char *what)
{
    unsigned e = mysql_stmt_errno(st);
    snprintf(db->err, sizeof db->err, "%s: %s (%u)", what, mysql_stmt_error(st), e);
    return srv_db_is_lost(e) ? SRV_ELOST : SRV_EDB;
}

static int lookup_fail(srv_db *db)
{
    return !db->my || srv_db_is_lost(db->last_errno) ? SRV_ELOST : SRV_EDB;
}

/* Takes the va_list by pointer so that srv_db_query can go on reading its output
 * arguments from the same list (a va_list passed by value is indeterminate afterwards). */
static int vexec(srv_db *db, const char *sql, const char *in, va_list *app)
{
    struct cached *e = lookup(db, sql, 1);
    if (!e)
        return lookup_fail(db);
    MYSQL_BIND b[MAX_BIND];
    MYSQL_TIME tv[MAX_BIND];
    int64_t iv[MAX_BIND];
    unsigned long len[MAX_BIND];
    my_bool isnull[MAX_BIND];
    size_t n = strlen(in);
    if (n > MAX_BIND || n != mysql_stmt_param_count(e->st)) {
        snprintf(db->err, sizeof db->err, "internal: %zu parameters for \"%.60s\"", n, sql);
        return SRV_EDB;
    }
    memset(b, 0, sizeof b);
    for (size_t i = 0; i < n; i++) {
        isnull[i] = 0;
        b[i].is_null = &isnull[i];
        switch (in[i]) {
        case 'i': case 'u':
            iv[i] = in[i] == 'i' ? va_arg(*app, int64_t) : (int64_t)va_arg(*app, uint64_t);
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &iv[i];
            b[i].is_unsigned = in[i] == 'u';
            break;
        case 's': {
            const char *s = va_arg(*app, const char *);
            b[i].buffer_type = MYSQL_TYPE_STRING;
            if (!s) { isnull[i] = 1; break; }
            b[i].buffer = (void *)s;
            len[i] = strlen(s);
            b[i].buffer_length = len[i];
            b[i].length = &len[i];
            break;
        }
        case 't': {
            int64_t ms = va_arg(*app, int64_t);
            b[i].buffer_type = MYSQL_TYPE_DATETIME;
            if (!ms) { isnull[i] = 1; break; }
            ms_to_time(ms, &tv[i]);
            b[i].buffer = &tv[i];
            break;
        }
        default:
            snprintf(db->err, sizeof db->err, "internal: bad format '%c'", in[i]);
            return SRV_EDB;
        }
    }
    if (n && mysql_stmt_bind_param(e->st, b))
        return stmt_fail(db, e->st, "bind");
    if (mysql_stmt_execute(e->st))
        return stmt_fail(db, e->st, "execute");
    return 0;
}

int srv_db_vexec(srv_db *db, const char *sql, const char *in, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int rc = vexec(db, sql, in, &cp);
    va_end(cp);
    return rc;
}

int srv_db_exec(srv_db *db, const char *sql, const char *in, ...)
{
    va_list ap;
    va_start(ap, in);
    int rc = vexec(db, sql, in, &ap);
    va_end(ap);
    return rc;
}

int srv_db_query(srv_db *db, const char *sql, const char *in, const char *out, ...)
{
    va_list ap;
    va_start(ap, out);
    int rc = vexec(db, sql, in, &ap);
    if (rc) { va_end(ap); return rc; }
    struct cached *e = lookup(db, sql, 0);
    size_t n = strlen(out);
    if (n > MAX_BIND || n != mysql_stmt_field_count(e->st)) {
        va_end(ap);
        snprintf(db->err, sizeof db->err, "internal: %zu result columns for \"%.60s\"", n, sql);
        return SRV_EDB;
    }
    memset(e->out, 0, sizeof e->out);
    memcpy(e->out_fmt, out, n + 1);
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *b = &e->out[i];
        b->is_null = &e->out_null[i];
        b->length = &e->out_len[i];
        switch (out[i]) {
        case 'i': case 'u':
            e->out_ptr[i] = va_arg(ap, void *);
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = e->out_ptr[i];
            b->is_unsigned = out[i] == 'u';
            break;
        case 't':
            e->out_ptr[i] = va_arg(ap, int64_t *);
            b->buffer_type = MYSQL_TYPE_DATETIME;
            b->buffer = &e->out_time[i];
            break;
        case 's':
            e->out_ptr[i] = va_arg(ap, char *);
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = e->out_ptr[i];
            b->buffer_length = va_arg(ap, size_t);
            break;
        default:
            va_end(ap);
            snprintf(db->err, sizeof db->err, "internal: bad format '%c'", out[i]);
            return SRV_EDB;
        }
    }
    va_end(ap);
    if (mysql_stmt_bind_result(e->st, e->out))
        return stmt_fail(db, e->st, "bind result");
    if (mysql_stmt_store_result(e->st))
        return stmt_fail(db, e->st, "store result");
    return 0;
}

int srv_db_fetch(srv_db *db, const char *sql)
{
    struct cached *e = lookup(db, sql, 0);
    if (!e)
        return SRV_EDB;
    int r = mysql_stmt_fetch(e->st);
    if (r == MYSQL_NO_DATA)
        return 0;
    if (r == 1)
        return stmt_fail(db, e->st, "fetch");
    for (size_t i = 0; e->out_fmt[i]; i++) {
        int null = e->out_null[i];
        switch (e->out_fmt[i]) {
        case 'i': case 'u':
            if (null) *(int64_t *)e->out_ptr[i] = 0;
            break;
        case 't':
            *(int64_t *)e->out_ptr[i] = null ? 0 : time_to_ms(&e->out_time[i]);
            break;
        case 's': {
            char *s = e->out_ptr[i];
            size_t cap = e->out[i].buffer_length;
            size_t len = null ? 0 : e->out_len[i];
            if (len >= cap) {   /* MYSQL_DATA_TRUNCATED: keep whole UTF-8 characters */
                len = cap - 1;
                while (len && ((unsigned char)s[len] & 0xC0) == 0x80) len--;
            }
            s[len] = 0;
            break;
        }
        }
    }
    return 1;
}

void srv_db_done(srv_db *db, const char *sql)
{
    struct cached *e = lookup(db, sql, 0);
    if (e)
        mysql_stmt_free_result(e->st);
}

uint64_t srv_db_affected(srv_db *db, const char *sql)
{
    struct cached *e = lookup(db, sql, 0);
    return e ? (uint64_t)mysql_stmt_affected_rows(e->st) : 0;
}

uint64_t srv_db_insert_id(srv_db *db, const char *sql)
{
    struct cached *e = lookup(db, sql, 0);
    return e ? (uint64_t)mysql_stmt_insert_id(e->st) : 0;
}

static int simple(srv_db *db, const char *q)
{
    if (!db->my)
        return SRV_ELOST;
    if (mysql_query(db->my, q)) {
        unsigned e = mysql_errno(db->my);
        snprintf(db->err, sizeof db->err, "%s: %s (%u)", q, mysql_error(db->my), e);
        return srv_db_is_lost(e) ? SRV_ELOST : SRV_EDB;
    }
    return 0;
}

int srv_db_begin(srv_db *db) { return simple(db, "START TRANSACTION"); }
int srv_db_commit(srv_db *db) { return simple(db, "COMMIT"); }
void srv_db_rollback(srv_db *db) { if (db->my) mysql_rollback(db->my); }
