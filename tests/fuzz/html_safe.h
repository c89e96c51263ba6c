/* A strict reader of sanitized fragments, shared by the HTML unit tests and the fuzzer:
 * it accepts only what bank_html_sanitize may write (allowed tags and attributes, media:
 * URLs, escaped text, every tag closed) and says what is wrong otherwise. */
#ifndef KAOCHANG_TEST_HTML_SAFE_H
#define KAOCHANG_TEST_HTML_SAFE_H

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const HS_TAGS[] = {
    "p", "br", "div", "span", "b", "strong", "i", "em", "u", "s", "sub", "sup", "code", "pre",
    "ul", "ol", "li", "table", "thead", "tbody", "tr", "th", "td", "img", "a", "hr",
    "blockquote",
};

static int hs_void(const char *t) { return !strcmp(t, "br") || !strcmp(t, "hr") || !strcmp(t, "img"); }

static int hs_attr_ok(const char *tag, const char *attr)
{
    if (!strcmp(tag, "img"))
        return !strcmp(attr, "src") || !strcmp(attr, "alt") || !strcmp(attr, "width") ||
               !strcmp(attr, "height");
    if (!strcmp(tag, "a")) return !strcmp(attr, "href");
    if (!strcmp(tag, "td") || !strcmp(tag, "th"))
        return !strcmp(attr, "colspan") || !strcmp(attr, "rowspan");
    return 0;
}

/* NULL when html is a safe, well-formed fragment; else a reason (in a static buffer). */
static const char *html_unsafe(const char *html)
{
    static char why[200];
    char stack[64][16];
    int depth = 0;
    const char *p = html;
    while (*p) {
        if (*p == '>' || *p == '"') {
            snprintf(why, sizeof why, "raw '%c' in text at %d", *p, (int)(p - html));
            return why;
        }
        if (*p == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;"};
            size_t k = 0;
            for (size_t i = 0; i < 4 && !k; i++)
                if (!strncmp(p, ents[i], strlen(ents[i]))) k = strlen(ents[i]);
            if (!k) { snprintf(why, sizeof why, "bare '&' at %d", (int)(p - html)); return why; }
            p += k;
            continue;
        }
        if (*p != '<') { p++; continue; }
        const char *start = p++;
        int closing = 0;
        if (*p == '/') { closing = 1; p++; }
        char tag[16];
        size_t n = 0;
        while (*p >= 'a' && *p <= 'z' && n + 1 < sizeof tag) tag[n++] = *p++;
        tag[n] = 0;
        int known = 0;
        for (size_t i = 0; i < sizeof HS_TAGS / sizeof HS_TAGS[0]; i++)
            if (!strcmp(tag, HS_TAGS[i])) known = 1;
        if (!known) {
            snprintf(why, sizeof why, "tag not allowed at %d: %.20s", (int)(start - html), start);
            return why;
        }
        if (closing) {
            if (*p != '>') { snprintf(why, sizeof why, "bad end tag at %d", (int)(start - html)); return why; }
            p++;
            if (hs_void(tag) || depth == 0 || strcmp(stack[depth - 1], tag)) {
                snprintf(why, sizeof why, "unbalanced </%s> at %d", tag, (int)(start - html));
                return why;
            }
            depth--;
            continue;
        }
        while (*p == ' ') {
            p++;
            char attr[16];
            size_t m = 0;
            while (*p >= 'a' && *p <= 'z' && m + 1 < sizeof attr) attr[m++] = *p++;
            attr[m] = 0;
            if (!hs_attr_ok(tag, attr)) {
                snprintf(why, sizeof why, "attribute %s not allowed on %s at %d", attr, tag,
                         (int)(start - html));
                return why;
            }
            if (strncmp(p, "=\"", 2)) { snprintf(why, sizeof why, "unquoted %s", attr); return why; }
            p += 2;
            const char *v = p;
            while (*p && *p != '"' && *p != '<' && *p != '>') p++;
            if (*p != '"') { snprintf(why, sizeof why, "bad value of %s", attr); return why; }
            size_t vl = (size_t)(p - v);
            p++;
            if (!strcmp(attr, "src") || !strcmp(attr, "href")) {
                if (vl < 7 || strncmp(v, "media:", 6) || memchr(v, '/', vl))
                    return "URL not media:NAME";
                for (size_t i = 0; i + 1 < vl; i++)
                    if (v[i] == '.' && v[i + 1] == '.') return "'..' in a media name";
            }
            if (!strcmp(attr, "width") || !strcmp(attr, "height") || !strcmp(attr, "colspan") ||
                !strcmp(attr, "rowspan")) {
                for (const char *d = v; d < v + vl; d++)
                    if (*d < '0' || *d > '9') { snprintf(why, sizeof why, "%s not digits", attr); return why; }
            }
            for (const char *d = v; d + 11 <= v + vl; d++)
                if (!strncasecmp(d, "javascript:", 11)) return "javascript: in an attribute";
        }
        if (*p != '>') { snprintf(why, sizeof why, "bad tag at %d", (int)(start - html)); return why; }
        p++;
        if (!strcmp(tag, "img") && strncmp(start, "<img src=\"media:", 16)) return "img without src";
        if (!hs_void(tag)) {
            if (depth == 64) return "nested deeper than 64";
            strcpy(stack[depth++], tag);
        }
    }
    if (depth) { snprintf(why, sizeof why, "<%s> not closed", stack[depth - 1]); return why; }
    return NULL;
}

#endif
