/* bank: the catalog (occupations, levels, blueprints), the item model, arenas, rich-text
 * sanitizing, validation, scoring and storage of items.
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

/* ---- diagnostics: "FILE:LINE: field: reason" lines ----
 * A file name ending in '!' is a spreadsheet location prefix ("book.xlsx:题库!"): the line
 * (row) is appended without a colon, giving "book.xlsx:题库!12: field: reason". */
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

/* ---- catalog: occupations, levels, parts ---- */

/* 1 when s is a national occupation code N-NN-NN-NN (e.g. 4-04-04-02), else 0. */
int bank_occupation_code_valid(const char *s);
/* Levels 5 (五级/初级工) .. 1 (一级/高级技师). Accepts "四级", "4级", "4", "中级工", "L4",
 * "四级/中级工", "Level 4". Returns 1..5, or -1. */
int bank_level_parse(const char *s);
const char *bank_level_name(int level);                 /* 4 -> "四级/中级工"; NULL if out of range */

enum bank_part { BANK_PART_THEORY = 1, BANK_PART_SKILLS = 2 };
const char *bank_part_name(enum bank_part p);           /* "theory", "skills" */
/* "theory", "理论", "理论知识", "skills", "技能", "操作技能", "技能操作"; 0 or -1 */
int bank_part_parse(const char *s, enum bank_part *out);

/* ---- the blueprint (鉴定要素细目表) of one occupation + level + part ----
 * Nodes in outline order. 鉴定范围 nodes carry a weight (鉴定比重, % x 100); 鉴定点 nodes are
 * leaves with an importance X/Y/Z. */
typedef struct bank_bp_node {
    const char *code;
    const char *name;
    int depth;              /* 1 = top level; a 鉴定点 is one deeper than its range */
    int is_point;           /* 1 = 鉴定点 (leaf) */
    int weight_centi;       /* ranges: 鉴定比重 in % x 100 (e.g. 2500 = 25 %); points: 0 */
    char importance;        /* points: 'X', 'Y' or 'Z'; ranges: 0 */
    int parent;             /* index into nodes, -1 for a top-level range */
    int line;               /* where it came from, for messages */
} bank_bp_node;

typedef struct bank_blueprint {
    bank_arena *arena;
    const char *occupation;     /* N-NN-NN-NN */
    int level;                  /* 1..5 */
    enum bank_part part;
    const char *file;           /* display name for messages */
    bank_bp_node *nodes;
    size_t n, cap;
} bank_blueprint;

void bank_blueprint_init(bank_blueprint *b, bank_arena *a);
bank_bp_node *bank_blueprint_push(bank_blueprint *b);   /* zeroed, parent = -1; NULL on OOM */
/* Checks codes (present, unique), names, importance of points, that points are leaves under
 * a range, that every range has children, and that the weights of siblings add up to their
 * parent's weight (top level: 100 %). One diag line per problem, naming the node's line and
 * for a weight problem the parent, the sum and the expected value. Returns the number of
 * problems. */
int bank_blueprint_validate(const bank_blueprint *b, bank_diag *d);
int bank_blueprint_find(const bank_blueprint *b, const char *code);   /* node index or -1 */

/* ---- items ---- */
enum bank_item_type {
    BANK_SINGLE = 1,        /* 单选题 */
    BANK_MULTI,             /* 多选题 */
    BANK_TF,                /* 判断题 */
    BANK_FILL,              /* 填空题: one or more blanks */
    BANK_SHORT,             /* 简答题 (scored by examiners) */
    BANK_ESSAY,             /* 论述题 (scored by examiners) */
    BANK_COMPOSITE,         /* 组合题 / 案例分析题: shared stem, sub-items */
    BANK_PRACTICAL,         /* 实操题: task card and rubric, scored by an examiner panel */
};
#define BANK_TYPE_MAX BANK_PRACTICAL
#define BANK_MAX_OPTIONS 8  /* A..H */
#define BANK_MAX_BLANKS 20
#define BANK_MAX_CHILDREN 20
#define BANK_MAX_CRITERIA 50
#define BANK_MAX_TAGS 16

const char *bank_type_name(enum bank_item_type t);        /* "single", "multi", "tf", "fill",
                                                            "short", "essay", "composite",
                                                            "practical" */
const char *bank_type_label(enum bank_item_type t);       /* 单选题, 多选题, 判断题, ... */
int bank_type_parse(const char *name, enum bank_item_type *out);  /* the names above; 0 or -1 */
/* The labels of Chinese templates and their codes: 单选题/单选/单项选择题/20, 多选题/30,
 * 判断题/10, 填空题/40, 简答题/50, 组合题/60, 计算题/70 (-> short), 论述题/80 (-> essay),
 * 案例分析题/90 (-> composite), 实操题/操作题; plus the names above. 0 or -1. */
int bank_type_parse_label(const char *label, enum bank_item_type *out);
/* 1 for the types the server scores itself (single, multi, tf, fill). */
int bank_type_is_objective(enum bank_item_type t);
/* Normalizes a key as authors write it (CSV 答案, Aiken ANSWER: …) into the stored form of
 * bank_item.answer: single "ｂ" -> "B"; multi "A,C,D", "A、C、D", "ＣＡ" -> "AC" (sorted,
 * each letter once); tf 对/错, √/×, 正确/错误, T/F, true/false, 是/否, Y/N -> "T"/"F";
 * fill, short, essay: the text with its ends trimmed. *out is in a (NULL for a blank raw).
 * Returns 0; 1 when raw is no key of that type (then *out is the trimmed raw text, so that
 * bank_item_validate names the problem; composite and practical have no key); -1 on OOM. */
int bank_key_normalize(enum bank_item_type t, const char *raw, bank_arena *a, const char **out);

enum bank_status { BANK_DRAFT = 1, BANK_REVIEWED, BANK_APPROVED, BANK_RETIRED };
const char *bank_status_name(enum bank_status s);         /* "draft", "reviewed", ... */
int bank_status_parse(const char *s, enum bank_status *out);  /* also 草稿, 已审核, 已批准, 已停用 */
/* 1 when a transition from -> to is allowed: draft->reviewed, reviewed->approved,
 * reviewed->draft and approved->draft (sent back), any->retired, retired->draft. */
int bank_status_transition_ok(enum bank_status from, enum bank_status to);

/* Multiple choice partial credit. */
enum bank_mc_policy {
    BANK_MC_ALL = 0,        /* 全对得分: exactly the key, else 0 */
    BANK_MC_HALF,           /* 少选得半分: a non-empty subset of the key without a wrong choice earns half */
    BANK_MC_RATIO,          /* 按比例: (correct chosen / correct) of the points; any wrong choice gives 0 */
};
const char *bank_mc_policy_name(enum bank_mc_policy p);   /* "all", "half", "ratio" */
int bank_mc_policy_parse(const char *s, enum bank_mc_policy *out);  /* also 全对得分, 少选得半分, 按比例 */

/* One blank of a fill-in item. */
enum bank_blank_mode {
    BANK_BLANK_TEXT = 0,    /* any alternative; case, full/half width and spaces ignored */
    BANK_BLANK_EXACT,       /* any alternative, exactly (ends trimmed) */
    BANK_BLANK_NUMERIC,     /* |response - value| <= tolerance */
    BANK_BLANK_REGEX,       /* a PCRE2 pattern that must match the whole response */
};
typedef struct bank_blank {
    enum bank_blank_mode mode;
    int n_accept;
    const char **accept;    /* TEXT/EXACT: the alternatives; REGEX: accept[0] is the pattern */
    double value, tolerance;
} bank_blank;

/* The fill key as text, the form used by the CSV template and stored in item.answer_key:
 *   blanks are separated by '|'; within a blank, alternatives by ';'
 *   a blank "=TEXT" is EXACT, "re:PATTERN" is REGEX, "num:VALUE" or "num:VALUE±TOL"
 *   (also "+-") is NUMERIC; anything else is TEXT.
 *   '\' escapes the next character ("\|", "\;", "\\").
 * Parses into blanks (strings in a). Returns 0, or -1 with a reason in why (bad number,
 * a pattern PCRE2 cannot compile (with its offset), empty blank, too many blanks). */
int bank_fill_key_parse(const char *key, bank_arena *a, bank_blank **blanks, int *n,
                        char *why, size_t whylen);
/* The canonical text of parsed blanks (escapes added); in a. */
char *bank_fill_key_format(const bank_blank *blanks, int n, bank_arena *a);

/* One criterion of a practical task's rubric. The rubric as text (CSV 评分标准, one criterion
 * per line): "POINTS|TEXT", and a veto criterion "否决|TEXT" (or "veto|TEXT"). */
typedef struct bank_criterion {
    const char *text;
    int points_centi;       /* maximum points; 0 for a veto criterion */
    int veto;               /* violating it (e.g. a safety violation) zeroes the whole task */
} bank_criterion;
int bank_rubric_parse(const char *text, bank_arena *a, bank_criterion **c, int *n, int *bad_line,
                      char *why, size_t whylen);    /* bad_line: 1-based line of the cell */
char *bank_rubric_format(const bank_criterion *c, int n, bank_arena *a);

/* An image or attachment of an item. Rich text refers to it as <img src="media:NAME">
 * (or <a href="media:NAME"> for an attachment). */
typedef struct bank_media {
    const char *name;           /* unique within the item: "fig1.png" */
    const char *mime;           /* image/png, image/jpeg, image/gif, image/webp, application/pdf, ... */
    const unsigned char *data;
    size_t len;
    uint8_t sha256[32];         /* filled by bank_item_finalize */
} bank_media;
#define BANK_MEDIA_MAX_BYTES ((size_t)8 << 20)

typedef struct bank_item {
    const char *uid;            /* stable id; bank_item_finalize derives one when absent */
    int version;                /* 1 for new items; storage assigns new versions */
    enum bank_item_type type;
    /* Rich text (stem, options, explanation, reference answer) is a sanitized HTML
     * fragment once bank_item_prepare has run. */
    const char *stem;
    int n_options;
    const char *options[BANK_MAX_OPTIONS];  /* option texts; keys are 'A' + index */
    int pin_options;            /* options keep their order when papers shuffle them */
    /* The normalized key: single "B"; multi "ACD" (sorted); tf "T" or "F"; fill the key
     * text (bank_fill_key_format); short/essay the reference answer (may be NULL);
     * composite and practical NULL. */
    const char *answer;
    enum bank_mc_policy mc_policy;
    int n_blanks;               /* fill: parsed from answer by bank_item_prepare */
    bank_blank *blanks;
    int points_centi;           /* points x 100, > 0; composite: sum of its children */
    int difficulty;             /* 1..5, 0 = not given */
    const char *point_code;     /* 鉴定点代码 or NULL */
    const char *explanation;    /* 解析, or NULL */
    const char *source;         /* 出处, or NULL */
    const char *occupation;     /* N-NN-NN-NN or NULL */
    int level;                  /* 1..5, 0 = not given */
    const char *author;         /* 命题人, or NULL */
    int n_tags;
    const char **tags;
    enum bank_status status;    /* 0 = not given (storage uses its default) */
    int n_media;
    bank_media *media;
    /* composite */
    int n_children;
    struct bank_item *children; /* sub-items: single, multi, tf, fill, short or essay */
    /* practical */
    int time_minutes;           /* time allowed */
    const char *equipment;      /* station / equipment requirements (工位、设备要求) */
    int n_criteria;
    bank_criterion *criteria;
    /* where it came from, for messages */
    const char *file;           /* "FILE" or a spreadsheet prefix "FILE:SHEET!" */
    int line;
    /* filled by bank_item_finalize */
    uint8_t content_hash[32];   /* normalized type + stem + options (+ children): duplicates */
    uint8_t full_hash[32];      /* everything a version consists of: detects changes */
} bank_item;

typedef struct bank_itemset {
    bank_arena *arena;
    bank_item *items;
    size_t n, cap;
} bank_itemset;

void bank_itemset_init(bank_itemset *s, bank_arena *a);
bank_item *bank_itemset_push(bank_itemset *s);          /* zeroed slot, NULL on OOM */

/* ---- rich text ----
 * Item text is stored as an HTML fragment made only of allowed tags and attributes:
 *   p br div span b strong i em u s sub sup code pre ul ol li table thead tbody tr th td
 *   img (src, alt, width, height) a (href: media: only) hr blockquote
 * Everything else is removed: <script>/<style>/<iframe> with their content, event handler
 * attributes, style, and any URL that is not "media:NAME" or a data: image. data: images
 * are moved into the item's media. Plain text (no markup) is escaped and its line breaks
 * become <br>. */
enum bank_text_kind {
    BANK_TEXT_AUTO = 0,     /* HTML when it contains an HTML tag, else plain text */
    BANK_TEXT_PLAIN,        /* always plain text */
    BANK_TEXT_HTML,         /* always HTML */
};
/* Sanitizes in into *out (in a). removed, when not NULL, counts the elements and
 * attributes that were dropped. A data: image becomes a new entry of *media (grown in a)
 * and its src "media:NAME". Returns 0 or -1 on OOM. */
int bank_html_sanitize(const char *in, enum bank_text_kind kind, bank_arena *a, char **out,
                       int *removed, bank_media **media, int *n_media);
/* 1 when the fragment is just text and <br> (so a plain-text format can carry it). */
int bank_html_is_plain(const char *html);
/* The text of a fragment: tags dropped, entities decoded, <br>/<p> as line breaks. */
char *bank_html_to_text(const char *html, bank_arena *a);

/* Importers call this once per parsed item (and it recurses into children): sanitizes every
 * rich-text field (kind says how the source format writes text), parses the fill key into
 * blanks, sums a composite's points. Returns 0 or -1 on OOM; sanitizing notes go to d as
 * nothing: removals are counted in *removed (may be NULL). */
int bank_item_prepare(bank_item *it, enum bank_text_kind kind, bank_arena *a, int *removed);
/* Checks one item (and its children); appends one diag line per problem. Returns the number
 * of problems. */
int bank_item_validate(const bank_item *it, bank_diag *d);
/* Fills content_hash and full_hash (and uid from content_hash when uid is NULL; children get
 * "<uid>-<n>"), the media's sha256, and a fill item's blanks when not parsed yet. */
int bank_item_finalize(bank_item *it, bank_arena *a);
/* Reports items of the set that duplicate an earlier one (same content_hash or uid).
 * Returns the number reported. */
int bank_itemset_check_duplicates(const bank_itemset *s, bank_diag *d);
/* The same, and removes the items reported from the set (an importer keeps only what it
 * can import). Returns the number removed, or -1 on OOM. */
int bank_itemset_drop_duplicates(bank_itemset *s, bank_diag *d);

/* ---- responses and scoring (the server's side) ---- */

/* What the server needs to know about an item to check a candidate's response. */
typedef struct bank_rinfo {
    enum bank_item_type type;
    int n_options;
    int n_blanks;
} bank_rinfo;
#define BANK_RESPONSE_MAX 4000      /* bytes of a stored response (answer.response) */
#define BANK_BLANK_SEP '\x1f'       /* separates the blanks of a stored fill response */

/* Normalizes a candidate response for storage: single "b" -> "B"; multi "ca" -> "AC";
 * tf 对/√/T/true -> "T", 错/×/F/false -> "F"; fill: blank texts separated by
 * BANK_BLANK_SEP, each trimmed, at most n_blanks; short/essay: the text, trimmed.
 * "" clears. Returns 0, or -1 if the response is not valid for the item. */
int bank_response_normalize(const bank_rinfo *ri, const char *in, char *out, size_t outlen);

/* Scores one normalized response on the server. answer_key is the stored key (for fill
 * the key text). Returns points awarded x 100, or -1 for a type that examiners score. */
int bank_score(enum bank_item_type t, const char *answer_key, enum bank_mc_policy policy,
               const char *response, int points_centi);

/* ---- storage ---- */
typedef struct bank_store_opts {
    const char *import_file;    /* recorded with each new version */
    const char *actor;          /* who imports (recorded in the review log) */
    enum bank_status status;    /* status of new versions: 0 = draft */
    const char *occupation;     /* defaults for items that name none */
    int level;
} bank_store_opts;

typedef struct bank_store_report {
    int inserted;       /* new items */
    int versions;       /* new versions of items already in the bank */
    int unchanged;      /* same uid and content already in the bank */
} bank_store_report;

/* Writes the whole set in one transaction with prepared statements, or nothing.
 * A new uid makes version 1; a changed item makes a new version (draft); an unchanged one
 * is counted and skipped. An item naming a 鉴定点 that its occupation + level's blueprint
 * does not contain is refused with a diag line (returns -2, nothing written). DB errors:
 * returns -1 and a message in err. */
int bank_store_items(MYSQL *db, const bank_itemset *s, const bank_store_opts *o,
                     bank_store_report *rep, bank_diag *d, char *err, size_t errlen);

#endif
