/* XML plumbing shared by the Moodle XML and QTI importers and exporters: a parser that never
 * loads DTDs, never touches the network and refuses entity declarations, text collection that
 * does not follow entity references, a growable output buffer, base64 and media types. */
#include "imp_int.h"

#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Entity references are never substituted (no XML_PARSE_NOENT) and external subsets are
 * never loaded (no XML_PARSE_DTDLOAD): a billion-laughs file cannot expand, and a file
 * cannot make us read local files or URLs. No XML_PARSE_HUGE: libxml2 keeps its limits on
 * depth and text node size. */
#define XML_OPTS (XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_NOCDATA)

static int has_entity_ref(xmlNode *n, int *line)
{
    for (; n; n = n->next) {
        if (n->type == XML_ENTITY_REF_NODE) {
            *line = (int)xmlGetLineNo(n->parent ? n->parent : n);
            return 1;
        }
        if (n->type == XML_ELEMENT_NODE && has_entity_ref(n->children, line)) return 1;
    }
    return 0;
}

int imp__xml_read(const char *name, const char *buf, size_t len, xmlDoc **out, kc_diag *d)
{
    *out = NULL;
    if (len > IMP_MAX_BYTES)
        return kc_diag_add(d, name, 1, "file", "is larger than 64 MiB; split the bank into several files")
                   ? -1 : 1;
    if (len > INT32_MAX) return -1;
    /* refused before parsing, so that a billion-laughs file gets the plain reason */
    const char *dt = memmem(buf, len, "<!DOCTYPE", 9);
    if (dt) {
        const char *end = memmem(dt, len - (size_t)(dt - buf), "]>", 2);
        const char *ent = memmem(dt, (size_t)((end ? end : buf + len) - dt), "<!ENTITY", 8);
        if (ent) {
            int line = 1;
            for (const char *p = buf; p < dt; p++) line += *p == '\n';
            return kc_diag_add(d, name, line, "xml",
                                 "declares XML entities, which are not allowed in a question file")
                       ? -1 : 1;
        }
    }
    xmlParserCtxt *ctx = xmlNewParserCtxt();
    if (!ctx) return -1;
    xmlDoc *doc = xmlCtxtReadMemory(ctx, buf, (int)len, NULL, NULL, XML_OPTS);
    if (!doc || !ctx->wellFormed) {
        const xmlError *e = xmlCtxtGetLastError(ctx);
        int line = e && e->line > 0 ? e->line : 1;
        char msg[200];
        snprintf(msg, sizeof msg, "%s", e && e->message ? e->message : "not well-formed");
        size_t n = strlen(msg);
        while (n && (msg[n - 1] == '\n' || msg[n - 1] == ' ')) msg[--n] = 0;
        if (doc) xmlFreeDoc(doc);
        xmlFreeParserCtxt(ctx);
        return kc_diag_add(d, name, line, "xml", "is not well-formed XML (%s); the file may be truncated",
                             msg) ? -1 : 1;
    }
    xmlFreeParserCtxt(ctx);
    int line = 1;
    if (doc->intSubset && (doc->intSubset->entities || doc->intSubset->pentities)) {
        xmlFreeDoc(doc);
        return kc_diag_add(d, name, line, "xml",
                             "declares XML entities, which are not allowed in a question file")
                   ? -1 : 1;
    }
    if (has_entity_ref(doc->children, &line)) {
        xmlFreeDoc(doc);
        return kc_diag_add(d, name, line > 0 ? line : 1, "xml",
                             "uses an undeclared XML entity") ? -1 : 1;
    }
    *out = doc;
    return 0;
}

int imp__xml_is(const xmlNode *n, const char *name)
{
    return n && n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

xmlNode *imp__xml_child(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->children : NULL; c; c = c->next)
        if (imp__xml_is(c, name)) return c;
    return NULL;
}

xmlNode *imp__xml_next(const xmlNode *n, const char *name)
{
    for (xmlNode *c = n ? n->next : NULL; c; c = c->next)
        if (imp__xml_is(c, name)) return c;
    return NULL;
}

int imp__xml_line(const xmlNode *n)
{
    long l = n ? xmlGetLineNo(n) : 0;
    return l > 0 && l < INT32_MAX ? (int)l : 1;
}

static int collect(const xmlNode *n, kc_buf *b)
{
    for (; n; n = n->next) {
        if (n->type == XML_TEXT_NODE || n->type == XML_CDATA_SECTION_NODE) {
            if (n->content) kc_buf_str(b, (const char *)n->content);
            if (b->oom) return -1;
        } else if (n->type == XML_ELEMENT_NODE) {
            if (collect(n->children, b)) return -1;
        }
    }
    return 0;
}

char *imp__xml_text(const xmlNode *n, kc_arena *a)
{
    if (!n) return NULL;
    kc_buf b = {0};
    if (collect(n->children, &b)) { free(b.p); return NULL; }
    char *s = kc_arena_strndup(a, b.p ? b.p : "", b.n);
    free(b.p);
    return s;
}

char *imp__xml_attr(const xmlNode *n, const char *name, kc_arena *a)
{
    xmlChar *v = n ? xmlGetNoNsProp(n, (const xmlChar *)name) : NULL;
    if (!v) return NULL;
    char *s = kc_arena_strdup(a, (const char *)v);
    xmlFree(v);
    return s;
}

/* ---- output ---- */

void imp__buf_esc(kc_buf *b, const char *s)
{
    if (!s) return;
    const char *run = s;
    for (; *s; s++) {
        const char *rep = NULL;
        switch (*s) {
        case '&': rep = "&amp;"; break;
        case '<': rep = "&lt;"; break;
        case '>': rep = "&gt;"; break;
        case '"': rep = "&quot;"; break;
        default: continue;
        }
        kc_buf_add(b, run, (size_t)(s - run));
        kc_buf_str(b, rep);
        run = s + 1;
    }
    kc_buf_add(b, run, (size_t)(s - run));
}

/* ---- base64, media types, numbers ---- */

int imp__base64_decode(const char *s, kc_arena *a, unsigned char **out, size_t *len)
{
    size_t n = strlen(s), max = n / 4 * 3 + 3;
    unsigned char *bin = kc_arena_alloc(a, max + 1);
    if (!bin) return -1;
    const char *end = NULL;
    if (sodium_base642bin(bin, max, s, n, " \t\r\n", len, &end, sodium_base64_VARIANT_ORIGINAL) != 0)
        return 1;
    if (end && *end) return 1;
    *out = bin;
    return 0;
}

char *imp__base64_encode(const unsigned char *data, size_t len)
{
    size_t n = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
    char *s = malloc(n);
    if (!s) return NULL;
    sodium_bin2base64(s, n, data, len, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

const char *imp__mime_of(const char *name)
{
    static const struct { const char *ext, *mime; } M[] = {
        {"png", "image/png"},   {"jpg", "image/jpeg"}, {"jpeg", "image/jpeg"},
        {"gif", "image/gif"},   {"webp", "image/webp"}, {"svg", "image/svg+xml"},
        {"bmp", "image/bmp"},   {"pdf", "application/pdf"}, {"mp3", "audio/mpeg"},
        {"mp4", "video/mp4"},
    };
    const char *dot = strrchr(name, '.');
    if (dot)
        for (size_t i = 0; i < sizeof M / sizeof M[0]; i++)
            if (strcasecmp(dot + 1, M[i].ext) == 0) return M[i].mime;
    return "application/octet-stream";
}

int imp__id_valid(const char *s)
{
    if (!s || !*s) return 0;
    size_t chars = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p <= ' ' || *p == 0x7F) return 0;
        if ((*p & 0xC0) != 0x80) chars++;
    }
    return chars <= 64;
}

int imp__points_parse(const char *s, int *centi)
{
    if (!s) return -1;
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ' || *end == '\t' || *end == '\n' || *end == '\r') end++;
    if (end == s || *end || !isfinite(v) || v > 1e6 || v < -1e6) return -1;
    double c = v * 100.0, r = (double)(long long)(c < 0 ? c - 0.5 : c + 0.5);
    if (c - r > 1e-6 || r - c > 1e-6) return -2;
    *centi = (int)r;
    return 0;
}

const char *imp__points_fmt(int centi, char *buf, size_t len)
{
    if (centi % 100 == 0) snprintf(buf, len, "%d", centi / 100);
    else if (centi % 10 == 0) snprintf(buf, len, "%d.%d", centi / 100, (centi % 100) / 10);
    else snprintf(buf, len, "%d.%02d", centi / 100, centi % 100);
    return buf;
}

int imp__media_add(bank_item *it, kc_arena *a, const char *name, const unsigned char *data,
                   size_t len)
{
    for (int i = 0; i < it->n_media; i++)
        if (strcmp(it->media[i].name, name) == 0)
            return it->media[i].len == len && memcmp(it->media[i].data, data, len) == 0 ? 0 : 1;
    bank_media *m = kc_arena_alloc(a, sizeof *m * (size_t)(it->n_media + 1));
    if (!m) return -1;
    if (it->n_media) memcpy(m, it->media, sizeof *m * (size_t)it->n_media);
    bank_media *x = &m[it->n_media];
    if (!(x->name = kc_arena_strdup(a, name))) return -1;
    x->mime = imp__mime_of(name);
    x->data = data;
    x->len = len;
    it->media = m;
    it->n_media++;
    return 0;
}

char *imp__replace_all(const char *s, const char *from, const char *to, kc_arena *a)
{
    if (!s) return NULL;
    size_t fl = strlen(from);
    kc_buf b = {0};
    const char *p = s, *q;
    while ((q = strstr(p, from))) {
        kc_buf_add(&b, p, (size_t)(q - p));
        kc_buf_str(&b, to);
        p = q + fl;
    }
    kc_buf_str(&b, p);
    char *r = b.oom ? NULL : kc_arena_strndup(a, b.p ? b.p : "", b.n);
    free(b.p);
    return r;
}

/* Length of a blank mark at s as bank_item_validate counts them: a run of two or more _
 * or ＿, （ ） with only spaces or _ inside, ( ) with at least one; 0 when none. */
size_t imp__blank_mark_len(const char *s)
{
    size_t n = 0;
    int run = 0;
    for (;;) {
        if (s[n] == '_') n++;
        else if (!strncmp(s + n, "＿", 3)) n += 3;
        else break;
        run++;
    }
    if (run >= 2) return n;
    if (run) return 0;
    int full = !strncmp(s, "（", 3);
    if (!full && s[0] != '(') return 0;
    n = full ? 3 : 1;
    int inside = 0;
    for (;;) {
        if (s[n] == ' ' || s[n] == '\t' || s[n] == '_') n++;
        else if (!strncmp(s + n, "　", 3) || !strncmp(s + n, "＿", 3)) n += 3;
        else break;
        inside++;
    }
    if (!strncmp(s + n, "）", 3) && (inside || full)) return n + 3;
    if (s[n] == ')' && inside) return n + 1;
    return 0;
}
