/* The one MariaDB layer: a connection per thread, statements prepared once per connection
 * and cached by their text, parameters bound from a short format, results fetched into
 * buffers that grow to fit, failures classified by error number. */
#include "kc.h"

#include <errmsg.h>
#include <mysql.h>
#include <mysqld_error.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STACK_PARAMS 64
#define FIRST_CAP 64
#define KEEP_CAP (1u << 20)      /* a column buffer bigger than this is freed after its result */
#define OUT_MAX 32               /* output arguments of kc_db_query */

struct kc_stmt {
    kc_db *db;
    struct kc_stmt *next;        /* in its cache bucket */
    uint64_t hash;
    char *sql;
    MYSQL_STMT *st;
    int ncols;
    unsigned long nparams;
    MYSQL_BIND *out;             /* ncols each */
    unsigned long *len;
    my_bool *nul;
    char **buf;
    size_t *cap;
    int64_t *iv;
    unsigned char *is_int;
    char (*num)[24];             /* an integer column as text, made on demand */
    int stored;                  /* a result set is held client side */
    /* kc_db_query's output arguments */
    char out_fmt[OUT_MAX + 1];
    void *out_ptr[OUT_MAX];
    size_t out_cap[OUT_MAX];
};

struct kc_db_cache {
    kc_stmt **b;
    size_t nb, n;
};

/* ---- errors ---- */

int kc_db_is_lost(unsigned e)
{
    return e == CR_SERVER_GONE_ERROR || e == CR_SERVER_LOST || e == CR_CONNECTION_ERROR ||
           e == CR_CONN_HOST_ERROR || e == CR_SERVER_LOST_EXTENDED || e == CR_COMMANDS_OUT_OF_SYNC ||
           e == ER_CONNECTION_KILLED || e == ER_SERVER_SHUTDOWN || e == 4031 /* idle disconnect */;
}

int kc_db_is_transient(unsigned e)
{
    /* 1047: a Galera node not ready for queries (wsrep); its deadlocks are 1213 too. */
    return e == ER_LOCK_DEADLOCK || e == ER_LOCK_WAIT_TIMEOUT || e == ER_XA_RBDEADLOCK || e == 1047;
}

int kc_db_classify(kc_db *db, unsigned e)
{
    db->err_no = e;
    return kc_db_is_lost(e) ? KC_ELOST : kc_db_is_transient(e) ? KC_ERETRY : KC_EDB;
}

int kc_db_fail_code(const kc_db *db)
{
    if (!db->my) return KC_ELOST;
    if (!db->err_no) return KC_EDB;
    return kc_db_is_lost(db->err_no) ? KC_ELOST : kc_db_is_transient(db->err_no) ? KC_ERETRY : KC_EDB;
}

static int fail(kc_db *db, unsigned e, const char *what, const char *msg)
{
    snprintf(db->err, sizeof db->err, "%s: %s (%u)", what, msg, e);
    return kc_db_classify(db, e);
}

static int stmt_fail(kc_stmt *s, const char *what)
{
    unsigned e = mysql_stmt_errno(s->st);
    return fail(s->db, e, what, e ? mysql_stmt_error(s->st) : "failed");
}

static int internal(kc_db *db, const char *fmt, const char *sql)
{
    snprintf(db->err, sizeof db->err, fmt, sql);
    db->err_no = 0;
    return KC_EDB;
}

/* ---- connection ---- */

int kc_db_library_init(void) { return mysql_library_init(0, NULL, NULL) ? KC_ERR : 0; }
void kc_db_library_end(void) { mysql_library_end(); }
void kc_db_thread_end(void) { mysql_thread_end(); }

static int db_connect(kc_db *db)
{
    const kc_db_conf *c = &db->conf;
    db->my = mysql_init(NULL);
    if (!db->my) {
        snprintf(db->err, sizeof db->err, "mysql_init: out of memory");
        return KC_ENOMEM;
    }
    unsigned int t = (unsigned)(c->timeout_s > 0 ? c->timeout_s : 10);
    mysql_options(db->my, MYSQL_OPT_CONNECT_TIMEOUT, &t);
    mysql_options(db->my, MYSQL_OPT_READ_TIMEOUT, &t);
    mysql_options(db->my, MYSQL_OPT_WRITE_TIMEOUT, &t);
    mysql_options(db->my, MYSQL_SET_CHARSET_NAME, "utf8mb4");
    mysql_options(db->my, MYSQL_INIT_COMMAND,
                  "SET time_zone = '+00:00', tx_isolation = 'READ-COMMITTED'");
    const char *sock = c->socket[0] ? c->socket : NULL;
    /* Only migrations run scripts: every other connection takes one statement at a time. */
    unsigned long flags = c->multi_statements ? CLIENT_MULTI_STATEMENTS : 0;
    if (!mysql_real_connect(db->my, sock ? "localhost" : c->host, c->user, c->password,
                            c->database, (unsigned)c->port, sock, flags)) {
        char where[300];
        if (sock)
            snprintf(where, sizeof where, "socket %.280s", sock);
        else
            snprintf(where, sizeof where, "%.250s:%d", c->host, c->port);
        unsigned e = mysql_errno(db->my);
        snprintf(db->err, sizeof db->err, "connect to MariaDB at %s as %.60s, database %.60s: %.300s",
                 where, c->user, c->database, mysql_error(db->my));
        mysql_close(db->my);
        db->my = NULL;
        db->err_no = e;
        return KC_EDB;
    }
    return 0;
}

int kc_db_open(kc_db *db, const kc_db_conf *conf)
{
    memset(db, 0, sizeof *db);
    db->conf = *conf;
    db->cache = calloc(1, sizeof *db->cache);
    if (!db->cache) return KC_ENOMEM;
    return db_connect(db);
}

static void stmt_free(kc_stmt *s)
{
    if (s->st) mysql_stmt_close(s->st);
    for (int i = 0; i < s->ncols; i++) free(s->buf[i]);
    free(s->out);
    free(s->len);
    free(s->nul);
    free(s->buf);
    free(s->cap);
    free(s->iv);
    free(s->is_int);
    free(s->num);
    free(s->sql);
    free(s);
}

static void cache_clear(kc_db *db)
{
    struct kc_db_cache *c = db->cache;
    if (!c) return;
    for (size_t i = 0; i < c->nb; i++)
        for (kc_stmt *s = c->b[i], *n; s; s = n) {
            n = s->next;
            stmt_free(s);
        }
    free(c->b);
    memset(c, 0, sizeof *c);
}

void kc_db_close(kc_db *db)
{
    cache_clear(db);
    free(db->cache);
    db->cache = NULL;
    if (db->my) mysql_close(db->my);
    db->my = NULL;
}

int kc_db_reconnect(kc_db *db)
{
    /* Statements belong to the old connection: they are prepared again on first use. */
    cache_clear(db);
    if (!db->cache && !(db->cache = calloc(1, sizeof *db->cache))) return KC_ENOMEM;
    if (db->my) mysql_close(db->my);
    db->my = NULL;
    return db_connect(db);
}

static int simple(kc_db *db, const char *q)
{
    if (!db->my) return fail(db, CR_SERVER_GONE_ERROR, q, "not connected");
    db->round_trips++;
    if (mysql_query(db->my, q)) return fail(db, mysql_errno(db->my), q, mysql_error(db->my));
    /* GET_LOCK and friends answer with a row nobody reads. */
    MYSQL_RES *r = mysql_store_result(db->my);
    if (r) mysql_free_result(r);
    return 0;
}

int kc_db_simple(kc_db *db, const char *sql) { return simple(db, sql); }
int kc_db_begin(kc_db *db) { return simple(db, "START TRANSACTION"); }
int kc_db_commit(kc_db *db) { return simple(db, "COMMIT"); }
void kc_db_rollback(kc_db *db)
{
    if (!db->my) return;
    db->round_trips++;
    mysql_rollback(db->my);
}

/* ---- the statement cache ---- */

static uint64_t hash_text(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;                 /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
    return h;
}

static int cache_grow(struct kc_db_cache *c)
{
    size_t nb = c->nb ? c->nb * 2 : 64;
    kc_stmt **b = calloc(nb, sizeof *b);
    if (!b) return KC_ENOMEM;
    for (size_t i = 0; i < c->nb; i++)
        for (kc_stmt *s = c->b[i], *n; s; s = n) {
            n = s->next;
            s->next = b[s->hash & (nb - 1)];
            b[s->hash & (nb - 1)] = s;
        }
    free(c->b);
    c->b = b;
    c->nb = nb;
    return 0;
}

/* Output buffers by column type: integers bind as integers, everything else as text that
 * grows to fit (DATETIME comes as "YYYY-MM-DD HH:MM:SS.fff"). */
static int bind_columns(kc_stmt *s)
{
    MYSQL_RES *meta = mysql_stmt_result_metadata(s->st);
    if (!meta) return 0;                                  /* no result set */
    s->ncols = (int)mysql_num_fields(meta);
    MYSQL_FIELD *f = mysql_fetch_fields(meta);
    size_t n = (size_t)s->ncols;
    s->out = calloc(n, sizeof *s->out);
    s->len = calloc(n, sizeof *s->len);
    s->nul = calloc(n, sizeof *s->nul);
    s->buf = calloc(n, sizeof *s->buf);
    s->cap = calloc(n, sizeof *s->cap);
    s->iv = calloc(n, sizeof *s->iv);
    s->is_int = calloc(n, 1);
    s->num = calloc(n, sizeof *s->num);
    if (!s->out || !s->len || !s->nul || !s->buf || !s->cap || !s->iv || !s->is_int || !s->num) {
        mysql_free_result(meta);
        return KC_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        MYSQL_BIND *b = &s->out[i];
        b->length = &s->len[i];
        b->is_null = &s->nul[i];
        switch (f[i].type) {
        case MYSQL_TYPE_TINY: case MYSQL_TYPE_SHORT: case MYSQL_TYPE_LONG:
        case MYSQL_TYPE_INT24: case MYSQL_TYPE_LONGLONG: case MYSQL_TYPE_YEAR:
            s->is_int[i] = 1;
            b->buffer_type = MYSQL_TYPE_LONGLONG;
            b->buffer = &s->iv[i];
            b->is_unsigned = (f[i].flags & UNSIGNED_FLAG) != 0;
            break;
        default:
            if (!(s->buf[i] = malloc(FIRST_CAP))) { mysql_free_result(meta); return KC_ENOMEM; }
            s->cap[i] = FIRST_CAP;
            b->buffer_type = MYSQL_TYPE_STRING;
            b->buffer = s->buf[i];
            b->buffer_length = FIRST_CAP - 1;            /* room for a terminating NUL */
        }
    }
    mysql_free_result(meta);
    return 0;
}

kc_stmt *kc_db_stmt(kc_db *db, const char *sql)
{
    struct kc_db_cache *c = db->cache;
    if (!c || !db->my) {
        fail(db, CR_SERVER_GONE_ERROR, "prepare", "not connected");
        return NULL;
    }
    uint64_t h = hash_text(sql);
    if (c->nb)
        for (kc_stmt *s = c->b[h & (c->nb - 1)]; s; s = s->next)
            if (s->hash == h && !strcmp(s->sql, sql)) return s;
    if ((c->n + 1) * 2 > c->nb && cache_grow(c)) {
        snprintf(db->err, sizeof db->err, "prepare: out of memory");
        db->err_no = 0;
        return NULL;
    }
    kc_stmt *s = calloc(1, sizeof *s);
    if (!s || !(s->sql = strdup(sql))) {
        free(s);
        snprintf(db->err, sizeof db->err, "prepare: out of memory");
        db->err_no = 0;
        return NULL;
    }
    s->db = db;
    s->hash = h;
    s->st = mysql_stmt_init(db->my);
    db->round_trips++;
    if (!s->st || mysql_stmt_prepare(s->st, sql, strlen(sql))) {
        /* Closing the statement clears the connection's error: classify first. */
        unsigned e = s->st ? mysql_stmt_errno(s->st) : mysql_errno(db->my);
        char msg[600];
        snprintf(msg, sizeof msg, "%s in \"%.200s\"", s->st ? mysql_stmt_error(s->st) : "no memory", sql);
        fail(db, e, "prepare", msg);
        stmt_free(s);
        return NULL;
    }
    s->nparams = mysql_stmt_param_count(s->st);
    if (bind_columns(s)) {
        snprintf(db->err, sizeof db->err, "prepare: out of memory");
        db->err_no = 0;
        stmt_free(s);
        return NULL;
    }
    s->next = c->b[h & (c->nb - 1)];
    c->b[h & (c->nb - 1)] = s;
    c->n++;
    return s;
}

/* ---- executing ---- */

static void ms_to_time(int64_t ms, MYSQL_TIME *t)
{
    time_t sec = (time_t)(ms / 1000);
    struct tm tm;
    gmtime_r(&sec, &tm);
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

static void result_free(kc_stmt *s)
{
    if (!s->stored) return;
    mysql_stmt_free_result(s->st);
    s->stored = 0;
    for (int i = 0; i < s->ncols; i++)
        if (s->cap[i] > KEEP_CAP) {             /* one huge value must not stay allocated */
            char *b = realloc(s->buf[i], FIRST_CAP);
            if (!b) continue;
            s->buf[i] = b;
            s->cap[i] = FIRST_CAP;
            s->out[i].buffer = b;
            s->out[i].buffer_length = FIRST_CAP - 1;
        }
}

int kc_stmt_execv(kc_stmt *s, const kc_param *p, int n)
{
    kc_db *db = s->db;
    if ((unsigned long)n != s->nparams)
        return internal(db, "internal: wrong number of parameters for \"%.80s\"", s->sql);
    result_free(s);
    MYSQL_BIND sb[STACK_PARAMS], *b = sb;
    MYSQL_TIME stv[STACK_PARAMS], *tv = stv;
    unsigned long sl[STACK_PARAMS], *len = sl;
    int64_t si[STACK_PARAMS], *iv = si;
    my_bool snul[STACK_PARAMS], *nul = snul;
    if (n > STACK_PARAMS) {
        b = calloc((size_t)n, sizeof *b);
        tv = calloc((size_t)n, sizeof *tv);
        len = calloc((size_t)n, sizeof *len);
        iv = calloc((size_t)n, sizeof *iv);
        nul = calloc((size_t)n, sizeof *nul);
    }
    int rc = 0;
    if (!b || !tv || !len || !iv || !nul) {
        snprintf(db->err, sizeof db->err, "execute: out of memory");
        db->err_no = 0;
        rc = KC_ENOMEM;
        goto out;
    }
    memset(b, 0, (size_t)n * sizeof *b);
    for (int i = 0; i < n && !rc; i++) {
        nul[i] = 0;
        b[i].is_null = &nul[i];
        switch (p[i].t) {
        case 'i': case 'u':
            iv[i] = p[i].i;
            b[i].buffer_type = MYSQL_TYPE_LONGLONG;
            b[i].buffer = &iv[i];
            b[i].is_unsigned = p[i].t == 'u';
            break;
        case 's': case 'b':
            b[i].buffer_type = p[i].t == 's' ? MYSQL_TYPE_STRING : MYSQL_TYPE_BLOB;
            if (!p[i].s) { nul[i] = 1; break; }
            len[i] = (unsigned long)(p[i].t == 's' ? strlen(p[i].s) : p[i].len);
            b[i].buffer = (void *)p[i].s;
            b[i].buffer_length = len[i];
            b[i].length = &len[i];
            break;
        case 't':
            b[i].buffer_type = MYSQL_TYPE_DATETIME;
            if (!p[i].i) { nul[i] = 1; break; }
            ms_to_time(p[i].i, &tv[i]);
            b[i].buffer = &tv[i];
            break;
        case 'n':
            b[i].buffer_type = MYSQL_TYPE_NULL;
            nul[i] = 1;
            break;
        default:
            rc = internal(db, "internal: bad parameter format in \"%.80s\"", s->sql);
        }
    }
    if (rc) goto out;
    if (n && mysql_stmt_bind_param(s->st, b)) { rc = stmt_fail(s, "bind"); goto out; }
    db->round_trips++;             /* the rows of a result come with it: store_result sends nothing */
    if (mysql_stmt_execute(s->st)) { rc = stmt_fail(s, "execute"); goto out; }
    if (s->ncols) {
        if (mysql_stmt_bind_result(s->st, s->out)) { rc = stmt_fail(s, "bind result"); goto out; }
        if (mysql_stmt_store_result(s->st)) { rc = stmt_fail(s, "store result"); goto out; }
        s->stored = 1;
    }
out:
    if (b != sb) {
        free(b);
        free(tv);
        free(len);
        free(iv);
        free(nul);
    }
    return rc;
}

int kc_stmt_vexec(kc_stmt *s, const char *fmt, va_list ap)
{
    kc_param sp[STACK_PARAMS], *p = sp;
    size_t n = strlen(fmt);
    if (!n) return kc_stmt_execv(s, NULL, 0);
    if (n > STACK_PARAMS && !(p = calloc(n, sizeof *p))) return KC_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        memset(&p[i], 0, sizeof p[i]);
        p[i].t = fmt[i];
        switch (fmt[i]) {
        case 'i': case 't': p[i].i = va_arg(ap, int64_t); break;
        case 'u': p[i].i = (int64_t)va_arg(ap, uint64_t); break;
        case 's': p[i].s = va_arg(ap, const char *); break;
        case 'b': p[i].s = va_arg(ap, const char *); p[i].len = va_arg(ap, size_t); break;
        default: break;          /* 'n' takes no argument; others fail in execv */
        }
    }
    int rc = kc_stmt_execv(s, p, (int)n);
    if (p != sp) free(p);
    return rc;
}

int kc_stmt_exec(kc_stmt *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = kc_stmt_vexec(s, fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- reading results ---- */

int kc_stmt_next(kc_stmt *s)
{
    if (!s->stored) return 0;
    int r = mysql_stmt_fetch(s->st);
    if (r == MYSQL_NO_DATA) return 0;
    if (r == 1) return stmt_fail(s, "fetch");
    int rebind = 0;
    for (int i = 0; i < s->ncols; i++) {
        if (s->is_int[i]) continue;
        if (s->nul[i]) { s->buf[i][0] = 0; continue; }
        if (s->len[i] + 1 > s->cap[i]) {            /* MYSQL_DATA_TRUNCATED: fetch it whole */
            size_t cap = s->len[i] + 1;
            char *b = realloc(s->buf[i], cap);
            if (!b) return internal(s->db, "fetch: out of memory in \"%.80s\"", s->sql);
            s->buf[i] = b;
            s->cap[i] = cap;
            s->out[i].buffer = b;
            s->out[i].buffer_length = cap - 1;
            if (mysql_stmt_fetch_column(s->st, &s->out[i], (unsigned)i, 0))
                return stmt_fail(s, "fetch column");
            rebind = 1;
        }
        s->buf[i][s->len[i]] = 0;
    }
    /* Later rows are fetched into the grown buffers. */
    if (rebind && mysql_stmt_bind_result(s->st, s->out)) return stmt_fail(s, "bind result");
    return 1;
}

int kc_stmt_ncols(const kc_stmt *s) { return s->ncols; }

int kc_stmt_null(const kc_stmt *s, int col)
{
    return col < 0 || col >= s->ncols || s->nul[col];
}

const char *kc_stmt_str(kc_stmt *s, int col)
{
    if (kc_stmt_null(s, col)) return NULL;
    if (!s->is_int[col]) return s->buf[col];
    if (s->out[col].is_unsigned)
        snprintf(s->num[col], sizeof s->num[col], "%llu", (unsigned long long)s->iv[col]);
    else
        snprintf(s->num[col], sizeof s->num[col], "%lld", (long long)s->iv[col]);
    return s->num[col];
}

size_t kc_stmt_len(kc_stmt *s, int col)
{
    const char *v = kc_stmt_str(s, col);
    if (!v) return 0;
    return s->is_int[col] ? strlen(v) : s->len[col];
}

int64_t kc_stmt_int(kc_stmt *s, int col)
{
    if (kc_stmt_null(s, col)) return 0;
    if (s->is_int[col]) return s->iv[col];
    return strtoll(s->buf[col], NULL, 10);
}

int64_t kc_stmt_time(kc_stmt *s, int col)
{
    const char *v = kc_stmt_null(s, col) || s->is_int[col] ? NULL : s->buf[col];
    if (!v) return 0;
    struct tm tm = {0};
    int frac = 0, n = 0;
    if (sscanf(v, "%4d-%2d-%2d %2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &n) < 3)
        return 0;
    if (n && v[n] == '.') {                 /* milliseconds: the first three digits */
        int digits = 0;
        for (const char *p = v + n + 1; *p >= '0' && *p <= '9' && digits < 3; p++, digits++)
            frac = frac * 10 + (*p - '0');
        for (; digits < 3; digits++) frac *= 10;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + frac;
}

uint64_t kc_stmt_num_rows(const kc_stmt *s) { return s->stored ? (uint64_t)mysql_stmt_num_rows(s->st) : 0; }
uint64_t kc_stmt_affected(const kc_stmt *s) { return (uint64_t)mysql_stmt_affected_rows(s->st); }
uint64_t kc_stmt_insert_id(const kc_stmt *s) { return (uint64_t)mysql_stmt_insert_id(s->st); }
void kc_stmt_done(kc_stmt *s) { if (s) result_free(s); }

/* ---- shorthands keyed by the SQL text ---- */

int kc_db_exec(kc_db *db, const char *sql, const char *in, ...)
{
    kc_stmt *s = kc_db_stmt(db, sql);
    if (!s) return kc_db_fail_code(db);
    va_list ap;
    va_start(ap, in);
    int rc = kc_stmt_vexec(s, in, ap);
    va_end(ap);
    return rc;
}

int kc_db_query(kc_db *db, const char *sql, const char *in, const char *out, ...)
{
    kc_stmt *s = kc_db_stmt(db, sql);
    if (!s) return kc_db_fail_code(db);
    size_t nout = strlen(out);
    if (nout > OUT_MAX || (int)nout != s->ncols)
        return internal(db, "internal: wrong number of result columns for \"%.80s\"", sql);
    va_list ap;
    va_start(ap, out);
    /* The parameters first, then the output arguments, from one list. */
    kc_param sp[STACK_PARAMS];
    size_t nin = strlen(in);
    if (nin > STACK_PARAMS) { va_end(ap); return internal(db, "internal: too many parameters for \"%.80s\"", sql); }
    for (size_t i = 0; i < nin; i++) {
        memset(&sp[i], 0, sizeof sp[i]);
        sp[i].t = in[i];
        switch (in[i]) {
        case 'i': case 't': sp[i].i = va_arg(ap, int64_t); break;
        case 'u': sp[i].i = (int64_t)va_arg(ap, uint64_t); break;
        case 's': sp[i].s = va_arg(ap, const char *); break;
        case 'b': sp[i].s = va_arg(ap, const char *); sp[i].len = va_arg(ap, size_t); break;
        default: break;
        }
    }
    memcpy(s->out_fmt, out, nout + 1);
    for (size_t i = 0; i < nout; i++) {
        s->out_ptr[i] = va_arg(ap, void *);
        s->out_cap[i] = out[i] == 's' ? va_arg(ap, size_t) : 0;
    }
    va_end(ap);
    for (size_t i = 0; i < nout; i++)
        if (!strchr("iuts", out[i]))
            return internal(db, "internal: bad result format for \"%.80s\"", sql);
    return kc_stmt_execv(s, sp, (int)nin);
}

int kc_db_fetch(kc_db *db, const char *sql)
{
    kc_stmt *s = kc_db_stmt(db, sql);
    if (!s) return kc_db_fail_code(db);
    int r = kc_stmt_next(s);
    if (r != 1) return r;
    for (int i = 0; s->out_fmt[i]; i++) {
        void *p = s->out_ptr[i];
        switch (s->out_fmt[i]) {
        case 'i': case 'u':
            *(int64_t *)p = kc_stmt_int(s, i);
            break;
        case 't':
            *(int64_t *)p = kc_stmt_time(s, i);
            break;
        case 's': {
            char *d = p;
            size_t cap = s->out_cap[i], len = kc_stmt_len(s, i);
            const char *v = kc_stmt_str(s, i);
            if (!cap) break;
            if (!v) { d[0] = 0; break; }
            if (len >= cap) {                 /* keep whole UTF-8 characters */
                len = cap - 1;
                while (len && ((unsigned char)v[len] & 0xC0) == 0x80) len--;
            }
            memcpy(d, v, len);
            d[len] = 0;
            break;
        }
        }
    }
    return 1;
}

void kc_db_done(kc_db *db, const char *sql)
{
    kc_stmt *s = db->my ? kc_db_stmt(db, sql) : NULL;
    kc_stmt_done(s);
}

uint64_t kc_db_affected(kc_db *db, const char *sql)
{
    kc_stmt *s = kc_db_stmt(db, sql);
    return s ? kc_stmt_affected(s) : 0;
}

uint64_t kc_db_insert_id(kc_db *db, const char *sql)
{
    kc_stmt *s = kc_db_stmt(db, sql);
    return s ? kc_stmt_insert_id(s) : 0;
}

/* ---- many rows per statement ---- */

static int count_marks(const char *row)
{
    int n = 0;
    for (; *row; row++) n += *row == '?';
    return n;
}

int kc_db_rows(kc_db *db, const char *head, const char *row, const char *tail,
               const kc_param *p, size_t n_rows, int max_rows)
{
    int per = count_marks(row);
    if (max_rows < 1) max_rows = 1;
    if (max_rows > 1000) max_rows = 1000;
    size_t rowlen = strlen(row), cap = strlen(head) + strlen(tail) + (size_t)max_rows * (rowlen + 1) + 2;
    char *sql = malloc(cap);
    if (!sql) return KC_ENOMEM;
    int rc = 0, built = 0;
    size_t done = 0;
    while (done < n_rows && !rc) {
        /* max_rows at a time, then halving sizes: few distinct statements to cache. */
        int k = max_rows;
        while ((size_t)k > n_rows - done) k /= 2;
        if (k != built) {
            char *w = sql + sprintf(sql, "%s ", head);
            for (int r = 0; r < k; r++) {
                if (r) *w++ = ',';
                memcpy(w, row, rowlen);
                w += rowlen;
            }
            strcpy(w, tail);
            built = k;
        }
        kc_stmt *s = kc_db_stmt(db, sql);
        rc = s ? kc_stmt_execv(s, p + done * (size_t)per, k * per) : kc_db_fail_code(db);
        done += (size_t)k;
    }
    free(sql);
    return rc;
}
