/* Signed media links: what passes the check, and how media:NAME is rewritten. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/media/media.h"

static const char SHA[] = "9b6485edb04236715f47f1fdc76fd897c6129ca6080877cee7de181774471b66";
static const char SHA2[] = "074522f5bcd75c5832b201d72d7286411c8e1a5bf6d73a3d779e606c24e68789";

static void key(unsigned char k[32])
{
    unsigned char secret[32];
    for (int i = 0; i < 32; i++) secret[i] = (unsigned char)(i * 7 + 1);
    media_key_derive(secret, k);
}

/* Splits "/media/SHA?e=E&s=S" into its parts. */
static void split(const char *url, char *sha, char *e, char *s)
{
    cr_assert_eq(strncmp(url, "/media/", 7), 0, "%s", url);
    const char *q = strchr(url, '?');
    cr_assert(q);
    memcpy(sha, url + 7, (size_t)(q - url - 7));
    sha[q - url - 7] = 0;
    const char *amp = strchr(q, '&');
    cr_assert_eq(strncmp(q, "?e=", 3), 0);
    memcpy(e, q + 3, (size_t)(amp - q - 3));
    e[amp - q - 3] = 0;
    cr_assert_eq(strncmp(amp, "&s=", 3), 0);
    strcpy(s, amp + 3);
}

Test(media, signed_link_checks)
{
    unsigned char k[32], other[32];
    key(k);
    memcpy(other, k, 32);
    other[0] ^= 1;
    char url[MEDIA_URL_MAX], sha[80], e[32], s[80];
    media_url(k, SHA, 2000, url, sizeof url);
    split(url, sha, e, s);
    cr_assert_str_eq(sha, SHA);
    cr_assert_str_eq(e, "2000");
    cr_assert_eq(strlen(s), 64);
    cr_assert_eq(media_check(k, sha, e, s, 1999), 0);
    cr_assert_eq(media_check(k, sha, e, s, 2000), -1, "expired at e");
    cr_assert_eq(media_check(other, sha, e, s, 1000), -1, "another key");
    cr_assert_eq(media_check(k, SHA2, e, s, 1000), -1, "another sha");
    cr_assert_eq(media_check(k, sha, "2001", s, 1000), -1, "another expiry");
    cr_assert_eq(media_check(k, sha, "02000", s, 1000), -1, "the same number written otherwise");
    cr_assert_eq(media_check(k, sha, e, NULL, 1000), -1);
    cr_assert_eq(media_check(k, sha, NULL, s, 1000), -1);
    cr_assert_eq(media_check(k, sha, "-5", s, -10), -1);
    s[10] = s[10] == 'a' ? 'b' : 'a';
    cr_assert_eq(media_check(k, sha, e, s, 1000), -1, "a changed signature");
    cr_assert_eq(media_check(k, "9B6485EDB04236715F47F1FDC76FD897C6129CA6080877CEE7DE181774471B66", e, s, 1000), -1);
    cr_assert_eq(media_check(k, "../etc", e, s, 1000), -1);
    cr_assert(media_sha_ok(SHA));
    cr_assert(!media_sha_ok("abc"));
}

static media_map map2(void)
{
    media_map m = {0};
    m.cap = m.n = 3;
    m.refs = calloc(3, sizeof *m.refs);
    m.refs[0] = (media_ref){7, "a.png", "", "image/png"};
    strcpy(m.refs[0].sha, SHA);
    m.refs[1] = (media_ref){7, "R&D.txt", "", "text/plain"};
    strcpy(m.refs[1].sha, SHA2);
    m.refs[2] = (media_ref){8, "b.png", "", "image/png"};
    strcpy(m.refs[2].sha, SHA2);
    return m;
}

Test(media, rewrite_signs_known_names_of_the_item_only)
{
    unsigned char k[32];
    key(k);
    media_map m = map2();
    const char *html = "<p>看 <img src=\"media:a.png\" alt=\"media:a.png\"> 和 <a href=\"media:R&amp;D.txt\">说明</a>"
                       " <img src=\"media:b.png\"> <img src=\"media:none.png\"> src=&quot;media:a.png&quot;"
                       " <span data-src=\"media:a.png\"></span></p>";
    char *out = media_rewrite(html, 7, &m, k, 5000);
    cr_assert(out);
    char u1[MEDIA_URL_MAX], u2[MEDIA_URL_MAX], want[2048];
    media_url(k, SHA, 5000, u1, sizeof u1);
    media_url(k, SHA2, 5000, u2, sizeof u2);
    /* & of the query written as &amp; inside the attribute */
    char e1[256], e2[256];
    snprintf(e1, sizeof e1, "%.*s&amp;%s", (int)(strchr(u1, '&') - u1), u1, strchr(u1, '&') + 1);
    snprintf(e2, sizeof e2, "%.*s&amp;%s", (int)(strchr(u2, '&') - u2), u2, strchr(u2, '&') + 1);
    snprintf(want, sizeof want,
             "<p>看 <img src=\"%s\" alt=\"media:a.png\"> 和 <a href=\"%s\">说明</a>"
             " <img src=\"media:b.png\"> <img src=\"media:none.png\"> src=&quot;media:a.png&quot;"
             " <span data-src=\"media:a.png\"></span></p>", e1, e2);
    cr_assert_str_eq(out, want);
    free(out);
    /* b.png belongs to item 8 */
    out = media_rewrite("<img src=\"media:b.png\">", 8, &m, k, 5000);
    snprintf(want, sizeof want, "<img src=\"%s\">", e2);
    cr_assert_str_eq(out, want);
    free(out);
    out = media_rewrite("no media <img src=\"media:", 7, &m, k, 5000);
    cr_assert_str_eq(out, "no media <img src=\"media:");
    free(out);
    media_map_free(&m);
}
