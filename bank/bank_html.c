/* Rich text: the allow-list sanitizer, plain-text detection and conversion, and
 * bank_item_prepare. libxml2's HTML parser does the tokenizing and the error recovery
 * (unclosed tags, misnesting, entities); we take its SAX events and write only what the
 * allow-list permits, so nothing depends on a serializer dropping things. */
#include "bank_int.h"

#include <ctype.h>
#include <libxml/HTMLparser.h>
#include <libxml/parser.h>
#include <libxml/parserInternals.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FIELD_MAX_BYTES ((size_t)1 << 20)  /* longer input is cut: no item text comes near */
#define DEPTH_MAX 64                       /* deeper allowed tags are flattened (text kept) */
/* libxml2 scans its whole element stack for an end tag it cannot match, so a hostile
 * "<b>" x 300000 + "</i>" x 100000 would take minutes; nothing real nests this deep, and
 * parsing stops there. */
#define PARSE_DEPTH_MAX 256
#define MEDIA_NAME_MAX 255
#define PREPARE_DEPTH_MAX 4                /* composites hold plain items; bound the recursion */

static void sb_utf8(kc_buf *b, uint32_t cp)
{
    char u[4];
    kc_buf_add(b, u, (size_t)bank_utf8_encode(cp, u));
}

/* ---- input cleaning ---- */

/* Characters no item text keeps: C0 controls but tab and newline, DEL, C1 controls and
 * noncharacters (libxml2 stops at some of them, browsers show none). */
static int char_dropped(uint32_t cp)
{
    return (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') || cp == 0x7F ||
           (cp >= 0x80 && cp < 0xA0) || (cp & 0xFFFE) == 0xFFFE ||
           (cp >= 0xFDD0 && cp <= 0xFDEF);
}

/* Appends s cleaned: valid UTF-8 (a bad byte becomes U+FFFD), dropped characters left
 * out, "\r\n" and "\r" as "\n"; with esc also & < > " escaped. Input and everything
 * libxml2 hands back (it decodes "&#x8f" too) go through here, so sanitized output
 * re-sanitizes to itself. */
static void sb_clean(kc_buf *b, const char *str, size_t len, int esc)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    while (i < len) {
        uint32_t cp;
        int k = bank_utf8_decode(s + i, len - i, &cp);
        const char *rep = NULL;
        size_t skip = k ? (size_t)k : 1;
        if (!k) rep = "\xef\xbf\xbd";
        else if (cp == '\r') {
            rep = "\n";
            if (i + 1 < len && s[i + 1] == '\n') skip = 2;
        } else if (char_dropped(cp)) rep = "";
        else if (esc && cp == '&') rep = "&amp;";
        else if (esc && cp == '<') rep = "&lt;";
        else if (esc && cp == '>') rep = "&gt;";
        else if (esc && cp == '"') rep = "&quot;";
        if (rep) {
            kc_buf_add(b, str + run, i - run);
            kc_buf_str(b, rep);
            run = i + skip;
        }
        i += skip;
    }
    kc_buf_add(b, str + run, len - run);
}

static void sb_esc(kc_buf *b, const char *s, size_t n) { sb_clean(b, s, n, 1); }

/* The text every path works on (sb_clean), cut at FIELD_MAX_BYTES. */
static char *clean_input(const char *in, int *removed)
{
    size_t len = strnlen(in, FIELD_MAX_BYTES + 1);
    if (len > FIELD_MAX_BYTES) {
        len = FIELD_MAX_BYTES;
        while (len > 0 && ((unsigned char)in[len] & 0xC0) == 0x80) len--;
        (*removed)++;
    }
    kc_buf b = {0};
    kc_buf_add(&b, "", 0);
    sb_clean(&b, in, len, 0);
    if (b.oom) { free(b.p); return NULL; }
    return b.p;
}

/* ---- element tables ---- */

enum { T_VOID = 1, T_BLOCK = 2 };
static const struct { const char *name; int flags; } ALLOWED[] = {
    {"p", T_BLOCK}, {"br", T_VOID}, {"div", T_BLOCK}, {"span", 0}, {"b", 0}, {"strong", 0},
    {"i", 0}, {"em", 0}, {"u", 0}, {"s", 0}, {"sub", 0}, {"sup", 0}, {"code", 0},
    {"pre", T_BLOCK}, {"ul", T_BLOCK}, {"ol", T_BLOCK}, {"li", T_BLOCK}, {"table", T_BLOCK},
    {"thead", 0}, {"tbody", 0}, {"tr", T_BLOCK}, {"th", 0}, {"td", 0}, {"img", T_VOID},
    {"a", 0}, {"hr", T_VOID | T_BLOCK}, {"blockquote", T_BLOCK},
};
#define N_ALLOWED (int)(sizeof ALLOWED / sizeof ALLOWED[0])

/* Elements removed together with everything inside them. */
static const char *const DROPPED[] = {
    "script", "style", "iframe", "object", "svg", "math", "template", "noscript",
    "textarea", "select", "option", "optgroup", "datalist", "form", "button", "title", "head",
    "applet", "frameset", "noframes", "noembed", "audio", "video", "canvas", "portal", "xml",
};
/* Void elements that must go: libxml2 lets some of them (embed) hold the text that follows,
 * which is not theirs, so only the element itself is removed. */
static const char *const DROPPED_VOID[] = {
    "embed", "input", "link", "meta", "base", "param", "source", "track", "frame", "keygen",
    "isindex", "bgsound",
};

/* Every HTML element name: a "<name" of one of these makes text HTML in BANK_TEXT_AUTO. */
static const char *const KNOWN[] = {
    "a", "abbr", "address", "applet", "area", "article", "aside", "audio", "b", "base",
    "basefont", "bdi", "bdo", "big", "blink", "blockquote", "body", "br", "button", "canvas",
    "caption", "center", "cite", "code", "col", "colgroup", "data", "datalist", "dd", "del",
    "details", "dfn", "dialog", "dir", "div", "dl", "dt", "em", "embed", "fieldset",
    "figcaption", "figure", "font", "footer", "form", "frame", "frameset", "h1", "h2", "h3",
    "h4", "h5", "h6", "head", "header", "hgroup", "hr", "html", "i", "iframe", "img", "image",
    "input", "ins", "isindex", "kbd", "keygen", "label", "legend", "li", "link", "listing",
    "main", "map", "mark", "marquee", "math", "menu", "meta", "meter", "nav", "nobr",
    "noembed", "noframes", "noscript", "object", "ol", "optgroup", "option", "output", "p",
    "param", "picture", "plaintext", "portal", "pre", "progress", "q", "rp", "rt", "ruby", "s",
    "samp", "script", "search", "section", "select", "slot", "small", "source", "span",
    "strike", "strong", "style", "sub", "summary", "sup", "svg", "table", "tbody", "td",
    "template", "textarea", "tfoot", "th", "thead", "time", "title", "tr", "track", "tt", "u",
    "ul", "var", "video", "wbr", "xmp",
};

static int allowed_index(const char *name)
{
    for (int i = 0; i < N_ALLOWED; i++)
        if (!strcasecmp(name, ALLOWED[i].name)) return i;
    return -1;
}

static int in_list(const char *name, size_t len, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strlen(list[i]) == len && !strncasecmp(name, list[i], len)) return 1;
    return 0;
}

static int is_dropped(const char *name)
{
    return in_list(name, strlen(name), DROPPED, sizeof DROPPED / sizeof DROPPED[0]);
}

/* ---- plain-text detection ---- */

static int is_alpha(unsigned c) { return (c | 0x20) >= 'a' && (c | 0x20) <= 'z'; }
static int is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static int is_ws(unsigned c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f'; }

/* When s (at '<') starts a complete tag of a known element, its length, else 0. The
 * attribute part must look like attributes, so "若 a<b 且 b>c" is not a tag. */
static size_t known_tag_at(const char *s)
{
    const unsigned char *p = (const unsigned char *)s + 1;
    int closing = 0;
    if (*p == '/') { closing = 1; p++; }
    const unsigned char *name = p;
    if (!is_alpha(*p)) return 0;
    while (is_alpha(*p) || is_digit(*p)) p++;
    if (!in_list((const char *)name, (size_t)(p - name), KNOWN, sizeof KNOWN / sizeof KNOWN[0]))
        return 0;
    if (closing) {
        while (is_ws(*p)) p++;
        return *p == '>' ? (size_t)(p + 1 - (const unsigned char *)s) : 0;
    }
    for (;;) {
        int ws = 0;
        while (is_ws(*p)) { p++; ws = 1; }
        if (*p == '>') return (size_t)(p + 1 - (const unsigned char *)s);
        if (*p == '/' && p[1] == '>') return (size_t)(p + 2 - (const unsigned char *)s);
        if (!ws) return 0;
        /* an attribute: name [= value] */
        if (!(is_alpha(*p) || *p == '_' || *p == ':' || *p == '@')) return 0;
        while (is_alpha(*p) || is_digit(*p) || *p == '-' || *p == '_' || *p == ':' || *p == '.' ||
               *p == '@')
            p++;
        while (is_ws(*p)) p++;
        if (*p != '=') continue;
        p++;
        while (is_ws(*p)) p++;
        if (*p == '"' || *p == '\'') {
            unsigned char q = *p++;
            while (*p && *p != q) p++;
            if (!*p) return 0;
            p++;
        } else {
            if (!*p || *p == '>') return 0;
            while (*p && !is_ws(*p) && *p != '>' && *p >= 0x21 && *p < 0x7F) p++;
            if (*p && !is_ws(*p) && *p != '>') return 0;
        }
    }
}

/* "&lt;", "&#60;", "&#x3c;": a character reference HTML decodes. */
static int entity_ref_at(const char *s)
{
    const unsigned char *p = (const unsigned char *)s + 1;
    if (*p == '#') {
        p++;
        int hex = (*p == 'x' || *p == 'X');
        if (hex) p++;
        const unsigned char *d = p;
        while (hex ? isxdigit(*p) : is_digit(*p)) p++;
        return p > d && *p == ';';
    }
    char name[40];
    size_t n = 0;
    while ((is_alpha(*p) || is_digit(*p)) && n + 1 < sizeof name) name[n++] = (char)*p++;
    name[n] = 0;
    return n && *p == ';' && htmlEntityLookup((const xmlChar *)name);
}

/* Tags, or character references: sanitized plain text ("a &lt; b") must read back as
 * the same text, so a reference means HTML too. */
static int looks_like_html(const char *s)
{
    for (const char *p = s; *p; p++) {
        if (*p == '<' && known_tag_at(p)) return 1;
        if (*p == '&' && entity_ref_at(p)) return 1;
    }
    return 0;
}

/* ---- URLs ---- */

static int media_name_ok(const char *s, size_t n)
{
    if (n == 0 || n > MEDIA_NAME_MAX) return 0;
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        uint32_t cp;
        int k = bank_utf8_decode((const unsigned char *)s + i, n - i, &cp);
        if (!k || cp < 0x20 || char_dropped(cp)) return 0;
        /* ':' too: "media:javascript:…" is inert, but a name never needs a scheme in it */
        if (c == '/' || c == '\\' || c == '"' || c == '<' || c == '>' || c == ':') return 0;
        if (c == '.' && i + 1 < n && s[i + 1] == '.') return 0;
        i += (size_t)k;
    }
    return 1;
}

/* Leading and trailing ASCII whitespace, as browsers strip it from URLs. */
static const char *trim(const char *s, size_t *n)
{
    size_t len = strlen(s);
    while (len && is_ws((unsigned char)*s)) { s++; len--; }
    while (len && is_ws((unsigned char)s[len - 1])) len--;
    *n = len;
    return s;
}

/* "media:NAME" with a valid NAME: the NAME, else NULL. */
static const char *media_ref(const char *v, size_t *name_len)
{
    size_t n;
    const char *s = trim(v, &n);
    if (n < 6 || memcmp(s, "media:", 6)) return NULL;
    if (!media_name_ok(s + 6, n - 6)) return NULL;
    *name_len = n - 6;
    return s + 6;
}

static int digits_ok(const char *v, size_t max)
{
    size_t n = strlen(v);
    if (n == 0 || n > max) return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_digit((unsigned char)v[i])) return 0;
    return 1;
}

static const struct { const char *mime, *ext; } IMAGE_TYPES[] = {
    {"image/png", "png"}, {"image/jpeg", "jpg"}, {"image/jpg", "jpg"}, {"image/gif", "gif"},
    {"image/webp", "webp"},
};

static int magic_ok(const char *ext, const unsigned char *d, size_t n)
{
    if (!strcmp(ext, "png")) return n >= 8 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8);
    if (!strcmp(ext, "jpg")) return n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF;
    if (!strcmp(ext, "gif")) return n >= 6 && (!memcmp(d, "GIF87a", 6) || !memcmp(d, "GIF89a", 6));
    return n >= 12 && !memcmp(d, "RIFF", 4) && !memcmp(d + 8, "WEBP", 4);
}

/* ---- the sanitizer ---- */

enum frame_kind { F_NONE, F_EMIT, F_DROP };
typedef struct frame {
    const xmlChar *name;    /* libxml2's dictionary string, alive for the whole parse */
    unsigned char kind;
    signed char tag;        /* ALLOWED index for F_EMIT */
} frame;

typedef struct san {
    kc_buf out;
    frame *st;
    size_t n, cap;
    int drop;               /* open F_DROP frames: everything inside is suppressed */
    int depth;              /* open F_EMIT frames */
    int removed;
    int seen_root;          /* the wrapper <div> we put around the fragment */
    int oom;
    htmlParserCtxtPtr ctxt;
    kc_arena *a;
    bank_media **media;
    int *n_media;
} san;

static const char *attr_get(const xmlChar **atts, const char *name, int *dups)
{
    const char *found = NULL;
    for (int i = 0; atts && atts[i]; i += 2) {
        if (strcasecmp((const char *)atts[i], name)) continue;
        if (found) { (*dups)++; continue; }
        found = atts[i + 1] ? (const char *)atts[i + 1] : "";
    }
    return found;
}

/* Moves a data: image into the item's media; the media name, or NULL (not an image we
 * take, or no media list to put it in); z->oom set on allocation failure. */
static const char *data_image(san *z, const char *v)
{
    size_t n;
    const char *s = trim(v, &n);
    if (n < 5 || strncasecmp(s, "data:", 5) || !z->media || !z->n_media) return NULL;
    const char *p = s + 5, *end = s + n;
    const char *ext = NULL, *mime = NULL;
    for (size_t i = 0; i < sizeof IMAGE_TYPES / sizeof IMAGE_TYPES[0]; i++) {
        size_t ml = strlen(IMAGE_TYPES[i].mime);
        if ((size_t)(end - p) > ml && !strncasecmp(p, IMAGE_TYPES[i].mime, ml) && p[ml] == ';') {
            ext = IMAGE_TYPES[i].ext;
            mime = !strcmp(ext, "jpg") ? "image/jpeg" : IMAGE_TYPES[i].mime;
            p += ml + 1;
            break;
        }
    }
    if (!ext || end - p < 7 || strncasecmp(p, "base64,", 7)) return NULL;
    p += 7;
    size_t b64 = (size_t)(end - p);
    size_t max = b64 / 4 * 3 + 3;
    if (max > BANK_MEDIA_MAX_BYTES + 3) return NULL;
    unsigned char *bin = malloc(max ? max : 1);
    if (!bin) { z->oom = 1; return NULL; }
    size_t len = 0;
    const char *b64_end = NULL;
    int rc = sodium_base642bin(bin, max, p, b64, " \t\n\f", &len, &b64_end,
                               sodium_base64_VARIANT_ORIGINAL);
    if (rc || b64_end != end)
        rc = sodium_base642bin(bin, max, p, b64, " \t\n\f", &len, &b64_end,
                               sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
    const char *name = NULL;
    if (!rc && b64_end == end && len > 0 && len <= BANK_MEDIA_MAX_BYTES && magic_ok(ext, bin, len)) {
        uint8_t h[32];
        crypto_hash_sha256(h, bin, len);
        char hex[65];
        sodium_bin2hex(hex, sizeof hex, h, sizeof h);
        for (int hexlen = 8; hexlen <= 64 && !name && !z->oom; hexlen *= 2) {
            char cand[80];
            snprintf(cand, sizeof cand, "image-%.*s.%s", hexlen, hex, ext);
            int clash = 0;
            for (int i = 0; i < *z->n_media; i++) {
                const bank_media *m = &(*z->media)[i];
                if (!m->name || strcmp(m->name, cand)) continue;
                if (m->len == len && !memcmp(m->data, bin, len)) { name = m->name; break; }
                clash = 1;
            }
            if (name || clash) continue;
            bank_media *nm = kc_arena_alloc(z->a, sizeof *nm * ((size_t)*z->n_media + 1));
            unsigned char *data = kc_arena_alloc(z->a, len);
            char *nname = kc_arena_strdup(z->a, cand);
            char *nmime = kc_arena_strdup(z->a, mime);
            if (!nm || !data || !nname || !nmime) { z->oom = 1; break; }
            if (*z->n_media) memcpy(nm, *z->media, sizeof *nm * (size_t)*z->n_media);
            memcpy(data, bin, len);
            bank_media *m = &nm[*z->n_media];
            m->name = nname;
            m->mime = nmime;
            m->data = data;
            m->len = len;
            memcpy(m->sha256, h, sizeof h);
            *z->media = nm;
            (*z->n_media)++;
            name = nname;
        }
    }
    free(bin);
    return name;
}

static void push(san *z, const xmlChar *name, int kind, int tag)
{
    if (z->n == z->cap) {
        size_t cap = z->cap ? z->cap * 2 : 32;
        frame *st = realloc(z->st, cap * sizeof *st);
        if (!st) { z->oom = 1; return; }
        z->st = st;
        z->cap = cap;
    }
    z->st[z->n++] = (frame){name, (unsigned char)kind, (signed char)tag};
    if (kind == F_DROP) z->drop++;
    if (kind == F_EMIT) z->depth++;
}

static void pop(san *z)
{
    frame *f = &z->st[--z->n];
    if (f->kind == F_DROP) z->drop--;
    if (f->kind == F_EMIT) {
        z->depth--;
        if (!(ALLOWED[f->tag].flags & T_VOID)) {
            kc_buf_str(&z->out, "</");
            kc_buf_str(&z->out, ALLOWED[f->tag].name);
            kc_buf_str(&z->out, ">");
        }
    }
}

/* Writes the start tag of ALLOWED[tag] with the attributes it may keep, in a fixed
 * order. 0 when the element itself has to go (an img without a usable src). */
static int write_start(san *z, int tag, const xmlChar **atts)
{
    const char *name = ALLOWED[tag].name;
    int total = 0, kept = 0, dups = 0;
    for (int i = 0; atts && atts[i]; i += 2) total++;
    kc_buf *o = &z->out;
    if (!strcmp(name, "img")) {
        const char *src = attr_get(atts, "src", &dups);
        size_t nl = 0;
        const char *ref = src ? media_ref(src, &nl) : NULL;
        const char *img = NULL;
        if (!ref && src) img = data_image(z, src);
        if (!ref && !img) {
            z->removed += total;
            return 0;
        }
        kc_buf_str(o, "<img src=\"media:");
        if (ref) sb_esc(o, ref, nl);
        else sb_esc(o, img, strlen(img));
        kc_buf_str(o, "\"");
        kept++;
        const char *alt = attr_get(atts, "alt", &dups);
        if (alt) {
            kc_buf_str(o, " alt=\"");
            sb_esc(o, alt, strlen(alt));
            kc_buf_str(o, "\"");
            kept++;
        }
        static const char *const dims[] = {"width", "height"};
        for (int i = 0; i < 2; i++) {
            const char *v = attr_get(atts, dims[i], &dups);
            if (!v || !digits_ok(v, 5)) continue;
            kc_buf_str(o, " ");
            kc_buf_str(o, dims[i]);
            kc_buf_str(o, "=\"");
            kc_buf_str(o, v);
            kc_buf_str(o, "\"");
            kept++;
        }
        kc_buf_str(o, ">");
    } else if (!strcmp(name, "a")) {
        kc_buf_str(o, "<a");
        const char *href = attr_get(atts, "href", &dups);
        size_t nl = 0;
        const char *ref = href ? media_ref(href, &nl) : NULL;
        if (ref) {
            kc_buf_str(o, " href=\"media:");
            sb_esc(o, ref, nl);
            kc_buf_str(o, "\"");
            kept++;
        }
        kc_buf_str(o, ">");
    } else {
        kc_buf_str(o, "<");
        kc_buf_str(o, name);
        if (!strcmp(name, "td") || !strcmp(name, "th")) {
            static const char *const spans[] = {"colspan", "rowspan"};
            for (int i = 0; i < 2; i++) {
                const char *v = attr_get(atts, spans[i], &dups);
                if (!v || !digits_ok(v, 3)) continue;
                kc_buf_str(o, " ");
                kc_buf_str(o, spans[i]);
                kc_buf_str(o, "=\"");
                kc_buf_str(o, v);
                kc_buf_str(o, "\"");
                kept++;
            }
        }
        kc_buf_str(o, ">");
    }
    z->removed += total - kept;
    return 1;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int sodium_ok;

/* CLOSES[x][e]: libxml2 ends an open <e> when <x> starts (a <div> ends a <p>, an <li> an
 * <li>). Learnt from libxml2 itself at start-up, so it matches the version we run. */
static unsigned char CLOSES[N_ALLOWED][N_ALLOWED];

typedef struct probe { const char *e; int starts, ended, closes; } probe;

static void probe_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    probe *p = ctx;
    if (++p->starts == 3) p->closes = p->ended;
}

static void probe_end(void *ctx, const xmlChar *name)
{
    probe *p = ctx;
    if (p->starts == 2 && !strcmp((const char *)name, p->e)) p->ended = 1;
}

static int parse_with(const char *doc, size_t len, const htmlSAXHandler *h, void *user,
                      htmlParserCtxtPtr *keep)
{
    htmlParserCtxtPtr ctxt = htmlCreateMemoryParserCtxt(doc, (int)len);
    if (!ctxt) return -1;
    if (ctxt->sax) memcpy(ctxt->sax, h, sizeof *h);
    ctxt->userData = user;
    if (keep) *keep = ctxt;
    htmlCtxtUseOptions(ctxt, HTML_PARSE_NOERROR | HTML_PARSE_NOWARNING | HTML_PARSE_NONET |
                                 HTML_PARSE_NOIMPLIED | HTML_PARSE_IGNORE_ENC |
                                 HTML_PARSE_NODEFDTD);
    xmlSwitchEncoding(ctxt, XML_CHAR_ENCODING_UTF8);
    htmlParseDocument(ctxt);
    if (ctxt->myDoc) xmlFreeDoc(ctxt->myDoc);
    ctxt->myDoc = NULL;
    htmlFreeParserCtxt(ctxt);
    return 0;
}

static void init_libs(void)
{
    xmlInitParser();
    sodium_ok = sodium_init() >= 0;
    htmlSAXHandler h;
    memset(&h, 0, sizeof h);
    h.startElement = probe_start;
    h.endElement = probe_end;
    h.initialized = 1;
    for (int x = 0; x < N_ALLOWED; x++)
        for (int e = 0; e < N_ALLOWED; e++) {
            if (ALLOWED[e].flags & T_VOID) continue;
            char doc[64];
            int n = snprintf(doc, sizeof doc, "<div><%s><%s>", ALLOWED[e].name, ALLOWED[x].name);
            probe p = {ALLOWED[e].name, 0, 0, 0};
            if (parse_with(doc, (size_t)n, &h, &p, NULL) == 0) CLOSES[x][e] = (unsigned char)p.closes;
        }
}

/* Before <tag> is written: end the open elements libxml2 would end for it when it reads
 * our output, so that output parses into the same tree and re-sanitizes to itself. In
 * the input an unwrapped element (<font>) may have stood between them. */
static void autoclose(san *z, int tag)
{
    for (size_t j = z->n; j > 0; j--) {
        frame *f = &z->st[j - 1];
        if (f->kind != F_EMIT) continue;
        if (!(ALLOWED[f->tag].flags & T_VOID) && !CLOSES[tag][f->tag]) return;
        if (!(ALLOWED[f->tag].flags & T_VOID)) {
            kc_buf_str(&z->out, "</");
            kc_buf_str(&z->out, ALLOWED[f->tag].name);
            kc_buf_str(&z->out, ">");
        }
        f->kind = F_NONE;
        z->depth--;
    }
}

static void on_start(void *ctx, const xmlChar *name, const xmlChar **atts)
{
    san *z = ctx;
    if (z->oom) return;
    const char *nm = (const char *)name;
    if (!z->seen_root) {
        /* the wrapper: keeps top-level text out of libxml2's implied <p> */
        z->seen_root = 1;
        push(z, name, F_NONE, -1);
        return;
    }
    if (z->ctxt->nameNr > PARSE_DEPTH_MAX) {
        z->removed++;
        xmlStopParser(z->ctxt);
        return;
    }
    if (z->drop) { push(z, name, F_NONE, -1); return; }
    if (is_dropped(nm)) {
        z->removed++;
        push(z, name, F_DROP, -1);
        return;
    }
    if (in_list(nm, strlen(nm), DROPPED_VOID, sizeof DROPPED_VOID / sizeof DROPPED_VOID[0])) {
        z->removed++;
        push(z, name, F_NONE, -1);
        return;
    }
    int tag = allowed_index(nm);
    if (tag < 0 || z->depth >= DEPTH_MAX) {
        z->removed++;
        for (int i = 0; atts && atts[i]; i += 2) z->removed++;
        push(z, name, F_NONE, -1);
        return;
    }
    autoclose(z, tag);
    if (!write_start(z, tag, atts)) {
        z->removed++;
        push(z, name, F_NONE, -1);
        return;
    }
    push(z, name, F_EMIT, tag);
}

static void on_end(void *ctx, const xmlChar *name)
{
    san *z = ctx;
    if (z->oom) return;
    /* libxml2 balances its events; a stray end is ignored, a skipped one closed here */
    size_t i = z->n;
    while (i > 0 && !xmlStrEqual(z->st[i - 1].name, name)) i--;
    if (i == 0) return;
    while (z->n >= i) pop(z);
}

static void on_text(void *ctx, const xmlChar *ch, int len)
{
    san *z = ctx;
    if (z->oom || z->drop || len <= 0) return;
    sb_esc(&z->out, (const char *)ch, (size_t)len);
}

static void on_removed(void *ctx, const xmlChar *a1)
{
    san *z = ctx;
    z->removed++;
}

static void on_pi(void *ctx, const xmlChar *target, const xmlChar *data)
{
    on_removed(ctx, target);
}

static int sanitize_html(san *z, const char *text)
{
    /* "<div>" first: libxml2 wraps text outside any element in an implied <p> even with
     * HTML_PARSE_NOIMPLIED; inside our wrapper it leaves text alone. */
    kc_buf doc = {0};
    kc_buf_str(&doc, "<div>");
    kc_buf_str(&doc, text);
    if (doc.oom) { free(doc.p); return -1; }
    if (doc.n > INT_MAX) { free(doc.p); return -1; }
    htmlSAXHandler h;
    memset(&h, 0, sizeof h);
    h.startElement = on_start;
    h.endElement = on_end;
    h.characters = on_text;
    h.ignorableWhitespace = on_text;   /* libxml2 calls whitespace after <br> "ignorable" */
    h.cdataBlock = on_text;
    h.comment = on_removed;
    h.processingInstruction = on_pi;
    h.initialized = 1;
    int rc = parse_with(doc.p, doc.n, &h, z, &z->ctxt);
    z->ctxt = NULL;
    while (z->n > 0 && !z->oom) pop(z);
    free(doc.p);
    if (rc) { free(z->st); z->st = NULL; return -1; }
    free(z->st);
    z->st = NULL;
    return z->oom || z->out.oom ? -1 : 0;
}

static void plain_to_html(kc_buf *o, const char *text)
{
    const char *run = text;
    for (const char *p = text; *p; p++) {
        if (*p != '\n') continue;
        sb_esc(o, run, (size_t)(p - run));
        kc_buf_str(o, "<br>");
        run = p + 1;
    }
    sb_esc(o, run, strlen(run));
}

int bank_html_sanitize(const char *in, enum bank_text_kind kind, kc_arena *a, char **out,
                       int *removed, bank_media **media, int *n_media)
{
    *out = NULL;
    if (!in) return 0;
    pthread_once(&init_once, init_libs);
    if (!sodium_ok) return -1;
    san z;
    memset(&z, 0, sizeof z);
    z.a = a;
    z.media = media;
    z.n_media = n_media;
    char *text = clean_input(in, &z.removed);
    if (!text) return -1;
    int html = kind == BANK_TEXT_HTML || (kind == BANK_TEXT_AUTO && looks_like_html(text));
    int rc = 0;
    if (html) {
        rc = sanitize_html(&z, text);
        /* No markup left: it reads as plain text from now on, where a line break means
         * <br>; in HTML it was just white space, so make it a space. */
        if (!rc && !z.out.oom && z.out.p && !strpbrk(z.out.p, "<&"))
            for (char *p = z.out.p; (p = strchr(p, '\n')); p++) *p = ' ';
    } else {
        kc_buf_add(&z.out, "", 0);
        plain_to_html(&z.out, text);
    }
    free(text);
    if (rc) { free(z.out.p); return -1; }
    *out = kc_buf_to_arena(&z.out, a);
    if (!*out) return -1;
    if (removed) *removed += z.removed;
    return 0;
}

/* ---- reading sanitized fragments ---- */

/* At '<': the tag name (lowercased into name) and the length up to and including '>',
 * honouring quoted attribute values; 0 when this is not a tag. *closing set for "</". */
static size_t tag_at(const char *s, char *name, size_t namesz, int *closing)
{
    const char *p = s + 1;
    *closing = 0;
    if (*p == '/') { *closing = 1; p++; }
    if (!is_alpha((unsigned char)*p)) return 0;
    size_t n = 0;
    while (is_alpha((unsigned char)*p) || is_digit((unsigned char)*p)) {
        if (n + 1 < namesz) name[n++] = (char)(*p | 0x20);
        p++;
    }
    name[n] = 0;
    char q = 0;
    for (; *p; p++) {
        if (q) { if (*p == q) q = 0; continue; }
        if (*p == '"' || *p == '\'') q = *p;
        else if (*p == '>') return (size_t)(p + 1 - s);
    }
    return 0;
}

int bank_html_is_plain(const char *html)
{
    if (!html) return 1;
    for (const char *p = strchr(html, '<'); p; p = strchr(p + 1, '<')) {
        char name[16];
        int closing;
        if (!tag_at(p, name, sizeof name, &closing) || closing || strcmp(name, "br")) return 0;
    }
    return 1;
}

/* "&...;" at s: the decoded character into o and the length consumed, or 0. */
static size_t entity_at(const char *s, kc_buf *o)
{
    const char *p = s + 1;
    uint32_t cp = 0;
    if (*p == '#') {
        p++;
        int hex = (*p == 'x' || *p == 'X');
        if (hex) p++;
        const char *d = p;
        while (hex ? isxdigit((unsigned char)*p) : is_digit((unsigned char)*p)) {
            unsigned v = is_digit((unsigned char)*p) ? (unsigned)(*p - '0')
                                                     : (unsigned)((*p | 0x20) - 'a' + 10);
            if (cp <= 0x10FFFF) cp = cp * (hex ? 16 : 10) + v;
            p++;
        }
        if (p == d || *p != ';') return 0;
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) cp = 0xFFFD;
    } else {
        char name[40];
        size_t n = 0;
        while ((is_alpha((unsigned char)*p) || is_digit((unsigned char)*p)) && n + 1 < sizeof name)
            name[n++] = *p++;
        name[n] = 0;
        if (!n || *p != ';') return 0;
        const htmlEntityDesc *e = htmlEntityLookup((const xmlChar *)name);
        if (!e) return 0;
        cp = e->value;
    }
    sb_utf8(o, cp);
    return (size_t)(p + 1 - s);
}

static void line_break_soft(kc_buf *o)
{
    if (o->n && o->p[o->n - 1] != '\n') kc_buf_str(o, "\n");
}

char *bank_html_to_text(const char *html, kc_arena *a)
{
    if (!html) return NULL;
    kc_buf o = {0};
    kc_buf_add(&o, "", 0);
    int pre = 0, skip = 0;
    const char *p = html;
    while (*p) {
        if (*p == '<') {
            if (!strncmp(p, "<!--", 4)) {
                const char *e = strstr(p + 4, "-->");
                p = e ? e + 3 : p + strlen(p);
                continue;
            }
            char name[16];
            int closing;
            size_t n = tag_at(p, name, sizeof name, &closing);
            if (n) {
                p += n;
                if (!strcmp(name, "script") || !strcmp(name, "style")) skip = !closing;
                else if (!strcmp(name, "br")) { if (!skip) kc_buf_str(&o, "\n"); }
                else if (!strcmp(name, "pre")) { pre = !closing; line_break_soft(&o); }
                else if ((!strcmp(name, "td") || !strcmp(name, "th")) && !closing && !skip) {
                    /* cells of a row apart */
                    if (o.n && o.p[o.n - 1] != '\n') kc_buf_str(&o, "\t");
                }
                else {
                    int t = allowed_index(name);
                    if (t >= 0 && (ALLOWED[t].flags & T_BLOCK) && !skip) line_break_soft(&o);
                }
                continue;
            }
        }
        if (skip) { p++; continue; }
        if (*p == '&') {
            size_t n = entity_at(p, &o);
            if (n) { p += n; continue; }
        }
        if (*p == '\n' && !pre) {
            /* a source line break is white space in HTML */
            if (o.n && o.p[o.n - 1] != '\n' && o.p[o.n - 1] != ' ') kc_buf_str(&o, " ");
            p++;
            continue;
        }
        kc_buf_add(&o, p, 1);
        p++;
    }
    while (o.n && is_ws((unsigned char)o.p[o.n - 1])) o.p[--o.n] = 0;
    return kc_buf_to_arena(&o, a);
}

/* ---- items ---- */

static int prep_field(const char **f, enum bank_text_kind kind, kc_arena *a, int *removed,
                      bank_item *it)
{
    if (!*f) return 0;
    char *out;
    if (bank_html_sanitize(*f, kind, a, &out, removed, &it->media, &it->n_media)) return -1;
    *f = out;
    return 0;
}

static int prepare(bank_item *it, enum bank_text_kind kind, kc_arena *a, int *removed, int depth)
{
    if (prep_field(&it->stem, kind, a, removed, it)) return -1;
    for (int i = 0; i < it->n_options && i < BANK_MAX_OPTIONS; i++)
        if (prep_field(&it->options[i], kind, a, removed, it)) return -1;
    if (prep_field(&it->explanation, kind, a, removed, it)) return -1;
    if ((it->type == BANK_SHORT || it->type == BANK_ESSAY) &&
        prep_field(&it->answer, kind, a, removed, it))
        return -1;
    if (it->type == BANK_FILL && it->answer) {
        /* The key text itself stays as it is; a key that does not parse leaves no blanks
         * and bank_item_validate says why. */
        char why[256];
        bank_blank *b = NULL;
        int n = 0;
        if (bank_fill_key_parse(it->answer, a, &b, &n, why, sizeof why) == 0) {
            it->blanks = b;
            it->n_blanks = n;
        } else {
            it->blanks = NULL;
            it->n_blanks = 0;
        }
    }
    if (depth >= PREPARE_DEPTH_MAX) return 0;
    long sum = 0;
    for (int i = 0; it->children && i < it->n_children; i++) {
        if (prepare(&it->children[i], kind, a, removed, depth + 1)) return -1;
        if (it->children[i].points_centi > 0) sum += it->children[i].points_centi;
        if (sum > INT_MAX) sum = INT_MAX;
    }
    if (it->type == BANK_COMPOSITE && it->points_centi == 0) it->points_centi = (int)sum;
    return 0;
}

int bank_item_prepare(bank_item *it, enum bank_text_kind kind, kc_arena *a, int *removed)
{
    int r = 0;
    if (prepare(it, kind, a, &r, 0)) return -1;
    if (removed) *removed += r;
    return 0;
}
