/* Storing an item set: one transaction, prepared statements, all or nothing. Texts are
 * bound as UTF-8: the caller's connection must use utf8mb4 (mysql_set_character_set). */
#include "bank.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_FILE_MAX_CHARS 255   /* item.import_file VARCHAR(255) */
#define ANSWER_KEY_BUF (1024 * 4 + 1)

static const char SQL_LATEST[] =
    "SELECT content_hash, answer_key, points_centi FROM item WHERE uid = ?"
    " ORDER BY version DESC LIMIT 1";
static const char SQL_INSERT[] =
    "INSERT INTO item (uid, version, type, stem, options, answer_key, points_centi, difficulty,"
    " point_code, explanation, source, content_hash, status, import_file, import_line)"
    " VALUES (?, 1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'approved', ?, ?)";

/* ---- a growable string for the options JSON ---- */

typedef struct sbuf {
    char *s;
    size_t n, cap;
    int oom;
} sbuf;

static void sb_put(sbuf *b, const char *p, size_t n)
{
    if (b->oom) return;
    if (b->n + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + n + 1) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) { b->oom = 1; return; }
        b->s = s;
        b->cap = cap;
    }
    memcpy(b->s + b->n, p, n);
    b->n += n;
    b->s[b->n] = 0;
}

/* A JSON string literal. The text is valid UTF-8 (bank_item_validate), so only the quote,
 * the backslash and control characters need escaping. */
static void json_string(sbuf *b, const char *s)
{
    sb_put(b, "\"", 1);
    const char *run = s;
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c >= 0x20 && c != '"' && c != '\\') continue;
        sb_put(b, run, (size_t)(p - run));
        char esc[8];
        switch (c) {
        case '"': sb_put(b, "\\\"", 2); break;
        case '\\': sb_put(b, "\\\\", 2); break;
        case '\n': sb_put(b, "\\n", 2); break;
        case '\r': sb_put(b, "\\r", 2); break;
        case '\t': sb_put(b, "\\t", 2); break;
        case '\b': sb_put(b, "\\b", 2); break;
        case '\f': sb_put(b, "\\f", 2); break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        }
        run = p + 1;
    }
    sb_put(b, run, strlen(run));
    sb_put(b, "\"", 1);
}

static void options_json(sbuf *b, const bank_item *it)
{
    sb_put(b, "[", 1);
    for (int i = 0; i < it->n_options; i++) {
        if (i) sb_put(b, ",", 1);
        json_string(b, it->options[i] ? it->options[i] : "");
    }
    sb_put(b, "]", 1);
}

/* The last IMPORT_FILE_MAX_CHARS characters: the file name matters more than the folders. */
static const char *path_tail(const char *p)
{
    size_t chars = 0;
    for (const char *q = p; *q; q++)
        if (((unsigned char)*q & 0xC0) != 0x80) chars++;
    while (chars > IMPORT_FILE_MAX_CHARS) {
        p++;
        while (((unsigned char)*p & 0xC0) == 0x80) p++;
        chars--;
    }
    return p;
}

static void set_err(char *err, size_t errlen, const char *what, const char *msg)
{
    if (err && errlen) snprintf(err, errlen, "%s: %s", what, msg);
}

/* An unsigned number of the given MYSQL_TYPE_*, NULL when is_null is set. */
static void bind_unsigned(MYSQL_BIND *b, enum enum_field_types type, void *v, my_bool *nul,
                          int is_null)
{
    memset(b, 0, sizeof *b);
    b->buffer_type = type;
    b->buffer = v;
    b->is_unsigned = 1;
    *nul = (my_bool)is_null;
    b->is_null = nul;
}

static void bind_str(MYSQL_BIND *b, const char *s, unsigned long *len, my_bool *is_null)
{
    memset(b, 0, sizeof *b);
    b->buffer_type = MYSQL_TYPE_STRING;
    if (!s) {
        *is_null = 1;
        b->is_null = is_null;
        return;
    }
    *len = (unsigned long)strlen(s);
    b->buffer = (void *)s;
    b->buffer_length = *len;
    b->length = len;
}

/* Looks up the newest version of uid. Returns 1 found, 0 absent, -1 on error. */
static int latest(MYSQL_STMT *st, const char *uid, uint8_t hash[32], char *key,
                  unsigned *points)
{
    MYSQL_BIND p[1], r[3];
    unsigned long ulen, hlen = 0, klen = 0;
    my_bool unull = 0, knull = 0, pnull = 0;
    bind_str(&p[0], uid, &ulen, &unull);
    memset(r, 0, sizeof r);
    r[0].buffer_type = MYSQL_TYPE_BLOB;
    r[0].buffer = hash;
    r[0].buffer_length = 32;
    r[0].length = &hlen;
    r[1].buffer_type = MYSQL_TYPE_STRING;
    r[1].buffer = key;
    r[1].buffer_length = ANSWER_KEY_BUF - 1;
    r[1].length = &klen;
    r[1].is_null = &knull;
    r[2].buffer_type = MYSQL_TYPE_LONG;
    r[2].buffer = points;
    r[2].is_unsigned = 1;
    r[2].is_null = &pnull;
    if (mysql_stmt_bind_param(st, p) || mysql_stmt_execute(st) || mysql_stmt_bind_result(st, r) ||
        mysql_stmt_store_result(st))
        return -1;
    int f = mysql_stmt_fetch(st);
    int rc = f == 0 || f == MYSQL_DATA_TRUNCATED ? 1 : f == MYSQL_NO_DATA ? 0 : -1;
    if (rc == 1) {
        if (hlen < 32) memset(hash + hlen, 0, 32 - hlen);
        key[klen < ANSWER_KEY_BUF - 1 ? klen : ANSWER_KEY_BUF - 1] = 0;
    }
    mysql_stmt_free_result(st);
    return rc;
}

static int insert(MYSQL_STMT *st, const bank_item *it, const char *options, const char *file)
{
    MYSQL_BIND b[13];
    unsigned long len[13] = {0};
    my_bool nul[13] = {0};
    const char *type = bank_type_name(it->type);
    unsigned points = (unsigned)it->points_centi, line = it->line > 0 ? (unsigned)it->line : 0;
    unsigned char diff = (unsigned char)it->difficulty;
    bind_str(&b[0], it->uid, &len[0], &nul[0]);
    bind_str(&b[1], type, &len[1], &nul[1]);
    bind_str(&b[2], it->stem, &len[2], &nul[2]);
    bind_str(&b[3], options, &len[3], &nul[3]);
    bind_str(&b[4], it->answer, &len[4], &nul[4]);
    bind_unsigned(&b[5], MYSQL_TYPE_LONG, &points, &nul[5], 0);
    bind_unsigned(&b[6], MYSQL_TYPE_TINY, &diff, &nul[6], it->difficulty <= 0);
    bind_str(&b[7], it->point_code, &len[7], &nul[7]);
    bind_str(&b[8], it->explanation, &len[8], &nul[8]);
    bind_str(&b[9], it->source, &len[9], &nul[9]);
    memset(&b[10], 0, sizeof b[10]);
    len[10] = 32;
    b[10].buffer_type = MYSQL_TYPE_BLOB;
    b[10].buffer = (void *)it->content_hash;
    b[10].buffer_length = 32;
    b[10].length = &len[10];
    bind_str(&b[11], file ? path_tail(file) : NULL, &len[11], &nul[11]);
    bind_unsigned(&b[12], MYSQL_TYPE_LONG, &line, &nul[12], it->line <= 0);
    return mysql_stmt_bind_param(st, b) || mysql_stmt_execute(st) ? -1 : 0;
}

int bank_store_items(MYSQL *db, const bank_itemset *s, const bank_store_opts *o,
                     bank_store_report *rep, bank_diag *d, char *err, size_t errlen)
{
    const char *import_file = o ? o->import_file : NULL;
    bank_store_report r = {0, 0, 0};
    if (rep) *rep = r;
    if (err && errlen) *err = 0;
    if (!db || !s) {
        set_err(err, errlen, "item", "no database connection");
        return -1;
    }
    if (mysql_query(db, "START TRANSACTION")) {
        set_err(err, errlen, "item", mysql_error(db));
        return -1;
    }
    MYSQL_STMT *sel = mysql_stmt_init(db), *ins = mysql_stmt_init(db);
    char *key = malloc(ANSWER_KEY_BUF);
    sbuf opts = {0};
    int rc = 0, conflicts = 0;
    MYSQL_STMT *failed = NULL;
    const char *what = "item";
    if (!sel || !ins || !key) {
        set_err(err, errlen, what, "out of memory");
        rc = -1;
        goto out;
    }
    if (mysql_stmt_prepare(sel, SQL_LATEST, sizeof SQL_LATEST - 1)) { failed = sel; goto out; }
    if (mysql_stmt_prepare(ins, SQL_INSERT, sizeof SQL_INSERT - 1)) { failed = ins; goto out; }
    for (size_t i = 0; i < s->n; i++) {
        const bank_item *it = &s->items[i];
        const char *file = it->file ? it->file : import_file;
        if (!it->uid) {
            set_err(err, errlen, what, "an item was not finalized (no uid)");
            rc = -1;
            goto out;
        }
        uint8_t hash[32];
        unsigned points = 0;
        int found = latest(sel, it->uid, hash, key, &points);
        if (found < 0) { failed = sel; what = "item lookup"; goto out; }
        if (found) {
            /* The hash covers type, stem and options; a changed key or points would change
             * scores silently, so they count as different content too. */
            if (memcmp(hash, it->content_hash, 32) == 0 && strcmp(key, it->answer ? it->answer : "") == 0 &&
                points == (unsigned)it->points_centi) {
                r.unchanged++;
            } else {
                bank_diag_add(d, file, it->line, "试题编号",
                              "item %s already exists in the bank with different content", it->uid);
                conflicts++;
            }
            continue;
        }
        if (conflicts) continue;   /* nothing will be written; keep looking for conflicts */
        opts.n = 0;
        options_json(&opts, it);
        if (opts.oom) {
            set_err(err, errlen, what, "out of memory");
            rc = -1;
            goto out;
        }
        if (insert(ins, it, opts.s, import_file ? import_file : it->file)) {
            failed = ins;
            what = "item insert";
            goto out;
        }
        r.inserted++;
    }
out:
    if (failed) {
        set_err(err, errlen, what, mysql_stmt_error(failed));
        rc = -1;
    }
    if (!rc && conflicts) rc = -2;
    if (sel) mysql_stmt_close(sel);
    if (ins) mysql_stmt_close(ins);
    free(key);
    free(opts.s);
    if (rc) {
        mysql_rollback(db);
        return rc;
    }
    if (mysql_query(db, "COMMIT")) {
        set_err(err, errlen, "item commit", mysql_error(db));
        mysql_rollback(db);
        return -1;
    }
    if (rep) *rep = r;
    return 0;
}
