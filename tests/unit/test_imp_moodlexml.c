/* importers: Moodle XML import (every question type, files, categories, broken files, entity
 * attacks) and export, and the round trip Moodle XML -> items -> Moodle XML -> items. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kc_test.h"

/* a 1x1 PNG */
#define PNG_B64 "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

TestSuite(moodlexml, .init = kc_setup, .fini = kc_teardown);

static int parse(const char *text)
{
    return imp_parse_buffer(IMP_MOODLEXML, "q.xml", text, strlen(text), &S, &D);
}

#define Q(type, body) "<question type=\"" type "\">\n" body "</question>\n"
#define TEXT(tag, s) "<" tag " format=\"html\"><text><![CDATA[" s "]]></text></" tag ">\n"
#define ANS(fr, s) "<answer fraction=\"" fr "\" format=\"html\"><text>" s "</text></answer>\n"

static const char GOOD[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<quiz>\n"                                                                          /* 2 */
    "<question type=\"category\"><category><text>$course$/top/网络/TCP</text></category></question>\n"
    Q("multichoice",                                                                    /* 4 */
      "<name><text>NET-001</text></name>\n"
      "<questiontext format=\"html\"><text><![CDATA[<p>TCP 工作在哪一层？<img src=\"@@PLUGINFILE@@/osi%20model.png\" alt=\"OSI\"></p>]]></text>\n"
      "<file name=\"osi model.png\" path=\"/\" encoding=\"base64\">" PNG_B64 "</file></questiontext>\n"
      TEXT("generalfeedback", "TCP 是传输层协议。")
      "<defaultgrade>2.5000000</defaultgrade>\n"
      "<single>true</single><shuffleanswers>0</shuffleanswers>\n"
      ANS("0", "物理层") ANS("0", "网络层") ANS("100", "传输层") ANS("0", "应用层")
      "<tags><tag><text>基础</text></tag></tags>\n")
    Q("multichoice",                                                                    /* 17 */
      "<name><text>Q with spaces</text></name>\n"
      TEXT("questiontext", "下列属于传输层协议的是")
      "<single>false</single><shuffleanswers>1</shuffleanswers>\n"
      ANS("50", "TCP") ANS("50", "UDP") ANS("-100", "IP") ANS("0", "ARP"))
    "<question type=\"category\"><category><text>$course$/top/4-04-04-02/L4</text></category></question>\n"
    Q("truefalse",                                                                      /* 26 */
      "<name><text>NET-003</text></name>\n"
      TEXT("questiontext", "HTTPS 默认端口是 443。")
      "<answer fraction=\"100\" format=\"moodle_auto_format\"><text>true</text></answer>\n"
      "<answer fraction=\"0\" format=\"moodle_auto_format\"><text>false</text></answer>\n")
    Q("shortanswer",                                                                    /* 31 */
      "<name><text>NET-004</text></name><idnumber>NET-004-ID</idnumber>\n"
      TEXT("questiontext", "删除目录的命令是")
      "<usecase>1</usecase>\n"
      "<answer fraction=\"100\"><text>rm -r</text></answer>\n"
      "<answer fraction=\"100\"><text>rm -rf</text></answer>\n"
      "<answer fraction=\"0\"><text>del</text></answer>\n")
    Q("numerical",                                                                      /* 39 */
      "<name><text>NET-005</text></name>\n"
      TEXT("questiontext", "圆周率保留两位小数是 ____")
      "<answer fraction=\"100\"><text>3.14</text><tolerance>0.01</tolerance></answer>\n"
      "<units></units>\n")
    Q("essay",                                                                          /* 45 */
      "<name><text>NET-006</text></name>\n"
      TEXT("questiontext", "论述三次握手的过程。")
      "<responsefieldlines>15</responsefieldlines>\n"
      TEXT("graderinfo", "SYN, SYN-ACK, ACK")
      "<defaultgrade>10</defaultgrade>\n")
    Q("essay",                                                                          /* 52 */
      "<name><text>NET-007</text></name>\n"
      TEXT("questiontext", "简述 UDP 的特点。")
      "<responsefieldlines>5</responsefieldlines>\n")
    Q("description",
      "<name><text>说明</text></name>\n"
      TEXT("questiontext", "以下为第二部分。"))
    "</quiz>\n";

Test(moodlexml, every_construct)
{
    int rc = parse(GOOD);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq(S.n, 7);

    bank_item *it = &S.items[0];
    cr_assert_str_eq(it->uid, "NET-001");
    cr_assert_eq(it->type, BANK_SINGLE);
    cr_assert_eq(it->line, 4);
    cr_assert_str_eq(it->file, "q.xml");
    cr_assert_eq(it->n_options, 4);
    cr_assert_str_eq(it->answer, "C");
    cr_assert_eq(it->points_centi, 250);
    cr_assert_eq(it->pin_options, 1);
    cr_assert_not_null(strstr(it->stem, "TCP 工作在哪一层？"));
    cr_assert_not_null(strstr(it->stem, "media:osi model.png"), "%s", it->stem);
    cr_assert_null(strstr(it->stem, "PLUGINFILE"));
    cr_assert_eq(it->n_media, 1);
    cr_assert_str_eq(it->media[0].name, "osi model.png");
    cr_assert_str_eq(it->media[0].mime, "image/png");
    cr_assert_eq(it->media[0].len, 70);
    cr_assert_eq(memcmp(it->media[0].data, "\x89PNG", 4), 0);
    cr_assert_not_null(strstr(it->explanation, "TCP 是传输层协议。"));
    cr_assert_eq(it->n_tags, 2);
    cr_assert_str_eq(it->tags[0], "网络/TCP");
    cr_assert_str_eq(it->tags[1], "基础");
    cr_assert_null(it->occupation);

    it = &S.items[1];
    cr_assert_eq(it->type, BANK_MULTI);
    cr_assert_eq(strncmp(it->uid, "h-", 2), 0, "a name with spaces is no uid: %s", it->uid);
    cr_assert_str_eq(it->answer, "AB");
    cr_assert_eq(it->mc_policy, BANK_MC_RATIO);
    cr_assert_eq(it->pin_options, 0);
    cr_assert_eq(it->points_centi, 100);
    cr_assert_eq(it->line, 17);

    it = &S.items[2];
    cr_assert_eq(it->type, BANK_TF);
    cr_assert_str_eq(it->answer, "T");
    cr_assert_str_eq(it->occupation, "4-04-04-02");
    cr_assert_eq(it->level, 4);
    cr_assert_eq(it->n_tags, 0, "an occupation category is no tag");

    it = &S.items[3];
    cr_assert_eq(it->type, BANK_FILL);
    cr_assert_str_eq(it->uid, "NET-004-ID", "idnumber wins over the name");
    bank_blank *b;
    int nb;
    char why[128];
    cr_assert_eq(bank_fill_key_parse(it->answer, A, &b, &nb, why, sizeof why), 0, "%s", why);
    cr_assert_eq(nb, 1);
    cr_assert_eq(b[0].mode, BANK_BLANK_EXACT);
    cr_assert_eq(b[0].n_accept, 2);
    cr_assert_str_eq(b[0].accept[0], "rm -r");
    cr_assert_str_eq(b[0].accept[1], "rm -rf");

    it = &S.items[4];
    cr_assert_eq(it->type, BANK_FILL);
    cr_assert_eq(bank_fill_key_parse(it->answer, A, &b, &nb, why, sizeof why), 0, "%s", why);
    cr_assert_eq(nb, 1);
    cr_assert_eq(b[0].mode, BANK_BLANK_NUMERIC);
    cr_assert_float_eq(b[0].value, 3.14, 1e-9);
    cr_assert_float_eq(b[0].tolerance, 0.01, 1e-9);

    it = &S.items[5];
    cr_assert_eq(it->type, BANK_ESSAY);
    cr_assert_not_null(strstr(it->answer, "SYN, SYN-ACK, ACK"));
    cr_assert_eq(it->points_centi, 1000);

    it = &S.items[6];
    cr_assert_eq(it->type, BANK_SHORT, "5 response lines make a short answer");
    cr_assert_null(it->answer);
}

static const char *head = "<?xml version=\"1.0\"?>\n<quiz>\n";

static char *doc(const char *body)
{
    char *s = kc_arena_printf(A, "%s%s</quiz>\n", head, body);
    cr_assert_not_null(s);
    return s;
}

Test(moodlexml, answer_problems)
{
    int rc = parse(doc(
        Q("multichoice", TEXT("questiontext", "无正确答案") "<single>true</single>\n"   /* 3 */
          ANS("0", "甲") ANS("0", "乙"))
        Q("multichoice", TEXT("questiontext", "两个正确") "<single>true</single>\n"     /* 9 */
          ANS("100", "甲") ANS("100", "乙"))
        Q("multichoice", TEXT("questiontext", "部分得分") "<single>true</single>\n"     /* 15 */
          ANS("100", "甲") ANS("50", "乙"))
        Q("multichoice", TEXT("questiontext", "不等分") "<single>false</single>\n"      /* 21 */
          ANS("70", "甲") ANS("30", "乙") ANS("0", "丙"))
        Q("multichoice", TEXT("questiontext", "没有答案") "<single>true</single>\n")    /* 28 */
        Q("truefalse", TEXT("questiontext", "判断")                                      /* 32 */
          "<answer fraction=\"0\"><text>true</text></answer><answer fraction=\"0\"><text>false</text></answer>\n")
        Q("shortanswer", TEXT("questiontext", "通配")                                    /* 36 */
          "<answer fraction=\"100\"><text>TCP*</text></answer>\n")
        Q("numerical", TEXT("questiontext", "单位")                                      /* 40 */
          "<answer fraction=\"100\"><text>5</text></answer><units><unit><multiplier>1</multiplier>"
          "<unit_name>m</unit_name></unit></units>\n")
        Q("numerical", TEXT("questiontext", "不是数")                                    /* 44 */
          "<answer fraction=\"100\"><text>abc</text></answer>\n")
        Q("multichoice", TEXT("questiontext", "分数") "<single>true</single>\n"         /* 48 */
          "<answer fraction=\"lots\"><text>甲</text></answer>\n")));
    EXPECT("q.xml:3: answer: no answer has fraction 100",
           "q.xml:9: answer: 2 answers have fraction 100; a single-choice item has one key",
           "q.xml:15: answer: B has fraction 50; single choice carries no partial credit",
           "q.xml:21: answer: fractions 70 and 30 differ; multiple choice gives every correct option an equal share",
           "q.xml:28: answer: the question has no answers",
           "q.xml:32: answer: no answer has fraction 100",
           "q.xml:36: answer: TCP* uses the wildcard *, which is not carried",
           "q.xml:40: units: units are not carried; give the number without a unit",
           "q.xml:44: answer: abc is not a number",
           "q.xml:48: answer: fraction lots is not a number from -100 to 100");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(moodlexml, unsupported_types_by_line)
{
    int rc = parse(doc(
        Q("cloze", "<name><text>c</text></name>\n")                                   /* 3 */
        Q("matching", "<name><text>m</text></name>\n")                                /* 6 */
        Q("ddwtos", "")                                                               /* 9 */
        "<question>\n</question>\n"                                                   /* 11 */
        Q("truefalse", TEXT("questiontext", "好的") ANS("100", "false") ANS("0", "true"))
        Q("multichoice", TEXT("questiontext", "默认单选")
          "<answer><text>甲</text></answer><answer fraction=\"100\"><text>乙</text></answer>\n")));
    EXPECT("q.xml:3: type: embedded answers (cloze) are not supported; write each blank as a "
           "shortanswer, numerical or multichoice question",
           "q.xml:6: type: question type matching is not supported",
           "q.xml:9: type: question type ddwtos is not supported",
           "q.xml:11: type: the question has no type");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 2);
    cr_assert_str_eq(S.items[0].answer, "F");
    cr_assert_eq(S.items[1].type, BANK_SINGLE, "a missing <single> means single");
    cr_assert_str_eq(S.items[1].answer, "B", "a missing fraction is 0");
}

Test(moodlexml, files_and_grades)
{
    int rc = parse(doc(
        Q("truefalse", "<questiontext format=\"html\"><text>坏文件</text>"             /* 3 */
          "<file name=\"a.png\" encoding=\"base64\">@@@</file></questiontext>\n"
          ANS("100", "true"))
        Q("truefalse", "<questiontext format=\"html\"><text>x</text>"                  /* 7 */
          "<file name=\"a.png\" encoding=\"base64\">" PNG_B64 "</file>"
          "<file name=\"a.png\" encoding=\"base64\">AAAA</file></questiontext>\n" ANS("100", "true"))
        Q("truefalse", TEXT("questiontext", "分值") "<defaultgrade>1.005</defaultgrade>\n"  /* 11 */
          ANS("100", "true"))
        Q("truefalse", TEXT("questiontext", "分值二") "<defaultgrade>two</defaultgrade>\n"  /* 16 */
          ANS("100", "true"))));
    EXPECT("q.xml:3: file: a.png is not valid base64",
           "q.xml:7: file: a.png: two different files have this name",
           "q.xml:11: defaultgrade: 1.005 has more than 2 decimal places",
           "q.xml:16: defaultgrade: two is not a number");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
}

Test(moodlexml, duplicate_item)
{
    int rc = parse(doc(
        Q("truefalse", TEXT("questiontext", "同一题") ANS("100", "true"))               /* 3 */
        Q("truefalse", TEXT("questiontext", "同一题") ANS("100", "false"))));           /* 7 */
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1);
    cr_assert_str_eq(D.lines[0], "q.xml:7: 题干: duplicate of the item on line 3");
}

Test(moodlexml, truncated_and_not_moodle)
{
    char *g = kc_arena_strdup(A, GOOD);
    g[strlen(g) / 2] = 0;
    int rc = parse(g);
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1);
    cr_assert_eq(strncmp(D.lines[0], "q.xml:", 6), 0);
    cr_assert_not_null(strstr(D.lines[0], ": xml: is not well-formed XML ("), "%s", D.lines[0]);
    cr_assert_eq(S.n, 0);

    D.n = 0;
    rc = parse("<?xml version=\"1.0\"?>\n<assessmentItem/>\n");
    EXPECT("q.xml:2: xml: the root element is <assessmentItem>, not <quiz>: not a Moodle XML file");
    cr_assert_eq(rc, 1);

    D.n = 0;
    rc = parse("<quiz>\n</quiz>");
    EXPECT("q.xml:1: quiz: has no questions");
    cr_assert_eq(rc, 1);

    D.n = 0;
    rc = parse("");
    cr_assert_eq(rc, 1);
    cr_assert_eq(D.n, 1);
}

Test(moodlexml, billion_laughs_does_not_expand)
{
    const char *bomb =
        "<?xml version=\"1.0\"?>\n"
        "<!DOCTYPE quiz [\n"
        " <!ENTITY a \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\">\n"
        " <!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">\n"
        " <!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">\n"
        " <!ENTITY d \"&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;\">\n"
        " <!ENTITY e \"&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;\">\n"
        " <!ENTITY f \"&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;\">\n"
        " <!ENTITY g \"&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;\">\n"
        " <!ENTITY h \"&g;&g;&g;&g;&g;&g;&g;&g;&g;&g;\">\n"
        " <!ENTITY i \"&h;&h;&h;&h;&h;&h;&h;&h;&h;&h;\">\n"
        "]>\n"
        "<quiz><question type=\"truefalse\"><questiontext><text>&i;</text></questiontext>"
        "<answer fraction=\"100\"><text>true</text></answer></question></quiz>\n";
    size_t before = kc_arena_used(A);
    clock_t t0 = clock();
    int rc = parse(bomb);
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
    cr_assert_eq(D.n, 1);
    cr_assert_eq(strncmp(D.lines[0], "q.xml:", 6), 0, "%s", D.lines[0]);
    cr_assert_lt(kc_arena_used(A) - before, 1 << 20, "nothing expanded into the arena");
    cr_assert_lt((double)(clock() - t0) / CLOCKS_PER_SEC, 2.0);

    /* an external entity is not read either */
    D.n = 0;
    rc = parse("<?xml version=\"1.0\"?>\n<!DOCTYPE quiz [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
               "<quiz><question type=\"truefalse\"><questiontext><text>&x;</text></questiontext>"
               "<answer fraction=\"100\"><text>true</text></answer></question></quiz>\n");
    cr_assert_eq(rc, 1);
    cr_assert_eq(S.n, 0);
    EXPECT("q.xml:2: xml: declares XML entities, which are not allowed in a question file");
}

Test(moodlexml, ten_megabytes)
{
    /* ~10 MB: 20000 questions with a long stem each */
    char pad[401];
    memset(pad, 'x', 400);
    pad[400] = 0;
    size_t cap = 11u << 20, n = 0;
    char *buf = malloc(cap);
    cr_assert_not_null(buf);
    n += (size_t)snprintf(buf + n, cap - n, "<quiz>\n");
    int count = 0;
    while (n < (10u << 20)) {
        n += (size_t)snprintf(buf + n, cap - n,
                              "<question type=\"truefalse\"><name><text>B-%d</text></name>"
                              "<questiontext format=\"html\"><text>第 %d 题 %s</text></questiontext>"
                              "<answer fraction=\"100\"><text>true</text></answer>"
                              "<answer fraction=\"0\"><text>false</text></answer></question>\n",
                              count, count, pad);
        count++;
    }
    n += (size_t)snprintf(buf + n, cap - n, "</quiz>\n");
    int rc = imp_parse_buffer(IMP_MOODLEXML, "big.xml", buf, n, &S, &D);
    free(buf);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    cr_assert_eq((int)S.n, count);
    cr_assert_str_eq(S.items[count - 1].uid, kc_arena_printf(A, "B-%d", count - 1));
}

/* ---- export and round trip ---- */

Test(moodlexml, round_trip)
{
    cr_assert_eq(parse(GOOD), 0);
    char *path = tmp_path("xml");
    /* the category tag travels as a tag; nothing is left out */
    int rc = imp_export_file(IMP_MOODLEXML, &S, path, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    size_t len;
    char *out = slurp(path, &len);
    unlink(path);
    cr_assert_not_null(strstr(out, "@@PLUGINFILE@@/osi model.png"));
    cr_assert_not_null(strstr(out, "<file name=\"osi model.png\" path=\"/\" encoding=\"base64\">"));
    cr_assert_not_null(strstr(out, "<text>$course$/top/4-04-04-02/L4</text>"));
    cr_assert_not_null(strstr(out, "<answer fraction=\"-100\""));
    bank_itemset again;
    bank_itemset_init(&again, A);
    rc = imp_parse_buffer(IMP_MOODLEXML, "again.xml", out, len, &again, &D);
    EXPECT_CLEAN();
    cr_assert_eq(rc, 0);
    kc_same_items(&S, &again, KC_SAME_MC_POLICY | KC_SAME_TAGS | KC_SAME_OCCUPATION |
                                      KC_SAME_OCCUPATION_TEXT | KC_SAME_MEDIA);
}

Test(moodlexml, export_reports_what_moodle_cannot_carry)
{
    bank_item *it = bank_itemset_push(&S);
    it->uid = "C-1";
    it->type = BANK_COMPOSITE;
    it->stem = "案例";
    it = bank_itemset_push(&S);
    it->uid = "F-2";
    it->type = BANK_FILL;
    it->stem = "（ ）和（ ）";
    it->answer = "甲|乙";
    it->points_centi = 100;
    it = bank_itemset_push(&S);
    it->uid = "M-3";
    it->type = BANK_MULTI;
    it->stem = "多选";
    it->n_options = 3;
    it->options[0] = "a";
    it->options[1] = "b";
    it->options[2] = "c";
    it->answer = "AC";
    it->mc_policy = BANK_MC_ALL;
    it->points_centi = 200;
    it->difficulty = 3;
    it->point_code = "B-01";
    it = bank_itemset_push(&S);
    it->uid = "P-4";
    it->type = BANK_PRACTICAL;
    it->stem = "实操";
    char *path = tmp_path("xml");
    int rc = imp_export_file(IMP_MOODLEXML, &S, path, &D);
    EXPECT("C-1: 题型: Moodle XML cannot carry 组合题 (composite); left out",
           "F-2: 答案: Moodle XML cannot carry several blanks in one question (shortanswer and "
           "numerical have one); left out",
           "M-3: 多选计分: Moodle XML cannot carry all; exported with Moodle's per-option fractions, "
           "which score like ratio",
           "M-3: 难度, 鉴定点代码: Moodle XML cannot carry these fields; left out",
           "P-4: 题型: Moodle XML cannot carry 实操题 (practical); left out");
    cr_assert_eq(rc, 1);
    size_t len;
    char *out = slurp(path, &len);
    unlink(path);
    bank_itemset back;
    bank_itemset_init(&back, A);
    D.n = 0;
    cr_assert_eq(imp_parse_buffer(IMP_MOODLEXML, "m.xml", out, len, &back, &D), 0);
    cr_assert_eq(back.n, 1);
    cr_assert_str_eq(back.items[0].uid, "M-3");
    cr_assert_str_eq(back.items[0].answer, "AC");
    cr_assert_eq(back.items[0].mc_policy, BANK_MC_RATIO);
    cr_assert_eq(back.items[0].points_centi, 200);
}

Test(moodlexml, export_to_a_bad_path)
{
    int rc = imp_export_file(IMP_MOODLEXML, &S, "/nonexistent-dir/x.xml", &D);
    cr_assert_eq(rc, KC_ERR);
    cr_assert_eq(D.n, 1);
    cr_assert_eq(strncmp(D.lines[0], "/nonexistent-dir/x.xml: file: cannot", 36), 0, "%s", D.lines[0]);
}

/* The demo bank (every type the CSV template has) through this format and back: each item
 * either comes back the same or was reported as left out. */
Test(moodlexml, demo_bank_round_trip) { kc_demo_round_trip(IMP_MOODLEXML, "xml", KC_SAME_RATIO | KC_SAME_TAGS | KC_SAME_OCCUPATION); }

/* Moodle has no composite, so the images are in a stem and in an option that is only an
 * image. */
Test(moodlexml, images_round_trip) { kc_image_round_trip(IMP_MOODLEXML, "xml", 0, 1); }
Test(moodlexml, missing_image_is_reported_and_left_out) { kc_missing_image_export(IMP_MOODLEXML, "xml", 0); }
