/* Item images and attachments over HTTP: signed URLs and the worker side of GET /media/.
 *
 * Rich text refers to media as src="media:NAME" / href="media:NAME" (bank/bank_html.c).
 * Where items leave the server (the candidate's paper, the staff views) those references
 * become /media/<sha256>?e=<expiry ms>&s=<HMAC>, so the browser can load them without a
 * cookie and nobody can fetch media that was not handed to them, or after the expiry. */
#include "media.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void media_key_derive(const unsigned char token_key[32], unsigned char media_key[32])
{
    kc_key_derive(token_key, "kaochang media url key v1", media_key);
}

int media_sha_ok(const char *s)
{
    size_t n = 0;
    for (; s[n]; n++)
        if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f'))) return 0;
    return n == 64;
}

/* The MAC covers the sha and the expiry in one unambiguous string. */
static void sign(const unsigned char key[32], const char *sha, long long expires, char out[65])
{
    kc_mac_hex(key, out, "%s.%lld", sha, expires);
}

void media_url(const unsigned char key[32], const char *sha, int64_t expires_ms, char *out,
                   size_t cap)
{
    char s[65];
    sign(key, sha, (long long)expires_ms, s);
    snprintf(out, cap, "/media/%s?e=%lld&s=%s", sha, (long long)expires_ms, s);
}

int media_check(const unsigned char key[32], const char *sha, const char *e, const char *s,
                    int64_t now_ms)
{
    if (!media_sha_ok(sha) || !e || !s || strlen(s) != 64 || !*e || strlen(e) > 18) return -1;
    /* one spelling per expiry: the decimal digits the server wrote, no leading zero */
    if (e[0] == '0') return -1;
    for (const char *p = e; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    long long exp = strtoll(e, NULL, 10);
    char want[65];
    sign(key, sha, exp, want);
    if (!kc_memeq(want, s, 64)) return -1;
    return exp > now_ms ? 0 : -1;
}

/* ---- which media an item has ---- */

void media_map_free(media_map *m)
{
    free(m->refs);
    m->refs = NULL;
    m->n = m->cap = 0;
}

static int map_add(media_map *m, uint64_t item_id, const char *name, const char *sha,
                   const char *mime)
{
    if (m->n == m->cap) {
        int cap = m->cap ? m->cap * 2 : 16;
        media_ref *r = realloc(m->refs, (size_t)cap * sizeof *r);
        if (!r) return KC_ENOMEM;
        m->refs = r;
        m->cap = cap;
    }
    media_ref *r = &m->refs[m->n++];
    r->item_id = item_id;
    snprintf(r->name, sizeof r->name, "%s", name);
    snprintf(r->sha, sizeof r->sha, "%s", sha);
    snprintf(r->mime, sizeof r->mime, "%s", mime);
    return 0;
}

static int load(kc_db *db, const char *sql, uint64_t id, media_map *m)
{
    uint64_t item_id;
    char name[256], sha[65], mime[101];
    int rc = kc_db_query(db, sql, "uu", "usss", id, id, &item_id, name, sizeof name, sha,
                          sizeof sha, mime, sizeof mime);
    while (!rc && (rc = kc_db_fetch(db, sql)) == 1) rc = map_add(m, item_id, name, sha, mime);
    kc_db_done(db, sql);
    return rc < 0 ? rc : 0;
}

/* The media of many items: ids go MEDIA_IDS at a time into one statement (the unused places
 * hold 0, which no item has), so every batch reuses one cached statement. */
#define MEDIA_IDS 64
#define Q8 "?,?,?,?,?,?,?,?"
static const char SQL_ITEMS_MEDIA[] =
    "SELECT im.item_id, im.name, LOWER(HEX(im.sha256)), m.mime FROM item_media im"
    " JOIN media m ON m.sha256 = im.sha256 WHERE im.item_id IN ("
    Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 "," Q8 ")";
static const char SQL_ITEM_MEDIA[] =
    "SELECT im.item_id, im.name, LOWER(HEX(im.sha256)), m.mime FROM item i"
    " JOIN item_media im ON im.item_id = i.id JOIN media m ON m.sha256 = im.sha256"
    " WHERE i.id = ? OR i.parent_id = ?";

int media_load_items(kc_db *db, const uint64_t *ids, size_t n, media_map *m)
{
    kc_param p[MEDIA_IDS];
    for (size_t done = 0; done < n; done += MEDIA_IDS) {
        for (size_t k = 0; k < MEDIA_IDS; k++)
            p[k] = (kc_param){'u', done + k < n ? (int64_t)ids[done + k] : 0, NULL, 0};
        kc_stmt *st = kc_db_stmt(db, SQL_ITEMS_MEDIA);
        int rc = st ? kc_stmt_execv(st, p, MEDIA_IDS) : kc_db_fail_code(db);
        while (!rc && (rc = kc_stmt_next(st)) == 1)
            rc = map_add(m, (uint64_t)kc_stmt_int(st, 0), kc_stmt_str(st, 1) ? kc_stmt_str(st, 1) : "",
                         kc_stmt_str(st, 2) ? kc_stmt_str(st, 2) : "",
                         kc_stmt_str(st, 3) ? kc_stmt_str(st, 3) : "");
        if (st) kc_stmt_done(st);
        if (rc < 0) return rc;
    }
    return 0;
}

int media_load_item(kc_db *db, uint64_t item_id, media_map *m)
{
    return load(db, SQL_ITEM_MEDIA, item_id, m);
}

static const media_ref *find(const media_map *m, uint64_t item_id, const char *name)
{
    for (int i = 0; i < m->n; i++)
        if (m->refs[i].item_id == item_id && !strcmp(m->refs[i].name, name)) return &m->refs[i];
    return NULL;
}

/* The attribute value as the sanitizer escaped it (&amp; &lt; &gt; &quot;), decoded;
 * 0 when it does not fit. */
static int unescape(const char *s, size_t n, char *out, size_t cap)
{
    static const struct { const char *ent; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    size_t o = 0;
    for (size_t i = 0; i < n;) {
        char c = s[i];
        size_t k = 1;
        if (c == '&')
            for (size_t e = 0; e < sizeof ents / sizeof *ents; e++) {
                size_t el = strlen(ents[e].ent);
                if (i + el <= n && !memcmp(s + i, ents[e].ent, el)) { c = ents[e].c; k = el; break; }
            }
        if (o + 1 >= cap) return 0;
        out[o++] = c;
        i += k;
    }
    out[o] = 0;
    return 1;
}

char *media_rewrite(const char *html, uint64_t item_id, const media_map *m,
                        const unsigned char key[32], int64_t expires_ms)
{
    kc_buf b = {0};
    kc_buf_add(&b, "", 0);
    const char *p = html ? html : "";
    /* The sanitizer writes exactly src="media:NAME" and href="media:NAME" inside tags;
     * text cannot contain a raw '"', so such a string is always an attribute. */
    for (;;) {
        const char *src = strstr(p, "src=\"media:"), *href = strstr(p, "href=\"media:");
        const char *at = !src ? href : !href ? src : src < href ? src : href;
        if (!at) break;
        const char *v = strchr(at, '"') + 1, *name = v + 6, *end = strchr(name, '"');
        if (!end) break;
        if (at > html && at[-1] != ' ') {            /* e.g. data-src="media:…": not ours */
            kc_buf_add(&b, p, (size_t)(name - p));
            p = name;
            continue;
        }
        char nm[256];
        const media_ref *r = unescape(name, (size_t)(end - name), nm, sizeof nm)
                                     ? find(m, item_id, nm) : NULL;
        kc_buf_add(&b, p, (size_t)(v - p));
        if (r) {
            char url[MEDIA_URL_MAX];
            media_url(key, r->sha, expires_ms, url, sizeof url);
            /* '&' inside an attribute is written as &amp;, as HTML wants it */
            for (const char *u = url; *u; u++)
                if (*u == '&') kc_buf_add(&b, "&amp;", 5);
                else kc_buf_add(&b, u, 1);
        } else {
            kc_buf_add(&b, v, (size_t)(end - v));           /* an unknown name stays as it is */
        }
        p = end;
    }
    kc_buf_add(&b, p, strlen(p));
    return kc_buf_take(&b);
}

json_t *media_list(const media_map *m, uint64_t item_id, const unsigned char key[32],
                       int64_t expires_ms)
{
    json_t *a = json_array();
    for (int i = 0; a && i < m->n; i++) {
        const media_ref *r = &m->refs[i];
        if (r->item_id != item_id) continue;
        char url[MEDIA_URL_MAX];
        media_url(key, r->sha, expires_ms, url, sizeof url);
        json_array_append_new(a, json_pack("{s:s, s:s, s:s, s:s}", "name", r->name, "sha256",
                                           r->sha, "mime", r->mime, "url", url));
    }
    return a;
}

/* ---- GET /media/<sha>: the bytes, on a worker ---- */

static const char SQL_MEDIA_BYTES[] = "SELECT mime, bytes FROM media WHERE sha256 = UNHEX(?)";

int media_run(kc_db *db, const srv_ctx *x, srv_job *j)
{
    free(j->text);
    j->text = NULL;
    j->text_len = 0;
    kc_stmt *st = kc_db_stmt(db, SQL_MEDIA_BYTES);
    int rc = st ? kc_stmt_exec(st, "s", j->m.uid) : kc_db_fail_code(db);
    if (rc) return rc;
    int r = kc_stmt_next(st);
    if (r < 0) {
        rc = r;
    } else if (r == 0) {
        j->http_status = 404;
    } else {
        snprintf(j->mime, sizeof j->mime, "%s", kc_stmt_str(st, 0) ? kc_stmt_str(st, 0) : "");
        size_t len = kc_stmt_len(st, 1);
        j->text = malloc(len ? len : 1);
        if (!j->text) {
            rc = KC_ENOMEM;
        } else {
            if (len) memcpy(j->text, kc_stmt_str(st, 1), len);
            j->text_len = len;
            j->http_status = 200;
        }
    }
    kc_stmt_done(st);
    return rc;
}
