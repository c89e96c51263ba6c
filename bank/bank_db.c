/* Prepared statements for the storage files: parameters from a short format, results as
 * text in buffers that grow to fit. */
#include "bank_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PARAMS 64
#define FIRST_CAP 256

int bank__err(char *err, size_t errlen, const char *what, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, msg);
    return -1;
}

int bank__st_prepare(bank__st *s, MYSQL *db, const char *sql)
{
    memset(s, 0, sizeof *s);
    s->db = db;
    s->st = mysql_stmt_init(db);
    if (!s->st) return -1;
    if (mysql_stmt_prepare(s->st, sql, strlen(sql))) return -1;
    unsigned n = mysql_stmt_field_count(s->st);
    if (n > BANK__MAX_COLS) return -1;
    s->ncols = (int)n;
    for (int i = 0; i < s->ncols; i++) {
        s->buf[i] = malloc(FIRST_CAP);
        if (!s->buf[i]) return -1;
        s->cap[i] = FIRST_CAP;
        s->out[i].buffer_type = MYSQL_TYPE_STRING;
        s->out[i].buffer = s->buf[i];
        s->out[i].buffer_length = FIRST_CAP - 1;   /* room for a terminating NUL */
        s->out[i].length = &s->len[i];
        s->out[i].is_null = &s->nul[i];
    }
    return 0;
}

int bank__st_execv(bank__st *s, const bank__param *p, int n)
{
    if (!s->st || n > MAX_PARAMS || (unsigned)n != mysql_stmt_param_count(s->st)) return -1;
    MYSQL_BIND b[MAX_PARAMS];
    unsigned long len[MAX_PARAMS];
    my_bool nul[MAX_PARAMS];
    int64_t iv[MAX_PARAMS];
    memset(b, 0, sizeof b);
    for (int i = 0; i < n; i++) {
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
        default:
            return -1;
        }
    }
    if (n && mysql_stmt_bind_param(s->st, b)) return -1;
    if (mysql_stmt_execute(s->st)) return -1;
    if (s->ncols) {
        if (mysql_stmt_bind_result(s->st, s->out)) return -1;
        if (mysql_stmt_store_result(s->st)) return -1;
    }
    return 0;
}

int bank__st_exec(bank__st *s, const char *fmt, ...)
{
    bank__param p[MAX_PARAMS];
    int n = 0;
    va_list ap;
    va_start(ap, fmt);
    for (const char *f = fmt; *f && n < MAX_PARAMS; f++, n++) {
        memset(&p[n], 0, sizeof p[n]);
        p[n].t = *f;
        if (*f == 'i') p[n].i = va_arg(ap, int64_t);
        else if (*f == 'u') p[n].i = (int64_t)va_arg(ap, uint64_t);
        else if (*f == 's') p[n].s = va_arg(ap, const char *);
        else if (*f == 'b') {
            p[n].s = va_arg(ap, const char *);
            p[n].len = va_arg(ap, size_t);
        }
    }
    va_end(ap);
    return bank__st_execv(s, p, n);
}

int bank__st_fetch(bank__st *s)
{
    int r = mysql_stmt_fetch(s->st);
    if (r == MYSQL_NO_DATA) return 0;
    if (r == 1) return -1;
    int rebind = 0;
    for (int i = 0; i < s->ncols; i++) {
        if (s->nul[i]) { s->buf[i][0] = 0; continue; }
        if (s->len[i] + 1 > s->cap[i]) {
            size_t cap = s->len[i] + 1;
            char *b = realloc(s->buf[i], cap);
            if (!b) return -1;
            s->buf[i] = b;
            s->cap[i] = cap;
            s->out[i].buffer = b;
            s->out[i].buffer_length = cap - 1;
            if (mysql_stmt_fetch_column(s->st, &s->out[i], (unsigned)i, 0)) return -1;
            rebind = 1;
        }
        s->buf[i][s->len[i]] = 0;
    }
    /* later rows are fetched into the grown buffers */
    if (rebind && mysql_stmt_bind_result(s->st, s->out)) return -1;
    return 1;
}

const char *bank__st_str(const bank__st *s, int col)
{
    return col < s->ncols && !s->nul[col] ? s->buf[col] : NULL;
}

size_t bank__st_len(const bank__st *s, int col)
{
    return col < s->ncols && !s->nul[col] ? s->len[col] : 0;
}

int64_t bank__st_int(const bank__st *s, int col)
{
    const char *v = bank__st_str(s, col);
    return v ? strtoll(v, NULL, 10) : 0;
}

int bank__st_null(const bank__st *s, int col)
{
    return col >= s->ncols || s->nul[col];
}

void bank__st_free_result(bank__st *s)
{
    if (s->st) mysql_stmt_free_result(s->st);
}

uint64_t bank__st_insert_id(const bank__st *s)
{
    return (uint64_t)mysql_stmt_insert_id(s->st);
}

uint64_t bank__st_affected(const bank__st *s)
{
    return (uint64_t)mysql_stmt_affected_rows(s->st);
}

const char *bank__st_error(const bank__st *s)
{
    if (s->st && mysql_stmt_errno(s->st)) return mysql_stmt_error(s->st);
    if (s->db && mysql_errno(s->db)) return mysql_error(s->db);
    return s->st ? "statement failed" : "out of memory";
}

void bank__st_close(bank__st *s)
{
    if (s->st) mysql_stmt_close(s->st);
    for (int i = 0; i < s->ncols; i++) free(s->buf[i]);
    memset(s, 0, sizeof *s);
}

int bank__tx_end(MYSQL *db, int rc, char *err, size_t errlen)
{
    if (rc) {
        mysql_rollback(db);
        return rc;
    }
    if (mysql_query(db, "COMMIT")) {
        bank__err(err, errlen, "commit", mysql_error(db));
        mysql_rollback(db);
        return -1;
    }
    return 0;
}
