/* lib: the shared base of every module (prefix kc_): errors, arenas and diagnostic lines,
 * growable buffers, a hash map, time and logging, HMAC helpers and the one MariaDB layer.
 * Public header of lib/. Never includes libwebsockets or anything above lib/. */
#ifndef KAOCHANG_KC_H
#define KAOCHANG_KC_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ---- errors: every function of every module returns 0 or one of these ---- */
enum {
    KC_OK = 0,
    KC_ERR = -1,          /* failed; the message is where the function says (err, db->err, diag) */
    KC_ENOMEM = -2,
    KC_EDB = -3,          /* a database error that running it again will not cure */
    KC_ELOST = -4,        /* the database connection is gone: reconnect, then run it again */
    KC_ENOTFOUND = -5,
    KC_EINVAL = -6,       /* invalid input (the diag lines or the message say why) */
    KC_ERETRY = -7,       /* transient (deadlock, lock wait timeout): run the transaction again */
    KC_EBUSY = -8,        /* a limit was reached; try again later */
};
const char *kc_strerror(int rc);

/* ---- arena: per-request / per-import memory, freed at once ---- */
typedef struct kc_arena kc_arena;
kc_arena *kc_arena_new(size_t chunk_size);             /* 0 = default (64 KiB) */
void *kc_arena_alloc(kc_arena *a, size_t n);            /* zeroed, 16-aligned; NULL on OOM */
char *kc_arena_strdup(kc_arena *a, const char *s);
char *kc_arena_strndup(kc_arena *a, const char *s, size_t n);
char *kc_arena_printf(kc_arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *kc_arena_vprintf(kc_arena *a, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
size_t kc_arena_used(const kc_arena *a);
void kc_arena_free(kc_arena *a);

/* ---- diagnostics: "FILE:LINE: field: reason" lines ----
 * A file name ending in '!' is a spreadsheet location prefix ("book.xlsx:题库!"): the line
 * (row) is appended without a colon, giving "book.xlsx:题库!12: field: reason". */
typedef struct kc_diag {
    kc_arena *arena;
    char **lines;
    size_t n, cap;
} kc_diag;
void kc_diag_init(kc_diag *d, kc_arena *a);
int kc_diag_add(kc_diag *d, const char *file, int line, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
int kc_diag_vadd(kc_diag *d, const char *file, int line, const char *field, const char *fmt,
                 va_list ap) __attribute__((format(printf, 5, 0)));
/* Appends a finished line (it must live as long as d). 0 or KC_ENOMEM. */
int kc_diag_append_line(kc_diag *d, char *line);

/* ---- growable buffer (malloc) for text built piece by piece ----
 * NUL-terminated once anything was added (add "" to start it empty). Errors are sticky:
 * after an allocation fails nothing more is added and oom stays 1, so a writer checks once
 * at the end. */
typedef struct kc_buf {
    char *p;
    size_t n, cap;
    int oom;
} kc_buf;
void kc_buf_add(kc_buf *b, const char *s, size_t n);
void kc_buf_str(kc_buf *b, const char *s);
void kc_buf_printf(kc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Room for n more bytes at once (a writer that knows about how much it writes saves the
 * copies of growing); sticky oom as for adding. */
void kc_buf_reserve(kc_buf *b, size_t n);
/* Gives the text away (malloc'd; NULL after an allocation failed) and empties b. */
char *kc_buf_take(kc_buf *b);
/* The text copied into a (NULL after an allocation failed); frees the buffer. */
char *kc_buf_to_arena(kc_buf *b, kc_arena *a);
void kc_buf_free(kc_buf *b);
/* An array *v of *cap elements of each bytes with room for need: doubled (from 16) until it
 * fits; *v and *cap unchanged on failure. 0 or KC_ENOMEM. */
int kc_grow(void **v, size_t *cap, size_t need, size_t each);

/* ---- hash map: uint64 key (never 0) -> uint64 value ----
 * Open addressing with linear probing and backward-shift deletion: no tombstones, so a map
 * that sees a put and a delete per connection stays as fast after a million of them. */
typedef struct kc_map {
    uint64_t *keys, *vals;
    size_t cap, n;        /* cap: a power of two, at least twice n */
} kc_map;
/* The file name of a path a client gave (no directories, no ':' or control bytes), as it
 * goes into diag lines; dflt when nothing is left. */
void kc_display_name(const char *given, const char *dflt, char *out, size_t cap);
int kc_map_init(kc_map *m, size_t expected);
void kc_map_free(kc_map *m);
int kc_map_put(kc_map *m, uint64_t key, uint64_t val);   /* 0 or KC_ENOMEM (when growing) */
int kc_map_get(const kc_map *m, uint64_t key, uint64_t *val);   /* 1 found, 0 not */
int kc_map_del(kc_map *m, uint64_t key);                  /* 1 removed, 0 not there */

/* ---- timer wheel: entries 0..n-1 due at whole seconds, in per-second buckets ----
 * Setting, moving and removing an entry is O(1) whatever the number of entries (no sorted
 * list to walk), and advancing costs the entries that fall due plus those of the buckets
 * passed. An entry due more than span seconds ahead waits in its bucket for its lap. Used
 * for liveness (a connection's next PING or hangup) and deadlines on the service thread;
 * not thread-safe. */
#define KC_WHEEL_NONE UINT32_MAX
typedef struct kc_wheel {
    uint32_t *next, *prev;     /* per entry; prev KC_WHEEL_NONE: not in the wheel */
    uint32_t *fnext;           /* per entry: the list of those falling due, while advancing */
    int64_t *due;              /* per entry: the second it is due */
    uint32_t *heads;           /* per bucket */
    uint32_t n, span;
    int64_t at;                /* the first second kc_wheel_advance has not passed yet */
} kc_wheel;
/* 0, KC_ENOMEM, or KC_EINVAL for n >= 2^31. */
int kc_wheel_init(kc_wheel *w, uint32_t n, uint32_t span, int64_t now_s);
void kc_wheel_free(kc_wheel *w);
/* Puts e in the wheel due at due_s (moving it if it was in); a second already passed
 * counts as the next one kc_wheel_advance looks at. */
void kc_wheel_set(kc_wheel *w, uint32_t e, int64_t due_s);
void kc_wheel_del(kc_wheel *w, uint32_t e);
int kc_wheel_has(const kc_wheel *w, uint32_t e);
/* Takes out every entry due at or before now_s and calls fn(arg, e) for each (fn may set
 * it again, or set and remove others). Returns how many were due. */
size_t kc_wheel_advance(kc_wheel *w, int64_t now_s, void (*fn)(void *arg, uint32_t e), void *arg);

/* ---- time ---- */
int64_t kc_now_ms(void);                 /* wall clock, UTC, ms since the epoch */
int kc_format_iso(int64_t ms, char *buf, size_t len);     /* 2026-11-24T10:00:00.000Z */
int kc_parse_time(const char *s, int64_t now_ms, int64_t *out); /* ISO UTC, "now", "+90m" */
int kc_parse_duration(const char *s, int64_t *seconds);   /* "90m", "1h30m", "45s", "5400" */

/* ---- logging: "2026-11-24T10:00:00.123Z INFO  db: msg key=value" on stderr ---- */
enum kc_log_level { KC_LOG_DEBUG, KC_LOG_INFO, KC_LOG_WARN, KC_LOG_ERROR };
void kc_log_set_level(enum kc_log_level lvl);
int kc_log_level_parse(const char *s, enum kc_log_level *out);
void kc_log(enum kc_log_level lvl, const char *module, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
#define KC_DEBUG(m, ...) kc_log(KC_LOG_DEBUG, m, __VA_ARGS__)
#define KC_INFO(m, ...)  kc_log(KC_LOG_INFO, m, __VA_ARGS__)
#define KC_WARN(m, ...)  kc_log(KC_LOG_WARN, m, __VA_ARGS__)
#define KC_ERROR(m, ...) kc_log(KC_LOG_ERROR, m, __VA_ARGS__)

/* ---- HMAC-SHA256 and hex ---- */
void kc_hmac_sha256(const unsigned char key[32], const void *msg, size_t len, unsigned char out[32]);
void kc_hex(const unsigned char *in, size_t n, char *out);      /* 2n hex digits and a NUL */
int kc_memeq(const void *a, const void *b, size_t n);            /* constant time: 1 equal */
int kc_random(void *buf, size_t n);                               /* 0 or KC_ERR */
/* A key for one use (label) derived from a root secret: HMAC-SHA256(root, label), so a value
 * made for one use never passes as another. */
void kc_key_derive(const unsigned char root[32], const char *label, unsigned char out[32]);
/* The hex HMAC-SHA256 of the text fmt makes (64 digits and a NUL): what signed tokens and
 * links carry. */
void kc_mac_hex(const unsigned char key[32], char out[65], const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- the MariaDB layer ----
 * One connection per thread (kc_db), statements prepared once per connection and cached by
 * their SQL text (no fixed number), parameters bound from a short format. A lost
 * connection is KC_ELOST and a deadlock or lock wait timeout KC_ERETRY, both recognised by
 * error number: the caller reconnects (kc_db_reconnect, which re-prepares lazily) and runs
 * the transaction again. Never MYSQL_OPT_RECONNECT, which would silently drop transactions
 * and prepared statements.
 *
 * Parameter formats: 'i' int64_t, 'u' uint64_t, 's' const char * (NULL = SQL NULL),
 * 'b' bytes (const char *, size_t), 't' int64_t ms UTC (0 = SQL NULL), 'n' SQL NULL (no
 * argument). */
struct st_mysql;
typedef struct kc_db_conf {
    char host[256];
    int port;
    char socket[512];        /* "" = TCP to host:port */
    char user[128];
    char password[256];
    char database[128];
    int timeout_s;           /* connect, read and write */
    int multi_statements;    /* only for migrations (DDL scripts from the release) */
} kc_db_conf;

struct kc_db_cache;
typedef struct kc_db {
    struct st_mysql *my;
    kc_db_conf conf;
    struct kc_db_cache *cache;
    unsigned err_no;         /* MariaDB error number of the last failure; 0 if none was given */
    char err[1024];          /* its message, "what: message (number)" */
    uint64_t round_trips;    /* requests sent and answered (prepare, execute, simple statement,
                                rollback): what a transaction costs, for counters and tests */
} kc_db;

/* Once in main before any thread starts, and at its end; kc_db_thread_end when a thread
 * that used a connection exits. */
int kc_db_library_init(void);
void kc_db_library_end(void);
void kc_db_thread_end(void);
int kc_db_open(kc_db *db, const kc_db_conf *conf);   /* connect, utf8mb4, UTC, READ-COMMITTED */
void kc_db_close(kc_db *db);
int kc_db_reconnect(kc_db *db);
int kc_db_is_lost(unsigned err_no);        /* 2006, 2013, 4031, a killed connection, ... */
int kc_db_is_transient(unsigned err_no);   /* 1213 deadlock, 1205 lock wait timeout */
/* KC_ELOST, KC_ERETRY or KC_EDB for a MariaDB error number (and sets db->err_no). */
int kc_db_classify(kc_db *db, unsigned err_no);
int kc_db_begin(kc_db *db);
int kc_db_commit(kc_db *db);
void kc_db_rollback(kc_db *db);
/* Runs an unprepared statement without parameters or result (SET, GET_LOCK, DDL). */
int kc_db_simple(kc_db *db, const char *sql);

/* A statement with its result: every column is fetched into a buffer that grows to fit
 * (integers as integers), so callers never size result buffers. */
typedef struct kc_stmt kc_stmt;
typedef struct kc_param {
    char t;                  /* a parameter format letter */
    int64_t i;
    const char *s;
    size_t len;              /* 'b' */
} kc_param;
/* The cached statement for sql (prepared on first use on this connection); NULL with
 * db->err on failure (kc_db_fail_code(db) tells which error). */
kc_stmt *kc_db_stmt(kc_db *db, const char *sql);
int kc_db_fail_code(const kc_db *db);      /* the kc error of the last failure */
int kc_stmt_exec(kc_stmt *s, const char *fmt, ...);
int kc_stmt_vexec(kc_stmt *s, const char *fmt, va_list ap);
int kc_stmt_execv(kc_stmt *s, const kc_param *p, int n);
int kc_stmt_next(kc_stmt *s);              /* 1 a row, 0 no more, < 0 an error */
int kc_stmt_ncols(const kc_stmt *s);
const char *kc_stmt_str(kc_stmt *s, int col);   /* NULL for SQL NULL; numbers as text */
size_t kc_stmt_len(kc_stmt *s, int col);
int64_t kc_stmt_int(kc_stmt *s, int col);       /* 0 for SQL NULL */
int64_t kc_stmt_time(kc_stmt *s, int col);      /* DATETIME as ms UTC; 0 for SQL NULL */
int kc_stmt_null(const kc_stmt *s, int col);
uint64_t kc_stmt_num_rows(const kc_stmt *s);    /* rows of the stored result */
uint64_t kc_stmt_affected(const kc_stmt *s);
uint64_t kc_stmt_insert_id(const kc_stmt *s);
void kc_stmt_done(kc_stmt *s);             /* frees the result set; the statement stays cached */

/* Shorthands over the cached statement of sql:
 *   kc_db_exec(db, sql, in, ...)              binds and executes
 *   kc_db_query(db, sql, in, out, ...)        the same, then kc_db_fetch copies each row into
 *       the output arguments: 'i' int64_t *, 'u' uint64_t *, 't' int64_t * (ms), 's' char *,
 *       size_t (truncated at a UTF-8 boundary); SQL NULL gives 0 or "".
 *   kc_db_fetch(db, sql)                      1 a row, 0 no more, < 0 an error
 *   kc_db_done(db, sql)                       frees the result set */
int kc_db_exec(kc_db *db, const char *sql, const char *in, ...);
int kc_db_query(kc_db *db, const char *sql, const char *in, const char *out, ...);
int kc_db_fetch(kc_db *db, const char *sql);
void kc_db_done(kc_db *db, const char *sql);
uint64_t kc_db_affected(kc_db *db, const char *sql);
uint64_t kc_db_insert_id(kc_db *db, const char *sql);

/* Many rows in few statements: head "INSERT INTO t (a, b) VALUES", row "(?, ?)", tail ""
 * or " ON DUPLICATE KEY UPDATE ...". p holds n_rows * (placeholders per row) parameters,
 * row after row. Rows go in statements of up to max_rows (at most 1000) rows; the rest in
 * halving sizes, so a table needs a handful of cached statements whatever n_rows is. */
int kc_db_rows(kc_db *db, const char *head, const char *row, const char *tail,
               const kc_param *p, size_t n_rows, int max_rows);

/* ---- schema migrations ----
 * Applies DIR/NNN_name.sql in order, each once, recording schema_version; db must be open
 * with multi_statements. Problems are printed on stderr naming the file. */
int kc_migrate(kc_db *db, const char *dir, int verbose);

#endif
