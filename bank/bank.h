/* bank: the catalog (occupations, levels, blueprints), the item model, rich-text
 * sanitizing, validation, scoring and storage of items; paper templates, the papers of a
 * session (prepare, verify, report) and the practical part (assignment, storage,
 * schedules).
 * Public header of the bank/ module. Never includes server/ or libwebsockets. */
#ifndef KAOCHANG_BANK_H
#define KAOCHANG_BANK_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "../lib/kc.h"


/* s itself, or its first bytes cut at a UTF-8 character boundary plus "…" in buf when it
 * does not fit size (>= 8): for quoting user text in messages. */
const char *bank_text_clip(const char *s, char *buf, size_t size);

/* A number of points or a percentage with up to 2 decimals ("1", "1.5", "-0.25", "1.50") in
 * hundredths. With end NULL nothing may follow the number; otherwise *end is what follows it
 * (a unit such as 分 or %, which the caller checks). Returns 0, -1 not a number, -2 more than
 * 2 decimal places, -3 more than 1000000. */
int bank_centi_parse(const char *s, const char **end, int *out);

/* One strict UTF-8 sequence at s of at most left bytes (no overlongs, surrogates or code
 * points above U+10FFFF): its length (1 for a NUL byte) and *cp, or 0 when s does not start
 * with a valid sequence. On NUL-terminated text left may be SIZE_MAX (the NUL ends any
 * sequence). */
int bank_utf8_decode(const unsigned char *s, size_t left, uint32_t *cp);
/* cp (at most U+10FFFF) as UTF-8 in out; returns its length, 1 to 4. */
int bank_utf8_encode(uint32_t cp, char out[4]);

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
    kc_arena *arena;
    const char *occupation;     /* N-NN-NN-NN */
    int level;                  /* 1..5 */
    enum bank_part part;
    const char *file;           /* display name for messages */
    bank_bp_node *nodes;
    size_t n, cap;
} bank_blueprint;

void bank_blueprint_init(bank_blueprint *b, kc_arena *a);
bank_bp_node *bank_blueprint_push(bank_blueprint *b);   /* zeroed, parent = -1; NULL on OOM */
/* Checks codes (present, unique), names, importance of points, that points are leaves under
 * a range, that every range has children, and that the weights of siblings add up to their
 * parent's weight (top level: 100 %). One diag line per problem, naming the node's line and
 * for a weight problem the parent, the sum and the expected value. Returns the number of
 * problems. */
int bank_blueprint_validate(const bank_blueprint *b, kc_diag *d);
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
int bank_key_normalize(enum bank_item_type t, const char *raw, kc_arena *a, const char **out);

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
int bank_fill_key_parse(const char *key, kc_arena *a, bank_blank **blanks, int *n,
                        char *why, size_t whylen);
/* The canonical text of parsed blanks (escapes added); in a. */
char *bank_fill_key_format(const bank_blank *blanks, int n, kc_arena *a);

/* One criterion of a practical task's rubric. The rubric as text (CSV 评分标准, one criterion
 * per line): "POINTS|TEXT", and a veto criterion "否决|TEXT" (or "veto|TEXT"). */
typedef struct bank_criterion {
    const char *text;
    int points_centi;       /* maximum points; 0 for a veto criterion */
    int veto;               /* violating it (e.g. a safety violation) zeroes the whole task */
} bank_criterion;
int bank_rubric_parse(const char *text, kc_arena *a, bank_criterion **c, int *n, int *bad_line,
                      char *why, size_t whylen);    /* bad_line: 1-based line of the cell */
char *bank_rubric_format(const bank_criterion *c, int n, kc_arena *a);

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
    /* filled by bank_load_items (0 / NULL otherwise) */
    uint64_t db_id;             /* item.id of this version */
    const char *created_by;     /* who made this version */
    int64_t created_at_ms;      /* UTC */
    const char *status_by;      /* who made the last status change */
    int64_t status_at_ms;
    int delivered;              /* a paper holds this version: an edit makes a new version */
} bank_item;

typedef struct bank_itemset {
    kc_arena *arena;
    bank_item *items;
    size_t n, cap;
} bank_itemset;

void bank_itemset_init(bank_itemset *s, kc_arena *a);
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
int bank_html_sanitize(const char *in, enum bank_text_kind kind, kc_arena *a, char **out,
                       int *removed, bank_media **media, int *n_media);
/* 1 when the fragment is just text and <br> (so a plain-text format can carry it). */
int bank_html_is_plain(const char *html);
/* The text of a fragment: tags dropped, entities decoded, <br>/<p> as line breaks. */
char *bank_html_to_text(const char *html, kc_arena *a);

/* Importers call this once per parsed item (and it recurses into children): sanitizes every
 * rich-text field (kind says how the source format writes text), parses the fill key into
 * blanks, sums a composite's points. Returns 0 or -1 on OOM; sanitizing notes go to d as
 * nothing: removals are counted in *removed (may be NULL). */
int bank_item_prepare(bank_item *it, enum bank_text_kind kind, kc_arena *a, int *removed);
/* Checks one item (and its children); appends one diag line per problem. Returns the number
 * of problems. */
int bank_item_validate(const bank_item *it, kc_diag *d);
/* Fills content_hash and full_hash (and uid from content_hash when uid is NULL; children get
 * "<uid>-<n>"), the media's sha256, and a fill item's blanks when not parsed yet. */
int bank_item_finalize(bank_item *it, kc_arena *a);
/* Reports items of the set that duplicate an earlier one (same content_hash or uid).
 * Returns the number reported. */
int bank_itemset_check_duplicates(const bank_itemset *s, kc_diag *d);
/* The same, and removes the items reported from the set (an importer keeps only what it
 * can import). Returns the number removed, or -1 on OOM. */
int bank_itemset_drop_duplicates(bank_itemset *s, kc_diag *d);

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
 * Every field of an item goes into its item row (occupation and level default from o;
 * status is o->status, else the item's, else draft; created_by and status_by are o->actor);
 * a composite's sub-items are rows of their own (parent_id, sub_no) of the same version;
 * media go into media (once per SHA-256) and item_media; each new version gets one
 * item_review row (action "import").
 * A new uid makes version 1; a uid whose newest version has the same full_hash is counted
 * as unchanged and skipped; otherwise a new version (newest + 1) is added: versions are
 * never changed by an import.
 * When an item's occupation + level has a blueprint (theory; practical items: skills), its
 * 鉴定点代码 must be a 鉴定点 of it: otherwise one diag line per item
 * "FILE:LINE: 鉴定点代码: X is not a 鉴定点 of 4-04-04-02 四级/中级工 (theory)", nothing is
 * written and KC_EINVAL is returned. So is an item whose 试题编号 is a sub-item's in the bank, or a
 * sub-item whose 试题编号 is an item's ("FILE:LINE: 试题编号: ..."). */
int bank_store_items(kc_db *db, const bank_itemset *s, const bank_store_opts *o,
                     bank_store_report *rep, kc_diag *d, char *err, size_t errlen);

/* Storage functions return 0 on success; KC_EINVAL when the request is refused by a rule
 * (reason in err or in d); KC_ENOTFOUND when the item, occupation or blueprint does not
 * exist; a database failure as its kc error (KC_ELOST, KC_ERETRY: run it again; KC_EDB)
 * with the message in err; KC_ERR or KC_ENOMEM for anything else (message in err). Texts
 * are UTF-8: the connection must use utf8mb4. */

/* An occupation (职业) by national code, its name, the edition of its standard, the levels
 * offered and its work types (工种). */
typedef struct bank_occupation {
    const char *code;           /* N-NN-NN-NN */
    const char *name;
    const char *edition;        /* e.g. "2020年版", or NULL */
    int n_levels;
    int levels[5];              /* 1..5 */
    int n_work_types;
    const char **work_types;
} bank_occupation;

/* Adds the occupation or updates it (name, edition, levels; the work types are replaced
 * by the given ones when n_work_types > 0). KC_EINVAL for an invalid code, name or level. */
int bank_occupation_upsert(kc_db *db, const bank_occupation *o, char *err, size_t errlen);
/* Every occupation, by code, strings in a. */
int bank_occupation_list(kc_db *db, kc_arena *a, bank_occupation **out, size_t *n,
                         char *err, size_t errlen);

/* Replaces the nodes of b->occupation + b->level + b->part with b's in one transaction
 * (parents by index). The occupation must exist (KC_ENOTFOUND); b must be valid (the caller ran
 * bank_blueprint_validate). source_file may be NULL. */
int bank_blueprint_store(kc_db *db, const bank_blueprint *b, const char *source_file,
                         char *err, size_t errlen);
/* Loads a stored blueprint into b (bank_blueprint_init'ed; strings in b->arena).
 * KC_ENOTFOUND when there is none. */
int bank_blueprint_load(kc_db *db, const char *occupation, int level, enum bank_part part,
                        bank_blueprint *b, char *err, size_t errlen);

/* Which items bank_load_items loads: 0 / NULL fields do not filter. */
typedef struct bank_filter {
    const char *occupation;
    int level;
    enum bank_status status;
    enum bank_item_type type;
    const char *point_code;
    size_t n_uids;
    const char *const *uids;
} bank_filter;

/* Appends to s the newest version of each top-level item that matches f, ordered by uid
 * (with uids: in their order),
 * with its children, media, practical spec and tags, and db_id, created_by/at,
 * status_by/at and delivered. */
int bank_load_items(kc_db *db, const bank_filter *f, bank_itemset *s, char *err,
                    size_t errlen);

/* Moves the newest version of an item (by uid, or by item id when uid is NULL; the id
 * must be the newest version) to status `to` when bank_status_transition_ok allows it,
 * recording actor and time on the item (and its sub-items) and one item_review row with
 * the comment. Sending back to draft (from reviewed or approved) needs a comment.
 * KC_EINVAL (reason in err) for a transition that is not allowed, KC_ENOTFOUND for an
 * unknown item. */
int bank_item_set_status(kc_db *db, const char *uid, uint64_t id, enum bank_status to,
                         const char *actor, const char *comment, char *err, size_t errlen);

/* 1 when a paper holds the item version (item.id), 0 when none does, or the database's kc
 * error (message in err). */
int bank_item_delivered(kc_db *db, uint64_t item_id, char *err, size_t errlen);

/* What bank_store_edit did. */
enum bank_edit_result {
    BANK_EDIT_UNCHANGED = 1,    /* the same full_hash as the newest version: nothing written */
    BANK_EDIT_IN_PLACE,         /* the newest version was an undelivered draft: updated */
    BANK_EDIT_NEW_VERSION,      /* a new draft version (newest + 1) was added */
};
/* Saves an edited item (validated and finalized by the caller; its uid names the item).
 * The newest version is updated in place when it is a draft that no paper holds; otherwise
 * (reviewed, approved or retired, or delivered) a new draft version is added, so a version
 * any paper holds never changes. Records actor (created_by / status_by) and one
 * item_review row (action "edit", with the comment). The 鉴定点 check of
 * bank_store_items applies (KC_EINVAL, diag line in d). KC_ENOTFOUND for an unknown uid. *version (may be
 * NULL) is the version that holds the edit. */
int bank_store_edit(kc_db *db, const bank_item *edited, const char *actor, const char *comment,
                    enum bank_edit_result *result, int *version, kc_diag *d, char *err,
                    size_t errlen);

/* Bank health of one occupation + level + part, against the national guidance: at least
 * BANK_HEALTH_MIN_ITEMS items per 鉴定点, and per 鉴定范围 at least twice as many 鉴定点
 * as its 鉴定比重 (in %). Items counted: the newest version of each top-level item of the
 * occupation + level that is not retired (theory: every type but practical; skills:
 * practical). */
#define BANK_HEALTH_MIN_ITEMS 4
typedef struct bank_health_point {
    const char *code, *name;
    char importance;            /* X, Y, Z */
    int range;                  /* index into ranges of its 鉴定范围 */
    int items, approved;
} bank_health_point;
typedef struct bank_health_range {
    const char *code, *name;
    int depth;
    int weight_centi;
    int points;                 /* 鉴定点 under it (all depths) */
    int points_needed;          /* 2 x weight in %, rounded up */
} bank_health_range;
typedef struct bank_health {
    size_t n_points, n_ranges;
    bank_health_point *points;  /* outline order */
    bank_health_range *ranges;
    int items;                  /* items counted */
    int items_without_point;    /* no 鉴定点代码, or one that is not in the blueprint */
    int points_short;           /* 鉴定点 with fewer than BANK_HEALTH_MIN_ITEMS items */
    int ranges_short;           /* 鉴定范围 with fewer 鉴定点 than points_needed */
    int items_by_importance[3]; /* X, Y, Z: items on points of that importance */
    int items_this_year;        /* newest version made this calendar year (UTC) */
    int year;
} bank_health;
/* Fills h (strings in a). KC_ENOTFOUND when the occupation + level + part has no blueprint. */
int bank_health_compute(kc_db *db, const char *occupation, int level, enum bank_part part,
                        kc_arena *a, bank_health *h, char *err, size_t errlen);

/* ---- practical part (技能考核): tasks, stations (工位) and time slots ---- */
/* Candidates perform tasks (items of type practical) at stations in time slots of equal
 * length. With S stations and n candidates a round of tasks takes ceil(n / S) slots
 * (waves); a candidate doing k tasks does them in k rounds, one after the other, at the same
 * station. Pure computation (bank_practical.c, docs/PRACTICAL.md). */
typedef struct bank_practical_candidate {
    uint64_t attempt_id;
    const char *ticket;         /* 准考证号 */
    const char *name;
} bank_practical_candidate;
typedef struct bank_practical_task {
    uint64_t item_id;
    const char *uid;
    const char *title;          /* a plain-text excerpt of the stem */
    const char *equipment;      /* 工位、设备要求, or NULL */
    int time_minutes;           /* 考核时间, > 0 */
} bank_practical_task;
typedef struct bank_practical_opts {
    int tasks_per_candidate;    /* k >= 1; the pool must hold at least k tasks */
    int n_stations;             /* >= 1 */
    int64_t start_ms;           /* UTC start of slot 1 */
    int slot_minutes;           /* 0: the longest task of the pool + changeover */
    int changeover_minutes;     /* >= 0: time between a task's end and the next slot */
    uint64_t seed;
} bank_practical_opts;
/* One task of one candidate. */
typedef struct bank_practical_slot {
    uint32_t candidate;         /* index into the candidates */
    int task_no;                /* 1..k */
    uint32_t task;              /* index into the pool */
    uint32_t station;           /* index into the stations */
    int slot_no;                /* 1-based; round r (1..k) holds slots (r-1)*waves+1 .. r*waves */
    int64_t starts_at_ms, ends_at_ms;   /* ends = starts + the task's time */
} bank_practical_slot;
typedef struct bank_practical_plan {
    int k, waves, n_slots;      /* n_slots = k * waves */
    int slot_minutes;           /* as used */
    size_t n;                   /* candidates x k */
    bank_practical_slot *a;     /* candidate-major: a[c * k + task_no - 1] */
} bank_practical_plan;
/* Assigns every candidate k distinct tasks, a station and k slots from seed: candidate i
 * (in the order given) is at station i mod S in wave i / S of each round; the tasks of
 * round 1 are dealt from shuffled decks of the pool so that each task is used equally
 * often (at most one apart) and neighbouring stations of a slot get different tasks when
 * the pool has two or more; round r gives each candidate the task r-1 places further on in
 * a shuffled cyclic order of the pool, which keeps both properties and makes a candidate's
 * tasks distinct. The same inputs give the same plan. 0, KC_ENOMEM, or KC_EINVAL when the
 * inputs cannot be planned (reason in why: no candidates, no stations, fewer tasks than k, a
 * task without time, a slot shorter than a task). */
int bank_practical_assign(const bank_practical_candidate *c, size_t n_cand,
                          const bank_practical_task *t, size_t n_tasks,
                          const bank_practical_opts *o, kc_arena *a,
                          bank_practical_plan *out, char *why, size_t whylen);
/* Checks a plan against every rule: each candidate has k entries with distinct tasks;
 * indices in range; no candidate twice in one slot and no station twice in one slot; slots
 * 1..n_slots each used, round by round; times (slot q starts at start + (q-1) x slot
 * length, a task ends within its slot); neighbouring stations of a slot differ in task when
 * the pool has two or more; per round no task is used more than once more than another.
 * One diag line per broken rule (file "plan", line 0); returns their number. */
int bank_practical_check(size_t n_cand, const bank_practical_task *t, size_t n_tasks,
                         const bank_practical_opts *o, const bank_practical_plan *p,
                         kc_diag *d);

/* The practical part stored (bank_practical_store.c; practical_*, 004_practical.sql). These
 * return 0 or a kc error; a database failure leaves its message in db->err. */
typedef struct bank_practical_session {
    uint64_t id;
    char title[256];
    int64_t opens_ms;
    /* the settings of the last assignment, which a re-run starts from */
    int64_t has_seed;           /* 1: seed holds the stored seed */
    uint64_t seed;
    int64_t start_ms;           /* 0: none stored */
    int64_t tasks_each;         /* 0: none stored */
    int64_t slot_min;           /* 0: the longest task + changeover */
    int64_t has_change;         /* 1: change_min holds the stored changeover */
    int64_t change_min;
} bank_practical_session;
/* The session by code; KC_ENOTFOUND when there is none. */
int bank_practical_session_load(kc_db *db, const char *code, bank_practical_session *s);
/* The session's stored station codes in the order they stand, in a (*n 0: none stored). */
int bank_practical_stations_load(kc_db *db, uint64_t session_id, kc_arena *a, char ***codes,
                                 size_t *n);
/* Every candidate (attempt) of the session, by 准考证号, in a. */
int bank_practical_candidates_load(kc_db *db, uint64_t session_id, kc_arena *a,
                                   bank_practical_candidate **c, size_t *n);
/* The task pool, in a (titles: plain-text excerpts of the stems): with uids (not NULL) the
 * newest version of each of those n_uids items in that order, each an approved practical
 * task given once, else KC_EINVAL naming the first that is not ("P-9 is not in the bank",
 * "... is not a practical task (实操题)", "... is not approved", "... is listed twice") in
 * why; else with occupation the newest approved version of every practical task of it
 * (level 0: any level), by uid; else the pool stored for the session. *n is 0 when none
 * was found. */
int bank_practical_pool_load(kc_db *db, uint64_t session_id, const char *const *uids,
                             size_t n_uids, const char *occupation, int level, kc_arena *a,
                             bank_practical_task **t, size_t *n, char *why, size_t whylen);
/* Replaces the session's practical part in one transaction: the stations (codes in the
 * order they stand, index = bank_practical_slot.station), the pool t, every entry of p (c
 * and t as given to bank_practical_assign) and the settings of o as the next run's
 * defaults (o->slot_minutes 0: derived). Nothing is changed on failure. */
int bank_practical_store(kc_db *db, uint64_t session_id, char *const *stations, size_t n_stations,
                         const bank_practical_candidate *c, const bank_practical_task *t,
                         size_t n_tasks, const bank_practical_opts *o,
                         const bank_practical_plan *p);

/* Schedules of a stored plan (bank_practical_schedule.c). One entry: a task of a candidate. */
typedef struct bank_practical_entry {
    const char *station, *ticket, *name, *uid;
    const char *title;          /* a plain-text excerpt of the task's stem */
    const char *equipment;      /* "" when the task names none */
    int64_t position;           /* of the station, 1.. */
    int64_t slot, task_no, starts, ends;   /* times in ms UTC */
} bank_practical_entry;
/* The session's stored plan, in a: by station and slot for examiners (titles of 64 bytes
 * at most), else by candidate (准考证号) and task (96 bytes). *n 0: nothing assigned. */
int bank_practical_entries_load(kc_db *db, uint64_t session_id, int examiners, kc_arena *a,
                                bank_practical_entry **e, size_t *n);
enum bank_schedule_format { BANK_SCHEDULE_TEXT = 1, BANK_SCHEDULE_CSV, BANK_SCHEDULE_HTML };
/* "text", "csv" or "html"; 0 or KC_EINVAL. */
int bank_schedule_format_parse(const char *s, enum bank_schedule_format *out);
/* The schedule of session code (title) appended to b: examiners (1) get a list per station
 * of each slot with time, 准考证号, name and task, candidates (0) per candidate each task with
 * station, time and equipment; text, CSV (UTF-8, CRLF, times ISO UTC) or a printable A4
 * HTML page (a page per station for examiners). Times are shown offset_min minutes from
 * UTC. 0 or KC_ENOMEM. */
int bank_practical_schedule(kc_buf *b, const char *code, const char *title,
                            const bank_practical_entry *e, size_t n, int examiners,
                            enum bank_schedule_format format, int offset_min);

/* ---- paper assembly (组卷): templates, plans, papers (docs/PAPERS.md) ----
 * A template (组卷方案) says what a paper consists of; a plan is a template checked against
 * a pool of approved items (and for 按鉴定点组卷 the blueprint), with the quotas it draws by;
 * a paper (bank_paper) is one generated instance: items in the order shown, with the
 * option order of each. Everything here is pure computation (no DB) except the loaders. */

/* Deterministic random numbers (xoshiro256**, seeded by splitmix64): the same seed gives
 * the same sequence on every machine, so a stored seed regenerates a paper. */
typedef struct bank_rng { uint64_t s[4]; } bank_rng;
void bank_rng_seed(bank_rng *r, uint64_t seed);
uint64_t bank_rng_next(bank_rng *r);
uint32_t bank_rng_below(bank_rng *r, uint32_t n);       /* uniform in [0, n), n > 0 */
void bank_rng_shuffle_u32(bank_rng *r, uint32_t *v, size_t n);
/* A seed derived from a session seed and a number (attempt id, form number): splitmix64. */
uint64_t bank_seed_derive(uint64_t seed, uint64_t n);

enum bank_tpl_mode {
    BANK_TPL_BLUEPRINT = 1,     /* 按鉴定点组卷: per 鉴定范围 by 鉴定比重, X/Y/Z mix */
    BANK_TPL_TYPE,              /* 按题型组卷: type, count and filters per section */
    BANK_TPL_FIXED,             /* 固定卷: items picked by hand, in order */
};
const char *bank_tpl_mode_name(enum bank_tpl_mode m);  /* "blueprint", "type", "fixed" */

typedef struct bank_tpl_section {
    const char *title;          /* "一、单项选择题" */
    enum bank_item_type type;
    int count;                  /* items; fixed: n_fixed */
    int points_centi;           /* points per item x 100 */
    int dmin, dmax;             /* difficulty 1..5 the items must have (0, 0: any) */
    int n_scope;                /* blueprint node codes (ranges or points) items must come */
    const char **scope;         /* from; 0 = anywhere (blueprint mode: the whole blueprint) */
    int n_tags;                 /* tags an item must all carry */
    const char **tags;
    int n_fixed;                /* fixed mode: item uids in the order of the paper */
    const char **fixed;
    const int *fixed_points;    /* fixed: points x 100 per item, 0 = points_centi (when that is
                                   0 too: the item's own points); NULL = all points_centi */
    int line;                   /* where the section starts in the file, for messages */
} bank_tpl_section;

typedef struct bank_tpl {
    const char *code;
    const char *title;
    const char *occupation;     /* N-NN-NN-NN; required for blueprint mode */
    int level;                  /* 1..5; required for blueprint mode */
    enum bank_part part;        /* theory (default) or skills */
    enum bank_tpl_mode mode;
    int total_centi;            /* the sections must add up to exactly this */
    int diff_target_centi;      /* the paper's mean difficulty (points-weighted) x 100, 0 = none */
    int diff_tol_centi;         /* tolerance x 100 (default 30 = ±0.3) */
    int x_min_pct, y_max_pct, z_max_pct;    /* blueprint mode: 80, 15, 5 by default */
    int exposure_cap_pct;       /* at most this share of a session's papers holds any one item; 100 = none */
    int shuffle_items;          /* shuffle items within sections (default 1; fixed: 0) */
    int shuffle_options;        /* shuffle options unless the item pins them (default 1) */
    int n_sections;
    bank_tpl_section *sections;
    const char *file;           /* display name for messages */
} bank_tpl;

/* Parses a template file (JSON, docs/PAPERS.md) into t, strings in a. Every problem is a
 * diag line "FILE:LINE: FIELD: reason" (FIELD like sections[2].count). Returns the number
 * of problems (0 = valid), or KC_ENOMEM. Checks the shape and that the sections add up to
 * the total; bank_plan_make checks it against the bank. */
int bank_tpl_parse(const char *json, size_t len, const char *file, kc_arena *a, bank_tpl *t,
                   kc_diag *d);
/* The template as canonical JSON (every default written out), in a; bank_tpl_parse reads it
 * back to the same template. */
char *bank_tpl_format(const bank_tpl *t, kc_arena *a);

/* What assembly needs to know of one item version. */
typedef struct bank_pool_child {
    uint64_t id;
    int n_options;              /* single/multi, else 0 */
    int pin_options;
} bank_pool_child;
typedef struct bank_pool_item {
    uint64_t id;                /* item.id of the version */
    const char *uid;
    enum bank_item_type type;
    int difficulty;             /* 1..5, 0 = not given */
    const char *point_code;     /* 鉴定点代码 or NULL */
    int points_centi;           /* the item's own points (a template sets the paper's) */
    int n_options;
    int pin_options;
    int time_minutes;           /* practical tasks */
    int n_tags;
    const char **tags;
    int n_children;             /* composite: its sub-items in order */
    bank_pool_child *children;
} bank_pool_item;
typedef struct bank_pool {
    kc_arena *arena;
    bank_pool_item *items;
    size_t n, cap;
    uint32_t *by_id;            /* indices sorted by id: built by the first bank_paper_from_json
                                   with this pool (not thread-safe then), dropped by push */
} bank_pool;
void bank_pool_init(bank_pool *p, kc_arena *a);
bank_pool_item *bank_pool_push(bank_pool *p);           /* zeroed; NULL on OOM */
/* Appends the newest approved version of every top-level item of occupation + level (NULL /
 * 0: any) with its sub-items, ordered by uid; with ids (n_ids > 0) exactly those versions
 * (a stored pool, for regenerating), whatever their status now. */
int bank_pool_load(kc_db *db, const char *occupation, int level, const uint64_t *ids,
                   size_t n_ids, bank_pool *p, char *err, size_t errlen);

/* One item of a generated paper. */
typedef struct bank_paper_child {
    uint64_t id;
    char perm[BANK_MAX_OPTIONS + 1];
} bank_paper_child;
typedef struct bank_paper_item {
    uint32_t pool;              /* index into the pool */
    uint64_t id;
    int section;                /* index into the template's sections */
    int points_centi;
    /* The option order shown: perm[k] is the original key shown as 'A' + k ("CADB": the
     * candidate's A is the item's C). "" when the item has no options. */
    char perm[BANK_MAX_OPTIONS + 1];
    int n_children;
    bank_paper_child *children;
} bank_paper_item;
typedef struct bank_paper {
    uint64_t seed;
    int n;
    bank_paper_item *items;     /* in the order shown; sections in template order */
    int total_centi;
} bank_paper;

/* How often each pool item is on a session's papers so far, and the most papers one item
 * may be on (0 = no limit). count has one entry per pool item; generation adds to it. */
typedef struct bank_exposure {
    uint32_t *count;
    uint32_t limit;
    /* Papers still to draw in this run, this one included (0: unknown). With a limit it
     * lets each paper take its share of Y/Z items early enough that a cell's X items do
     * not run out before the last papers. */
    uint32_t left;
} bank_exposure;
/* floor(cap_pct x papers / 100), at least 1; 0 when cap_pct >= 100. */
uint32_t bank_exposure_limit(int cap_pct, int papers);

/* A plan owns scratch space that generation and checking use: one plan serves one thread
 * (make a plan per thread to generate in parallel). */
/* The generator's version: a paper regenerates from its seed only with the generator that
 * made it. Raise it whenever a change makes the same seed draw a different paper. */
#define BANK_PAPER_ENGINE "kaochang-papers-1"

typedef struct bank_plan bank_plan;
/* Checks t against the pool (bp: the blueprint, required for blueprint mode, else may be
 * NULL) for a session of n_papers papers (0: judge the exposure cap per paper only), and
 * prepares the quotas. Every rule that cannot be met is one diag line naming the rule and
 * the shortfall, e.g. "一、单项选择题: 鉴定范围 A-01-02 (网络设备) needs 3 items, the
 * approved bank has 1 (short by 2)". Returns the number of problems (0: feasible, *out set;
 * it lives in a), or KC_ENOMEM. */
int bank_plan_make(const bank_tpl *t, const bank_blueprint *bp, const bank_pool *pool,
                   int n_papers, kc_arena *a, bank_plan **out, kc_diag *d);
const bank_tpl *bank_plan_tpl(const bank_plan *p);
const bank_pool *bank_plan_pool(const bank_plan *p);
/* Generates one paper from seed (the same seed, pool and exposure counts give the same
 * paper), honouring e (may be NULL) and adding the paper to it. 0, KC_ENOMEM, or KC_EINVAL
 * when no paper satisfying every rule was found (reason in why). */
int bank_plan_generate(const bank_plan *p, uint64_t seed, bank_exposure *e, kc_arena *a,
                       bank_paper *out, char *why, size_t whylen);
/* A new order of a paper (a parallel form handed to one candidate): the same items, shuffled
 * within sections and their options shuffled, as the template says, from seed. 0,
 * KC_ENOMEM, or KC_EINVAL when an item of form is not in the plan's pool. */
int bank_paper_reorder(const bank_plan *p, const bank_paper *form, uint64_t seed, kc_arena *a,
                       bank_paper *out);
/* Checks a paper against every rule of the plan (counts, points, total, quotas per
 * 鉴定范围, X/Y/Z, difficulty, filters, no item twice, permutations valid and pinned options
 * in place). One diag line per broken rule; returns their number, or KC_ENOMEM. */
int bank_plan_check(const bank_plan *p, const bank_paper *paper, kc_diag *d);
/* 1 when two papers show the same items in the same order with the same option orders. */
int bank_paper_same(const bank_paper *a, const bank_paper *b);

/* Stored form of a paper's items: [{"i":ID,"p":POINTS_CENTI,"s":SECTION,"o":"CADB",
 * "c":[[ID,"BA"],...]},...] ("o" and "c" only when present). */
char *bank_paper_to_json(const bank_paper *p, kc_arena *a);
/* Reads it back (pool indices are left 0 unless pool is given, then looked up by id;
 * an id not in the pool is an error). 0, or KC_EINVAL with a reason in why (KC_ENOMEM:
 * why is "out of memory"). */
int bank_paper_from_json(const char *json, const bank_pool *pool, kc_arena *a,
                         bank_paper *out, char *why, size_t whylen);

/* Maps a stored response (as the candidate saw the options) back to the item's own keys:
 * single/multi letters through perm (multi sorted again); anything else unchanged. 0, or
 * KC_EINVAL when a letter is outside perm or the response does not fit out. */
int bank_response_unshuffle(enum bank_item_type t, const char *perm, const char *in, char *out,
                            size_t outlen);

/* The equivalence report of parallel forms: per 鉴定范围 node (blueprint mode, every depth)
 * and per type, each form's points and expected (points-weighted mean) difficulty, and the
 * item overlap of every pair of forms. Plain text in a, for the CLI and the staff page. */
char *bank_forms_report(const bank_plan *p, const bank_blueprint *bp, const bank_paper *forms,
                        int n, kc_arena *a);

/* ---- templates stored and session papers (bank_template_store.c, bank_session.c,
 * bank_session_verify.c; docs/PAPERS.md) ----
 * These run on any connection (the CLI's, or a server worker's). Besides the kc errors of
 * the storage functions: a database failure leaves its message in db->err. */
typedef struct bank_tpl_result {
    const char *code;          /* in the arena */
    enum bank_tpl_mode mode;
    int total_centi, sections;
    int pool;                  /* approved items it was checked against */
    int problems;              /* diag lines added (0: feasible) */
    int feasible;
} bank_tpl_result;
/* Parses a template file, checks it against the approved bank and stores it (by code,
 * replacing an older one) with the result of the check. db NULL: the file only (--dry-run
 * without a database). KC_EINVAL when the file is invalid (diag lines in d); an
 * infeasible template is stored (feasible 0, its report) and returns 0. */
int bank_tpl_import(kc_db *db, const char *text, size_t len, const char *file, const char *actor,
                    int dry_run, kc_arena *a, kc_diag *d, bank_tpl_result *res);
/* Checks a stored template against the bank as it is now and records the result.
 * KC_ENOTFOUND for an unknown code. */
int bank_tpl_check(kc_db *db, const char *code, kc_arena *a, kc_diag *d, bank_tpl_result *res);

typedef struct bank_prep {
    int attempts;              /* of the session */
    int existing;              /* papers stored before this run */
    int made;                  /* papers made by this run */
    int forms;                 /* 0: a paper per candidate */
    int neighbours_same;       /* neighbours left with the same paper: the bank allows no other */
    uint32_t exposure_limit;   /* most papers one item may be on (0: no cap) */
    uint32_t max_on;           /* most papers one item is on */
    uint64_t build_id;
    int64_t ms;                /* wall time of the run */
} bank_prep;
/* Generates and stores the paper of every attempt of the session that has none, in one
 * transaction (idempotent: a second run makes nothing). Seated neighbours (same room, the
 * next seat, or the seat in the row in front or behind with the session's seat_columns)
 * get different papers, or different forms while the session has one no neighbour holds.
 * KC_EINVAL when the template cannot be met (diag lines in d). */
int bank_session_prepare(kc_db *db, uint64_t session_id, const char *actor, kc_diag *d,
                         bank_prep *r);
/* Prepares every session that opens within prepare_before_min minutes (or is open) and has
 * attempts without a paper; logs what it made or why it could not (the automatic prepare
 * of `serve`). 0, or the error that stopped it (KC_ELOST: reconnect and run it again). */
int bank_prepare_due(kc_db *db, int prepare_before_min);
/* Regenerates every stored paper of the session from its seed and compares; every
 * difference or broken rule is a diag line. *checked: papers compared. */
int bank_session_verify(kc_db *db, uint64_t session_id, kc_diag *d, int *checked);
/* The session's papers described: forms (equivalence report) or exposure figures. Text
 * in a. */
int bank_session_report(kc_db *db, uint64_t session_id, kc_arena *a, char **text);

#endif
