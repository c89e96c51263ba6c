/* bank: internal declarations shared by the storage files (not a public header). */
#ifndef KAOCHANG_BANK_INT_H
#define KAOCHANG_BANK_INT_H

#include "bank.h"

#define BANK__MAX_COLS 32

/* One prepared statement with its results: every column is fetched as text (numbers too)
 * into buffers that grow to fit, so callers never size result buffers. */
typedef struct bank__st {
    MYSQL *db;
    MYSQL_STMT *st;
    int ncols;
    MYSQL_BIND out[BANK__MAX_COLS];
    unsigned long len[BANK__MAX_COLS];
    my_bool nul[BANK__MAX_COLS];
    char *buf[BANK__MAX_COLS];
    size_t cap[BANK__MAX_COLS];
} bank__st;

/* One parameter: 'i' int64, 'u' uint64, 's' text (NULL = SQL NULL), 'b' bytes (s, len). */
typedef struct bank__param {
    char t;
    int64_t i;
    const char *s;
    size_t len;
} bank__param;

int bank__st_prepare(bank__st *s, MYSQL *db, const char *sql);
/* Binds and executes; a statement with a result set is stored client side. */
int bank__st_execv(bank__st *s, const bank__param *p, int n);
/* The same with parameters from a format ("isu b" letters as above; 'b' takes a pointer
 * and a size_t). */
int bank__st_exec(bank__st *s, const char *fmt, ...);
int bank__st_fetch(bank__st *s);                /* 1 row, 0 no more, -1 error */
const char *bank__st_str(const bank__st *s, int col);   /* NULL for SQL NULL */
size_t bank__st_len(const bank__st *s, int col);
int64_t bank__st_int(const bank__st *s, int col);       /* 0 for SQL NULL */
int bank__st_null(const bank__st *s, int col);
void bank__st_free_result(bank__st *s);
uint64_t bank__st_insert_id(const bank__st *s);
uint64_t bank__st_affected(const bank__st *s);
const char *bank__st_error(const bank__st *s);
void bank__st_close(bank__st *s);

/* err = "what: message" (err may be NULL). Returns -1. */
int bank__err(char *err, size_t errlen, const char *what, const char *msg);
/* Ends a transaction: rolls back when rc is not 0 (and returns it), else commits; a failed
 * COMMIT is rolled back and reported in err (-1). */
int bank__tx_end(MYSQL *db, int rc, char *err, size_t errlen);

/* A growable byte buffer (malloc) for text built piece by piece; NUL-terminated once anything
 * was added (add "" to start it empty). Errors are sticky: after an allocation fails nothing
 * more is added and oom stays 1, so a writer checks once at the end. */
typedef struct bank__buf {
    char *p;
    size_t n, cap;
    int oom;
} bank__buf;
void bank__buf_add(bank__buf *b, const char *s, size_t n);
void bank__buf_str(bank__buf *b, const char *s);
/* The text copied into a (NULL after an allocation failed); frees the buffer. */
char *bank__buf_to_arena(bank__buf *b, bank_arena *a);

#endif
