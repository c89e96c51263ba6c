/* bank: the item model, arenas, validation, scoring and storage of items.
 * Public header of the bank/ module. Never includes server/. */
#ifndef KAOCHANG_BANK_H
#define KAOCHANG_BANK_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include <mysql.h>

/* ---- arena: per-request / per-import memory, freed at once ---- */
typedef struct bank_arena bank_arena;
bank_arena *bank_arena_new(size_t chunk_size);          /* 0 = default (64 KiB) */
void *bank_arena_alloc(bank_arena *a, size_t n);         /* zeroed, 16-aligned; NULL on OOM */
char *bank_arena_strdup(bank_arena *a, const char *s);
char *bank_arena_strndup(bank_arena *a, const char *s, size_t n);
char *bank_arena_printf(bank_arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
size_t bank_arena_used(const bank_arena *a);
void bank_arena_free(bank_arena *a);

/* ---- diagnostics: "FILE:LINE: field: reason" lines ---- */
typedef struct bank_diag {
    bank_arena *arena;
    char **lines;
    size_t n, cap;
} bank_diag;
void bank_diag_init(bank_diag *d, bank_arena *a);
int bank_diag_add(bank_diag *d, const char *file, int line, const char *field,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* s itself, or its first bytes cut at a UTF-8 character boundary plus "…" in buf when it
 * does not fit size (>= 8): for quoting user text in messages. */
const char *bank_text_clip(const char *s, char *buf, size_t size);

/* ---- items ---- */
enum bank_item_type {
    BANK_SINGLE = 1,        /* single choice; later issues add the other types */
};
#define BANK_MAX_OPTIONS 8  /* A..H */

typedef struct bank_item {
    const char *uid;            /* stable id; bank_item_finalize derives one when absent */
    int version;                /* 1 for new items */
    enum bank_item_type type;
    const char *stem;
    int n_options;
    const char *options[BANK_MAX_OPTIONS];  /* option texts; keys are 'A' + index */
    const char *answer;         /* normalized key, e.g. "B" */
    int points_centi;           /* points x 100, > 0 */
    int difficulty;             /* 1..5, 0 = not given */
    const char *point_code;     /* 鉴定点代码 or NULL */
    const char *explanation;    /* or NULL */
    const char *source;         /* 出处 or NULL */
    const char *file;           /* where it came from, for messages */
    int line;
    uint8_t content_hash[32];   /* SHA-256 of normalized type+stem+options (bank_item_finalize) */
} bank_item;

typedef struct bank_itemset {
    bank_arena *arena;
    bank_item *items;
    size_t n, cap;
} bank_itemset;

void bank_itemset_init(bank_itemset *s, bank_arena *a);
bank_item *bank_itemset_push(bank_itemset *s);          /* zeroed slot, NULL on OOM */

const char *bank_type_name(enum bank_item_type t);        /* "single" */
int bank_type_parse(const char *name, enum bank_item_type *out); /* "single" -> BANK_SINGLE; 0 or -1 */

/* Checks one item; appends one diag line per problem. Returns the number of problems. */
int bank_item_validate(const bank_item *it, bank_diag *d);
/* Fills content_hash (and uid from it when uid is NULL). */
int bank_item_finalize(bank_item *it, bank_arena *a);
/* Reports items of the set that duplicate an earlier one (same content_hash or uid).
 * Returns the number reported. */
int bank_itemset_check_duplicates(const bank_itemset *s, bank_diag *d);

/* Score one response on the server. Returns points awarded x 100. */
int bank_score(enum bank_item_type t, const char *answer_key, const char *response,
               int points_centi);
/* Normalizes a candidate response for storage ("b" -> "B"); returns 0, or -1 if the
 * response is not a valid response for an item with n_options options. "" clears. */
int bank_response_normalize(enum bank_item_type t, int n_options, const char *in,
                            char *out, size_t outlen);

/* ---- storage ---- */
typedef struct bank_store_report {
    int inserted;       /* new items */
    int unchanged;      /* same uid and content already in the bank */
} bank_store_report;

/* Writes the whole set in one transaction with prepared statements, or nothing.
 * An item whose uid exists with different content is a conflict: nothing is written,
 * one diag line per conflict, returns -2. DB errors: returns -1 and a message in err. */
int bank_store_items(MYSQL *db, const bank_itemset *s, const char *import_file,
                     bank_store_report *rep, bank_diag *d, char *err, size_t errlen);

#endif
